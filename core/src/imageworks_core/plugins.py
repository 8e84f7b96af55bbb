"""The plugin manager factory: entry points of the group ``imageworks``, chosen by
``IMAGEWORKS_LOAD_PLUGINS``; a provider that fails to import is reported, the rest load.

Precedence is explicit: a provider module may set ``IMAGEWORKS_PRECEDENCE`` (an int, default
``DEFAULT_PRECEDENCE``); hooks ask providers in ascending precedence, then by name, and the core's
default plugin last. A single hook implementation can still step ahead or aside with pluggy's
``@hookimpl(tryfirst=True)`` / ``(trylast=True)``, which win over precedence."""

from __future__ import annotations

import importlib.metadata
import os
from functools import cache
from typing import Any, Iterable

import attrs
import pluggy

from . import hookspecs

ENTRY_POINT_GROUP = "imageworks"
DEFAULT_PLUGIN = "default"
DEFAULT_PRECEDENCE = 100
PRECEDENCE_ATTRIBUTE = "IMAGEWORKS_PRECEDENCE"
HOOK_NAMES = tuple(name for name in dir(hookspecs) if name.startswith("imageworks_"))


@attrs.frozen
class PluginInfo:
    name: str
    distribution: str | None
    version: str | None
    hooks: tuple[str, ...]
    error: str | None = None


@attrs.define
class Plugins:
    manager: pluggy.PluginManager
    infos: list[PluginInfo]

    @property
    def hook(self) -> Any:
        return self.manager.hook

    @property
    def failed(self) -> list[PluginInfo]:
        return [info for info in self.infos if info.error]

    @property
    def providers(self) -> list[str]:
        """The installed providers' names, sorted (the built-in default plugin is not one)."""
        return sorted(name for name, _ in self.manager.list_name_plugin() if name and name != DEFAULT_PLUGIN)

    def only(self, hook_name: str, names: Iterable[str]) -> Any:
        """A caller of ``hook_name`` that asks only the plugins ``names`` (and the default
        plugin): the core routes, so providers need no "is this mine?" guard."""
        keep = {*names, DEFAULT_PLUGIN}
        others = [plugin for name, plugin in self.manager.list_name_plugin() if name not in keep]
        return self.manager.subset_hook_caller(hook_name, others)

    def for_entry(self, hook_name: str, entry: Any) -> Any:
        """A caller of ``hook_name`` for one entry: its own provider, then the default plugin."""
        return self.only(hook_name, [entry.source_provider] if entry.source_provider else [])


def _wanted() -> set[str] | None:
    value = os.environ.get("IMAGEWORKS_LOAD_PLUGINS")
    if value is None:
        return None
    return {part.strip() for part in value.split(",") if part.strip()}


def build_plugin_manager(extra_plugins: list[tuple[str, object]] | None = None) -> Plugins:
    """Make a plugin manager: load the chosen entry points in order of precedence, register
    ``extra_plugins`` (name, module) as given (tests and embedding tools), and check every hook
    against its spec."""
    from . import default_plugin

    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    # Built-in behaviour goes through the same hooks, registered first so that it runs last.
    manager.register(default_plugin, name=DEFAULT_PLUGIN)
    infos: list[PluginInfo] = []  # providers only: the default plugin is part of the core
    loaded: list[tuple[str, object, str | None, str | None]] = []
    wanted = _wanted()
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if wanted is not None and ep.name not in wanted:
            continue
        if any(name == ep.name for name, *_ in loaded):
            continue
        dist = ep.dist.name if ep.dist else None
        version = ep.dist.version if ep.dist else None
        try:
            loaded.append((ep.name, ep.load(), dist, version))
        except Exception as exc:  # noqa: BLE001 - one broken provider must not stop the rest
            infos.append(PluginInfo(ep.name, dist, version, (), f"{type(exc).__name__}: {exc}"))
    # pluggy asks the plugin registered last first: register in reverse order of asking.
    for name, plugin, dist, version in sorted(loaded, key=lambda p: (precedence_of(p[1]), p[0]), reverse=True):
        try:
            manager.register(plugin, name=name)
        except Exception as exc:  # noqa: BLE001 - a provider whose hooks do not match the specs
            infos.append(PluginInfo(name, dist, version, (), f"{type(exc).__name__}: {exc}"))
            continue
        infos.append(PluginInfo(name, dist, version, _hooks_of(manager, plugin)))
    infos.sort(key=lambda info: info.name)
    # In-process plugins (tests, embedding tools) come last, so they are asked first.
    for name, plugin in extra_plugins or []:
        manager.register(plugin, name=name)
        infos.append(PluginInfo(name, None, None, _hooks_of(manager, plugin)))
    manager.check_pending()
    return Plugins(manager, infos)


def precedence_of(plugin: object) -> int:
    """A provider's declared precedence (lower is asked first)."""
    value = getattr(plugin, PRECEDENCE_ATTRIBUTE, DEFAULT_PRECEDENCE)
    return value if isinstance(value, int) else DEFAULT_PRECEDENCE


def _hooks_of(manager: pluggy.PluginManager, plugin: object) -> tuple[str, ...]:
    return tuple(sorted(caller.name for caller in manager.get_hookcallers(plugin) or []))


_extra: list[tuple[str, object]] = []


def add_plugin(name: str, plugin: object) -> None:
    """Register an in-process plugin for every plugin manager built from now on (tests)."""
    _extra.append((name, plugin))
    get_plugins.cache_clear()


def remove_plugin(name: str) -> None:
    _extra[:] = [(n, p) for n, p in _extra if n != name]
    get_plugins.cache_clear()


@cache
def get_plugins() -> Plugins:
    """The process-wide plugin manager, built on first use (never at CLI start-up)."""
    return build_plugin_manager(list(_extra))

"""The plugin manager factory: entry points of the group ``imageworks``, chosen by
``IMAGEWORKS_LOAD_PLUGINS``; a provider that fails to import is reported, the rest load.

Precedence is explicit: a provider module may set ``IMAGEWORKS_PRECEDENCE`` (an int, default
``DEFAULT_PRECEDENCE``); hooks ask providers in ascending precedence, then by name, and the core's
default plugin last. A single hook implementation can still step ahead or aside with pluggy's
``@hookimpl(tryfirst=True)`` / ``(trylast=True)``, which win over precedence."""

from __future__ import annotations

import os
import sys
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
    for ep in _entry_points(ENTRY_POINT_GROUP):
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


def _entry_points(group: str) -> list[Any]:
    """The entry points of ``group``, as ``importlib.metadata.entry_points(group=...)`` gives them
    (the same distributions in the same order, the first of a name on ``sys.path`` winning),
    read straight from the ``*.dist-info`` folders: importing ``importlib.metadata`` (with the
    email and zipfile modules it brings) costs ~20 ms of every command's start-up. Anything not
    read that simple way (a zip or an egg on the path, an ``.egg-info``, another distribution
    finder, a line importlib.metadata would refuse) is asked of ``importlib.metadata`` itself."""
    found = _dist_info_entry_points(group)
    if found is None:
        import importlib.metadata

        return list(importlib.metadata.entry_points(group=group))
    return found


def _dist_info_entry_points(group: str) -> list[Any] | None:
    from importlib.machinery import PathFinder

    if any(getattr(finder, "find_distributions", None) is not None and finder is not PathFinder
           for finder in sys.meta_path):
        return None
    seen: set[str] = set()
    found: list[Any] = []
    for entry in sys.path:
        root = entry or "."
        try:
            children = os.listdir(root)
        except OSError:
            if os.path.exists(root):  # a zip archive: importlib.metadata reads inside those
                return None
            continue
        if os.path.basename(root).lower().endswith(".egg"):
            return None
        infos: dict[str, list[str]] = {}  # as importlib.metadata's Lookup: by normalised name
        for child in children:
            low = child.lower()
            if low.endswith(".egg-info"):
                return None
            if low.endswith(".dist-info"):
                infos.setdefault(_normalise(low.rpartition(".")[0].partition("-")[0]), []).append(child)
        for name, folders in infos.items():
            for folder in folders:
                if name in seen:  # the first distribution of a name on the path wins
                    continue
                seen.add(name)
                path = os.path.join(root, folder)
                try:
                    with open(os.path.join(path, "entry_points.txt"), encoding="utf-8") as handle:
                        text = handle.read()
                except (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError):
                    continue
                parsed = _entry_point_lines(text)
                if parsed is None:
                    return None
                found += [_EntryPoint(ep_name, value, _Dist(path)) for section, ep_name, value in parsed
                          if section == group]
    return found


def _normalise(name: str) -> str:
    """importlib.metadata's ``Prepared.normalize``: PEP 503, with dashes as underscores."""
    import re

    return re.sub(r"[-_.]+", "-", name).lower().replace("-", "_")


def _entry_point_lines(text: str) -> list[tuple[str, str, str]] | None:
    """(section, name, value) of an entry_points.txt as importlib.metadata reads it (comments
    are lines starting with #); None for a line it would refuse (no ``=``)."""
    out = []
    section = None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line.strip("[]")
            continue
        if section is None:
            continue
        if "=" not in line:
            return None
        name, _, value = line.partition("=")
        out.append((section, name.strip(), value.strip()))
    return out


class _Dist:
    """The two fields of a distribution's METADATA a plugin listing shows, read when asked."""

    def __init__(self, path: str):
        self._path = path
        self._fields: dict[str, str] | None = None

    def _field(self, key: str) -> str | None:
        if self._fields is None:
            self._fields = {}
            try:
                with open(os.path.join(self._path, "METADATA"), encoding="utf-8") as handle:
                    for line in handle:
                        if not line.strip():
                            break  # the headers end at the first blank line
                        head, sep, value = line.partition(":")
                        if sep and not line[0].isspace() and head not in self._fields:
                            self._fields[head] = value.lstrip().rstrip("\r\n")
            except OSError:
                pass
        return self._fields.get(key)

    @property
    def name(self) -> str | None:
        return self._field("Name")

    @property
    def version(self) -> str | None:
        return self._field("Version")


class _EntryPoint:
    """An entry point read from a dist-info folder: ``load`` as importlib.metadata's does."""

    def __init__(self, name: str, value: str, dist: _Dist):
        self.name, self.value, self.dist = name, value, dist

    def load(self) -> Any:
        import functools
        import importlib
        import re

        match = re.match(r"(?P<module>[\w.]+)\s*(:\s*(?P<attr>[\w.]+)\s*)?((?P<extras>\[.*\])\s*)?$", self.value)
        if match is None:
            raise ValueError(f"entry point {self.name} = {self.value!r} is not module:attribute")
        module = importlib.import_module(match.group("module"))
        return functools.reduce(getattr, filter(None, (match.group("attr") or "").split(".")), module)


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

"""Lazy re-exports: a package names what it exports and the module that defines each name, and
the name is imported on first use, so that ``import imageworks_core`` (and ``.kit``) stays cheap
for the CLI's start-up."""

from __future__ import annotations

from importlib import import_module
from typing import Any, Callable


def lazy_getattr(package: str, namespace: dict[str, Any], exports: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` resolving ``exports`` (name -> defining module relative to the
    core package, or ``module:attribute`` when the name is an alias) on first use and caching the
    value in ``namespace``."""

    def __getattr__(name: str) -> Any:
        where = exports.get(name)
        if where is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, _, attribute = where.partition(":")
        value = getattr(import_module(f".{module}", "imageworks_core"), attribute or name)
        namespace[name] = value
        return value

    return __getattr__

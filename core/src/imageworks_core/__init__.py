"""ImageWorks model manager core: hooks, the layered registry, and the two CLI programs.

This package root is the public API that providers and other tools import. Names are
resolved lazily so that ``import imageworks_core`` stays cheap for the CLI.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "hookimpl": "hookspecs",
    "hookspec": "hookspecs",
    "Entry": "models",
    "Artifacts": "models",
    "ArtifactFile": "models",
    "Capabilities": "models",
    "ChatTemplate": "models",
    "Variant": "types",
    "Context": "types",
    "Progress": "types",
    "DownloadRequest": "types",
    "DownloadResult": "types",
    "PlannedFile": "types",
    "Finding": "types",
    "Redetected": "types",
    "RemovedFiles": "types",
    "Registry": "registry.store",
    "MergedView": "registry.merge",
    "load_registry": "api",
    "Settings": "settings",
    "SettingSpec": "settings",
    "Location": "types",
    "load_settings": "settings",
    "ImageworksError": "errors",
    "BadInputError": "errors",
    "RegistryFormatError": "errors",
    "LockTimeoutError": "errors",
    "NotFoundError": "errors",
    "DownloadError": "errors",
    "VerificationError": "errors",
    "UnsafePathError": "errors",
}

__all__ = sorted(_EXPORTS) + ["__version__"]

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs
    from .api import load_registry
    from .errors import (BadInputError, DownloadError, ImageworksError, LockTimeoutError,
                         NotFoundError, RegistryFormatError, UnsafePathError, VerificationError)
    from .hookspecs import hookimpl, hookspec
    from .models import ArtifactFile, Artifacts, Capabilities, ChatTemplate, Entry
    from .registry.merge import MergedView
    from .registry.store import Registry
    from .settings import Settings, SettingSpec, load_settings
    from .types import (Context, DownloadRequest, DownloadResult, Finding, Location, PlannedFile, Progress,
                        Redetected, RemovedFiles, Variant)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'imageworks_core' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value

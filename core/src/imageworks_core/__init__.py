"""ImageWorks model manager core: hooks, the layered registry, and the two CLI programs.

Three tiers (docs/architecture.md):

- this package root is the **contract**: the hook markers, what hooks take and give, the registry
  entry, settings, the session, the errors. A provider is written against these names.
- :mod:`imageworks_core.kit` is the **provider toolkit**: files to variants in one call, naming,
  safe deletion, report helpers and click options, hashing, ``place_file``... Public as well.
- every other module is **private**: the core may change it at any time. Providers, the GUI, the
  test plugin and the examples import nothing but these two modules (a test checks).

Names are resolved lazily so that ``import imageworks_core`` stays cheap for the CLI.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import lazy_getattr

__version__ = "0.1.0"

# name -> module (relative to this package) that defines it. Keep the TYPE_CHECKING block below
# in step (a test checks both agree).
_EXPORTS = {
    # hooks
    "hookimpl": "hookspecs",
    "hookspec": "hookspecs",
    # the registry entry
    "Entry": "entry",
    "Artifacts": "entry",
    "ArtifactFile": "entry",
    "Capabilities": "entry",
    "ChatTemplate": "entry",
    # what hooks take and give
    "Context": "hook_types",
    "Variant": "hook_types",
    "DiscoverRequest": "hook_types",
    "DownloadRequest": "hook_types",
    "DownloadResult": "hook_types",
    "PlannedFile": "hook_types",
    "Progress": "hook_types",
    "Finding": "hook_types",
    "Redetected": "hook_types",
    "RemovedFiles": "hook_types",
    "Location": "hook_types",
    "GuiPanel": "hook_types",
    "Orphan": "hook_types",
    "CleanupRequest": "hook_types",
    "UpdateCheck": "hook_types",
    "FileChange": "hook_types",
    "GgufFile": "hook_types",
    "LinkRequest": "hook_types",
    "LinkResult": "hook_types",
    "LockSource": "hook_types",
    "SettingSpec": "hook_types",
    # settings, the registry, the session
    "Settings": "settings",
    "Registry": "registry.store",
    "load_registry": "registry.store",
    "Session": "session",
    # errors
    "ImageworksError": "errors",
    "BadInputError": "errors",
    "RegistryFormatError": "errors",
    "LockTimeoutError": "errors",
    "NotFoundError": "errors",
    "DownloadError": "errors",
    "VerificationError": "errors",
    "UnsafePathError": "errors",
    "Interrupted": "errors",
}

__all__ = sorted(_EXPORTS) + ["__version__"]

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs
    from .hookspecs import hookimpl, hookspec
    from .entry import ArtifactFile, Artifacts, Capabilities, ChatTemplate, Entry
    from .hook_types import (CleanupRequest, Context, DiscoverRequest, DownloadRequest, DownloadResult, FileChange,
                             Finding, GgufFile, GuiPanel, LinkRequest, LinkResult, Location, LockSource, Orphan,
                             PlannedFile, Progress, Redetected, RemovedFiles, SettingSpec, UpdateCheck, Variant)
    from .settings import Settings
    from .registry.store import Registry, load_registry
    from .session import Session
    from .errors import (BadInputError, DownloadError, ImageworksError, Interrupted, LockTimeoutError, NotFoundError,
                         RegistryFormatError, UnsafePathError, VerificationError)


__getattr__ = lazy_getattr(__name__, globals(), _EXPORTS)

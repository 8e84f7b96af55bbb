"""ImageWorks model manager core: hooks, the layered registry, and the two CLI programs.

This package root is the public API: everything a provider (built-in or third-party) or another
tool needs is exported here, and providers import nothing else (a test checks). Names are
resolved lazily so that ``import imageworks_core`` stays cheap for the CLI.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# name -> module (relative to this package) that defines it. Keep the TYPE_CHECKING block below
# in step (a test checks both agree).
_EXPORTS = {
    "hookimpl": "hookspecs",
    "hookspec": "hookspecs",
    "Entry": "entry",
    "Artifacts": "entry",
    "ArtifactFile": "entry",
    "Capabilities": "entry",
    "ChatTemplate": "entry",
    "Variant": "hook_types",
    "Context": "hook_types",
    "Progress": "hook_types",
    "DownloadRequest": "hook_types",
    "DownloadResult": "hook_types",
    "PlannedFile": "hook_types",
    "Finding": "hook_types",
    "Redetected": "hook_types",
    "RemovedFiles": "hook_types",
    "Location": "hook_types",
    "DiscoverRequest": "hook_types",
    "GuiPanel": "hook_types",
    "Orphan": "hook_types",
    "UpdateCheck": "hook_types",
    "FileChange": "hook_types",
    "GgufFile": "hook_types",
    "LinkRequest": "hook_types",
    "LinkResult": "hook_types",
    "place_file": "linking",
    "CleanupRequest": "hook_types",
    "is_locked": "cleanup",
    "Registry": "registry.store",
    "utc_now": "registry.store",
    "MergedView": "registry.merge",
    "read_layer": "registry.layers",
    "copy_identity": "registry.naming",
    "family_from_file": "registry.naming",
    "family_from_ollama": "registry.naming",
    "family_from_repo": "registry.naming",
    "slug": "registry.naming",
    "load_registry": "registry.store",
    "Settings": "settings",
    "SettingSpec": "hook_types",
    "load_settings": "settings",
    "Session": "session",
    "ImageworksError": "errors",
    "BadInputError": "errors",
    "RegistryFormatError": "errors",
    "LockTimeoutError": "errors",
    "NotFoundError": "errors",
    "DownloadError": "errors",
    "VerificationError": "errors",
    "UnsafePathError": "errors",
    "Interrupted": "errors",
    "DiscoveryReport": "discovery",
    "collect_variants": "discovery",
    "discover": "discovery",
    "under": "discovery",
    "Change": "registry.register",
    "register_variants": "registry.register",
    "variant_entry": "registry.register",
    "Acquired": "acquire",
    "acquire": "acquire",
    "default_backend": "model_files",
    "folder_variant": "model_files",
    "gguf_variants": "model_files",
    "has_weights": "model_files",
    "is_testing_name": "model_files",
    "location_label": "model_files",
    "FolderFacts": "detect",
    "GGUFHeaderError": "detect",
    "GGUFInfo": "detect",
    "detect_folder": "detect",
    "gguf_sets": "detect",
    "quant_label_from_filename": "detect",
    "read_gguf_info": "detect",
    "capabilities_from": "detect.folder",
    "FolderCache": "scan_cache",
    "folder_signature": "scan_cache",
    "plain_variant": "scan_cache",
    "variant_from_plain": "scan_cache",
    "with_aggregate": "fileset",
    "fork_map": "forked",
    "sha256_of": "hashing",
    "aligned_buffer": "buffers",
    "real_path": "realpaths",
    "not_a_link": "realpaths",
    "human_bytes": "units",
    "redact": "eventlog",
    "repo_id_problem": "hub_names",
    "revision_problem": "hub_names",
    "size_problem": "hub_names",
    "unsafe_path_reason": "hub_names",
    "check_paths": "safety",
    "delete_entry_files": "safety",
    "entry_roots": "safety",
    "prune_empty_parents": "safety",
    "safe_delete": "safety",
    "confirm_or_refuse": "cli.base",
    "dry_run_option": "cli.base",
    "emit_json": "cli.base",
    "json_option": "cli.base",
    "print_table": "cli.base",
    "session_from": "cli.base",
    "warn_printer": "cli.base",
    "location_label_of": "cli.reports",
    "print_report": "cli.reports",
    "report_options": "cli.reports",
}

__all__ = sorted(_EXPORTS) + ["__version__"]

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs
    from .hookspecs import hookimpl, hookspec
    from .entry import ArtifactFile, Artifacts, Capabilities, ChatTemplate, Entry
    from .cleanup import is_locked
    from .linking import place_file
    from .hook_types import (CleanupRequest, Context, FileChange, UpdateCheck, DiscoverRequest, GgufFile, GuiPanel, LinkRequest, LinkResult, Orphan, DownloadRequest, DownloadResult, Finding, Location, PlannedFile, Progress,
                        Redetected, RemovedFiles, Variant)
    from .registry.store import Registry, utc_now
    from .registry.merge import MergedView
    from .registry.layers import read_layer
    from .registry.naming import copy_identity, family_from_file, family_from_ollama, family_from_repo, slug
    from .registry.store import load_registry
    from .hook_types import SettingSpec
    from .settings import Settings, load_settings
    from .session import Session
    from .errors import (BadInputError, DownloadError, ImageworksError, Interrupted, LockTimeoutError, NotFoundError,
                         RegistryFormatError, UnsafePathError, VerificationError)
    from .discovery import DiscoveryReport, collect_variants, discover, under
    from .registry.register import Change, register_variants, variant_entry
    from .acquire import Acquired, acquire
    from .model_files import (default_backend, folder_variant, gguf_variants, has_weights, is_testing_name, location_label)
    from .detect import (FolderFacts, GGUFHeaderError, GGUFInfo, detect_folder, gguf_sets, quant_label_from_filename,
                         read_gguf_info)
    from .detect.folder import capabilities_from
    from .scan_cache import FolderCache, folder_signature, plain_variant, variant_from_plain
    from .fileset import with_aggregate
    from .forked import fork_map
    from .buffers import aligned_buffer
    from .realpaths import not_a_link, real_path
    from .hashing import sha256_of
    from .units import human_bytes
    from .eventlog import redact
    from .hub_names import repo_id_problem, revision_problem, size_problem, unsafe_path_reason
    from .safety import check_paths, delete_entry_files, entry_roots, prune_empty_parents, safe_delete
    from .cli.base import (confirm_or_refuse, dry_run_option, emit_json, json_option, print_table, session_from, warn_printer)
    from .cli.reports import location_label_of, print_report, report_options


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'imageworks_core' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value

"""``<registry dir>/.imageworks-cache/``: what the tools remember between runs (validated layer
digests, content hashes, scan results). It holds a ``.gitignore`` of ``*`` so that a registry
kept under version control, as the runbook asks, never shows it."""

from __future__ import annotations

from pathlib import Path

NAME = ".imageworks-cache"


def cache_path(registry_dir: str | Path, name: str) -> Path:
    """Where cache file ``name`` lives (nothing is created)."""
    return Path(registry_dir) / NAME / name


def ensure_cache_dir(registry_dir: str | Path) -> Path:
    """Create the cache folder (and its .gitignore) before a cache is written."""
    folder = Path(registry_dir) / NAME
    folder.mkdir(parents=True, exist_ok=True)
    ignore = folder / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# written by imageworks: caches, safe to delete\n*\n")
    return folder

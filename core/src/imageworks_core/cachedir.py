"""Where the tools remember things between runs (validated layer digests, content hashes, scan
results): the user's cache directory, never the registry directory (docs/registry.md §1).

Caches are per machine (content hashes are keyed by inode, scans by this host's folders) while a
registry directory may be shared, versioned or read-only, so each registry gets its own folder
under ``IMAGEWORKS_CACHE_DIR`` (else ``platformdirs.user_cache_dir("imageworks")``), keyed by the
registry directory's real path. Deleting it loses nothing but time.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

ENV = "IMAGEWORKS_CACHE_DIR"
_configured: str | None = None  # the ``cache_dir`` setting, once settings are loaded


def configure(base: str | os.PathLike | None) -> None:
    """Use ``base`` (the ``cache_dir`` setting from a file or option) for this process."""
    global _configured
    _configured = os.fspath(base) if base else None


def default_cache_base() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("imageworks", appauthor=False))


def cache_base() -> Path:
    """The cache directory for every registry on this machine: the ``cache_dir`` setting."""
    configured = _configured or os.environ.get(ENV)
    if configured:
        return Path(configured).expanduser().absolute()
    return default_cache_base()


def registry_cache_dir(registry_dir: str | Path) -> Path:
    """The folder holding one registry's caches: ``<base>/registries/<name>-<hash of real path>``."""
    real = os.path.realpath(registry_dir)
    digest = hashlib.sha256(real.encode("utf-8", "surrogateescape")).hexdigest()[:16]
    # The readable part is for a person listing the folder; the hash makes it unique.
    label = re.sub(r"[^A-Za-z0-9._-]+", "-", "-".join(Path(real).parts[-2:]))[:48] or "root"
    return cache_base() / "registries" / f"{label}-{digest}"


def cache_path(registry_dir: str | Path, name: str) -> Path:
    """Where cache file ``name`` of this registry lives (nothing is created)."""
    return registry_cache_dir(registry_dir) / name


def ensure_cache_dir(registry_dir: str | Path) -> Path:
    """Create this registry's cache folder before a cache is written."""
    folder = registry_cache_dir(registry_dir)
    folder.mkdir(parents=True, exist_ok=True)
    return folder

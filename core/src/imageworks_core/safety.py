"""Deleting files safely (docs/commands.md, docs/reliability.md #8): only inside the configured roots, links
removed and never followed, every path checked before anything is deleted."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from .errors import UnsafePathError
from .hook_types import RemovedFiles

if TYPE_CHECKING:
    from .entry import Entry
    from .hook_types import Context


def entry_roots(entry: "Entry", ctx: "Context") -> list[Path]:
    """The configured roots, plus the ``--location PATH`` a download was given (kept on the entry)."""
    roots = list(ctx.settings.roots())
    extra = entry.metadata.get("location_root")
    if isinstance(extra, str) and len(Path(extra).resolve().parts) > 2:
        roots.append(Path(extra))
    return roots


def _real_roots(roots: Iterable[Path]) -> list[Path]:
    return [Path(os.path.realpath(r)) for r in roots]


def inside(path: Path, real_roots: list[Path]) -> bool:
    """Is ``path`` itself (not what a final link points to) inside a root, and not a root?"""
    # String prefixes, not pathlib: cleanup asks this for thousands of candidates.
    parent = os.path.realpath(os.path.dirname(os.path.abspath(path)))
    target = os.path.join(parent, os.path.basename(path))
    within = os.path.join(parent, "")
    for root in real_roots:
        text = os.fspath(root)
        if target != text and within.startswith(os.path.join(text, "")):
            return True
    return False


def check_paths(paths: Iterable[Path], roots: Iterable[Path]) -> None:
    real = _real_roots(roots)
    for path in paths:
        if ".." in Path(path).parts or not inside(Path(path), real):
            raise UnsafePathError(
                f"refusing to delete {path}: it is outside the configured roots "
                f"({', '.join(map(str, roots)) or 'none'})",
                hint="add the folder to `locations` (config set locations.NAME DIR) if it really is yours",
            )


def safe_delete(path: Path, roots: Iterable[Path]) -> list[str]:
    """Delete a file, a link, or a folder tree without following links. Returns what went."""
    real = _real_roots(roots)
    deleted: list[str] = []
    if not inside(path, real):
        raise UnsafePathError(f"refusing to delete {path}: outside the configured roots")
    if path.is_symlink() or not path.is_dir():
        try:
            path.unlink()
            deleted.append(str(path))
        except FileNotFoundError:
            pass
        return deleted
    for folder, dirs, files in os.walk(path, topdown=False, followlinks=False):
        here = Path(folder)
        before = here.lstat()
        for name in files + [d for d in dirs if (here / d).is_symlink()]:
            target = here / name
            if not inside(target, real):  # a folder swapped for a link mid-walk
                raise UnsafePathError(f"refusing to delete {target}: it now resolves outside the roots")
            target.unlink(missing_ok=True)
            # Keep the folder's own time: if this delete is killed after the last file went, the
            # empty folder must not look "changed just now" to the next cleanup's --older-than.
            with contextlib.suppress(OSError):
                os.utime(here, ns=(before.st_atime_ns, before.st_mtime_ns), follow_symlinks=False)
            deleted.append(str(target))
        for name in dirs:
            sub = here / name
            if not sub.is_symlink() and sub.is_dir():
                try:
                    sub.rmdir()
                except OSError:
                    pass
    if inside(path, real) and not path.is_symlink():
        try:
            path.rmdir()
        except OSError:
            pass
    return deleted


def delete_entry_files(entry: "Entry", ctx: "Context") -> RemovedFiles:
    """Delete an entry's listed files; files another entry lists (``ctx.shared_files``,
    real paths) are kept. Every path is checked before the first deletion."""
    if not entry.download_path:
        return RemovedFiles()
    base = Path(entry.download_path)
    roots = entry_roots(entry, ctx)
    paths = [base / rel for rel in entry.download_files]
    check_paths([base, *paths], roots)
    shared = set(ctx.shared_files)
    deleted, kept = [], []
    for path in paths:
        if os.path.realpath(path) in shared:
            kept.append(str(path))
            continue
        deleted += safe_delete(path, roots)
    # Sub-folders the files were in, then the variant's folder, if now empty.
    for path in sorted({p.parent for p in paths}, key=lambda p: -len(p.parts)):
        _rmdir_up_to(path, base)
    return RemovedFiles(tuple(deleted), tuple(kept))


def _rmdir_up_to(folder: Path, stop: Path) -> None:
    while folder == stop or stop in folder.parents:
        try:
            folder.rmdir()
        except OSError:
            return
        if folder == stop:
            return
        folder = folder.parent


def prune_empty_parents(folder: Path, roots: Iterable[Path], levels: int) -> None:
    """Remove ``folder`` and up to ``levels`` - 1 parents while empty; never a root."""
    real = _real_roots(roots)
    for _ in range(levels):
        if not inside(folder, real) or folder.is_symlink():
            return
        try:
            folder.rmdir()
        except FileNotFoundError:
            pass  # already gone (the variant's own folder): go on with its parent
        except OSError:
            return
        folder = folder.parent

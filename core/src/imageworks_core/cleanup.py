"""``cleanup``: one reclaim of every store's leftovers (docs/commands.md "Across stores").

Providers report candidates (``imageworks_orphans``); the core decides. A candidate survives only
if no registry entry lists it (curated or discovered), nothing in it changed for
``older_than`` seconds, no download holds its lock, and it lies inside the configured roots.
Bytes are what deleting really frees: allocated blocks (sparse partials), and 0 for a file that
has other hard links. ``apply`` deletes in phase order, re-checking each candidate just before,
so a crash at any moment leaves every store consistent (a snapshot goes before the blobs only it
used; a blob no manifest references is never needed by one)."""

from __future__ import annotations

import os
import re
import stat
import time
from pathlib import Path
from typing import Iterable

import attrs

from .errors import BadInputError
from .hook_types import CleanupRequest, Orphan
from .session import Session

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> float:
    """``90s``, ``30m``, ``1h``, ``7d``, ``2w``, ``0`` -> seconds."""
    match = _DURATION.match(text or "")
    if not match:
        raise BadInputError(f"--older-than {text!r} is not a duration (examples: 30m, 1h, 7d, 0)")
    return float(match[1]) * _UNIT[match[2]]


def is_locked(path: str | os.PathLike) -> bool:
    """Does another process hold an ``flock`` on ``path`` (a download in progress: ours, an
    aria2c we started, huggingface_hub's ``.locks/``)? A missing file is not locked."""
    try:
        import fcntl
    except ImportError:
        return False
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(fd)  # closing releases the lock we may have taken
    return False


@attrs.frozen
class CleanupItem:
    store: str
    kind: str
    path: str
    bytes: int
    reason: str
    phase: int = 0


@attrs.frozen
class CleanupPlan:
    items: tuple[CleanupItem, ...]
    skipped: tuple[tuple[str, str], ...]  # (path, why it stays)

    @property
    def reclaimable_bytes(self) -> int:
        return sum(item.bytes for item in self.items)


def freed_bytes(path: Path) -> tuple[int, float]:
    """(bytes deleting ``path`` frees, when what is in it last changed). Links free nothing; a
    file with other hard links frees nothing; a sparse file frees its allocated blocks.

    A folder's age is its files' (and links'), not its own: a folder's mtime moves whenever an
    entry is removed from it, by an interrupted cleanup of this very folder for one, which would
    otherwise keep the rest of it "recent" for ``--older-than`` more. Only a tree with no file at
    all, perhaps made a moment ago to be filled, is aged by its folders."""
    total = 0
    try:
        st = path.lstat()
    except FileNotFoundError:
        return 0, 0.0
    if path.is_symlink() or not path.is_dir():
        if not path.is_symlink() and st.st_nlink == 1:
            total = st.st_blocks * 512
        return total, st.st_mtime
    newest_file, newest_folder, any_file = 0.0, st.st_mtime, False
    for folder, dirs, files in os.walk(path, followlinks=False):
        for name in dirs:
            try:
                newest_folder = max(newest_folder, os.lstat(os.path.join(folder, name)).st_mtime)
            except OSError:
                continue
        for name in files:
            try:
                sub = os.lstat(os.path.join(folder, name))
            except OSError:
                continue
            any_file = True
            newest_file = max(newest_file, sub.st_mtime)
            if sub.st_nlink == 1 and not stat.S_ISLNK(sub.st_mode):
                total += sub.st_blocks * 512
    return total, newest_file if any_file else newest_folder


def _listed_paths(session: Session) -> set[str]:
    """Real paths of every file any entry lists, in either layer."""
    view = session.registry.load()
    listed: set[str] = set()
    for entry in view.entries:
        if entry.download_path:
            for rel in entry.download_files:
                listed.add(os.path.realpath(os.path.join(entry.download_path, rel)))
                # The path itself too: a snapshot link is listed, and so is the blob it points to.
                listed.add(os.path.normpath(os.path.join(entry.download_path, rel)))
    return listed


def _holds_listed(path: str, listed: set[str], listed_sorted: list[str]) -> bool:
    real = os.path.realpath(path)
    if real in listed or os.path.normpath(path) in listed:
        return True
    if os.path.isdir(path) and not os.path.islink(path):
        import bisect

        for prefix in {os.path.join(real, ""), os.path.join(os.path.normpath(path), "")}:
            i = bisect.bisect_left(listed_sorted, prefix)
            if i < len(listed_sorted) and listed_sorted[i].startswith(prefix):
                return True
    return False


def plan_cleanup(session: Session, older_than_s: float) -> CleanupPlan:
    from .safety import _real_roots, inside

    ctx = session.context()
    request = CleanupRequest(older_than_s=older_than_s)
    found: list[Orphan] = [o for result in session.plugins.hook.imageworks_orphans(request=request, ctx=ctx)
                           for o in (result or ())]
    listed = _listed_paths(session)
    listed_sorted = sorted(listed)
    roots = _real_roots(session.settings.roots())
    cutoff = time.time() - older_than_s
    kept: dict[str, str] = {}
    candidates: dict[str, tuple[Orphan, int]] = {}
    for orphan in found:
        path = Path(orphan.path)
        if not os.path.lexists(path):
            continue
        if not inside(path, roots):
            kept[orphan.path] = "outside the configured roots"
        elif _holds_listed(orphan.path, listed, listed_sorted):
            kept[orphan.path] = "a registry entry lists it"
        elif any(is_locked(lock) for lock in orphan.locks):
            kept[orphan.path] = "a download in progress holds its lock"
        else:
            size, newest = freed_bytes(path)
            if newest > cutoff:
                kept[orphan.path] = f"changed less than {older_than_s:g}s ago"
            else:
                candidates[orphan.path] = (orphan, size)
    # A candidate that needs others gone (the blobs of an old snapshot) stays when they stay.
    changed = True
    while changed:
        changed = False
        for path, (orphan, _size) in list(candidates.items()):
            missing = [d for d in orphan.depends_on if d not in candidates]
            if missing:
                del candidates[path]
                kept[path] = f"{missing[0]} stays"
                changed = True
    items = tuple(sorted(
        (CleanupItem(o.store, o.kind, o.path, size, o.reason, o.phase) for o, size in candidates.values()),
        key=lambda item: (item.store, item.phase, item.path)))
    return CleanupPlan(items, tuple(sorted(kept.items())))


def apply_cleanup(session: Session, plan: CleanupPlan,
                  on_item: "callable | None" = None) -> int:
    """Delete the plan's items in phase order (each re-checked first); the bytes freed."""
    from .safety import safe_delete

    roots = session.settings.roots()
    listed = _listed_paths(session)  # read again: an entry registered since the plan wins
    listed_sorted = sorted(listed)
    freed = 0
    for item in sorted(plan.items, key=lambda i: (i.phase, i.store, i.path)):
        if _holds_listed(item.path, listed, listed_sorted) or not os.path.lexists(item.path):
            continue
        size, _newest = freed_bytes(Path(item.path))
        safe_delete(Path(item.path), roots)
        freed += size
        if on_item:
            on_item(item)
    session.log.event("cleanup", deleted=[i.path for i in plan.items], freed_bytes=freed)
    return freed


def group_by_store(items: Iterable[CleanupItem]) -> dict[str, list[CleanupItem]]:
    groups: dict[str, list[CleanupItem]] = {}
    for item in items:
        groups.setdefault(item.store, []).append(item)
    return groups

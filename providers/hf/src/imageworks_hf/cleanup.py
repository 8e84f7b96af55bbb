"""What the hf provider leaves behind: our interrupted downloads' partial folders, and the
Hugging Face cache's incomplete blobs, blobs no snapshot links to, snapshots no ref points to,
and broken snapshot links. Only reported here; the core decides and deletes."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

from imageworks_core import CleanupRequest, Context, Orphan

from .cache_ingest import cache_dir
from .transfer import LOCK_NAME, STAGING

PARTIAL_DEPTH = 4  # <location>/<owner>/<repo>/.imageworks-partial; URL downloads: <host>/<name>


def orphans(request: CleanupRequest, ctx: Context) -> Iterator[Orphan]:
    seen: set[str] = set()
    for label, directory in sorted(ctx.settings.locations.items()):
        for staging in _partials(Path(directory)):
            if str(staging) not in seen:
                seen.add(str(staging))
                yield Orphan(f"downloads ({label} {directory})", "partial", str(staging),
                             "an interrupted download's partial files and resume state",
                             locks=(str(staging / LOCK_NAME),))
    cache = cache_dir()
    if cache.is_dir():
        for repo in sorted(cache.glob("models--*")):
            yield from _cache_repo(cache, repo)


def _partials(root: Path) -> Iterator[Path]:
    if not root.is_dir():
        return
    base = len(root.parts)
    for folder, dirs, _files in os.walk(root):
        if STAGING in dirs:
            yield Path(folder) / STAGING
        depth = len(Path(folder).parts) - base
        dirs[:] = [d for d in dirs if not d.startswith(".") and depth < PARTIAL_DEPTH - 1]


def _cache_repo(cache: Path, repo: Path) -> Iterator[Orphan]:
    store = f"Hugging Face cache {cache}"
    refs: set[str] = set()
    for ref in (repo / "refs").rglob("*") if (repo / "refs").is_dir() else ():
        try:
            refs.add(ref.read_text().strip()) if ref.is_file() else None
        except OSError:
            pass
    linked_by: dict[str, set[str]] = {}  # blob name -> snapshots that link to it
    old: set[str] = set()
    snapshots = repo / "snapshots"
    for snapshot in sorted(p for p in snapshots.iterdir() if p.is_dir()) if snapshots.is_dir() else ():
        if snapshot.name not in refs:
            old.add(str(snapshot))
            yield Orphan(store, "old-snapshot", str(snapshot), "a revision no ref points to", phase=1)
        for folder, _dirs, files in os.walk(snapshot):
            for name in files:
                link = Path(folder) / name
                if not link.is_symlink():
                    continue
                target = Path(os.path.normpath(link.parent / os.readlink(link)))
                if not target.exists():
                    yield Orphan(store, "broken-link", str(link), "a snapshot link into a missing blob", phase=0)
                else:
                    linked_by.setdefault(target.name, set()).add(str(snapshot))
    locks = cache / ".locks" / repo.name
    for blob in sorted((repo / "blobs").iterdir()) if (repo / "blobs").is_dir() else ():
        if blob.name.endswith(".incomplete"):
            lock = locks / (blob.name.removesuffix(".incomplete") + ".lock")
            yield Orphan(store, "incomplete-blob", str(blob), "an interrupted download's partial blob",
                         locks=(str(lock),))
            continue
        users = linked_by.get(blob.name, set())
        if not users:
            yield Orphan(store, "unreferenced-blob", str(blob), "no snapshot links to it", phase=2)
        elif users <= old:
            yield Orphan(store, "unreferenced-blob", str(blob), "only old snapshots link to it", phase=2,
                         depends_on=tuple(sorted(users)))

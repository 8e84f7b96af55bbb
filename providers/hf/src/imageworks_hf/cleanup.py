"""What the hf provider leaves behind: our interrupted downloads' partial folders, aria2c's
in-place partials (any aria2c run: hfd.sh, the earlier tool) anywhere under the configured roots,
and the Hugging Face cache's incomplete blobs, blobs no snapshot links to, snapshots no ref points
to, and broken snapshot links. Only reported here; the core decides and deletes."""

from __future__ import annotations

import os
from typing import Iterator

from imageworks_core import CleanupRequest, Context, Orphan
from imageworks_core.kit import is_dir_entry

from .cache_paths import cache_dir
from .transfer import LOCK_NAME, STAGING

UPDATE_SUFFIX = ".imageworks-update"  # staging folders of `update` (updates.py)
CACHE_STAGING = ".imageworks-download"  # in a cache repo folder (hf_cache_link.download_to_cache)

def orphans(request: CleanupRequest, ctx: Context) -> Iterator[Orphan]:
    seen: set[str] = set()
    for label, directory in sorted(ctx.settings.locations.items()):
        for staging in _partials(directory):
            if staging not in seen:
                seen.add(staging)
                yield Orphan(f"downloads ({label} {directory})", "partial", staging,
                             "an interrupted download's partial files and resume state",
                             locks=(os.path.join(staging, LOCK_NAME), os.path.join(staging, STAGING, LOCK_NAME)))
    cache = cache_dir()
    model_folders = [str(ctx.settings.model_root), *map(str, ctx.settings.locations.values())]
    yield from _aria2_leftovers(model_folders, skip={os.path.realpath(cache)})
    if cache.is_dir():
        for repo in sorted(e.path for e in os.scandir(cache) if e.name.startswith("models--") and is_dir_entry(e)):
            yield from _cache_repo(str(cache), repo)


ARIA2_SUFFIX = ".aria2"
ARIA2_DEPTH = 6  # <root>/<owner>/<repo>/<sub folders>/<file>: model folders are shallow


def _aria2_leftovers(roots: list[str], skip: set[str]) -> Iterator[Orphan]:
    """aria2c's interrupted downloads left in place: ``X`` with its control file ``X.aria2``
    (both, or neither: without its control file ``X`` would pass for a whole file), and a control
    file whose ``X`` is gone (aria2c itself discards it: there is nothing to resume). One listing
    per folder; hidden folders (ours, ``.imageworks-partial``, are reported whole) and links are
    not entered; a root inside another is walked once, under its own name."""
    done: set[str] = set(skip)
    for root in sorted({os.path.realpath(r) for r in roots}, key=len, reverse=True):
        if root in done:
            continue
        done.add(root)
        store = f"aria2c downloads ({root})"
        pending = [(root, 0)]
        while pending:
            folder, depth = pending.pop()
            try:
                entries = list(os.scandir(folder))
            except OSError:
                continue
            controls = []
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                if entry.name.endswith(ARIA2_SUFFIX) and len(entry.name) > len(ARIA2_SUFFIX):
                    controls.append(entry)
                elif depth < ARIA2_DEPTH and entry.is_dir(follow_symlinks=False) and entry.path not in done:
                    pending.append((entry.path, depth + 1))
            names = {e.name for e in entries} if controls else set()
            for control in sorted(controls, key=lambda e: e.name):
                if not control.is_file(follow_symlinks=False):
                    continue
                data = control.path[:-len(ARIA2_SUFFIX)]
                if control.name[:-len(ARIA2_SUFFIX)] in names:
                    # The data goes first: a crash between leaves a control file alone, still found.
                    yield Orphan(store, "aria2-partial", data, "an interrupted aria2c download (its control file "
                                 "is beside it)", phase=0, depends_on=(control.path,))
                    yield Orphan(store, "aria2-control", control.path, "the control file of an interrupted aria2c "
                                 "download", phase=1, depends_on=(data,))
                else:
                    yield Orphan(store, "aria2-control", control.path, "an aria2c control file whose download is "
                                 "gone (aria2c discards it: nothing to resume)", phase=1)


def _dirs(folder: str) -> list[str]:
    try:
        return [e.path for e in os.scandir(folder) if e.is_dir(follow_symlinks=False) and not e.name.startswith(".")]
    except OSError:
        return []


def _partials(root: str) -> Iterator[str]:
    """``<location>/<owner>/<repo>/.imageworks-partial`` (URL downloads: ``<host>/<name>``): one
    listing per owner and one stat per repo, not a walk of every model's files."""
    for owner in sorted(_dirs(root)):
        try:  # an `update` killed before its swap leaves `.<repo>.imageworks-update` beside the repo
            yield from sorted(e.path for e in os.scandir(owner) if e.name.startswith(".")
                              and e.name.endswith(UPDATE_SUFFIX) and e.is_dir(follow_symlinks=False))
        except OSError:
            pass
        for repo in sorted(_dirs(owner)):
            staging = os.path.join(repo, STAGING)
            if os.path.isdir(staging):
                yield staging


def _cache_repo(cache: str, repo: str) -> Iterator[Orphan]:
    store = f"Hugging Face cache {cache}"
    staged = os.path.join(repo, CACHE_STAGING)  # `download --location hf_cache` stages here
    if os.path.isdir(staged):
        yield Orphan(store, "partial", staged, "an interrupted download's partial files and resume state",
                     locks=tuple(os.path.join(d.path, LOCK_NAME) for d in os.scandir(staged) if is_dir_entry(d)))
    refs: set[str] = set()
    for folder, _dirs_, files in os.walk(os.path.join(repo, "refs")):
        for name in files:
            try:
                with open(os.path.join(folder, name), encoding="utf-8") as handle:
                    refs.add(handle.read().strip())
            except OSError:
                pass
    blobs_dir = os.path.join(repo, "blobs")
    linked_by: dict[str, set[str]] = {}  # blob name -> snapshots that link to it
    old: set[str] = set()
    snapshots = os.path.join(repo, "snapshots")
    for snapshot in sorted(_dirs(snapshots)) if os.path.isdir(snapshots) else ():
        if os.path.basename(snapshot) not in refs:
            old.add(snapshot)
            yield Orphan(store, "old-snapshot", snapshot, "a revision no ref points to", phase=1)
        for folder, _dirs_, files in os.walk(snapshot):
            for name in files:
                link = os.path.join(folder, name)
                try:
                    target = os.path.normpath(os.path.join(folder, os.readlink(link)))
                except OSError:  # not a link
                    continue
                if not os.path.exists(target):
                    yield Orphan(store, "broken-link", link, "a snapshot link into a missing blob", phase=0)
                else:
                    linked_by.setdefault(os.path.basename(target), set()).add(snapshot)
    locks = os.path.join(cache, ".locks", os.path.basename(repo))
    try:
        blobs = sorted(os.listdir(blobs_dir))
    except OSError:
        blobs = []
    for name in blobs:
        blob = os.path.join(blobs_dir, name)
        if name.endswith(".incomplete"):
            lock = os.path.join(locks, name.removesuffix(".incomplete") + ".lock")
            yield Orphan(store, "incomplete-blob", blob, "an interrupted download's partial blob", locks=(lock,))
            continue
        users = linked_by.get(name, set())
        if not users:
            yield Orphan(store, "unreferenced-blob", blob, "no snapshot links to it", phase=2)
        elif users <= old:
            yield Orphan(store, "unreferenced-blob", blob, "only old snapshots link to it", phase=2,
                         depends_on=tuple(sorted(users)))

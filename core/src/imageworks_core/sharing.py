"""``dupes`` and ``dedupe`` (docs/commands.md "Across stores"): identical files held by several entries or
stores, and replacing the extra copies by hard links.

A file's content identity is its sha256. It is known for free from what the registry already
records (hub LFS hashes, Ollama digests, ``verify --hash``) and from the hash cache; a file is
hashed only when another file has the same size and its hash is not known. Two paths on the same
``(st_dev, st_ino)`` are one copy, already shared."""

from __future__ import annotations

import os
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Callable, Iterable

import attrs

from .errors import ImageworksError
from .session import Session


@attrs.frozen
class Copy:
    path: str
    entry: str
    provider: str | None
    inode: tuple[int, int]  # (st_dev, st_ino)


@attrs.frozen
class DupeGroup:
    sha256: str
    size: int
    copies: tuple[Copy, ...]

    @property
    def inodes(self) -> dict[tuple[int, int], list[Copy]]:
        out: dict[tuple[int, int], list[Copy]] = defaultdict(list)
        for copy in self.copies:
            out[copy.inode].append(copy)
        return out

    @property
    def reclaimable_bytes(self) -> int:
        """What hard-linking frees: on each filesystem, every distinct copy but one."""
        per_device: dict[int, set[int]] = defaultdict(set)
        for dev, ino in self.inodes:
            per_device[dev].add(ino)
        return sum(self.size * (len(inodes) - 1) for inodes in per_device.values())


@attrs.frozen
class DupesReport:
    groups: tuple[DupeGroup, ...]
    hashed_files: int  # how many files had to be read

    @property
    def reclaimable_bytes(self) -> int:
        return sum(g.reclaimable_bytes for g in self.groups)


def _hash_cache(session: Session):
    from .cachedir import cache_path
    from .hashing import CACHE_NAME, HashCache

    return HashCache(cache_path(session.registry.directory, CACHE_NAME))


def find_dupes(session: Session, on_hashed: Callable[[str], None] | None = None) -> DupesReport:
    from .hashing import hash_files

    view = session.registry.load()
    cache = _hash_cache(session)
    by_inode: dict[tuple[int, int], list[Copy]] = defaultdict(list)
    size_of: dict[tuple[int, int], int] = {}
    known: dict[tuple[int, int], str] = {}
    stamp_of: dict[tuple[int, int], tuple[str, os.stat_result]] = {}
    for entry in view.entries:
        if not entry.download_path:
            continue
        recorded = {a.path: a for a in entry.artifacts.files}
        for rel in entry.download_files:
            path = os.path.join(entry.download_path, rel)
            try:
                real = os.path.realpath(path)
                st = os.stat(real)
            except OSError:
                continue
            key = (st.st_dev, st.st_ino)
            if any(c.path == path for c in by_inode[key]):
                continue
            by_inode[key].append(Copy(path, entry.name, entry.source_provider, key))
            size_of[key] = st.st_size
            stamp_of.setdefault(key, (real, st))
            artifact = recorded.get(rel)
            if artifact and artifact.sha256 and artifact.size == st.st_size:
                known.setdefault(key, artifact.sha256)
    by_size: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for key, size in size_of.items():
        if size > 0:
            by_size[size].append(key)
    todo: dict[str, tuple[int, int]] = {}
    for size, keys in by_size.items():
        if len(keys) < 2:
            continue  # a unique size is a unique file: nothing to read
        for key in keys:
            if key in known:
                continue
            real, st = stamp_of[key]
            cached = cache.lookup(real, st)
            if cached:
                known[key] = cached
            else:
                todo[real] = key
    hashed = 0
    if todo:
        results = hash_files(list(todo), cache, on_done=on_hashed)
        cache.save()
        for real, digest in results.items():
            if isinstance(digest, str):
                known[todo[real]] = digest
                hashed += 1
    groups: dict[tuple[str, int], list[Copy]] = defaultdict(list)
    for size, keys in by_size.items():
        if len(keys) < 2:
            continue
        for key in keys:
            if key in known:
                groups[(known[key], size)] += by_inode[key]
    out = [DupeGroup(sha, size, tuple(sorted(copies, key=lambda c: c.path)))
           for (sha, size), copies in groups.items() if len({c.inode for c in copies}) > 1]
    out.sort(key=lambda g: (-g.reclaimable_bytes, g.sha256))
    return DupesReport(tuple(out), hashed)


@attrs.frozen
class LinkStep:
    keep: str
    replace: str
    size: int
    sha256: str


def _unlinkable(path: str, real_roots: list[Path]) -> str | None:
    """Why dedupe may not replace (or link to) ``path``: what ``apply`` refuses, the plan leaves out."""
    from .safety import inside

    if os.path.islink(path) or os.path.realpath(path) != os.path.abspath(path):
        return "reached through a symlink"
    if not inside(Path(path), real_roots):
        return "outside the configured roots"
    return None


def plan_dedupe(report: DupesReport, roots: Iterable[Path]) -> tuple[list[LinkStep], list[tuple[str, str]]]:
    """Keep the first copy on each filesystem (by path), link the others to it. Returns the
    steps and the copies left alone with why (another filesystem than any other copy, outside
    ``roots``...): a dry run plans only what ``--apply`` would do."""
    from .safety import _real_roots

    real_roots = _real_roots(roots)
    steps, skipped = [], []
    for group in report.groups:
        per_device: dict[int, list[Copy]] = defaultdict(list)
        for inode, copies in sorted(group.inodes.items(), key=lambda item: item[1][0].path):
            if reason := _unlinkable(copies[0].path, real_roots):
                skipped.append((copies[0].path, reason))
                continue
            per_device[inode[0]].append(copies[0])
        for dev, copies in per_device.items():
            if len(copies) < 2:
                skipped.append((copies[0].path, "no other copy on the same filesystem (hard links cannot cross)"))
                continue
            keep = copies[0]
            steps += [LinkStep(keep.path, other.path, group.size, group.sha256) for other in copies[1:]]
    return steps, skipped


def apply_dedupe(session: Session, steps: list[LinkStep], on_step: Callable[[LinkStep], None] | None = None) -> int:
    """Replace each duplicate by a hard link to the kept copy, atomically (link to a temporary
    name in the same folder, then rename over), after re-hashing both sides. Returns bytes freed."""
    from .hashing import sha256_of
    from .safety import _real_roots

    roots = _real_roots(session.settings.roots())
    freed = 0
    for step in steps:
        for path in (step.keep, step.replace):  # checked again: the disk may have changed since the plan
            if reason := _unlinkable(path, roots):
                raise ImageworksError(f"refusing to link {path}: {reason}")
        keep_st, replace_st = os.stat(step.keep), os.stat(step.replace)
        if (keep_st.st_dev, keep_st.st_ino) == (replace_st.st_dev, replace_st.st_ino):
            continue  # already one copy
        if keep_st.st_dev != replace_st.st_dev:
            continue
        # Content can change between the plan and now: compare real bytes right before linking.
        if sha256_of(step.keep) != step.sha256 or sha256_of(step.replace) != step.sha256:
            raise ImageworksError(f"{step.replace} or {step.keep} changed since they were compared; nothing linked",
                                  hint="run dedupe again")
        folder = os.path.dirname(step.replace)
        tmp = os.path.join(folder, f".{os.path.basename(step.replace)}.{uuid.uuid4().hex[:8]}.imageworks-link")
        os.link(step.keep, tmp)
        try:
            os.replace(tmp, step.replace)
        except BaseException:
            os.unlink(tmp)
            raise
        if replace_st.st_nlink == 1:
            freed += replace_st.st_blocks * 512
        if on_step:
            on_step(step)
    session.log.event("dedupe", linked=[s.replace for s in steps], freed_bytes=freed)
    return freed

"""Derived values of an entry's files (docs/registry.md §3.2)."""

from __future__ import annotations

import hashlib
import os
from typing import Iterable

from .entry import ArtifactFile, Artifacts


def path_bytes(text: str) -> bytes:
    """A path's bytes on disk (``surrogateescape``: a name that is not UTF-8 as it was); any
    other lone surrogate (from a hand-written layer) passed through rather than refused."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


def directory_checksum(sizes: dict[str, int]) -> str:
    """16 hex chars of sha256 over the sorted ``relpath\\0size\\n`` lines."""
    lines = [f"{rel}\0{sizes[rel]}\n" for rel in sorted(sizes)]
    try:  # one encoding and one hash call (asked once per entry registered)
        data = "".join(lines).encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate that is no escaped byte: line by line, as path_bytes does
        data = b"".join(map(path_bytes, lines))
    return hashlib.sha256(data).hexdigest()[:16]


def aggregate_sha256(files: Iterable[ArtifactFile]) -> str | None:
    """sha256 of ``<sha256>  <relpath>\\n`` lines sorted by path (sha256sum's shape)."""
    files = sorted(files, key=lambda f: f.path)
    if not files or any(not f.sha256 for f in files):
        return None
    text = "".join(f"{f.sha256}  {f.path}\n" for f in files)
    return hashlib.sha256(path_bytes(text)).hexdigest()


def with_aggregate(files: Iterable[ArtifactFile]) -> Artifacts:
    files = tuple(sorted(files, key=lambda f: f.path))
    return Artifacts(files=files, aggregate_sha256=aggregate_sha256(files))


def stat_sizes(base: str | os.PathLike, files: Iterable[str]) -> tuple[dict[str, int], list[str]]:
    """Sizes of ``files`` under ``base`` (following links to their blobs), and the missing ones."""
    sizes: dict[str, int] = {}
    missing: list[str] = []
    prefix = os.path.join(os.fspath(base), "")
    for rel in files:
        try:
            sizes[rel] = os.stat(prefix + rel).st_size
        except OSError:
            missing.append(rel)
    return sizes, missing

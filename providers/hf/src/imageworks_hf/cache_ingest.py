"""Discovering Hugging Face downloads already on disk: ``owner/repo`` folders (ours, or
``huggingface-cli download --local-dir``) and the Hugging Face cache (``models--owner--name``)."""

from __future__ import annotations

import os
from pathlib import Path

import attrs
from typing import Iterator

from imageworks_core import Context, Variant
from imageworks_core.kit import default_backend, folder_variant, gguf_variants, has_weights
from imageworks_core.kit import copy_identity, family_from_repo, not_a_link, real_path
from imageworks_core.kit import file_names, is_dir_entry, is_file_entry

from .cache_paths import cache_dir, cache_roots  # noqa: F401 - where they were

NAME = "hf"
CACHE_LABEL = "hf_cache"  # the location label of Hugging Face cache entries


def identity(repo_id: str, revision: str, fmt: str | None, quant: str | None, folder: str | Path) -> str:
    """``hf:<repo>@<revision>:<format>[:<quant>]@<real path of the folder>``: one copy."""
    return copy_identity(f"hf:{repo_id}@{revision}:{fmt}" + (f":{quant}" if quant else ""), folder)


def repo_variants(ctx: Context, folder: str | Path, repo_id: str, revision: str, names: list[str],
                  commit: str | None = None, location: str | None = None,
                  sizes: dict[str, int] | None = None, subfolders: bool | None = None) -> list[Variant]:
    """``sizes``: the files' sizes when the listing already has them (the registry then stats
    nothing again); ``subfolders``: whether that listing found sub-folders (not links)."""
    source = {"repo_id": repo_id, "revision": revision, **({"commit": commit} if commit else {})}
    family = family_from_repo(repo_id, revision)
    ggufs = [n for n in names if n.lower().endswith(".gguf")]
    if ggufs:
        variants = gguf_variants(ctx, NAME, folder, ggufs, family=family, source=source,
                                 backend=default_backend("gguf", at=folder, settings=ctx.settings),
                                 identity_fn=lambda quant, _main: identity(repo_id, revision, "gguf", quant, folder),
                                 sizes=sizes)
    elif not has_weights(names):
        return []
    else:
        variant = folder_variant(ctx, NAME, folder, names, family=family, source=source,
                                 identity_fn=lambda fmt, quant: identity(repo_id, revision, fmt, quant, folder),
                                 location=location, sizes=sizes, subfolders=subfolders)
        return [] if variant is None else [variant]
    if location:
        variants = [attrs.evolve(v, download_location=location) for v in variants]
    return variants


def _files(folder: str | Path) -> list[str]:
    try:
        return file_names(folder)  # follows cache symlinks
    except OSError:
        return []


def _folders(path: str | Path) -> list[str]:
    """Names of the visible sub-folders, sorted; none when ``path`` cannot be read. Those that
    are no links are told to ``not_a_link``: identities (real paths) below them need no lstat."""
    folders = []
    path = os.fspath(path)
    try:
        with os.scandir(path) as entries:
            for entry in entries:
                if not entry.name.startswith(".") and is_dir_entry(entry):
                    folders.append(entry.name)
                    if not entry.is_symlink():
                        not_a_link(path, entry.name)
    except OSError:
        return []
    return sorted(folders)


def owner_repo_folders(ctx: Context, root: Path) -> Iterator[Variant]:
    """``<root>/<owner>/<repo>`` (``<repo>@<rev>`` for a revision other than main)."""
    if not root.is_dir():
        ctx.warn(str(root), "folder does not exist")
        return
    top = os.path.abspath(root)
    real_path(top)  # known from here down: the listings below say what is no link
    for owner in _folders(top):
        if owner.startswith("models--"):
            yield from cache_repo(ctx, os.path.join(top, owner))
            continue
        for repo in _folders(os.path.join(top, owner)):
            name, _, revision = repo.partition("@")
            folder = os.path.join(top, owner, repo)
            yield from repo_variants(ctx, folder, f"{owner}/{name}", revision or "main", _files(folder))


def cache_repo(ctx: Context, folder: str | Path) -> Iterator[Variant]:
    """One cache repo: each snapshot is a variant; its revision is the ref that points at it."""
    folder = os.fspath(folder)  # plain strings: this runs for every repo of a cache
    parts = os.path.basename(folder).split("--")
    if len(parts) < 3 or parts[0] != "models":
        return
    repo_id = f"{parts[1]}/{'--'.join(parts[2:])}"
    refs = _refs(os.path.join(folder, "refs"))
    snapshots = os.path.join(folder, "snapshots")
    real_path(snapshots)  # one lstat; the snapshots' real paths then follow from the listing
    for commit in _folders(snapshots):
        path = os.path.join(snapshots, commit)
        names, sizes, broken, subfolders = _snapshot_files(path)
        for name in broken:
            ctx.warn(os.path.join(path, name), "broken symlink into blobs/ (incomplete download?)")
        if escaping := links_outside_blobs(path, names):
            for name in escaping:
                ctx.warn(os.path.join(path, name), "links outside the repo's blobs/ folder: snapshot skipped")
            continue
        yield from repo_variants(ctx, path, repo_id, refs.get(commit, commit), names, commit=commit,
                                 location=CACHE_LABEL, sizes=sizes, subfolders=subfolders)


def _refs(refs_dir: str) -> dict[str, str]:
    """commit -> the first ref (``main``, ``refs/pr/1``) that points at it."""
    refs: dict[str, str] = {}
    pending = [""]
    while pending:
        relative = pending.pop()
        try:
            with os.scandir(os.path.join(refs_dir, relative)) as entries:
                found = sorted(entries, key=lambda e: e.name)
        except OSError:
            continue
        for entry in found:
            name = f"{relative}/{entry.name}" if relative else entry.name
            try:
                if entry.is_dir(follow_symlinks=False):  # a link loop under refs/ is not walked
                    pending.append(name)
                elif entry.is_file():
                    fd = os.open(entry.path, os.O_RDONLY | os.O_CLOEXEC)  # a 40-byte file: one read
                    try:
                        refs.setdefault(os.read(fd, 4096).decode("utf-8").strip(), name)
                    finally:
                        os.close(fd)
            except (OSError, UnicodeDecodeError):
                pass
    return refs


def _snapshot_files(path: str) -> tuple[list[str], dict[str, int], list[str], bool | None]:
    """A snapshot's files (links into blobs/, followed), their sizes, its broken links and
    whether it has sub-folders (not links; None if it could not be listed), in one listing
    (``is_file`` on a link stats its blob, and the entry keeps that stat)."""
    names, sizes, broken = [], {}, []
    subfolders: bool | None = False
    try:
        with os.scandir(path) as entries:
            for entry in entries:
                if is_file_entry(entry):  # a link loop is no file (and is named below as broken)
                    names.append(entry.name)
                    sizes[entry.name] = entry.stat().st_size
                elif entry.is_dir(follow_symlinks=False):
                    subfolders = True
                elif entry.is_symlink() and not os.path.exists(entry.path):
                    broken.append(entry.name)
    except OSError:
        subfolders = None
    return sorted(names), sizes, sorted(broken), subfolders


def hf_cache(ctx: Context, root: Path | None = None) -> Iterator[Variant]:
    root = root or cache_dir()
    if not root.is_dir():
        return
    top = os.path.abspath(root)
    real_path(top)  # known from here down: the listings below say what is no link
    for name in _folders(top):
        if name.startswith("models--"):
            yield from cache_repo(ctx, os.path.join(top, name))


def links_outside_blobs(snapshot: str, names: list[str]) -> list[str]:
    """Names in a snapshot that are links leading anywhere but the repo's ``blobs/`` (a cache
    huggingface_hub wrote links ``../../blobs/<hash>``; a copied file is not a link and is fine).
    Checked on the link's text, one ``readlink`` a file: the cache may sit behind a linked folder."""
    blobs = None
    outside = []
    prefix = os.path.join(snapshot, "")
    for name in names:
        try:
            target = os.readlink(prefix + name)
        except OSError:  # not a link
            continue
        if target.startswith("../../blobs/") and "/" not in name and "/" not in target[12:] and target[12:] not in ("", ".", ".."):
            continue  # the link huggingface_hub writes for a top-level file: no path arithmetic
        if blobs is None:
            blobs = os.path.normpath(os.path.join(snapshot, "..", "..", "blobs"))
        if os.path.dirname(os.path.normpath(os.path.join(snapshot, os.path.dirname(name), target))) != blobs:
            outside.append(name)
    return outside

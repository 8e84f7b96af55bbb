"""Discovering Hugging Face downloads already on disk: ``owner/repo`` folders (ours, or
``huggingface-cli download --local-dir``) and the Hugging Face cache (``models--owner--name``)."""

from __future__ import annotations

import os
from pathlib import Path

import attrs
from typing import Iterator

from imageworks_core import Context, Variant
from imageworks_core import default_backend, folder_variant, gguf_variants, has_weights
from imageworks_core import copy_identity, family_from_repo

NAME = "hf"
CACHE_LABEL = "hf_cache"  # the location label of Hugging Face cache entries


def identity(repo_id: str, revision: str, fmt: str | None, quant: str | None, folder: str | Path) -> str:
    """``hf:<repo>@<revision>:<format>[:<quant>]@<real path of the folder>``: one copy."""
    return copy_identity(f"hf:{repo_id}@{revision}:{fmt}" + (f":{quant}" if quant else ""), folder)


def repo_variants(ctx: Context, folder: Path, repo_id: str, revision: str, names: list[str],
                  commit: str | None = None, location: str | None = None) -> list[Variant]:
    source = {"repo_id": repo_id, "revision": revision, **({"commit": commit} if commit else {})}
    family = family_from_repo(repo_id, revision)
    ggufs = [n for n in names if n.lower().endswith(".gguf")]
    if ggufs:
        variants = gguf_variants(ctx, NAME, folder, ggufs, family=family, source=source,
                                 backend=default_backend("gguf", at=folder, settings=ctx.settings),
                                 identity_fn=lambda quant, _main: identity(repo_id, revision, "gguf", quant, folder))
    elif not has_weights(names):
        return []
    else:
        variant = folder_variant(ctx, NAME, folder, names, family=family, source=source,
                                 identity=identity(repo_id, revision, "?", None, folder))
        if variant is None:
            return []
        variants = [attrs.evolve(variant, identity=identity(
            repo_id, revision, variant.download_format, variant.quantization, folder))]
    if location:
        variants = [attrs.evolve(v, download_location=location) for v in variants]
    return variants


def _files(folder: Path) -> list[str]:
    try:
        return sorted(e.name for e in os.scandir(folder) if e.is_file())  # follows cache symlinks
    except OSError:
        return []


def owner_repo_folders(ctx: Context, root: Path) -> Iterator[Variant]:
    """``<root>/<owner>/<repo>`` (``<repo>@<rev>`` for a revision other than main)."""
    if not root.is_dir():
        ctx.warn(str(root), "folder does not exist")
        return
    for owner in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if owner.name.startswith("models--"):
            yield from cache_repo(ctx, owner)
            continue
        for repo in sorted(p for p in owner.iterdir() if p.is_dir() and not p.name.startswith(".")):
            name, _, revision = repo.name.partition("@")
            yield from repo_variants(ctx, repo, f"{owner.name}/{name}", revision or "main", _files(repo))


def cache_dir() -> Path:
    """The Hugging Face cache, by huggingface_hub's own rules, read now (not at import: a
    process may change its environment, and this avoids importing huggingface_hub)."""
    explicit = os.environ.get("HF_HUB_CACHE") or os.environ.get("HUGGINGFACE_HUB_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    home = os.environ.get("HF_HOME") or os.path.join(os.environ.get("XDG_CACHE_HOME") or "~/.cache", "huggingface")
    return Path(home).expanduser() / "hub"


def cache_repo(ctx: Context, folder: Path) -> Iterator[Variant]:
    """One cache repo: each snapshot is a variant; its revision is the ref that points at it."""
    parts = folder.name.split("--")
    if len(parts) < 3 or parts[0] != "models":
        return
    repo_id = f"{parts[1]}/{'--'.join(parts[2:])}"
    refs: dict[str, str] = {}
    refs_dir = folder / "refs"
    if refs_dir.is_dir():
        for ref in refs_dir.rglob("*"):
            if ref.is_file():
                try:
                    refs.setdefault(ref.read_text().strip(), str(ref.relative_to(refs_dir)))
                except OSError:
                    pass
    snapshots = folder / "snapshots"
    if not snapshots.is_dir():
        return
    for snapshot in sorted(p for p in snapshots.iterdir() if p.is_dir()):
        names = _files(snapshot)
        broken = [e.name for e in os.scandir(snapshot) if e.is_symlink() and not os.path.exists(e.path)]
        for name in broken:
            ctx.warn(str(snapshot / name), "broken symlink into blobs/ (incomplete download?)")
        revision = refs.get(snapshot.name, snapshot.name)
        yield from repo_variants(ctx, snapshot, repo_id, revision, names, commit=snapshot.name,
                                 location=CACHE_LABEL)


def hf_cache(ctx: Context, root: Path | None = None) -> Iterator[Variant]:
    root = root or cache_dir()
    if not root.is_dir():
        return
    for folder in sorted(root.iterdir()):
        if folder.is_dir() and folder.name.startswith("models--"):
            yield from cache_repo(ctx, folder)

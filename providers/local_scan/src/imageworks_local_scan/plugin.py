"""local_scan: model folders and loose GGUF files under the ``scan --base`` directories."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

from imageworks_core import Context, DiscoverRequest, Variant, hookimpl

NAME = "local_scan"
_SKIP_DIRS = {".git", "__pycache__", ".cache", "node_modules", ".locks", "blobs"}


@hookimpl
def imageworks_discover(request: DiscoverRequest, ctx: Context):
    """The folders named by ``request.roots`` (``scan --base``); none named, nothing scanned."""
    return list(scan(ctx, [Path(b) for b in request.roots], request))


@hookimpl
def imageworks_register_commands(group, program):
    if program == "imageworks-download":
        from .commands import scan_command

        group.add_command(scan_command)


def scan(ctx: Context, bases: list[Path], request: DiscoverRequest) -> Iterator[Variant]:
    from imageworks_core import has_weights, is_testing_name

    from imageworks_core import FolderCache, folder_signature

    include_testing = request.include_testing
    fallback = request.fallback_format
    cache = FolderCache(ctx, NAME, (include_testing, fallback))
    base_set = {str(b) for b in bases}
    stack = [str(b) for b in bases]
    while stack:
        path = stack.pop()
        try:
            with os.scandir(path) as it:
                entries = list(it)
        except OSError as exc:
            ctx.warn(path, f"cannot read folder: {exc.strerror}")
            continue
        files, dirs = [], []
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    dirs.append(entry.name)
                elif entry.is_file():  # follows links: HF-cache style links to blobs count
                    files.append(entry.name)
                elif entry.is_symlink():
                    ctx.warn(entry.path, "broken symlink")
            except OSError as exc:
                ctx.warn(entry.path, f"cannot stat: {exc.strerror}")
        testing = is_testing_name(os.path.basename(path)) and path not in base_set
        if testing and not include_testing:
            continue
        ggufs = [n for n in files if n.lower().endswith(".gguf")]
        if ggufs or has_weights(files):
            signature = folder_signature(entries)
            cached = cache.lookup(path, signature)
            if cached is not None:
                variants, warnings = cached
                for item, reason in warnings:
                    ctx.warn(item, reason)
            else:
                seen = len(ctx.warnings)
                variants = detect(ctx, path, files, ggufs, testing, fallback)
                cache.store(path, signature, variants, ctx.warnings[seen:])
            yield from variants
            # A model folder (config + weights) owns its sub-folders (onnx/, original/); a folder
            # that merely holds loose GGUF files (~/models with Foo-Q4_K_M.gguf beside acme/...)
            # is searched below like any other.
            if any(v.download_format != "gguf" for v in variants):
                continue
        # Hidden folders are never models: .git, caches, and our own .imageworks-partial
        # staging, whose files are interrupted downloads, not weights.
        stack.extend(os.path.join(path, d) for d in sorted(dirs, reverse=True)
                     if d not in _SKIP_DIRS and not d.startswith("."))
    if not request.dry_run:
        cache.save(cache.outside([str(b) for b in bases]))


def detect(ctx: Context, path: str, files: list[str], ggufs: list[str], testing: bool,
           fallback: str | None) -> list[Variant]:
    """The variants one folder holds: each GGUF quant (or split set), else the folder itself."""
    from imageworks_core import folder_variant, gguf_variants

    extra = {"testing": True} if testing else None
    if ggufs:
        return gguf_variants(ctx, NAME, path, ggufs, extra_metadata=extra)
    variant = folder_variant(ctx, NAME, path, sorted(files), fallback_format=fallback, extra_metadata=extra)
    return [variant] if variant is not None else []


@hookimpl
def imageworks_gui_panels():
    from .gui import PANELS

    return PANELS

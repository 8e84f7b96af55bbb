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
    """Walk the bases; folders the scan cache knows give their variants at once, the others are
    read afterwards, all together, on two cores (``fork_map``)."""
    from imageworks_core import FolderCache, fork_map

    include_testing = request.include_testing
    fallback = request.fallback_format
    cache = FolderCache(ctx, NAME, (include_testing, fallback))
    base_set = {str(b) for b in bases}
    stack = [str(b) for b in bases]
    while stack:
        unread: list[_Unread] = []
        yield from _walk(ctx, stack, base_set, include_testing, cache, unread)

        def read(folder: _Unread) -> tuple[list[Variant], list[tuple[str, str]]]:
            # Warnings are returned, not printed: a forked child's would be lost, or doubled.
            seen, printer = len(ctx.warnings), ctx.on_warning
            ctx.on_warning = None
            try:
                variants = detect(ctx, folder.path, folder.files, folder.ggufs, folder.testing, fallback)
            finally:
                ctx.on_warning = printer
            found = ctx.warnings[seen:]
            del ctx.warnings[seen:]
            return variants, found

        for folder, (variants, warnings) in zip(unread, fork_map(read, unread)):
            for item, reason in warnings:
                ctx.warn(item, reason)
            cache.store(folder.path, folder.signature, variants, warnings)
            yield from variants
            if not folder.ggufs and not _owns_subfolders(variants):
                stack.extend(_subfolders(folder.path, folder.dirs))  # weights, but not a model
    if not request.dry_run:
        cache.save(cache.outside([str(b) for b in bases]))


class _Unread:
    __slots__ = ("path", "files", "ggufs", "dirs", "testing", "signature")

    def __init__(self, path, files, ggufs, dirs, testing, signature):
        self.path, self.files, self.ggufs, self.dirs = path, files, ggufs, dirs
        self.testing, self.signature = testing, signature


def _walk(ctx: Context, stack: list[str], base_set: set[str], include_testing: bool, cache,
          unread: list[_Unread]) -> Iterator[Variant]:
    """Empty ``stack``: yield what the cache knows, and put the folders it does not in ``unread``."""
    from imageworks_core import folder_signature, has_weights, is_testing_name

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
            if cached is None:
                unread.append(_Unread(path, files, ggufs, dirs, testing, signature))
                if not ggufs:
                    continue  # whether it owns its sub-folders is known once it is read
            else:
                variants, warnings = cached
                for item, reason in warnings:
                    ctx.warn(item, reason)
                yield from variants
                if _owns_subfolders(variants):
                    continue
        stack.extend(_subfolders(path, dirs))


def _owns_subfolders(variants: list[Variant]) -> bool:
    # A model folder (config + weights) owns its sub-folders (onnx/, original/); a folder that
    # merely holds loose GGUF files (~/models with Foo-Q4_K_M.gguf beside acme/...) is searched
    # below like any other.
    return any(v.download_format != "gguf" for v in variants)


def _subfolders(path: str, dirs: list[str]) -> Iterator[str]:
    # Hidden folders are never models: .git, caches, and our own .imageworks-partial staging,
    # whose files are interrupted downloads, not weights.
    return (os.path.join(path, d) for d in sorted(dirs, reverse=True) if d not in _SKIP_DIRS and not d.startswith("."))


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

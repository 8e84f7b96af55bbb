"""local_scan: model folders and loose GGUF files under the ``scan --base`` directories."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

from imageworks_core import Context, DiscoverRequest, Variant, hookimpl

NAME = "local_scan"
# Asked after the providers that know a layout (hf's owner/repo folders): of two seeing the same
# files, the one asked first registers them (plugins.py, precedence).
IMAGEWORKS_PRECEDENCE = 200
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


# Sub-trees to share between two processes before the walk stops going down level by level to
# find them (a base with 100 owner folders shares at once; one with a single folder below it
# goes a level deeper).
SHARE_AT = 16


def scan(ctx: Context, bases: list[Path], request: DiscoverRequest) -> Iterator[Variant]:
    """Walk the bases. The top levels are walked here until there are enough sub-trees to
    share; then each sub-tree is walked whole by this process or a forked child (``fork_map``),
    which read what the scan cache does not know on two cores."""
    from imageworks_core.kit import FolderCache, fork_map, real_path

    cache = FolderCache(ctx, NAME, (request.include_testing, request.fallback_format))
    roots = [os.path.abspath(b) for b in bases]  # normalised: the walk's paths are keys
    for root in roots:
        real_path(root)  # the walk below knows each folder's real path from this one
    walker = _Walker(ctx, cache, set(roots), request)
    # Shared only when the cache knows nothing below the bases (a first scan): a re-scan reads
    # little, and handing back variants built from the cache costs more than it saves.
    first_scan = len(cache.outside(roots)) == len(cache.old)
    frontier = list(roots)
    while frontier and len(frontier) < SHARE_AT:
        below: list[str] = []
        for path in frontier:
            variants, subfolders = walker.visit(path)
            yield from variants
            below.extend(subfolders)
        frontier = below
    share = SHARE_AT if first_scan else len(frontier) + 1
    for variants, warnings, seen in fork_map(walker.tree, frontier, at_least=share, pack=_pack, unpack=_unpack):
        for item, reason in warnings:
            ctx.warn(item, reason)
        for path, read in seen:
            if read is None:
                cache.keep(path)
            elif isinstance(read, _Plain):
                cache.store_plain(path, *read)
            else:
                cache.store(path, *read)
        yield from variants
    if not request.dry_run:
        cache.save(cache.outside(roots))


class _Plain(tuple):
    """A folder read by a forked share: (signature, variants in ``plain_variant`` form, warnings)."""


def _pack(result: tuple) -> tuple:
    """A forked share's ``tree`` result as plain data: tuples pickle several times faster than
    Variant objects, and they are the form the cache stores anyway."""
    from imageworks_core.kit import plain_variant

    variants, warnings, seen = result
    plain = {id(v): plain_variant(v) for v in variants}
    folders = [(path, None if read is None else (read[0], [plain.get(id(v)) or plain_variant(v) for v in read[1]], read[2]))
               for path, read in seen]
    return [plain[id(v)] for v in variants], warnings, folders


def _unpack(packed: tuple) -> tuple:
    from imageworks_core.kit import variant_from_plain

    variants, warnings, folders = packed
    return ([variant_from_plain(v) for v in variants], warnings,
            [(path, None if read is None else _Plain(read)) for path, read in folders])


class _Walker:
    def __init__(self, ctx: Context, cache, base_set: set[str], request: DiscoverRequest):
        from imageworks_core.kit import folder_signature, has_weights, is_testing_name, not_a_link

        self.ctx, self.cache, self.base_set = ctx, cache, base_set
        # Bound once: ``visit`` runs for every folder.
        self.signature_of, self.has_weights, self.is_testing_name = folder_signature, has_weights, is_testing_name
        self.not_a_link = not_a_link
        self.include_testing, self.fallback = request.include_testing, request.fallback_format
        self.seen: list | None = None  # inside ``tree``: folders found unchanged, or read, for the cache

    def tree(self, root: str) -> tuple[list[Variant], list[tuple[str, str]], list]:
        """A whole sub-tree, depth first: its variants, its warnings (returned, not printed: a
        forked child's would be lost or doubled) and what it saw, for the parent's cache:
        ``(folder, None)`` for a folder the cache knew, ``(folder, (signature, variants,
        warnings))`` for one read."""
        ctx = self.ctx
        seen, printer = len(ctx.warnings), ctx.on_warning
        ctx.on_warning, self.seen = None, []
        variants: list[Variant] = []
        try:
            stack = [root]
            while stack:
                found, subfolders = self.visit(stack.pop())
                variants.extend(found)
                stack.extend(reversed(subfolders))
            warnings, folders = ctx.warnings[seen:], self.seen
        finally:
            ctx.on_warning, self.seen = printer, None
            del ctx.warnings[seen:]
        return variants, warnings, folders

    def visit(self, path: str) -> tuple[list[Variant], list[str]]:
        """One folder: the variants it holds (from the cache, or read), and the sub-folders to
        walk next."""
        ctx = self.ctx
        try:
            with os.scandir(path) as it:
                entries = list(it)
        except OSError as exc:
            ctx.warn(path, f"cannot read folder: {exc.strerror}")
            return [], []
        files, dirs, links = [], [], []
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    dirs.append(entry.name)
                elif entry.is_file():  # follows links: HF-cache style links to blobs count
                    files.append(entry.name)
                    if entry.is_symlink():
                        links.append(entry.name)
                elif entry.is_symlink():
                    # Links to folders are not followed (a loop, or a tree counted twice); say
                    # so rather than call a good link broken.
                    ctx.warn(entry.path, "link to a folder, not followed: scan its target with --base"
                             if entry.is_dir() else "broken symlink")
            except OSError as exc:
                ctx.warn(entry.path, f"cannot stat: {exc.strerror}")
        testing = self.is_testing_name(os.path.basename(path)) and path not in self.base_set
        if testing and not self.include_testing:
            return [], []
        variants: list[Variant] = []
        ggufs = [n for n in files if n.lower().endswith(".gguf")]
        if ggufs or self.has_weights(files):
            for name in ggufs:  # a variant's identity is its file's real path: no lstat needed
                if name not in links:
                    self.not_a_link(path, name)
            signature = self.signature_of(entries)
            cached = self.cache.lookup(path, signature)
            if cached is not None:
                variants, warnings = cached
                for item, reason in warnings:
                    ctx.warn(item, reason)
                if self.seen is not None:
                    self.seen.append((path, None))
            else:
                seen = len(ctx.warnings)
                variants = detect(ctx, path, files, ggufs, testing, self.fallback)
                if self.seen is None:
                    self.cache.store(path, signature, variants, ctx.warnings[seen:])
                else:
                    self.seen.append((path, (signature, variants, ctx.warnings[seen:])))
            # A model folder (config + weights) owns its sub-folders (onnx/, original/); a
            # folder that merely holds loose GGUF files (~/models with Foo-Q4_K_M.gguf beside
            # acme/...) is searched below like any other.
            if any(v.download_format != "gguf" for v in variants):
                return variants, []
        # Hidden folders are never models: .git, caches, and our own .imageworks-partial
        # staging, whose files are interrupted downloads, not weights.
        below = [d for d in sorted(dirs) if d not in _SKIP_DIRS and not d.startswith(".")]
        for name in below:  # listed as directories, so not links
            self.not_a_link(path, name)
        return variants, [os.path.join(path, d) for d in below]


def detect(ctx: Context, path: str, files: list[str], ggufs: list[str], testing: bool,
           fallback: str | None) -> list[Variant]:
    """The variants one folder holds: each GGUF quant (or split set), else the folder itself."""
    from imageworks_core.kit import folder_variant, gguf_variants

    extra = {"testing": True} if testing else None
    if ggufs:
        return gguf_variants(ctx, NAME, path, ggufs, extra_metadata=extra)
    variant = folder_variant(ctx, NAME, path, sorted(files), fallback_format=fallback, extra_metadata=extra)
    return [variant] if variant is not None else []


@hookimpl
def imageworks_gui_panels():
    from .gui import PANELS

    return PANELS

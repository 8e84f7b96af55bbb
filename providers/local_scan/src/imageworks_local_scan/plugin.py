"""local_scan: model folders and loose GGUF files under the ``scan --base`` directories."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Iterator

import imageworks_core.kit as kit  # names resolve on first use, then are plain module attributes
from imageworks_core import Context, DiscoverRequest, Variant, hookimpl

NAME = "local_scan"
_SKIP_DIRS = {".git", "__pycache__", ".cache", "node_modules", ".locks", "blobs"}
# Asked after the providers that know a layout (hf's owner/repo folders): of two seeing the same
# files, the one asked first registers them (plugins.py, precedence).
IMAGEWORKS_PRECEDENCE = 200


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
    """Walk the bases depth first, in name order. A folder the scan cache knows unchanged gives
    its variants from the cache; any other model folder is read.

    The top folders are read here until the walk has ``SHARE_AT`` sub-trees left; those are then
    walked whole, by this process and a forked child (``fork_map``: reading headers is Python
    work, and a second core halves it). The variants come out in the same order either way."""
    from imageworks_core.kit import fork_map, real_path

    from .scan_cache import FolderCache

    cache = FolderCache(ctx, NAME, (request.include_testing, request.fallback_format))
    roots = [os.path.abspath(b) for b in bases]  # normalised: the walk's paths are keys
    walker = _Walker(ctx, cache, set(roots), request)
    for root in roots:
        real_path(root)  # the walk below knows each folder's real path from this one
    plan = walker.top(roots)
    subtrees = [item for item in plan if isinstance(item, str)]
    walked = iter(fork_map(walker.tree, subtrees, at_least=SHARE_AT, pack=_without_variants, unpack=_with_variants))
    for item in plan:
        if isinstance(item, str):
            variants, warnings, folders = next(walked)
            for where, reason in warnings:
                ctx.warn(where, reason)
            cache.new.update(folders)
            item = variants
        yield from item
    if not request.dry_run:
        cache.save(cache.outside(roots))


def _without_variants(walked: tuple) -> tuple:
    """A forked child's sub-tree without its Variant objects: the scan cache's records hold each
    folder's variants as plain tuples, which pickle several times faster (attrs objects are
    rebuilt one Python call per object), in the walk's order."""
    _variants, warnings, records = walked
    return warnings, records


def _with_variants(packed: tuple) -> tuple:
    from .scan_cache import variant_from_plain

    warnings, records = packed
    return [variant_from_plain(plain) for record in records.values() for plain in record[1]], warnings, records


# Sub-trees worth a forked child: below this many, a fork and the pickle back (a few ms) are
# more than what a second core would save.
SHARE_AT = 64


# Placeholder and test folders: skipped unless --include-testing.
TESTING_NAMES = re.compile(r"^(test[-_]?model|demo[-_]?model|placeholder|dummy[-_]?model|tiny[-_]?random)", re.I)


def is_testing_name(name: str) -> bool:
    return bool(TESTING_NAMES.match(name))


class _Walker:
    def __init__(self, ctx: Context, cache, base_set: set[str], request: DiscoverRequest):
        from imageworks_core.kit import has_weights, not_a_link

        from .scan_cache import folder_signature

        self.ctx, self.cache, self.base_set = ctx, cache, base_set
        # Bound once: ``visit`` runs for every folder.
        self.signature_of, self.has_weights, self.not_a_link = folder_signature, has_weights, not_a_link
        self.include_testing, self.fallback = request.include_testing, request.fallback_format

    def top(self, roots: list[str]) -> list[list[Variant] | str]:
        """The walk's top folders read, until ``SHARE_AT`` sub-trees are left to walk (or none):
        the variants found so far and the sub-trees left, in the walk's order (a folder's
        variants, then its sub-folders', depth first)."""
        plan: list[list[Variant] | str] = list(roots)
        while 0 < sum(isinstance(item, str) for item in plan) < SHARE_AT:
            expanded: list[list[Variant] | str] = []
            for item in plan:
                if isinstance(item, str):
                    variants, subfolders = self.visit(item)
                    expanded.append(variants)
                    expanded.extend(subfolders)
                else:
                    expanded.append(item)
            plan = expanded
        return plan

    def tree(self, root: str) -> tuple[list[Variant], list[tuple[str, str]], dict[str, tuple]]:
        """A whole sub-tree, depth first: its variants, its warnings and the scan cache's records
        of its folders, all returned to the caller (a forked child's warnings, printed or cached
        there, would be lost)."""
        ctx, cache = self.ctx, self.cache
        mark, printer, records = len(ctx.warnings), ctx.on_warning, cache.new
        ctx.on_warning, cache.new = None, {}
        try:
            variants: list[Variant] = []
            stack = [root]
            while stack:
                found, subfolders = self.visit(stack.pop())
                variants.extend(found)
                stack.extend(reversed(subfolders))
            return variants, ctx.warnings[mark:], cache.new
        finally:
            ctx.on_warning, cache.new = printer, records
            del ctx.warnings[mark:]

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
        listed = True  # every entry's kind known: the listing can say the folder has no sub-folders
        aria2 = False
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    dirs.append(entry.name)
                elif entry.is_file():  # follows links: HF-cache style links to blobs count
                    name = entry.name
                    files.append(name)
                    if name.endswith(".aria2"):
                        aria2 = True
                    if entry.is_symlink():
                        links.append(name)
                elif entry.is_symlink():
                    # Links to folders are not followed (a loop, or a tree counted twice); say
                    # so rather than call a good link broken.
                    ctx.warn(entry.path, "link to a folder, not followed: scan its target with --base"
                             if entry.is_dir() else "broken symlink")
            except OSError as exc:
                listed = False
                ctx.warn(entry.path, f"cannot stat: {exc.strerror}")
        if aria2:
            files = self._without_aria2_partials(path, files)
        # The folder's own name (os.path.basename, without its call): asked of every folder.
        testing = TESTING_NAMES.match(path[path.rfind(os.sep) + 1:]) is not None and path not in self.base_set
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
            else:
                seen = len(ctx.warnings)
                # The sizes the signature read: the registry need not stat the files again.
                sizes = {name: size for name, size, _mtime in signature}
                variants = detect(ctx, path, files, ggufs, testing, self.fallback, sizes, subfolders=bool(dirs) if listed else None)
                self.cache.store(path, signature, variants, ctx.warnings[seen:])
            # A model folder (config + weights) owns its sub-folders (onnx/, original/); a
            # folder that merely holds loose GGUF files (~/models with Foo-Q4_K_M.gguf beside
            # acme/...) is searched below like any other.
            for variant in variants:
                if variant.download_format != "gguf":
                    return variants, []
        if not dirs:
            return variants, []
        # Hidden folders are never models: .git, caches, and our own .imageworks-partial
        # staging, whose files are interrupted downloads, not weights.
        below = [d for d in sorted(dirs) if d not in _SKIP_DIRS and not d.startswith(".")]
        for name in below:  # listed as directories, so not links
            self.not_a_link(path, name)
        # os.path.join's answer for listed names (never absolute, no separator), without its call.
        prefix = path if path.endswith(os.sep) else path + os.sep
        return variants, [prefix + d for d in below]

    def _without_aria2_partials(self, path: str, files: list[str]) -> list[str]:
        """``X`` beside ``X.aria2`` is a download aria2c has not finished (any aria2c run: ours,
        hfd.sh, a script): not a model, and ``cleanup`` reclaims the pair once it is old."""
        present = set(files)
        partial = {n[:-len(".aria2")] for n in files if n.endswith(".aria2")} & present
        for name in sorted(partial):
            self.ctx.warn(os.path.join(path, name), "an unfinished aria2c download (its .aria2 control file is "
                          "beside it): not registered; `cleanup` reclaims it")
        return [n for n in files if n not in partial and not n.endswith(".aria2")]


def detect(ctx: Context, path: str, files: list[str], ggufs: list[str], testing: bool,
           fallback: str | None, sizes: dict[str, int] | None = None, *,
           subfolders: bool | None = None) -> list[Variant]:
    """The variants one folder holds: each GGUF quant (or split set), else the folder itself.
    ``subfolders``: whether the walk's listing found sub-folders (not links) in it."""
    extra = {"testing": True} if testing else None
    if ggufs:
        return kit.gguf_variants(ctx, NAME, path, ggufs, extra_metadata=extra, sizes=sizes)
    variant = kit.folder_variant(ctx, NAME, path, sorted(files), fallback_format=fallback, extra_metadata=extra,
                                 sizes=sizes, subfolders=subfolders)
    return [variant] if variant is not None else []


@hookimpl
def imageworks_gui_panels():
    from .gui import PANELS

    return PANELS

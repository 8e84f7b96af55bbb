"""Re-scans that do not re-read unchanged folders.

A folder's detection (GGUF headers, config files) is remembered with the folder's signature:
the name, size and mtime of each file in it. A re-scan lists and stats the folder anyway (as
``os.walk`` + ``lstat`` would), and when the signature matches it takes the variants and
warnings from last time instead of opening the files again. Any change to a file, the options
or the settings that shape a variant (locations, LM Studio roots) means a fresh detection.

The cache is ``scan`` in the registry's cache folder (``Registry.cache_path``), in ``marshal``
format (plain data only; a broken or foreign file is ignored and rebuilt). It is not written on a
dry run. Only local_scan uses it.
"""

from __future__ import annotations

import gc
import marshal
import operator
import os
import sys
from pathlib import Path
from typing import Any

import attrs

from imageworks_core import ArtifactFile, Artifacts, Capabilities, ChatTemplate, Context, Variant

CACHE_NAME = "scan"
FORMAT = 3  # 3: variants carry their files' sizes


def folder_signature(entries: list[os.DirEntry]) -> tuple:
    """(name, size, mtime_ns) of the folder's files, links followed (HF-cache blobs)."""
    items = []
    for entry in entries:
        try:
            st = entry.stat()
        except OSError:
            continue
        if not entry.is_dir():
            items.append((entry.name, st.st_size, st.st_mtime_ns))
    items.sort()
    return tuple(items)


def _getter(cls: type) -> Any:
    """Field values of an attrs instance as a tuple, in field order (``attrs.astuple`` without
    its generic recursion: this runs for every folder of a scan)."""
    return operator.attrgetter(*(f.name for f in attrs.fields(cls)))


_FIELDS = tuple(f.name for f in attrs.fields(Variant))
_ARTIFACTS, _TEMPLATE, _CAPS = _FIELDS.index("artifacts"), _FIELDS.index("chat_template"), _FIELDS.index("capabilities")
_VARIANT, _FILE, _CHAT, _CAPABILITIES = _getter(Variant), _getter(ArtifactFile), _getter(ChatTemplate), _getter(Capabilities)


def plain_variant(variant: Variant) -> tuple:
    """A Variant as positional plain data (tuples, strings, numbers): far fewer objects to load
    than dicts with keys, and fast to marshal. The cache stores this form."""
    values = list(_VARIANT(variant))
    art = variant.artifacts
    values[_ARTIFACTS] = (tuple(_FILE(f) for f in art.files), art.aggregate_sha256)
    values[_TEMPLATE] = _CHAT(variant.chat_template) if variant.chat_template else None
    values[_CAPS] = _CAPABILITIES(variant.capabilities)
    return tuple(values)


def variant_from_plain(data: tuple) -> Variant:
    """The Variant ``plain_variant`` made ``data`` from."""
    values = list(data)
    files, aggregate = values[_ARTIFACTS]
    values[_ARTIFACTS] = Artifacts(tuple(ArtifactFile(*f) for f in files), aggregate)
    values[_TEMPLATE] = ChatTemplate(*values[_TEMPLATE]) if values[_TEMPLATE] else None
    values[_CAPS] = Capabilities(*values[_CAPS])
    return Variant(*values)


class FolderCache:
    def __init__(self, ctx: Context, provider: str, options: tuple):
        from imageworks_core import __version__

        self.path = Path(ctx.registry.cache_path(CACHE_NAME))
        self.key = (FORMAT, __version__, sys.version_info[:2], provider, options,
                    tuple(sorted(ctx.settings.locations.items())), tuple(sorted(ctx.settings.location_backends.items())))
        self.old: dict[str, tuple] = {}
        self.new: dict[str, tuple] = {}
        try:
            with open(self.path, "rb") as handle:
                data = handle.read()
            # Loading builds ~10 containers per folder; the cyclic GC would rescan them all
            # many times over (measured: 3-6x slower), and none of them can form a cycle.
            gc_was_on = gc.isenabled()
            gc.disable()
            try:
                doc = marshal.loads(data)
            finally:
                if gc_was_on:
                    gc.enable()
            if isinstance(doc, dict) and doc.get("key") == self.key and isinstance(doc.get("folders"), dict):
                self.old = doc["folders"]
        except (OSError, EOFError, ValueError, TypeError):
            pass

    def lookup(self, folder: str, signature: tuple) -> tuple[list[Variant], list[tuple[str, str]]] | None:
        found = self.old.get(folder)
        if not found or found[0] != signature:
            return None
        try:
            variants = [variant_from_plain(v) for v in found[1]]
        except (TypeError, KeyError):
            return None
        self.new[folder] = found
        return variants, [tuple(w) for w in found[2]]

    def store(self, folder: str, signature: tuple, variants: list[Variant], warnings: list[tuple[str, str]]) -> None:
        self.new[folder] = (signature, [plain_variant(v) for v in variants], list(warnings))

    def save(self, folders_kept: dict[str, tuple] | None = None) -> None:
        """Write what this scan saw, plus ``folders_kept`` (cached folders outside its bases)."""
        folders = {**(folders_kept or {}), **self.new}
        tmp = self.path.with_name(f".{CACHE_NAME}.{os.getpid()}.tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(tmp, "wb") as handle:
                marshal.dump({"key": self.key, "folders": folders}, handle)
            os.replace(tmp, self.path)
        except (OSError, ValueError):
            tmp.unlink(missing_ok=True)

    def outside(self, bases: list[str]) -> dict[str, tuple]:
        """Cached folders not under any of ``bases``: a scan of one base keeps the others'."""
        prefixes = tuple(os.path.join(b, "") for b in bases)
        return {k: v for k, v in self.old.items() if not (k + os.sep).startswith(prefixes) and k not in bases}

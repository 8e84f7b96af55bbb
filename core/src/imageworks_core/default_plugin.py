"""Built-in behaviour, shipped as a plugin through the same hooks providers use (as datasette's
default plugins): registered last (``trylast``), so the entry's own provider answers first and
this answers for entries whose provider has nothing special to say, or is not installed."""

from __future__ import annotations

import os
from pathlib import Path

from .hookspecs import hookimpl
from .entry import Entry
from .hook_types import Context, Redetected, RemovedFiles

NAME = "default"


@hookimpl(trylast=True)
def imageworks_normalize(entry: Entry, ctx: Context) -> Redetected | None:
    """Re-detect from the files themselves: the GGUF header, or the folder's config and weights."""
    from .detect import GGUFHeaderError, ModelFileError, detect_folder, read_gguf_info

    if not entry.download_path or not os.path.isdir(entry.download_path):
        return None
    base = Path(entry.download_path)
    if entry.download_format == "gguf" or any(f.lower().endswith(".gguf") for f in entry.download_files[:1]):
        if not entry.download_files:
            return None
        try:
            info = read_gguf_info(base / entry.download_files[0])
        except (GGUFHeaderError, OSError):
            return None
        present = tuple(f for f in entry.download_files if (base / f).exists())
        return Redetected("gguf", info.quant, present)
    from .detect.files import model_folder_files

    names = sorted(p.name for p in base.iterdir() if p.is_file())
    try:
        facts = detect_folder(base, model_folder_files(base, names))
    except ModelFileError:
        return None  # as an unreadable GGUF header: nothing can be said
    return Redetected(facts.download_format, facts.quantization, facts.files)


@hookimpl(trylast=True)
def imageworks_remove(entry: Entry, delete_files: bool, ctx: Context) -> RemovedFiles | None:
    """Delete the entry's listed files inside the roots, keeping files other entries list."""
    if not delete_files:
        return None
    from .safety import delete_entry_files

    return delete_entry_files(entry, ctx)


@hookimpl(trylast=True)
def imageworks_gguf_files(entry: Entry, ctx: Context):
    """The entry's ``.gguf`` files as they are: weights (every shard) and ``mmproj`` projectors."""
    from .linking import default_gguf_files

    return default_gguf_files(entry) or None

"""ollama: the Ollama model store, read directly; a running server is optional enrichment."""

from __future__ import annotations

from pathlib import Path

from imageworks_core import Context, Finding, Redetected, RemovedFiles, Variant, hookimpl

NAME = "ollama"


@hookimpl
def imageworks_discover(ctx: Context):
    if NAME not in ctx.option("providers", ()):
        return None
    from .importer import discover_store

    store = Path(ctx.settings.ollama_models)
    if not (store / "manifests").is_dir():
        ctx.warn(f"Ollama store {store}", "no manifests/ folder: nothing to import (set OLLAMA_MODELS or --store)")
        return []
    return list(discover_store(ctx, store))


@hookimpl
def imageworks_verify(entry, ctx: Context):
    if entry.source_provider != NAME or not entry.download_path:
        return None
    from .importer import verify_entry

    return verify_entry(entry, ctx)


@hookimpl
def imageworks_normalize(entry, ctx: Context):
    if entry.source_provider != NAME or not entry.download_path:
        return None
    from .importer import redetect

    return redetect(entry, ctx)


@hookimpl
def imageworks_remove(entry, delete_files: bool, ctx: Context):
    if entry.source_provider != NAME or not delete_files:
        return None
    from .importer import remove_model

    return remove_model(entry, ctx)


__all__ = ["Finding", "Redetected", "RemovedFiles", "Variant"]

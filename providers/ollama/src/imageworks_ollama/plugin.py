"""ollama: the Ollama model store, read directly; a running server is optional enrichment."""

from __future__ import annotations

from pathlib import Path

from imageworks_core import Context, Finding, Redetected, RemovedFiles, SettingSpec, Variant, hookimpl

NAME = "ollama"


def default_store(value):
    """``OLLAMA_MODELS``, else ``~/.ollama/models``, else the system service's store."""
    if value is not None:
        return value
    home = Path.home() / ".ollama" / "models"
    system = Path("/usr/share/ollama/.ollama/models")
    return str(system if not home.exists() and system.exists() else home)


@hookimpl
def imageworks_settings():
    return [
        SettingSpec("ollama_models", "path", None, env=("OLLAMA_MODELS",), derive=default_store,
                    help="~/.ollama/models, else the system store"),
        SettingSpec("ollama_host", "str", None, env=("OLLAMA_HOST",)),
    ]


@hookimpl
def imageworks_roots(settings):
    return [settings.ollama_models] if settings.ollama_models else None


@hookimpl
def imageworks_register_commands(group, program):
    from . import commands

    if program == "imageworks-download":
        for command in (commands.import_ollama_command, commands.restore_ollama_command,
                        commands.backfill_ollama_paths_command):
            group.add_command(command)
    elif program == "imageworks-loader":
        group.add_command(commands.rebuild_ollama_command)


@hookimpl
def imageworks_discover(request, ctx: Context):
    from .importer import discover_store

    store = Path(ctx.settings.ollama_models)
    if not (store / "manifests").is_dir():
        ctx.warn(f"Ollama store {store}", "no manifests/ folder: nothing to import (set OLLAMA_MODELS or --store)")
        return []
    return list(discover_store(ctx, store))


@hookimpl
def imageworks_verify(entry, ctx: Context):
    if not entry.download_path:
        return None
    from .importer import verify_entry

    return verify_entry(entry, ctx)


@hookimpl
def imageworks_normalize(entry, ctx: Context):
    if not entry.download_path:
        return None
    from .importer import redetect

    return redetect(entry, ctx)


@hookimpl
def imageworks_remove(entry, delete_files: bool, ctx: Context):
    if not delete_files:
        return None
    from .importer import remove_model

    return remove_model(entry, ctx)


__all__ = ["Finding", "Redetected", "RemovedFiles", "Variant"]


@hookimpl
def imageworks_gui_panels():
    from .gui import PANELS

    return PANELS


@hookimpl
def imageworks_orphans(request, ctx: Context):
    """Partial blobs of interrupted pulls, and blobs no manifest references (what Ollama's own
    start-up prune would delete), counting manifests we never imported."""
    import re

    from imageworks_core import Orphan

    from .store import referenced_blobs

    store = Path(ctx.settings.ollama_models)
    blobs = store / "blobs"
    if not blobs.is_dir():
        return None
    used = referenced_blobs(store)
    label = f"Ollama store {store}"
    found = []
    for blob in sorted(blobs.iterdir()):
        rel = f"blobs/{blob.name}"
        if re.search(r"-partial(-\d+)?$", blob.name):
            found.append(Orphan(label, "partial-blob", str(blob), "an interrupted pull's partial blob"))
        elif rel not in used and blob.name.startswith("sha256-"):
            found.append(Orphan(label, "unreferenced-blob", str(blob), "no manifest references it"))
    return found


@hookimpl
def imageworks_link_in(request, ctx: Context):
    from .linking import link_in

    return link_in(request, Path(ctx.settings.ollama_models))


@hookimpl
def imageworks_gguf_files(entry, ctx: Context):
    if not entry.download_path:
        return None
    from .linking import gguf_files

    return gguf_files(entry, Path(entry.download_path))


@hookimpl
def imageworks_is_placeholder(entry):
    """``model-ollama-gguf*``: the placeholders earlier ImageWorks versions registered."""
    from .maintenance import PLACEHOLDER_PREFIX

    return entry.name.startswith(PLACEHOLDER_PREFIX)

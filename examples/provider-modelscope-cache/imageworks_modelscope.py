"""ImageWorks provider for the ModelScope cache (``~/.cache/modelscope/hub/models/<owner>/<name>``,
or ``<owner>/<name>`` directly under ``hub/`` in older releases), using only the public API: the
contract in ``imageworks_core`` and the toolkit ``imageworks_core.kit``."""

from __future__ import annotations

import os
from pathlib import Path

import click

from imageworks_core import DiscoverRequest, GuiPanel, hookimpl, RemovedFiles, SettingSpec
from imageworks_core.kit import (copy_identity, discover, dry_run_option, family_from_repo, folder_variant,
                                 gguf_variants, has_weights, print_report, report_options, safe_delete,
                                 session_from, under, warn_printer)

NAME = "modelscope"


def _default_cache(value):
    return value or os.environ.get("MODELSCOPE_CACHE") or str(Path.home() / ".cache" / "modelscope" / "hub")


@hookimpl
def imageworks_settings():
    return [SettingSpec("modelscope_cache", "path", None, derive=_default_cache, help="~/.cache/modelscope/hub")]


@hookimpl
def imageworks_roots(settings):
    return [settings.modelscope_cache]


def _model_folders(cache: Path):
    for top in (cache / "models", cache):
        for owner in sorted(p for p in top.glob("*") if p.is_dir() and not p.name.startswith((".", "_"))):
            for repo in sorted(p for p in owner.iterdir() if p.is_dir() and not p.name.startswith(".")):
                yield owner.name, repo


@hookimpl
def imageworks_discover(request: DiscoverRequest, ctx):
    cache = Path(ctx.settings.modelscope_cache)
    if not cache.is_dir():
        ctx.warn(f"ModelScope cache {cache}", "does not exist; nothing to discover")
        return []
    variants = []
    for owner, repo in _model_folders(cache):
        names = sorted(e.name for e in os.scandir(repo) if e.is_file())
        source = {"repo_id": f"{owner}/{repo.name}", "hub": "modelscope"}
        family = family_from_repo(repo.name)
        ggufs = [n for n in names if n.lower().endswith(".gguf")]
        if ggufs:
            variants += gguf_variants(ctx, NAME, repo, ggufs, family=family, source=source,
                                      identity_fn=lambda quant, main: copy_identity(f"{NAME}:{owner}/{repo.name}:{quant}", main))
        elif has_weights(names) and (found := folder_variant(ctx, NAME, repo, names, family=family, source=source,
                                                           identity=copy_identity(f"{NAME}:{owner}/{repo.name}", repo))):
            variants.append(found)
    return variants


@hookimpl
def imageworks_remove(entry, delete_files, ctx):
    """A ModelScope model is its folder: delete it whole, inside the cache only."""
    if not delete_files or not entry.download_path:
        return None
    deleted = safe_delete(Path(entry.download_path), [Path(ctx.settings.modelscope_cache)])
    return RemovedFiles(deleted=tuple(deleted))


@click.command("import-modelscope")
@dry_run_option
@report_options
@click.pass_context
def import_modelscope(ctx, dry_run, details, as_json):
    """Register the models in the ModelScope cache."""
    session = session_from(ctx, "import-modelscope")
    cache = Path(session.settings.modelscope_cache)
    report = discover(session, [NAME], DiscoverRequest(), dry_run=dry_run, on_warning=warn_printer,
                      reconcile=lambda e: e.source_provider == NAME and under(e.download_path, [cache]))
    print_report(report, f"ModelScope cache {cache}", details=details, as_json=as_json)


@hookimpl
def imageworks_register_commands(group, program):
    if program == "imageworks-download":
        group.add_command(import_modelscope)


def _panel(kit):
    import streamlit as st

    st.caption(f"ModelScope cache: {kit.session.settings.modelscope_cache}")
    dry = st.checkbox("Dry run", value=True, key="modelscope-dry")
    kit.run_and_show("imageworks-download", ["import-modelscope"] + (["--dry-run"] if dry else []),
                     key="modelscope-run", label="Import ModelScope", structured=True)


@hookimpl
def imageworks_gui_panels():
    return [GuiPanel("acquire", "🔭 Import ModelScope", _panel, order=60)]

"""hf: downloads from the Hugging Face Hub, and Hugging Face downloads already on disk."""

from __future__ import annotations

from pathlib import Path

from imageworks_core import Context, DiscoverRequest, DownloadRequest, SettingSpec, hookimpl

NAME = "hf"


@hookimpl
def imageworks_settings():
    return [SettingSpec("hf_endpoint", "str", None, env=("HF_ENDPOINT",))]


def claims(source: str) -> bool:
    """owner/repo[@rev] (even a malformed one, to say what is wrong with it) and http(s) URLs
    are ours; anything else is left to other providers."""
    text = source.strip()
    return text.startswith(("https://", "http://")) or ("/" in text and not text.startswith(("/", ".", "~")))


@hookimpl(trylast=True)
def imageworks_download(request: DownloadRequest, ctx: Context):
    if not claims(request.source):
        return None
    from .download import download

    return download(request, ctx)


@hookimpl
def imageworks_discover(request: DiscoverRequest, ctx: Context):
    """``owner/repo`` folders under ``request.roots`` (default: the linux_wsl location), and
    the Hugging Face cache with ``request.include_caches``."""
    from .cache_ingest import hf_cache, owner_repo_folders

    from .cache_ingest import cache_repo

    variants = []
    for root in request.roots or (ctx.settings.locations["linux_wsl"],):
        root = Path(root)
        variants += cache_repo(ctx, root) if root.name.startswith("models--") else owner_repo_folders(ctx, root)
    if request.include_caches:
        variants += hf_cache(ctx)
    return variants


@hookimpl
def imageworks_register_commands(group, program):
    from . import commands

    if program == "imageworks-download":
        group.add_command(commands.download_command)
    elif program == "imageworks-loader":
        group.add_command(commands.ingest_local_hf_command)


@hookimpl
def imageworks_gui_panels():
    from .gui import PANELS

    return PANELS


@hookimpl
def imageworks_roots(settings):
    """The Hugging Face cache (and llama.cpp's LLAMA_CACHE when it is another folder): their
    entries can be removed and their leftovers cleaned up."""
    from .hf_cache_store import cache_roots

    return [str(root) for root in cache_roots()]


@hookimpl
def imageworks_link_targets():
    return ["hf-cache"]


@hookimpl
def imageworks_link_in(request, ctx: Context):
    from .hf_cache_link import link_in

    return link_in(request, ctx)


@hookimpl
def imageworks_remove(entry, delete_files, ctx: Context):
    """Cache entries: the snapshot, its refs and the blobs nothing else uses; others: the default."""
    from .hf_cache_link import remove

    return remove(entry, delete_files, ctx)


@hookimpl
def imageworks_orphans(request, ctx: Context):
    from .cleanup import orphans

    return list(orphans(request, ctx))


@hookimpl
def imageworks_check_updates(entries, ctx: Context):
    from .updates import check

    return check(entries, ctx)


@hookimpl
def imageworks_update(entry, check, dry_run, ctx: Context):
    from .updates import update

    return update(entry, check, dry_run, ctx)

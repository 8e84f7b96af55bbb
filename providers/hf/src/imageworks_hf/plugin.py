"""hf: downloads from the Hugging Face Hub, and Hugging Face downloads already on disk."""

from __future__ import annotations

from pathlib import Path

from imageworks_core import Context, DiscoverRequest, DownloadRequest, LockSource, SettingSpec, hookimpl

NAME = "hf"


@hookimpl
def imageworks_settings():
    return [
        SettingSpec("hf_endpoint", "str", None, env=("HF_ENDPOINT",)),
        # At most this many at once on one file. aria2c is capped at 16; the built-in downloader
        # is not, and against a server that limits each connection (as CDNs do) 32 fetched a
        # 1 GiB file 1.6x faster than 16 (bench/download.py).
        SettingSpec("connections", "int", 32, help="connections at once on one file"),
        SettingSpec("concurrent_downloads", "int", 4, help="files fetched at once"),
        SettingSpec("retries", "int", 5, help="attempts per piece before a download fails"),
        SettingSpec("timeout_s", "float", 60.0, help="seconds a connection may stay silent"),
        SettingSpec("use_aria2", "choice:auto,always,never", "auto", help="fetch with aria2c"),
        SettingSpec("preferred_formats", "list", ["awq", "gptq", "safetensors", "gguf"],
                    help="the format a repo with several is downloaded in"),
        SettingSpec("preferred_quants", "list", ["q4_k_m"], help="the GGUF quantisation picked without --quant"),
        SettingSpec("include_optional", "bool", False, help="also fetch optional files (README, images...)"),
    ]


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
    from .hub import use_endpoint

    use_endpoint(ctx.settings)
    return download(request, ctx)


@hookimpl
def imageworks_discover(request: DiscoverRequest, ctx: Context):
    """``owner/repo`` folders under ``request.roots`` (default: the linux_wsl location), and
    the Hugging Face cache with ``request.include_caches``."""
    from .cache_ingest import hf_cache, owner_repo_folders

    from .cache_ingest import cache_repo

    variants = []
    for root in request.roots or (ctx.settings.locations[ctx.settings.default_location],):
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
    from .cache_paths import cache_roots

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
    from .hub import use_endpoint
    from .updates import check

    use_endpoint(ctx.settings)
    return check(entries, ctx)


@hookimpl
def imageworks_update(entry, check, dry_run, ctx: Context):
    from .hub import use_endpoint
    from .updates import update

    use_endpoint(ctx.settings)
    return update(entry, check, dry_run, ctx)


@hookimpl
def imageworks_lock_source(entry, ctx: Context):
    """A hub download: its repo, revision and the commit its files came from."""
    source = entry.source or {}
    if not source.get("repo_id") or not source.get("commit"):
        return None
    return LockSource(source["repo_id"], source.get("revision") or "main", source["commit"])


@hookimpl
def imageworks_locked_download(source: str, commit: str):
    """``owner/repo`` at a commit is ``owner/repo@<commit>``; anything else is refused before
    ``sync`` fetches a byte."""
    from imageworks_core import BadInputError
    from imageworks_core.kit import repo_id_problem

    if problem := repo_id_problem(source):
        raise BadInputError(problem)
    return f"{source}@{commit}"

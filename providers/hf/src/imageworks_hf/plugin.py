"""hf: downloads from the Hugging Face Hub, and Hugging Face downloads already on disk."""

from __future__ import annotations

from pathlib import Path

from imageworks_core import Context, DownloadRequest, SettingSpec, hookimpl

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
def imageworks_discover(ctx: Context):
    if NAME not in ctx.option("providers", ()):
        return None
    from .cache_ingest import hf_cache, owner_repo_folders

    variants = []
    for root in ctx.option("hf_roots", ()):
        variants += owner_repo_folders(ctx, Path(root))
    if ctx.option("include_hf_cache", False):
        variants += hf_cache(ctx)
    return variants

"""Downloading through the providers' ``imageworks_download`` hook and registering the result."""

from __future__ import annotations

from typing import Callable

import attrs

from .errors import BadInputError
from .registry.register import Change, register_variants
from .session import Session
from .hook_types import DownloadRequest, DownloadResult, Progress


@attrs.frozen
class Acquired:
    result: DownloadResult
    change: Change | None


def acquire(session: Session, request: DownloadRequest, *, on_progress: Callable[[Progress], None] | None = None,
            ask_quant: Callable[[list[str]], str] | None = None) -> Acquired:
    ctx = session.context(ask_quant=ask_quant, on_progress=on_progress)
    session.log.event("download_started", source=request.source, dry_run=request.dry_run,
                      formats=list(request.formats), quant=request.quant, location=request.location)
    try:
        result = session.plugins.hook.imageworks_download(request=request, ctx=ctx)
    except Exception as exc:
        session.log.error("download_failed", source=request.source, error=str(exc))
        raise
    if result is None:
        raise BadInputError(f"no installed provider understands the source {request.source!r}",
                            hint="use owner/repo, owner/repo@revision, or an https:// URL")
    change = None
    if result.variant is not None and not request.dry_run:
        with session.registry.transaction() as tx:
            (change,) = register_variants(tx, [result.variant])
    session.log.event("download_finished", source=request.source, name=change.name if change else None,
                      bytes=result.bytes_transferred, seconds=round(result.seconds, 3),
                      already_present=result.already_present, via=result.via,
                      files=len(result.files), dry_run=result.dry_run)
    return Acquired(result, change)

"""``download``: plan the files of one variant, fetch them (aria2c or Python), verify, describe."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from urllib.parse import urlparse

from imageworks_core import ArtifactFile, Context, DownloadRequest, DownloadResult, PlannedFile, Variant
from imageworks_core import BadInputError, DownloadError
from imageworks_core.kit import with_aggregate
from imageworks_core.kit import default_backend
from imageworks_core.kit import copy_identity, family_from_file, family_from_repo

from . import hub, tls
from .cache_ingest import CACHE_LABEL, identity
from .filenames import unsafe_reason
from .selection import SUPPORT_FILES, check_support_repo, choose
from .source import Source, parse_source
from .transfer import STAGING, FileJob, ProgressMeter, clean_staging

NAME = "hf"


def target_location(ctx: Context, request: DownloadRequest, fmt: str) -> tuple[str, Path, Path | None]:
    """(label, directory, extra deletion root) for the files."""
    if request.location:
        label, directory = ctx.settings.location_dir(request.location)
        return label, directory, directory if label == "custom" else None
    # A location a provider declares as the format's home (LM Studio's folder for GGUF), else linux_wsl.
    label, directory = ctx.settings.location_dir(ctx.settings.default_location_for(fmt))
    return label, directory, None


def download(request: DownloadRequest, ctx: Context) -> DownloadResult:
    source = parse_source(request.source, hub.endpoint())
    check_support_repo(request.support_repo)
    if not source.is_repo:
        return download_url(request, source, ctx)
    listing = hub.list_repo(source.repo_id, source.revision)
    if source.file is not None:
        if source.file not in listing.files:
            raise DownloadError(f"{source.file} is not in {source.repo_id}@{source.revision}")
        files = [source.file]
        fmt = _format_of(source.file)
        quant = None
    else:
        config = hub.read_json(source.repo_id, listing.commit, "config.json") if "config.json" in listing.files else None
        ask = ctx.ask_quant if not request.non_interactive else None
        selection = choose(
            sorted(listing.files), config=config, formats=request.formats,
            preferred=tuple(ctx.settings.preferred_formats), quant=request.quant,
            preferred_quants=tuple(ctx.settings.preferred_quants), weights=request.weights,
            include_optional=request.include_optional or ctx.settings.include_optional, ask_quant=ask)
        files, fmt, quant = list(selection.files), selection.download_format, selection.quantization
    if request.location == CACHE_LABEL:
        from .hf_cache_link import download_to_cache

        return download_to_cache(ctx, request, source, listing, files, fmt, quant)
    label, location_dir, extra_root = target_location(ctx, request, fmt)
    owner, name = source.repo_id.split("/")
    folder_name = name if source.revision == "main" else f"{name}@{source.revision}"
    target = location_dir / owner / folder_name
    # By the resolved commit, so the files and the recorded commit agree (a branch may move).
    jobs = [FileJob(f, hub.resolve_url(source.repo_id, listing.commit, f), target / f,
                    listing.files[f].size, listing.files[f].sha256) for f in files]
    etags = {f: listing.files[f].etag for f in files}
    support_used = None
    if request.support_repo:
        have = {f.rsplit("/", 1)[-1] for f in files}
        support = hub.list_repo(request.support_repo, "main")
        extra = [p for p in sorted(support.files) if "/" not in p and p in SUPPORT_FILES and p not in have]
        jobs += [FileJob(p, hub.resolve_url(request.support_repo, support.commit, p), target / p,
                         support.files[p].size, support.files[p].sha256) for p in extra]
        support_used = request.support_repo if extra else None
        etags.update({p: support.files[p].etag for p in extra})
    result = fetch(ctx, request, jobs, target, f"{source.repo_id}@{source.revision}")
    if result.dry_run:
        return result
    check_git_files(jobs, etags)
    backend = request.backend or default_backend(fmt, at=target, settings=ctx.settings)
    variant = describe(ctx, target, [j.path for j in jobs], jobs, fmt, quant, backend, label,
                       identity=lambda f, q: identity(source.repo_id, source.revision, f, q, target),
                       family=family_from_repo(source.repo_id, source.revision),
                       source={"repo_id": source.repo_id, "revision": source.revision, "commit": listing.commit,
                               **({"support_repo": support_used} if support_used else {}),
                               **({"url": request.source} if request.source.startswith("http") else {})},
                       extra_root=extra_root, aliases=(source.repo_id,), etags=etags)
    return DownloadResult(variant, target, result.files, result.bytes_transferred, result.seconds,
                          result.already_present, False, result.via)


def check_git_files(jobs: list[FileJob], etags: dict[str, str | None]) -> None:
    """Regular git files are named by their git blob id: recompute it (they are small)."""
    from .hf_cache_store import check_git_file

    for job in jobs:
        etag = etags.get(job.path)
        if etag and len(etag) == 40 and job.sha256 is None:
            check_git_file(job.dest, etag, job.path)


def _format_of(path: str) -> str:
    lower = path.lower()
    for suffix, fmt in ((".gguf", "gguf"), (".safetensors", "safetensors"), (".bin", "pytorch"), (".onnx", "onnx")):
        if lower.endswith(suffix):
            return fmt
    return "safetensors"


def download_url(request: DownloadRequest, source: Source, ctx: Context) -> DownloadResult:
    """Any other https:// URL of one file."""
    import requests

    if request.location == CACHE_LABEL:
        raise BadInputError("--location hf_cache takes a hub repo (owner/repo[@revision]): the cache names "
                            "files by repo and commit, which a plain URL has not")
    url = urlparse(source.url)
    file_name = os.path.basename(url.path)
    if unsafe_reason(file_name) or not file_name:
        raise BadInputError(f"cannot use the file name of {source.url!r}")
    try:
        head = requests.head(source.url, allow_redirects=True, timeout=30, headers={"User-Agent": "imageworks-model-manager"},
                             verify=tls.requests_verify())
    except requests.RequestException as exc:
        if tls.untrusted(exc):
            raise tls.untrusted_error(url.netloc) from None
        raise DownloadError(f"cannot reach {url.netloc}: {type(exc).__name__}") from None
    if head.status_code >= 400:
        raise DownloadError(f"{source.url} answered {head.status_code}")
    size = int(head.headers["Content-Length"]) if head.headers.get("Content-Length", "").isdigit() else None
    fmt = _format_of(file_name)
    label, location_dir, extra_root = target_location(ctx, request, fmt)
    target = location_dir / url.netloc.split(":")[0] / (family_from_file(file_name) or "download")
    job = FileJob(file_name, source.url, target / file_name, size, None)
    result = fetch(ctx, request, [job], target, source.url, send_token=False)
    if result.dry_run:
        return result
    from imageworks_core.kit import read_gguf_info

    quant = None
    if fmt == "gguf":
        try:
            quant = read_gguf_info(job.dest).quant
        except (ValueError, OSError):
            quant = None
    backend = request.backend or default_backend(fmt, at=target, settings=ctx.settings)
    variant = describe(ctx, target, [file_name], [job], fmt, quant, backend, label,
                       identity=lambda _f, _q: copy_identity(f"hf:{source.url}", target),
                       family=family_from_file(file_name),
                       source={"url": source.url}, extra_root=extra_root, aliases=(source.url,))
    return DownloadResult(variant, target, result.files, result.bytes_transferred, result.seconds,
                          result.already_present, False, result.via)


def fetch(ctx: Context, request: DownloadRequest, jobs: list[FileJob], target: Path, label: str,
          *, send_token: bool = True) -> DownloadResult:
    settings = ctx.settings
    planned, todo = [], []
    for job in jobs:
        present = (not request.force and job.dest.is_file() and not job.dest.is_symlink()
                   and (job.size is None or job.dest.stat().st_size == job.size))
        planned.append(PlannedFile(job.path, job.size, job.sha256, present))
        if not present:
            todo.append(job)
    use_aria2 = request.options.get("aria2")  # --aria2/--no-aria2; None: the use_aria2 setting
    if use_aria2 is None:
        # auto: the built-in downloader. Measured (bench/download.py) faster than aria2c on every
        # row, it hashes while the bytes arrive, and it is not capped at 16 connections a file.
        use_aria2 = settings.use_aria2 == "always"
    if use_aria2:
        from .aria2_downloader import aria2c_path

        if not aria2c_path():
            raise DownloadError("aria2c is not installed",
                                hint="install aria2 (apt-get install aria2), or drop --aria2 / use_aria2=always")
    backend_name = "aria2c" if use_aria2 else "python"
    if request.dry_run:
        return DownloadResult(None, target, tuple(planned), dry_run=True, via=backend_name,
                              already_present=not todo)
    if request.force:
        for job in todo:
            for stale in (job.staging, job.staging.with_name(job.staging.name + ".aria2"),
                          job.staging.with_name(job.staging.name + ".state.json")):
                stale.unlink(missing_ok=True)
    if not todo:
        return DownloadResult(None, target, tuple(planned), already_present=True, via=None)
    _preflight(todo, target)
    total = sum(j.size or 0 for j in todo) or None
    meter = ProgressMeter(label, total, ctx.on_progress)
    headers = hub.auth_headers() if send_token else {"User-Agent": "imageworks-model-manager"}
    common = dict(headers=headers, connections=settings.connections, concurrent=settings.concurrent_downloads,
                  retries=settings.retries, timeout=settings.timeout_s, meter=meter)
    started = time.monotonic()
    from .transfer import download_lock

    try:
        with download_lock(target, on_wait=lambda message: ctx.warn(str(target), message)) as lock_fd:
            if use_aria2:
                from .aria2_downloader import Aria2Downloader

                stats = Aria2Downloader(**common, lock_fd=lock_fd).run(todo)
            else:
                from .python_downloader import PythonDownloader

                stats = PythonDownloader(**common).run(todo)
    except OSError as exc:
        from .transfer import disk_error

        raise disk_error(exc, target) from None
    meter.report(finished=True)
    clean_staging(target)
    return DownloadResult(None, target, tuple(planned), stats.bytes_transferred, time.monotonic() - started,
                          False, False, stats.backend)


def _preflight(jobs: list[FileJob], target: Path) -> None:
    """Refuse a download that cannot fit, before writing anything."""
    need = 0
    for job in jobs:
        if job.size is None:
            continue
        have = job.staging.stat().st_size if job.staging.exists() else 0
        need += max(0, job.size - have)
    probe = target
    while not probe.exists():
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    if need > free:
        from imageworks_core.kit import human_bytes

        raise DownloadError(f"not enough disk space in {probe}: {human_bytes(need)} needed, {human_bytes(free)} free",
                            hint="free some space or choose --location on another disk")


def describe(ctx: Context, target: Path, files: list[str], jobs: list[FileJob], fmt: str, quant: str | None,
             backend: str, label: str, *, identity, family: str, source: dict, extra_root: Path | None,
             aliases: tuple[str, ...], etags: dict[str, str | None] | None = None) -> Variant:
    """The registry's view of what now lies in ``target``."""
    from imageworks_core import Capabilities, ChatTemplate
    from imageworks_core.kit import detect_folder, gguf_variants

    metadata: dict = {}
    top_level = [f for f in files if "/" not in f]
    if fmt == "gguf":
        # The same metadata a scan or an LM Studio import gives these files: one "files ->
        # variant" rule for every provider.
        ggufs = [f for f in files if f.lower().endswith(".gguf")]
        found = gguf_variants(ctx, NAME, target, ggufs, family=family, backend=backend, source=source)
        if found:
            quant = found[0].quantization or quant
            template, capabilities = found[0].chat_template, found[0].capabilities
            metadata.update(found[0].metadata)
        else:
            template, capabilities = ChatTemplate("none"), Capabilities(text=True)
        if "chat_template.jinja" in top_level:
            template = ChatTemplate("external", "chat_template.jinja", None)
    else:
        facts = detect_folder(target, top_level)
        template, capabilities = facts.chat_template, facts.capabilities
        quant = quant or facts.quantization
        metadata.update(facts.metadata)
        if facts.download_format and fmt not in ("gguf",) and facts.download_format != fmt:
            fmt = facts.download_format
    known = {j.path: j for j in jobs}
    artifacts = []
    for rel in files:
        job = known.get(rel)
        sha = job.sha256 if job else None
        if sha is None and (target / rel).stat().st_size <= 16 << 20:
            from imageworks_core.kit import sha256_of

            sha = sha256_of(target / rel)  # small non-LFS files: cheap, and verify --hash can check them
        artifacts.append(ArtifactFile(rel, (target / rel).stat().st_size, sha, (etags or {}).get(rel)))
    if extra_root is not None:
        metadata["location_root"] = str(extra_root)
    ordered = sorted(files, key=lambda f: (not (f.lower().endswith(".gguf") and "mmproj" not in f.lower()), f)) \
        if fmt == "gguf" else sorted(files)
    return Variant(
        provider=NAME, identity=identity(fmt, quant), family=family, backend=backend, download_format=fmt,
        quantization=quant, download_path=str(target), download_files=tuple(ordered), download_location=label,
        source=source, model_aliases=aliases, artifacts=with_aggregate(artifacts), chat_template=template,
        capabilities=capabilities, metadata=metadata,
    )


__all__ = ["STAGING", "download"]

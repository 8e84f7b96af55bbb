"""``link NAME --to hf-cache`` and ``download --location hf_cache``: our hub copies in the Hugging
Face cache layout (``hf_cache_store``), registered as entries of their own."""

from __future__ import annotations

import os
from pathlib import Path

import attrs

from imageworks_core import ArtifactFile, BadInputError, Context, LinkResult, NotFoundError, VerificationError
from imageworks_core import Variant
from imageworks_core.kit import with_aggregate

from .cache_ingest import CACHE_LABEL, identity
from .hf_cache_store import CacheFile, cache_roots, check_git_file, git_blob_sha1, is_commit, place_snapshot, snapshot_of

NAME = "hf"
TARGET = "hf-cache"  # the ``link --to`` name
LFS_THRESHOLD = 10 << 20  # the hub stores every file above 10 MB with LFS


def in_cache(path: str | os.PathLike | None) -> bool:
    found = snapshot_of(path)
    if found is None:
        return False
    real = os.path.realpath(found[0])
    return any(os.path.realpath(root) == real for root in cache_roots())


def _etag_of(path: str, rel: str, size: int, recorded: ArtifactFile | None) -> str:
    """The blob name: recorded at download; for older entries, the recorded sha256 of an LFS
    file (a weight, or above the hub's LFS threshold), else the git blob id computed here."""
    from imageworks_core.kit import weight_format

    if recorded is not None and recorded.etag:
        return recorded.etag
    if recorded is not None and recorded.sha256 and (size > LFS_THRESHOLD or weight_format(rel, None)):
        return recorded.sha256
    return git_blob_sha1(path)


def entry_cache_files(entry) -> tuple[str, str, str, list[CacheFile]]:
    """(repo id, commit, revision, files) of a registered hub copy; a one-line BadInputError
    for an entry the cache cannot name."""
    source = entry.source or {}
    repo_id, commit = source.get("repo_id"), source.get("commit")
    if not entry.download_path or not entry.download_files:
        raise BadInputError(f"{entry.name} has no files on disk to place in the Hugging Face cache")
    if not repo_id or not is_commit(commit):
        raise BadInputError(f"{entry.name} has no hub commit (it was not downloaded from the Hugging Face Hub): "
                            "the cache names every copy by repo and commit",
                            hint="download it with `imageworks-download download owner/repo --location hf_cache`")
    recorded = {a.path: a for a in entry.artifacts.files}
    files = []
    for rel in entry.download_files:
        path = os.path.join(entry.download_path, rel)
        if not os.path.isfile(path):
            raise NotFoundError(f"{path} is missing", hint=f"run `imageworks-download verify {entry.name}`")
        size = os.path.getsize(path)
        known = recorded.get(rel)
        if known is not None and known.size is not None and known.size != size:
            raise VerificationError(f"{path} is {size} bytes, {known.size} were downloaded: it changed",
                                    hint=f"run `imageworks-download verify {entry.name}`")
        etag = _etag_of(path, rel, size, known)
        if len(etag) == 40:
            check_git_file(path, etag, path)  # small files: cheap, and a wrong blob would lie
        files.append(CacheFile(rel, path, etag, size, known.sha256 if known else None))
    return repo_id, commit, source.get("revision") or "main", files


def placed_variant(entry, snapshot: Path, repo_id: str, commit: str, revision: str,
                   files: list[CacheFile]) -> Variant:
    """The copy in the cache, described as its source is (the same files, bytes and facts)."""
    artifacts = with_aggregate(ArtifactFile(f.path, f.size, f.sha256, f.etag) for f in files)
    metadata = {k: v for k, v in entry.metadata.items() if k not in ("location_root", "linked_from", "identity")}
    return Variant(
        provider=NAME, identity=identity(repo_id, revision, entry.download_format, entry.quantization, snapshot),
        family=entry.family or repo_id.split("/")[-1].lower(), backend=entry.backend,
        download_format=entry.download_format, quantization=entry.quantization, download_path=str(snapshot),
        download_files=tuple(entry.download_files), download_location=CACHE_LABEL,
        source={"repo_id": repo_id, "revision": revision, "commit": commit}, model_aliases=(repo_id,),
        artifacts=artifacts, chat_template=entry.chat_template, capabilities=entry.capabilities, metadata=metadata,
    )


def link_in(request, ctx: Context) -> LinkResult | None:
    if request.target != TARGET:
        return None
    entry = request.entry
    if request.mode == "symlink":
        raise BadInputError("--symlink cannot be used with hf-cache: `hf cache rm` would delete our file through "
                            "the link; the default hard links (or --copy) are safe")
    if in_cache(entry.download_path):
        raise BadInputError(f"{entry.name} is already in the Hugging Face cache ({entry.download_path})")
    repo_id, commit, revision, files = entry_cache_files(entry)
    mode = "copy" if request.mode == "copy" else "hard"
    placed = [place_snapshot(root, repo_id, commit, revision, files, mode=mode, dry_run=request.dry_run)
              for root in cache_roots()]
    first = placed[0]
    variant = None if request.dry_run else placed_variant(entry, first.snapshot, repo_id, commit, revision, files)
    return LinkResult(tuple(p for each in placed for p in each.paths), str(first.snapshot),
                      already=not request.dry_run and not any(p.wrote for p in placed), variant=variant,
                      notes=tuple(n for p in placed for n in p.notes))


def remove(entry, delete_files: bool, ctx: Context):
    """A cache entry: its snapshot links, then what nothing else uses (``remove_snapshot_files``);
    and the twins ``link`` placed in the other cache roots (same inode), nothing else there."""
    if not delete_files or not in_cache(entry.download_path):
        return None
    from imageworks_core import RemovedFiles
    from imageworks_core.kit import check_paths, same_file

    from .hf_cache_store import remove_snapshot_files

    root, folder, commit = snapshot_of(entry.download_path)
    snapshot = Path(entry.download_path)
    plan = [(snapshot, tuple(entry.download_files))]
    for other in cache_roots():
        twin = other / folder.name / "snapshots" / commit
        if os.path.realpath(other) == os.path.realpath(root) or not twin.is_dir():
            continue
        plan.append((twin, tuple(rel for rel in entry.download_files if same_file(twin / rel, snapshot / rel))))
    check_paths([s / rel for s, rels in plan for rel in rels], list(ctx.settings.roots()) + cache_roots())
    deleted, kept = [], []
    for where, rels in plan:
        done = remove_snapshot_files(where, rels, frozenset(ctx.shared_files))
        deleted += done.deleted
        kept += done.kept
    return RemovedFiles(tuple(deleted), tuple(kept))


def download_to_cache(ctx: Context, request, source, listing, files: list[str], fmt: str, quant: str | None,
                      *, updating: str | None = None):
    """``download --location hf_cache``: staged, resumed and verified as every download (under
    ``models--o--n/.imageworks-download/<commit>``, which huggingface_hub's scan ignores), then
    renamed into ``blobs/``, linked into ``snapshots/<commit>``, and the ref written last. A
    file whose blob is already there (an earlier commit's) is linked, not fetched. ``updating``:
    the commit of the cache entry being updated, whose ref may move."""
    from imageworks_core import DownloadError, DownloadResult
    from imageworks_core.kit import default_backend, family_from_repo

    from . import hub
    from .download import describe, fetch
    from .cleanup import CACHE_STAGING
    from .hf_cache_store import repo_folder_name
    from .transfer import FileJob

    if request.support_repo:
        raise BadInputError("--support-repo cannot be used with --location hf_cache: a cache snapshot holds "
                            "one repo's commit")
    roots = cache_roots()
    folder = roots[0] / repo_folder_name(source.repo_id)
    commit, remote = listing.commit, listing.files
    snapshot = folder / "snapshots" / commit
    staged = folder / CACHE_STAGING / commit
    for f in files:
        if not remote[f].etag:
            raise DownloadError(f"the hub listed no blob id for {f} in {source.repo_id}")

    def held(path: str) -> Path | None:
        for there in (snapshot / path, folder / "blobs" / remote[path].etag):
            if not request.force and there.is_file() and remote[path].size in (None, there.stat().st_size):
                return there
        return None

    jobs = [FileJob(f, hub.resolve_url(source.repo_id, commit, f), staged / f, remote[f].size, remote[f].sha256)
            for f in files if held(f) is None]
    reused = [CacheFile(f, str(folder / "blobs" / remote[f].etag), remote[f].etag, remote[f].size, remote[f].sha256)
              for f in files if held(f) is not None and not (snapshot / f).is_file()]
    if not request.dry_run:
        (folder / "snapshots").mkdir(parents=True, exist_ok=True)  # a valid (empty) cache repo meanwhile
    result = fetch(ctx, request, jobs, staged, f"{source.repo_id}@{source.revision}")
    if result.dry_run:
        return attrs.evolve(result, target_dir=snapshot)
    new = []
    for job in jobs:
        etag = remote[job.path].etag
        if len(etag) == 40:
            check_git_file(job.dest, etag, job.path)
        new.append(CacheFile(job.path, str(job.dest), etag, job.size, job.sha256))
    snapshot = place_download(ctx, staged, new + reused, files, remote, source.repo_id, commit, source.revision,
                              replace=request.force, updating=updating)
    backend = request.backend or default_backend(fmt, at=snapshot, settings=ctx.settings)
    every = [FileJob(f, "", snapshot / f, remote[f].size, remote[f].sha256) for f in files]
    variant = describe(ctx, snapshot, files, every, fmt, quant, backend, CACHE_LABEL,
                       identity=lambda f, q: identity(source.repo_id, source.revision, f, q, snapshot),
                       family=family_from_repo(source.repo_id, source.revision),
                       source={"repo_id": source.repo_id, "revision": source.revision, "commit": commit},
                       extra_root=None, aliases=(source.repo_id,), etags={f: remote[f].etag for f in files})
    return DownloadResult(variant, snapshot, result.files, result.bytes_transferred, result.seconds,
                          result.already_present, False, result.via)


def place_download(ctx: Context, staged: Path, new: list[CacheFile], files: list[str], remote, repo_id: str,
                   commit: str, revision: str, *, replace: bool, updating: str | None = None) -> Path:
    """The downloaded files renamed into the first cache root's blobs and linked into the
    snapshot, the ref last; then every file hard-linked into the other roots in use."""
    roots = cache_roots()
    placed = place_snapshot(roots[0], repo_id, commit, revision, new, mode="move", replace=replace,
                            ref_moves_from=updating)
    for note in placed.notes:
        ctx.warn(str(placed.snapshot), note)
    every = [CacheFile(f, os.path.realpath(placed.snapshot / f), remote[f].etag, remote[f].size, remote[f].sha256)
             for f in files]
    for root in roots[1:]:
        place_snapshot(root, repo_id, commit, revision, every, mode="hard", ref_moves_from=updating)
    for folder, _dirs, _files in sorted(os.walk(staged, topdown=False), key=lambda item: -len(item[0])):
        try:
            os.rmdir(folder)
        except OSError:
            pass
    try:
        staged.parent.rmdir()  # .imageworks-download, when no other commit is being fetched
    except OSError:
        pass
    return placed.snapshot


def update_in_cache(entry, check, dry_run: bool, ctx: Context, files: list[str]):
    """``update`` of a cache entry: the new commit is a new snapshot (files whose blob is already
    there are linked, not fetched), the ref moves to it, and the old snapshot's files of this
    entry go (``remove_snapshot_files``: blobs the new snapshot links stay)."""
    from imageworks_core import DownloadRequest

    from . import hub
    from .hf_cache_store import remove_snapshot_files
    from .source import parse_source

    revision = (entry.source or {}).get("revision") or "main"
    listing = hub.list_repo(check.repo, check.latest_commit)
    if dry_run:
        return None
    request = DownloadRequest(source=f"{check.repo}@{revision}", non_interactive=True, location=CACHE_LABEL)
    source = parse_source(request.source, hub.endpoint())
    old = Path(entry.download_path)
    result = download_to_cache(ctx, request, source, listing, files, entry.download_format or "safetensors",
                               entry.quantization, updating=old.name)
    remove_snapshot_files(old, tuple(entry.download_files), frozenset(ctx.shared_files))
    variant = attrs.evolve(result.variant, identity=identity(check.repo, revision, result.variant.download_format,
                                                             result.variant.quantization, result.target_dir))
    return variant, result.bytes_transferred

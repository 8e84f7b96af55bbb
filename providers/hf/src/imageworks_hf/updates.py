"""Is a downloaded model still what the hub serves? One metadata request per repo and revision,
in parallel; the recorded commit against the current one, and which files changed."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

from imageworks_core import Context, Entry, FileChange, UpdateCheck

from . import hub
from .selection import is_optional, weight_format

COMMIT = re.compile(r"^[0-9a-f]{40}$")
WORKERS = 8


def _selected(entry: Entry, listing: hub.RepoListing) -> dict[str, hub.RemoteFile]:
    """The files an update takes: the entry's own paths still served, plus new files of the same
    kind (shared files, and weights of the entry's format)."""
    old = set(entry.download_files)
    main = entry.download_files[0] if entry.download_files else ""
    main_format = weight_format(main, None)
    out = {}
    for path, remote in listing.files.items():
        kind = weight_format(path, None)
        same = kind is None and not is_optional(path) or (kind == main_format and entry.download_format != "gguf")
        if path in old or (same and path not in old and entry.download_format != "gguf"):
            out[path] = remote
    return out


def compare(entry: Entry, listing: hub.RepoListing) -> tuple[FileChange, ...]:
    recorded = {a.path: a for a in entry.artifacts.files}
    wanted = _selected(entry, listing)
    changes = []
    for path, remote in sorted(wanted.items()):
        mine = recorded.get(path)
        if path not in entry.download_files:
            changes.append(FileChange(path, "added", remote.size or 0))
        elif mine is not None and ((remote.sha256 and mine.sha256 and remote.sha256 != mine.sha256)
                                   or (remote.size is not None and mine.size is not None and remote.size != mine.size)):
            changes.append(FileChange(path, "changed", remote.size or 0))
    changes += [FileChange(path, "removed", 0) for path in sorted(entry.download_files) if path not in listing.files]
    return tuple(changes)


def check(entries: list[Entry], ctx: Context) -> list[UpdateCheck]:
    checks: dict[str, UpdateCheck] = {}
    wanted: dict[tuple[str, str], list[Entry]] = {}
    for entry in entries:
        source = entry.source or {}
        repo, revision, commit = source.get("repo_id"), source.get("revision") or "main", source.get("commit")
        if not repo:
            continue
        if COMMIT.match(revision):
            checks[entry.name] = UpdateCheck(entry.name, repo, revision, commit, revision, False,
                                             note="pinned to a commit: never outdated")
        elif not commit:
            checks[entry.name] = UpdateCheck(entry.name, repo, revision, None, None, None,
                                             note="downloaded before commits were recorded: run "
                                                  f"`download {repo} --force` once to record it")
        else:
            wanted.setdefault((repo, revision), []).append(entry)
    with ThreadPoolExecutor(max_workers=min(WORKERS, max(1, len(wanted)))) as pool:
        listings = dict(zip(wanted, pool.map(lambda key: hub.model_files(*key), wanted)))
    for (repo, revision), group in wanted.items():
        listing = listings[(repo, revision)]
        for entry in group:
            commit = entry.source["commit"]
            changes = compare(entry, listing) if listing.commit != commit else ()
            checks[entry.name] = UpdateCheck(entry.name, repo, revision, commit, listing.commit,
                                             listing.commit != commit, changes)
    return [checks[e.name] for e in entries if e.name in checks]


def _exchange(a: str, b: str) -> None:
    """Swap two directories in one step (Linux ``renameat2(RENAME_EXCHANGE)``): at every instant
    the registered path holds a whole copy, the old or the new. Elsewhere: two renames."""
    import ctypes
    import os

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        renameat2 = None
    if renameat2 is not None:
        AT_FDCWD, RENAME_EXCHANGE = -100, 2
        if renameat2(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE) == 0:
            return
    aside = b + ".imageworks-old"
    os.rename(b, aside)
    os.rename(a, b)
    os.rename(aside, a)


def update(entry: Entry, check: UpdateCheck, dry_run: bool, ctx: Context):
    """Bring one entry to the hub's current commit: unchanged files are hard-linked from the old
    copy into a staging folder beside it (0 bytes fetched), changed and new ones are fetched and
    verified there, removed ones are left out; then the staging folder and the old copy swap."""
    import os
    import shutil
    from pathlib import Path

    import attrs

    from imageworks_core import DownloadRequest
    from imageworks_core.kit import copy_identity, family_from_repo

    from .download import describe, fetch
    from .transfer import FileJob

    target = Path(entry.download_path)
    listing = hub.list_repo(check.repo, check.latest_commit)
    removed = {c.path for c in check.changed if c.change == "removed"}
    files = [f for f in entry.download_files if f not in removed] + [c.path for c in check.changed if c.change == "added"]
    changed = {c.path for c in check.changed if c.change in ("added", "changed")}
    from .cleanup import UPDATE_SUFFIX

    staging = target.parent / f".{target.name}{UPDATE_SUFFIX}"
    request = DownloadRequest(source=f"{check.repo}@{check.latest_commit}", non_interactive=True, dry_run=dry_run)
    jobs = [FileJob(f, hub.resolve_url(check.repo, listing.commit, f), staging / f,
                    listing.files[f].size if f in listing.files else None,
                    listing.files[f].sha256 if f in listing.files else None) for f in files]
    if dry_run:
        return None
    if staging.exists():
        shutil.rmtree(staging)  # a staging folder of an update that was killed: start it again
    for f in files:
        if f not in changed and (target / f).is_file():
            (staging / f).parent.mkdir(parents=True, exist_ok=True)
            os.link(target / f, staging / f)  # unchanged: reused, not fetched
    staging.mkdir(parents=True, exist_ok=True)
    result = fetch(ctx, request, jobs, staging, request.source)
    source = {**(entry.source or {}), "commit": listing.commit}
    variant = describe(ctx, staging, files, jobs, entry.download_format or "safetensors", entry.quantization,
                       entry.backend or "vllm", entry.download_location or "", family=entry.family
                       or family_from_repo(check.repo), identity=lambda f, q: entry.identity or "",
                       source=source, extra_root=None, aliases=entry.model_aliases)
    _exchange(str(staging), str(target))
    shutil.rmtree(staging)  # the old copy, now beside
    variant = attrs.evolve(variant, download_path=str(target),
                           identity=entry.identity or copy_identity(f"hf:{check.repo}", target))
    return variant, result.bytes_transferred

"""``link NAME --to ollama|lmstudio|DIR``: one set of GGUF bytes, usable by several tools.

The core finds the entry's GGUF files (its provider says which: ``imageworks_gguf_files``),
knows their sha256 (recorded, cached, or hashed once), asks the target provider to place them
(``imageworks_link_in``; a plain folder is the core's own target), then rediscovers the target
and registers the new copy with ``metadata.linked_from``."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import attrs

from .errors import BadInputError, ImageworksError, NotFoundError
from .hook_types import DiscoverRequest, GgufFile, LinkRequest, LinkResult
from .session import Session

MODES = ("hard", "symlink", "copy")


def _same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    try:
        sa, sb = os.stat(a), os.stat(b)
    except OSError:
        return False
    return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)


def place_file(source: str | os.PathLike, dest: str | os.PathLike, mode: str = "hard", *,
               sha256: str | None = None) -> bool:
    """Make ``dest`` hold ``source``'s bytes: a hard link (0 bytes copied; same filesystem only),
    a symbolic link, or a copy checked against ``sha256``. Written under a temporary name in the
    same folder and renamed into place, so a crash never leaves a half-written ``dest``. Returns
    False when ``dest`` already holds the same bytes (linking twice is a no-op)."""
    source, dest = os.fspath(source), os.fspath(dest)
    if mode not in MODES:
        raise BadInputError(f"unknown link mode {mode!r}")
    if os.path.lexists(dest):
        if _same_file(source, dest) or (mode == "symlink" and os.path.islink(dest)
                                        and os.path.realpath(dest) == os.path.realpath(source)):
            return False
        if sha256 and os.path.getsize(dest) == os.path.getsize(source):
            from .hashing import sha256_of

            if sha256_of(dest) == sha256:
                return False
        raise ImageworksError(f"{dest} already exists with other content; nothing linked",
                              hint="remove it first, or link under another name")
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    tmp = os.path.join(os.path.dirname(dest), f".{os.path.basename(dest)}.{uuid.uuid4().hex[:8]}.imageworks-link")
    try:
        if mode == "hard":
            try:
                os.link(source, tmp)
            except OSError as exc:
                raise ImageworksError(f"cannot hard-link {source} to {dest}: {exc.strerror}",
                                      hint="hard links need one filesystem: use --symlink, or --copy") from None
        elif mode == "symlink":
            os.symlink(os.path.realpath(source), tmp)
        else:
            shutil.copyfile(source, tmp)
            if sha256:
                from .hashing import sha256_of

                if sha256_of(tmp) != sha256:
                    raise ImageworksError(f"the copy of {source} does not match its sha256 {sha256}")
        os.replace(tmp, dest)
    except BaseException:
        if os.path.lexists(tmp):
            os.unlink(tmp)
        raise
    return True


def default_gguf_files(entry) -> list[GgufFile]:
    if not entry.download_path:
        return []
    out = []
    for rel in entry.download_files:
        if rel.lower().endswith(".gguf"):
            path = os.path.join(entry.download_path, rel)
            role = "projector" if "mmproj" in os.path.basename(rel).lower() else "model"
            size = os.path.getsize(path) if os.path.exists(path) else 0
            out.append(GgufFile(path, os.path.basename(rel), role, size))
    return out


def _with_hashes(session: Session, entry, files: list[GgufFile]) -> list[GgufFile]:
    """Fill in each file's sha256: recorded on the entry, in the hash cache, else hashed once."""
    from .cachedir import cache_path
    from .hashing import CACHE_NAME, HashCache, hash_files

    recorded = {os.path.realpath(os.path.join(entry.download_path, a.path)): a.sha256
                for a in entry.artifacts.files if a.sha256}
    out, todo = [], []
    for f in files:
        sha = f.sha256 or recorded.get(os.path.realpath(f.path))
        out.append(attrs.evolve(f, sha256=sha))
        if not sha:
            todo.append(f.path)
    if todo:
        cache = HashCache(cache_path(session.registry.directory, CACHE_NAME))
        digests = hash_files(todo, cache)
        cache.save()
        out = [f if f.sha256 else attrs.evolve(f, sha256=digests[f.path] if isinstance(digests[f.path], str) else None)
               for f in out]
    return out


def link_to_folder(request: LinkRequest, folder: Path) -> LinkResult:
    paths, wrote = [], False
    for f in request.files:
        dest = folder / f.name
        paths.append(str(dest))
        if not request.dry_run:
            wrote |= place_file(f.path, dest, request.mode, sha256=f.sha256)
    return LinkResult(tuple(paths), str(folder), already=not wrote and not request.dry_run)


@attrs.frozen
class Linked:
    result: LinkResult
    target_provider: str | None
    name: str | None  # the registered entry's name


def link(session: Session, name: str, target: str, *, mode: str = "hard", model_name: str | None = None,
         dry_run: bool = False) -> Linked:
    view = session.registry.load()
    entry = view.get(name)
    if entry is None:
        raise NotFoundError(f"no entry named {name!r}", hint="see `imageworks-download list`")
    if entry.download_format != "gguf" or not entry.download_path:
        raise BadInputError(f"{name} is not an installed GGUF model; only GGUF files can be linked")
    ctx = session.context()
    plugins = session.plugins
    files = plugins.for_entry("imageworks_gguf_files", entry)(entry=entry, ctx=ctx) or []
    if not any(f.role == "model" for f in files):
        raise NotFoundError(f"{name} lists no GGUF weights file")
    files = _with_hashes(session, entry, files)
    is_provider = target in plugins.providers
    if not is_provider and (os.sep in target or target.startswith((".", "~"))):
        folder = Path(target).expanduser().absolute()
        request = LinkRequest("folder", entry, tuple(files), mode, model_name, dry_run)
        result = link_to_folder(request, folder)
        provider = None  # whichever provider's discovery finds the new copy registers it
    elif is_provider:
        request = LinkRequest(target, entry, tuple(files), mode, model_name, dry_run)
        result = plugins.only("imageworks_link_in", [target])(request=request, ctx=ctx)
        if result is None:
            raise BadInputError(f"the {target} provider cannot link models in")
        provider = target
    else:
        raise BadInputError(f"--to {target!r} is neither an installed provider ({', '.join(plugins.providers)}) "
                            "nor a directory path")
    registered = None
    if not dry_run:
        registered = _register_copy(session, [provider] if provider else plugins.providers, result, entry.name)
    session.log.event("link", entry=name, target=target, mode=mode, paths=list(result.paths),
                      already=result.already, registered=registered, dry_run=dry_run)
    return Linked(result, provider, registered)


def _register_copy(session: Session, providers: list[str], result: LinkResult, source_name: str) -> str | None:
    """Rediscover the new copy with ``providers`` (the first, in precedence order, whose variant
    lists the linked files) and register it as linked from ``source_name``."""
    from .discovery import collect_variants
    from .registry.register import register_variants
    from .registry.store import utc_now

    variants, _warnings = collect_variants(session, providers, DiscoverRequest(roots=(result.root,)))
    wanted = {os.path.normpath(p) for p in result.paths}
    mine = [v for v in variants if v.download_path and any(
        os.path.normpath(os.path.join(v.download_path, f)) in wanted for f in v.download_files)]
    if not mine:
        return None
    with session.registry.transaction() as tx:
        changes = register_variants(tx, mine[:1])
        change = changes[0]
        entry = tx.discovered.get(change.name)
        if entry is not None and entry.metadata.get("linked_from") != source_name:
            tx.put(attrs.evolve(entry, metadata={**entry.metadata, "linked_from": source_name}, updated_at=utc_now()))
    return change.name

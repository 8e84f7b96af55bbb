"""Registry maintenance through the hooks, so it covers every provider: verify, normalize,
remove, prune, purge, reset and restore. The CLI and the GUI call these functions."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Iterable

import attrs

from .errors import BadInputError, NotFoundError
from .fileset import directory_checksum, stat_sizes, with_aggregate
from .inventory import is_installed
from .entry import ArtifactFile, Entry
from .registry.store import utc_now
from .session import Session
from .hook_types import Finding, Redetected


# ---------------------------------------------------------------------------------------- verify
@attrs.frozen
class VerifyResult:
    name: str
    ok: bool
    problems: tuple[str, ...]
    fixed: bool = False


def _select(session: Session, names: Iterable[str], view=None) -> list[Entry]:
    view = view if view is not None else session.registry.load()
    names = list(names)
    if not names:
        return [e for e in view.entries if e.download_path]
    _check_names(view, names)
    return [view.get(n) for n in names]


def _check_names(view, names: list[str]) -> None:
    missing = [n for n in names if n not in view.rows]
    if missing:
        raise NotFoundError(f"no entry named {', '.join(missing)}", hint="see `imageworks-download list --include-logical`")


def verify(
    session: Session,
    names: Iterable[str] = (),
    *,
    content_hash: bool = False,
    fix_missing: bool = False,
    on_progress: Callable[[str], None] | None = None,
    view=None,
    hashing=None,
) -> list[VerifyResult]:
    """Check the files of the named (or every installed) entry; with ``content_hash`` compare
    sha256s too. ``view`` and ``hashing`` (from ``hashing.start_hashing``) let a caller that
    already read the registry and started hashing hand them over."""

    from .hashing import start_hashing

    links_view = view if view is not None else session.registry.load()  # also where `link` copies came from
    names = list(names)
    _check_names(links_view, names)
    digests: dict[str, str | OSError] = {}
    if content_hash and hashing is None:
        hashing = start_hashing(session.registry.directory, links_view, names, on_progress)
    try:
        entries = _select(session, names, links_view)
        ctx = session.context(content_hash=content_hash)
        session.plugins  # noqa: B018 - providers load now, while the files hash
    finally:
        if hashing is not None:
            digests = hashing.result()
    results: list[VerifyResult] = []
    recorded: dict[str, Entry] = {}
    gone: list[str] = []
    for entry in entries:
        problems: list[str] = []
        if not entry.download_path:
            problems.append("no download_path (logical-only entry)")
        else:
            known = {a.path: a for a in entry.artifacts.files}
            missing = 0
            new_hashes: list[ArtifactFile] = []
            if not entry.download_files and not os.path.isdir(entry.download_path):
                problems.append(f"folder missing: {entry.download_path}")
                missing = 1
            elif not entry.download_files:  # an existing folder (``/``) proves nothing about a model
                problems.append("no files listed: nothing to check (re-import or re-download it)")
            for rel in entry.download_files:
                path = os.path.join(entry.download_path, rel)
                try:
                    size = os.stat(path).st_size
                except OSError:
                    problems.append(f"missing file: {rel}")
                    missing += 1
                    continue
                artifact = known.get(rel)
                if artifact and artifact.size is not None and artifact.size != size:
                    problems.append(f"size changed: {rel} ({artifact.size} -> {size} bytes)")
                    continue
                if content_hash:
                    digest = digests.get(path)
                    if isinstance(digest, OSError):
                        problems.append(f"unreadable: {rel} ({digest.strerror})")
                    elif artifact and artifact.sha256:
                        if artifact.sha256 != digest:
                            problems.append(f"digest mismatch: {rel} (expected {artifact.sha256[:12]}…, got {digest[:12]}…)")
                    elif digest:
                        new_hashes.append(ArtifactFile(rel, size, digest))
            if new_hashes:
                files = {a.path: a for a in entry.artifacts.files}
                files.update({a.path: a for a in new_hashes})
                recorded[entry.name] = attrs.evolve(entry, artifacts=with_aggregate(files.values()))
            if fix_missing and (missing and missing == max(1, len(entry.download_files))):
                gone.append(entry.name)
        problems += _link_problems(session, ctx, entry, links_view)
        for findings in session.plugins.for_entry("imageworks_verify", entry)(entry=entry, ctx=ctx):
            for finding in findings or ():
                text = finding.problem if isinstance(finding, Finding) else str(finding)
                if text not in problems:
                    problems.append(text)
        results.append(VerifyResult(entry.name, not problems, tuple(problems), entry.name in gone))
    if recorded or gone:
        now = utc_now()
        with session.registry.transaction() as tx:
            for name, entry in recorded.items():
                current = tx.discovered.get(name)
                if current is not None:
                    tx.put(attrs.evolve(current, artifacts=entry.artifacts))
            for name in gone:
                current = tx.discovered.get(name)
                if current is not None:
                    tx.put(attrs.evolve(current, download_path=None, updated_at=now,
                                        metadata={**current.metadata, "missing_since": now,
                                                  "last_download_path": current.download_path}))
    session.log.event("verify", checked=len(results), invalid=[r.name for r in results if not r.ok],
                      hashed=content_hash, fixed=gone, hashes_recorded=sorted(recorded))
    return results


def _link_problems(session: Session, ctx, entry: Entry, view) -> list[str]:
    """A copy made by ``link`` (hard link) should still share its weights with the entry it came
    from; when one side was replaced (re-downloaded, edited), say so."""
    source_name = entry.metadata.get("linked_from")
    source = view.get(source_name) if isinstance(source_name, str) else None
    if source is None or not source.download_path or not entry.download_path:
        return []

    def weights(e: Entry) -> set[tuple[int, int]]:
        # The GGUF weights as the entry's provider names them (Ollama: the model blob).
        out = set()
        for f in session.plugins.for_entry("imageworks_gguf_files", e)(entry=e, ctx=ctx) or ():
            try:
                st = os.stat(f.path)
            except OSError:
                continue
            if f.role == "model":
                out.add((st.st_dev, st.st_ino))
        return out

    mine, theirs = weights(entry), weights(source)
    if mine and theirs and not mine & theirs:
        return [f"no longer shares its files with {source_name} (one side changed since `link`)"]
    if not mine and not theirs:
        # Any format (a copy in the Hugging Face cache): the files both list, name by name.
        from .realpaths import same_file

        apart = [rel for rel in entry.download_files if rel in source.download_files
                 and os.path.exists(os.path.join(entry.download_path, rel))  # a missing file is reported on its own
                 and not same_file(os.path.join(entry.download_path, rel), os.path.join(source.download_path, rel))]
        if apart:
            shown = ", ".join(apart[:3]) + (f" and {len(apart) - 3} more" if len(apart) > 3 else "")
            return [f"no longer shares {shown} with {source_name} (one side changed since `link`)"]
    return []



# ------------------------------------------------------------------------------------- normalize
@attrs.frozen
class NormalizeRow:
    name: str
    action: str  # update | prune | shadowed
    changes: dict[str, tuple[Any, Any]]


def normalize(session: Session, *, apply: bool = False, rebuild: bool = False, prune_missing: bool = False,
              backup: bool = True) -> tuple[list[NormalizeRow], list[Path]]:
    ctx = session.context()
    rows: list[NormalizeRow] = []
    view = session.registry.load()
    for name, fields in view.shadowed.items():
        rows.append(NormalizeRow(name, "shadowed", {f: ("curated", "hides discovered value") for f in fields}))
    with session.registry.transaction(backup=backup, dry_run=not apply) as tx:
        for name, entry in sorted(tx.discovered.items()):
            if not entry.download_path:
                continue
            sizes, missing = stat_sizes(entry.download_path, entry.download_files)
            gone = (not os.path.isdir(entry.download_path)) or (entry.download_files and len(missing) == len(entry.download_files))
            if gone:
                if prune_missing:
                    rows.append(NormalizeRow(name, "prune", {"download_path": (entry.download_path, None)}))
                    tx.delete(name)
                continue
            found = session.plugins.for_entry("imageworks_normalize", entry)(entry=entry, ctx=ctx)
            if found is None:
                continue
            changes: dict[str, tuple[Any, Any]] = {}
            updates: dict[str, Any] = {}
            if found.download_format and found.download_format != entry.download_format:
                changes["format"] = (entry.download_format, found.download_format)
                updates["download_format"] = found.download_format
            if found.quantization and found.quantization != entry.quantization:
                changes["quant"] = (entry.quantization, found.quantization)
                updates["quantization"] = found.quantization
            if rebuild:
                files = tuple(found.download_files) if found.download_files is not None else entry.download_files
                sizes, _missing = stat_sizes(entry.download_path, files)
                size, checksum = sum(sizes.values()), directory_checksum(sizes)
                if size != entry.download_size_bytes:
                    changes["size"] = (entry.download_size_bytes, size)
                    updates["download_size_bytes"] = size
                if checksum != entry.download_directory_checksum:
                    changes["checksum"] = (entry.download_directory_checksum, checksum)
                    updates["download_directory_checksum"] = checksum
                if files != entry.download_files:
                    changes["files"] = (len(entry.download_files), len(files))
                    updates["download_files"] = files
            if changes:
                rows.append(NormalizeRow(name, "update", changes))
                tx.put(attrs.evolve(entry, **updates, updated_at=utc_now()))
    if apply:
        session.log.event("normalize", changed=[r.name for r in rows if r.action != "shadowed"], rebuild=rebuild,
                          prune_missing=prune_missing, backups=[str(b) for b in tx.backups])
    return rows, tx.backups


# ---------------------------------------------------------------------------------------- remove
@attrs.frozen
class RemovePlan:
    entry: Entry
    layer: str
    mode: str  # keep | purge
    delete_files: bool
    files: tuple[str, ...]
    shared: tuple[str, ...]


def plan_remove(session: Session, name: str, *, purge: bool, delete_files: bool, include_curated: bool) -> RemovePlan:
    from .safety import check_paths, entry_roots

    view = session.registry.load()
    entry = view.get(name)
    if entry is None:
        raise NotFoundError(f"no entry named {name!r}", hint="see `imageworks-download list --include-logical`")
    layer = view.layer_of(name)
    if layer == "curated" and not include_curated:
        raise BadInputError(f"{name} is a curated entry (model_registry.curated.json): add --include-curated to change it")
    files: list[str] = []
    shared: list[str] = []
    if delete_files and entry.download_path:
        others = {os.path.realpath(os.path.join(e.download_path, f))
                  for e in view.entries if e.name != name and e.download_path for f in e.download_files}
        ctx = session.context()
        paths = [Path(entry.download_path, f) for f in entry.download_files]
        check_paths(paths, entry_roots(entry, ctx))
        for path in paths:
            (shared if os.path.realpath(path) in others else files).append(str(path))
    return RemovePlan(entry, layer, "purge" if purge else "keep", delete_files, tuple(files), tuple(shared))


def execute_remove(session: Session, plan: RemovePlan, *, include_curated: bool, backup: bool = True):
    entry = plan.entry
    removed = None
    if plan.delete_files and entry.download_path:
        ctx = session.context(shared_files=frozenset(os.path.realpath(p) for p in plan.shared))
        # The entry's own provider first; the built-in default plugin (trylast) deletes the
        # listed files with the same safety rules when the provider has nothing special to do.
        removed = session.plugins.for_entry("imageworks_remove", entry)(entry=entry, delete_files=True, ctx=ctx)
    now = utc_now()
    with session.registry.transaction(backup=backup) as tx:
        current = tx.discovered.get(entry.name)
        if plan.mode == "purge":
            tx.delete(entry.name)
            if include_curated:
                tx.delete_curated(entry.name)
        elif current is not None:
            tx.put(attrs.evolve(current, download_path=None, updated_at=now,
                                metadata={**current.metadata, "removed_at": now,
                                          "last_download_path": current.download_path}))
        elif include_curated:
            raw = next(r for r in tx.curated if r.get("name") == entry.name)
            tx.replace_curated(entry.name, {**raw, "download_path": None,
                                            "metadata": {**(raw.get("metadata") or {}), "removed_at": now}})
    session.log.event("remove", name=entry.name, mode=plan.mode, delete_files=plan.delete_files,
                      deleted=list(removed.deleted) if removed else [], kept=list(removed.kept) if removed else [],
                      backups=[str(b) for b in tx.backups])
    return removed, tx.backups


# -------------------------------------------------------------------------- prune / purge / reset
def _score(entry: Entry, layer: str) -> tuple:
    described = sum(1 for value in attrs.astuple(entry, recurse=False) if value not in (None, (), {}, False, ""))
    return (layer == "both", bool(entry.roles), not entry.deprecated, is_installed(entry),
            described + len(entry.metadata), entry.updated_at or "", entry.name)


def duplicate_groups(session: Session, backend: str | None = None) -> list[tuple[Entry, list[Entry]]]:
    """(kept, dropped) for entries with the same content: same files by real path, or the same
    aggregate digest. The best-described entry is kept."""
    view = session.registry.load()
    discovered = {e.name for e in session.registry.read("discovered").entries}
    parent = {}

    def find(x):
        while parent.setdefault(x, x) != x:
            x = parent[x]
        return x

    by_key: dict[Any, str] = {}
    for entry in view.entries:
        if backend and entry.backend != backend:
            continue
        keys = []
        if entry.download_path and entry.download_files:
            keys.append(("files", tuple(sorted(os.path.realpath(os.path.join(entry.download_path, f))
                                               for f in entry.download_files))))
        if entry.artifacts.aggregate_sha256:
            keys.append(("digest", entry.artifacts.aggregate_sha256))
        for key in keys:
            if key in by_key:
                parent[find(entry.name)] = find(by_key[key])
            else:
                by_key[key] = entry.name
                find(entry.name)
    groups: dict[str, list[Entry]] = {}
    for name in parent:
        groups.setdefault(find(name), []).append(view.get(name))
    out = []
    for members in groups.values():
        if len(members) < 2:
            continue
        members.sort(key=lambda e: _score(e, view.layer_of(e.name)), reverse=True)
        keep, rest = members[0], [e for e in members[1:] if e.name in discovered and view.layer_of(e.name) == "discovered"]
        if rest:
            out.append((keep, rest))
    return sorted(out, key=lambda g: g[0].name)


def delete_discovered(session: Session, names: Iterable[str], *, dry_run: bool, backup: bool = True,
                      curated: Iterable[str] = (), event: str = "delete") -> list[Path]:
    names, curated = list(names), list(curated)
    with session.registry.transaction(backup=backup, dry_run=dry_run) as tx:
        for name in names:
            tx.delete(name)
        for name in curated:
            tx.delete_curated(name)
    if not dry_run and (names or curated):
        session.log.event(event, deleted=names, deleted_curated=curated, backups=[str(b) for b in tx.backups])
    return tx.backups

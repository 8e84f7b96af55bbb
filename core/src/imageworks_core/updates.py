"""``outdated``, ``update``, ``lock`` and ``sync`` (docs/commands.md "Across stores"): the core selects
entries and routes each to its own provider (``imageworks_check_updates``, ``imageworks_download``);
the lock file is the core's."""

from __future__ import annotations

from collections import defaultdict
from typing import Iterable

from .entry import Entry
from .errors import NotFoundError
from .hook_types import LockSource, UpdateCheck
from .lockfile import LOCK_VERSION, split_source
from .session import Session


def select(session: Session, names: Iterable[str]) -> list[Entry]:
    view = session.registry.load()
    names = list(names)
    if names:
        missing = [n for n in names if view.get(n) is None]
        if missing:
            raise NotFoundError(f"no entry named {', '.join(missing)}", hint="see `imageworks-download list`")
        return [view.get(n) for n in names]
    return [e for e in view.entries if e.download_path and (e.source or {}).get("repo_id")]


def check_updates(session: Session, entries: list[Entry]) -> list[UpdateCheck]:
    ctx = session.context()
    by_provider: dict[str, list[Entry]] = defaultdict(list)
    for entry in entries:
        by_provider[entry.source_provider or ""].append(entry)
    out: list[UpdateCheck] = []
    for provider, group in sorted(by_provider.items()):
        found = session.plugins.only("imageworks_check_updates", [provider])(entries=group, ctx=ctx)
        out += found or []
    order = {e.name: i for i, e in enumerate(entries)}
    out.sort(key=lambda c: order.get(c.name, 0))
    session.log.event("outdated", checked=len(out), outdated=[c.name for c in out if c.outdated])
    return out


def update_entries(session: Session, checks: list[UpdateCheck], *, dry_run: bool) -> list[tuple[str, str, int]]:
    """(name, what happened, bytes fetched) per outdated entry."""
    from .registry.register import register_variants

    view = session.registry.load()
    ctx = session.context()
    done = []
    for check in checks:
        if not check.outdated:
            continue
        entry = view.get(check.name)
        answer = session.plugins.for_entry("imageworks_update", entry)(entry=entry, check=check, dry_run=dry_run,
                                                                       ctx=ctx)
        if dry_run:
            done.append((check.name, f"would update to {check.latest_commit[:7]}", check.download_bytes))
            continue
        if answer is None:
            done.append((check.name, "its provider cannot update it", 0))
            continue
        variant, fetched = answer
        with session.registry.transaction() as tx:
            old = tx.discovered.get(check.name)
            if old is not None and old.identity and variant.identity != old.identity:
                # A copy whose folder follows its commit (a Hugging Face cache snapshot): the
                # same entry, re-keyed to where it now is.
                import attrs

                tx.put(attrs.evolve(old, metadata={**old.metadata, "identity": variant.identity}))
            register_variants(tx, [variant])
        session.log.event("updated", name=check.name, commit=check.latest_commit, bytes_fetched=fetched)
        done.append((check.name, f"updated to {check.latest_commit[:7]}", fetched))
    return done


# ------------------------------------------------------------------------------------------ lock


def lock_document(session: Session, entries: list[Entry]) -> tuple[dict, list[str]]:
    """The lock file's content (deterministic: models by name, files by path) and warnings for
    entries that cannot be fetched again."""
    import os

    from .cachedir import cache_path
    from .hashing import CACHE_NAME, HashCache, hash_files

    models, warnings = [], []
    cache = HashCache(cache_path(session.registry.directory, CACHE_NAME))
    ctx = session.context()
    for entry in sorted(entries, key=lambda e: e.name):
        locked = _lock_source(session, entry, ctx)
        if locked is None or not entry.download_path:
            warnings.append(f"{entry.name}: its provider records no source and commit to fetch it again (left out)")
            continue
        if any(not _is_utf8(rel) for rel in entry.download_files):  # TOML holds text only
            warnings.append(f"{entry.name}: a file name is not UTF-8 and cannot be written to a lock file (left out)")
            continue
        recorded = {a.path: a for a in entry.artifacts.files}
        paths = {rel: os.path.join(entry.download_path, rel) for rel in entry.download_files}
        missing = [rel for rel in paths if not (recorded.get(rel) and recorded[rel].sha256)]
        hashed = hash_files([paths[rel] for rel in missing], cache) if missing else {}
        files = []
        for rel in sorted(paths):
            art = recorded.get(rel)
            sha = art.sha256 if art and art.sha256 else hashed.get(paths[rel])
            if not isinstance(sha, str):
                warnings.append(f"{entry.name}: {rel} cannot be read; left out")
                break
            size = art.size if art and art.size is not None else os.path.getsize(paths[rel])
            files.append({"path": rel, "size": size, "sha256": sha})
        else:
            models.append({
                "name": entry.name, "source": f"{entry.source_provider}:{locked.source}", "revision": locked.revision,
                "commit": locked.commit, "format": entry.download_format or "", "quantization": entry.quantization or "",
                "backend": entry.backend or "", "location": entry.download_location or "", "roles": sorted(entry.roles),
                "files": files,
            })
    cache.save()
    return {"version": LOCK_VERSION, "model": models}, warnings


def _lock_source(session: Session, entry: Entry, ctx=None) -> LockSource | None:
    """Where the entry's own provider says its exact bytes can be fetched again, or None."""
    if not entry.source_provider:
        return None
    return session.plugins.for_entry("imageworks_lock_source", entry)(entry=entry, ctx=ctx or session.context())


# ------------------------------------------------------------------------------------------ sync
def _installed_sources(session: Session) -> list[tuple[Entry, LockSource]]:
    """Every installed entry whose provider says where its bytes come from (asked once a sync)."""
    ctx = session.context()
    found = []
    for entry in session.registry.load().entries:
        locked = _lock_source(session, entry, ctx) if entry.download_path else None
        if locked is not None:
            found.append((entry, locked))
    return found


def _satisfied(session: Session, model: dict, installed: list[tuple[Entry, LockSource]]) -> Entry | None:
    """A registered copy at the locked commit whose files hash as locked (cache-checked)."""
    import os

    from .cachedir import cache_path
    from .hashing import CACHE_NAME, HashCache, hash_files

    provider, source = split_source(model["source"])
    cache = HashCache(cache_path(session.registry.directory, CACHE_NAME))
    for entry, locked in installed:
        if entry.source_provider != provider or locked.commit != model["commit"] or (
                entry.name != model["name"] and locked.source != source):
            continue
        paths = {f["path"]: os.path.join(entry.download_path, f["path"]) for f in model["files"]}
        digests = hash_files(list(paths.values()), cache)
        cache.save()
        if all(digests.get(paths[f["path"]]) == f["sha256"] for f in model["files"]):
            return entry
    return None


def check_sources(session: Session, models: list[dict], path: str) -> None:
    """Every locked source checked by the provider it names, before ``sync`` makes a request: a
    source its provider refuses (``imageworks_locked_download`` raising ``BadInputError``) is a
    one-line error naming the model. A provider not installed here is no bad input: ``sync``
    reports that model failed and keeps the others."""
    from .errors import BadInputError

    for i, model in enumerate(models):
        provider, source = split_source(model["source"])
        if provider not in session.plugins.providers:
            continue
        where = f"{path}: $.model[{i}].source"
        try:
            session.plugins.only("imageworks_locked_download", [provider])(source=source, commit=model["commit"])
        except BadInputError as exc:
            raise BadInputError(f"{where}: {exc.message}", hint=exc.hint) from None


def sync(session: Session, models: list[dict], *, location: str | None, dry_run: bool) -> list[dict]:
    """Each locked model: kept, or fetched at the locked commit, checked against the locked
    sha256s, and registered under the locked name, backend and roles. A model whose files do
    not match is reported and not registered."""
    import os

    import attrs

    from .errors import ImageworksError
    from .hashing import sha256_of
    from .hook_types import DownloadRequest
    from .registry.register import variant_entry
    from .registry.store import utc_now

    report = []
    installed = _installed_sources(session)
    for model in models:
        kept = _satisfied(session, model, installed)
        if kept is not None:
            report.append({"name": model["name"], "action": "kept", "bytes_fetched": 0, "entry": kept.name})
            continue
        provider, source = split_source(model["source"])
        if provider not in session.plugins.providers:
            report.append({"name": model["name"], "action": "failed", "bytes_fetched": 0,
                           "problem": f"provider {provider} is not installed"})
            continue
        ask = session.plugins.only("imageworks_locked_download", [provider])
        pinned = ask(source=source, commit=model["commit"])
        if pinned is None:
            report.append({"name": model["name"], "action": "failed", "bytes_fetched": 0,
                           "problem": f"provider {provider} cannot fetch {source} by commit"})
            continue
        weights = tuple(f["path"] for f in model["files"] if f["path"].lower().endswith(
            (".gguf", ".safetensors", ".bin", ".onnx", ".pt", ".pth")))
        request = DownloadRequest(source=pinned, formats=(model.get("format"),) if model.get("format") else (),
                                  quant=model.get("quantization") or None, location=location, weights=weights,
                                  include_optional=True, non_interactive=True, dry_run=dry_run)
        if dry_run:
            report.append({"name": model["name"], "action": "would fetch", "bytes_fetched": 0})
            continue
        ctx = session.context()
        try:
            result = session.plugins.only("imageworks_download", [provider])(request=request, ctx=ctx)
        except ImageworksError as exc:
            report.append({"name": model["name"], "action": "failed", "bytes_fetched": 0, "problem": exc.message})
            continue
        variant = result.variant
        base = result.target_dir
        problems = []
        for f in model["files"]:
            path = os.path.join(base, f["path"])
            if not os.path.isfile(path):
                problems.append(f"{f['path']}: not served at {model['commit'][:7]}")
            elif os.path.getsize(path) != f["size"] or sha256_of(path) != f["sha256"]:
                problems.append(f"{f['path']}: sha256 differs from the lock")
        if problems:
            report.append({"name": model["name"], "action": "failed", "bytes_fetched": result.bytes_transferred,
                           "problem": "; ".join(problems)})
            continue
        locked = {f["path"] for f in model["files"]}
        variant = attrs.evolve(variant, backend=model.get("backend") or variant.backend,
                               download_files=tuple(f for f in variant.download_files if f in locked))
        with session.registry.transaction() as tx:
            for other in [e for e in tx.discovered.values() if e.identity == variant.identity and e.name != model["name"]]:
                tx.delete(other.name)  # the same copy under another name: it takes the locked one
            existing = tx.discovered.get(model["name"])
            entry = variant_entry(variant, model["name"], existing, utc_now())
            tx.put(attrs.evolve(entry, roles=tuple(model.get("roles", ()))))
        report.append({"name": model["name"], "action": "fetched", "bytes_fetched": result.bytes_transferred})
        installed = _installed_sources(session)  # a later locked model may be this copy
    session.log.event("sync", models=[r["name"] for r in report], failed=[r["name"] for r in report if r["action"] == "failed"])
    return report


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a name that is not UTF-8, carried as lone surrogates
        return False
    return True

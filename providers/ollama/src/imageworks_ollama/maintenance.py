"""Registry maintenance that only makes sense for the Ollama store: placeholders of earlier
versions, restoring entries from a backup, filling in paths of entries imported without them."""

from __future__ import annotations

from pathlib import Path

import attrs

from imageworks_core import BadInputError, DiscoverRequest, Entry, NotFoundError
from imageworks_core.kit import collect_variants, read_layer, utc_now, variant_entry

NAME = "ollama"
PLACEHOLDER_PREFIX = "model-ollama-gguf"


def is_ollama(entry: Entry) -> bool:
    return entry.source_provider == NAME or entry.backend == NAME


def deprecate_placeholders(session, *, dry_run: bool = False) -> list[str]:
    """Mark ``model-ollama-gguf*`` entries (from earlier versions) deprecated; it sticks, since
    re-imports keep an entry's ``deprecated`` flag."""
    names = []
    with session.registry.transaction(dry_run=dry_run) as tx:
        for name, entry in list(tx.discovered.items()):
            if name.startswith(PLACEHOLDER_PREFIX) and not entry.deprecated:
                tx.put(attrs.evolve(entry, deprecated=True, updated_at=utc_now()))
                names.append(name)
    if names and not dry_run:
        session.log.event("deprecated_placeholders", names=names)
    return names


def restore_ollama(session, backup_file: Path | None, *, dry_run: bool,
                   include_deprecated: bool) -> tuple[Path, list[str], list[Path]]:
    """Bring back Ollama entries of a backup that are missing now: (backup used, names restored,
    backups made of the current layer first)."""
    if backup_file is None:
        backups = session.registry.backups("discovered")
        if not backups:
            raise NotFoundError(f"no discovered-layer backups in {session.registry.backups_dir}")
        backup_file = backups[-1]
    backup_file = Path(backup_file)
    if not backup_file.is_file():
        raise BadInputError(f"backup {backup_file} does not exist")
    old = read_layer(backup_file, "discovered")
    restored = []
    with session.registry.transaction(backup=True, dry_run=dry_run) as tx:
        for entry in old.entries:
            if not is_ollama(entry) or entry.name in tx.discovered:
                continue
            if entry.deprecated and not include_deprecated:
                continue
            tx.put(entry)
            restored.append(entry.name)
    if not dry_run:
        session.log.event("restore_ollama", backup=str(backup_file), restored=restored)
    return backup_file, restored, tx.backups


def backfill_ollama_paths(session, *, dry_run: bool) -> list[str]:
    variants, _warnings = collect_variants(session, [NAME], DiscoverRequest())
    by_served = {v.served_model_id: v for v in variants}
    filled = []
    with session.registry.transaction(dry_run=dry_run) as tx:
        for name, entry in list(tx.discovered.items()):
            if not is_ollama(entry) or (entry.download_path and entry.download_files):
                continue
            variant = by_served.get(entry.served_model_id or "")
            if variant is None:
                continue
            fresh = variant_entry(variant, name, entry, utc_now())
            tx.put(attrs.evolve(entry, download_path=fresh.download_path, download_files=fresh.download_files,
                                download_size_bytes=fresh.download_size_bytes, artifacts=fresh.artifacts,
                                download_directory_checksum=fresh.download_directory_checksum,
                                metadata={**entry.metadata, "identity": variant.identity}, updated_at=fresh.updated_at))
            filled.append(name)
    if not dry_run:
        session.log.event("backfill_ollama_paths", filled=filled)
    return filled

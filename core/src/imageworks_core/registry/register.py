"""Turning a provider's variants into discovered entries: naming, identity, idempotent updates."""

from __future__ import annotations

import os
from typing import Iterable

import attrs

from ..entry import Entry
from ..realpaths import real_path
from ..fileset import directory_checksum, stat_sizes
from ..hook_types import Variant
from .naming import base_identity, entry_name
from .store import Transaction, utc_now

# Facts that a fresh observation makes stale.
_CLEARED_ON_SIGHT = ("missing_since", "removed_at", "missing_from_store")


@attrs.frozen
class Change:
    action: str  # added | updated | unchanged | skipped
    name: str
    variant: Variant
    entry: Entry | None = None
    reason: str | None = None


def variant_entry(variant: Variant, name: str, existing: Entry | None, now: str) -> Entry:
    files = tuple(variant.download_files)
    size = checksum = None
    if variant.download_path and files:
        # The provider's walk may have had the sizes already: 20,000 stats saved on a scan of
        # 10,000 models.
        sizes = variant.file_sizes
        if sizes is None or len(sizes) != len(files):
            sizes, _missing = stat_sizes(variant.download_path, files)
        size = sum(sizes.values())
        checksum = directory_checksum(sizes)
    if existing is None:
        # A new entry (every entry of a first scan): made in one call, without the dict of
        # observed fields an update compares.
        metadata = dict(variant.metadata)
        metadata["identity"] = variant.identity
        aliases = variant.model_aliases
        return Entry(
            name=name, display_name=variant.display_name or None, family=variant.family, backend=variant.backend,
            download_format=variant.download_format, quantization=variant.quantization,
            source_provider=variant.provider, source=variant.source, served_model_id=variant.served_model_id,
            model_aliases=tuple(dict.fromkeys(aliases)) if aliases else (),
            download_location=variant.download_location, download_path=variant.download_path,
            download_files=files, download_size_bytes=size, download_directory_checksum=checksum,
            artifacts=variant.artifacts, chat_template=variant.chat_template, capabilities=variant.capabilities,
            license=variant.license, deprecated=False if variant.deprecated is None else variant.deprecated,
            metadata=metadata, downloaded_at=now, updated_at=now,
        )
    metadata = dict(existing.metadata)
    for key in _CLEARED_ON_SIGHT:
        metadata.pop(key, None)
    metadata.update(variant.metadata)
    metadata["identity"] = variant.identity
    observed = dict(
        display_name=variant.display_name or existing.display_name,
        family=variant.family,
        backend=variant.backend,
        download_format=variant.download_format,
        quantization=variant.quantization,
        source_provider=variant.provider,
        source=variant.source,
        served_model_id=variant.served_model_id,
        download_location=variant.download_location,
        download_path=variant.download_path,
        download_files=files,
        download_size_bytes=size,
        download_directory_checksum=checksum,
        artifacts=_keep_known_hashes(variant, existing),
        chat_template=variant.chat_template,
        capabilities=variant.capabilities,
        metadata=metadata,
        model_aliases=tuple(dict.fromkeys((*existing.model_aliases, *variant.model_aliases))),
    )
    if variant.license is not None:
        observed["license"] = variant.license
    if variant.deprecated is not None:
        observed["deprecated"] = variant.deprecated
    updated = attrs.evolve(existing, **observed)
    if updated == existing:
        return existing
    return attrs.evolve(updated, updated_at=now)


def _keep_known_hashes(variant: Variant, existing: Entry | None):
    """A rescan knows sizes, not hashes: keep hashes ``verify --hash`` recorded for unchanged files."""
    if variant.artifacts.files or existing is None:
        return variant.artifacts
    return existing.artifacts if existing.download_files == tuple(variant.download_files) else variant.artifacts


def _real(path: str | None) -> str | None:
    return real_path(path) if path else None


def _main_file(download_path: str | None, files) -> str | None:
    if not download_path or not files:
        return None
    return os.path.normpath(os.path.join(download_path, files[0]))


def register_variants(
    tx: Transaction, variants: Iterable[Variant], *, update_existing: bool = True
) -> list[Change]:
    """Merge variants into the discovered layer. Same identity -> same entry (its name kept)."""
    changes: list[Change] = []
    now = utc_now()
    taken = tx.identities()
    by_identity = {e.identity: e for e in tx.discovered.values() if e.identity}
    # Entries of earlier versions carry an identity without the copy's path (docs/registry.md §4):
    # they are matched to the copy at their download_path and re-keyed in place, name unchanged.
    legacy = {(e.identity, _real(e.download_path)): e for e in tx.discovered.values()
              if e.identity and base_identity(e.identity) == e.identity}
    by_main_file = {_main_file(e.download_path, e.download_files): e for e in tx.discovered.values()
                    if e.download_path and e.download_files}
    for variant in variants:
        existing = by_identity.get(variant.identity)
        if existing is None and legacy and base_identity(variant.identity) != variant.identity:
            existing = legacy.pop((base_identity(variant.identity), _real(variant.download_path)), None)
        main_file = _main_file(variant.download_path, variant.download_files)
        owner = by_main_file.get(main_file)
        if existing is None and owner is not None and owner.identity != variant.identity:
            # The same weights seen through another provider (a download into LM Studio's folder,
            # then import-lmstudio; a scan of a folder `ingest-local-hf` knows): one entry, kept
            # by whoever registered it first.
            changes.append(Change("skipped", owner.name, variant, owner,
                                  f"same files as {owner.name} ({owner.source_provider})"))
            continue
        if existing is None:
            name = entry_name(
                variant.family, variant.backend, variant.download_format, variant.quantization,
                identity=variant.identity, taken=taken,
            )
            existing = tx.discovered.get(name)  # an entry of an earlier version, with no identity
            if existing is not None and existing.identity not in (None, variant.identity):
                existing = None
        else:
            name = existing.name
            # Without --update-existing, a registered entry is left as it is, unless it had lost
            # its files (removed, missing): finding them again re-attaches them.
            if not update_existing and existing.download_path:
                changes.append(Change("skipped", name, variant, existing, "already registered"))
                continue
        entry = variant_entry(variant, name, existing, now)
        action = "added" if existing is None else ("unchanged" if entry == existing else "updated")
        tx.put(entry)
        taken[name] = variant.identity
        by_identity[variant.identity] = entry
        by_main_file[main_file] = entry  # the entry's path and files are the variant's
        changes.append(Change(action, name, variant, entry))
    return changes

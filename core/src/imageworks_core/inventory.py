"""Read-only views of the merged registry: list filters, installed state, roles, statistics,
and where each model is visible (its registered copies)."""

from __future__ import annotations

import functools
import os
from collections import defaultdict
from typing import TYPE_CHECKING, Any, Iterable

import dataclasses

from .registry.merge import MergedView

if TYPE_CHECKING:  # the classes are built only by commands that need them
    from .entry import Entry


@dataclasses.dataclass(frozen=True)
class ListFilter:
    backend: str | None = None
    download_format: str | None = None
    quantization: str | None = None
    location: str | None = None
    role: str | None = None
    show_deprecated: bool = False
    include_logical: bool = False
    include_testing: bool = False

    def accepts(self, row: dict[str, Any]) -> bool:
        """Does a merged registry row pass the filter? (Rows, not entries: ``list`` is hot.)"""
        if row.get("deprecated") and not self.show_deprecated:
            return False
        if not row.get("download_path") and not self.include_logical:
            return False
        if (row.get("metadata") or {}).get("testing") and not self.include_testing:
            return False
        for field, want in self._field_checks:
            if (row.get(field) or ("unassigned" if field == "backend" else "")).lower() != want:
                return False
        return self.role is None or self.role in row.get("roles", ())

    @functools.cached_property
    def _field_checks(self) -> tuple[tuple[str, str], ...]:
        wanted = (("backend", self.backend), ("download_format", self.download_format),
                  ("quantization", self.quantization), ("download_location", self.location))
        return tuple((field, want.lower()) for field, want in wanted if want is not None)


def files_present(download_path: str | None, download_files: Iterable[str],
                  folders: dict[str, bool] | None = None) -> bool:
    """Every listed file exists under ``download_path`` (the ``installed`` of docs/registry.md §3.2).

    ``folders`` remembers, across calls, which parent folders exist: for an unmounted disk or a
    deleted models folder, one check answers for all the entries below it."""
    if not download_path:
        return False
    if not download_files:
        return os.path.isdir(download_path)
    if folders is not None:
        parent = os.path.dirname(download_path.rstrip("/"))
        exists = folders.get(parent)
        if exists is None:
            exists = folders[parent] = _is_dir(parent)
        if not exists:
            return False
    base = download_path.rstrip("/") + "/"
    try:  # access(), not stat(): no exception object per missing file
        return all(os.access(base + rel, os.F_OK) for rel in download_files)
    except ValueError:  # a NUL byte in a hand-edited path
        return False


def _is_dir(path: str) -> bool:
    try:
        return os.path.isdir(path)
    except ValueError:
        return False


def is_installed(entry: Entry) -> bool:
    return files_present(entry.download_path, entry.download_files)


def select(view: MergedView, flt: ListFilter) -> list[str]:
    """Names of the rows that pass ``flt``, in name order."""
    return [name for name, row in view.rows.items() if flt.accepts(row)]


def as_json(view: MergedView, names: Iterable[str]) -> list[dict[str, Any]]:
    out = []
    full_row, layers = view.full_row, view.layers
    folders: dict[str, bool] = {}
    for name in names:
        row = full_row(name)
        row["installed"] = files_present(row["download_path"], row["download_files"], folders)
        row["layer"] = layers[name]
        out.append(row)
    return out


def roles(view: MergedView, *, include_deprecated: bool = False) -> list[dict[str, Any]]:
    """One row per (role, entry), highest priority first within a role."""
    rows = []
    for entry in view.entries:
        if entry.deprecated and not include_deprecated:
            continue
        for role in entry.roles:
            rows.append({
                "role": role,
                "name": entry.name,
                "priority": entry.role_priority.get(role, 0),
                "backend": entry.backend,
                "capabilities": entry.capabilities.enabled(),
            })
    rows.sort(key=lambda r: (r["role"], -r["priority"], r["name"]))
    return rows


def _file_identity(path: str) -> tuple[int, int] | str | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def stats(view: MergedView) -> dict[str, Any]:
    """Totals by backend/format/quant/location/provider; disk bytes count each file once even
    when several entries list it (shared Ollama blobs, a shared mmproj, hard links)."""
    groups = {k: defaultdict(lambda: {"count": 0, "bytes": 0}) for k in
              ("by_backend", "by_format", "by_quantization", "by_location", "by_provider")}
    seen: dict[Any, int] = {}
    for entry in view.entries:
        entry_bytes = 0
        if entry.download_path:
            for rel in entry.download_files:
                path = os.path.join(entry.download_path, rel)
                key = _file_identity(path)
                if key is None:
                    continue
                size = os.path.getsize(path)
                entry_bytes += size
                seen.setdefault(key, size)
        keys = {
            "by_backend": entry.backend,
            "by_format": entry.download_format,
            "by_quantization": entry.quantization,
            "by_location": entry.download_location,
            "by_provider": entry.source_provider,
        }
        for group, key in keys.items():
            bucket = groups[group][key or "none"]
            bucket["count"] += 1
            bucket["bytes"] += entry_bytes
    return {
        "entries": len(view.entries),
        "installed": sum(1 for e in view.entries if is_installed(e)),
        "logical_only": sum(1 for e in view.entries if e.is_logical),
        "deprecated": sum(1 for e in view.entries if e.deprecated),
        "disk_bytes": sum(seen.values()),
        **{group: dict(sorted(values.items())) for group, values in groups.items()},
    }


@dataclasses.dataclass(frozen=True)
class Place:
    """One registered copy of a model: which entry, in which store and location, served by which
    backend, where."""

    name: str
    provider: str | None
    location: str | None
    backend: str
    path: str


def visibility(entries: Iterable[Entry]) -> dict[str, tuple[Place, ...]]:
    """Each entry with a download path -> the installed copies of its model, its own first.

    Two entries are copies of one model when the registry says so (one was made from the other:
    ``metadata.linked_from``; one copy identity, registry.md §4, in two places) or their main
    file (the largest: the GGUF, not a shared projector; the biggest shard) is the same: one
    inode (a hard link, a symlink, an Ollama blob linked from a GGUF) or one recorded sha256.
    Copies whose files are gone are left out: no tool can use them."""
    from .registry.naming import COPY_SEPARATOR, base_identity

    placed = [e for e in entries if e.download_path]
    parent = {e.name: e.name for e in placed}

    def root(name: str) -> str:
        while parent[name] != name:
            parent[name] = parent[parent[name]]
            name = parent[name]
        return name

    first_with: dict[Any, str] = {}

    def join(name: str, key: Any) -> None:  # every entry with the same key, one group
        parent[root(name)] = root(first_with.setdefault(key, name))

    folders: dict[str, bool] = {}
    installed: dict[str, bool] = {}
    for entry in placed:
        installed[entry.name] = files_present(entry.download_path, entry.download_files, folders)
        if entry.identity and COPY_SEPARATOR in entry.identity:
            join(entry.name, ("identity", base_identity(entry.identity)))
        # Copies made from one entry stay copies of each other when that entry is gone.
        join(entry.name, ("made from", entry.name))
        linked_from = entry.metadata.get("linked_from")
        if isinstance(linked_from, str):
            join(entry.name, ("made from", linked_from))
        main = _main_file(entry)
        if main is not None:
            rel, inode = main
            join(entry.name, ("inode", inode))
            recorded = next((a.sha256 for a in entry.artifacts.files if a.path == rel and a.sha256), None)
            if recorded:
                join(entry.name, ("sha256", recorded))
    groups: dict[str, list[Entry]] = defaultdict(list)
    for entry in placed:
        groups[root(entry.name)].append(entry)
    out: dict[str, tuple[Place, ...]] = {}
    for entry in placed:
        others = sorted((e for e in groups[root(entry.name)] if e.name != entry.name and installed[e.name]),
                        key=lambda e: (e.source_provider or "", e.download_location or "", e.name))
        mine = [entry] if installed[entry.name] else []
        out[entry.name] = tuple(Place(e.name, e.source_provider, e.download_location, e.backend, e.download_path)
                                for e in mine + others)
    return out


def _main_file(entry: Entry) -> tuple[str, tuple[int, int]] | None:
    """The entry's largest listed file and its (st_dev, st_ino), following links; None when
    no listed file has a byte (empty files all look alike)."""
    best: tuple[int, str, tuple[int, int]] | None = None
    for rel in entry.download_files:
        try:
            st = os.stat(os.path.join(entry.download_path, rel))
        except (OSError, ValueError):
            continue
        if st.st_size and (best is None or st.st_size > best[0]):
            best = (st.st_size, rel, (st.st_dev, st.st_ino))
    return None if best is None else best[1:]


@dataclasses.dataclass(frozen=True)
class DiskUsage:
    """The registry's bytes and what `dedupe` and `cleanup` would free, from their own dry runs."""

    disk_bytes: int  # registered files, each counted once (stats)
    by_provider: dict[str, dict[str, int]]  # stats: {"count", "bytes"}; a shared file counts in each
    by_location: dict[str, dict[str, int]]
    dedupe: dict[str, int] | None  # provider of the copy a dedupe replaces -> bytes; None: not measured
    cleanup: dict[str, int]  # store, as its provider names it -> bytes a cleanup frees

    @property
    def dedupe_bytes(self) -> int | None:
        return None if self.dedupe is None else sum(self.dedupe.values())

    @property
    def cleanup_bytes(self) -> int:
        return sum(self.cleanup.values())


def disk_usage(session, *, older_than: str | float = "1h", with_dedupe: bool = True,
               stats_data: dict[str, Any] | None = None) -> DiskUsage:
    """``stats`` of the registry with the dry runs of `dedupe` and `cleanup --older-than`:
    the same plans those commands make, grouped by store. ``with_dedupe`` False skips the
    dedupe plan (it may read files of equal size whose hash is not known yet, once);
    ``stats_data``: ``stats(view)`` when the caller has it already."""
    from .cleanup import group_by_store, parse_duration, plan_cleanup

    data = stats_data if stats_data is not None else stats(session.registry.load())
    seconds = older_than if isinstance(older_than, (int, float)) else parse_duration(older_than)
    dedupe: dict[str, int] | None = None
    if with_dedupe:
        from .sharing import find_dupes, plan_dedupe

        report = find_dupes(session)
        steps, _skipped = plan_dedupe(report, session.settings.roots())  # what `dedupe` plans
        provider_of = {c.path: c.provider or "none" for g in report.groups for c in g.copies}
        dedupe = defaultdict(int)
        for step in steps:  # the replaced copy's store gets the bytes back
            dedupe[provider_of.get(step.replace, "none")] += step.size
        dedupe = dict(sorted(dedupe.items()))
    plan = plan_cleanup(session, seconds)
    cleanup = {store: sum(i.bytes for i in items) for store, items in group_by_store(plan.items).items()}
    return DiskUsage(data["disk_bytes"], data["by_provider"], data["by_location"], dedupe, cleanup)

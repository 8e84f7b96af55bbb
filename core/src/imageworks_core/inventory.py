"""Read-only views of the merged registry: list filters, installed state, roles, statistics."""

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

"""The merge rule (registry.md §2): discovered first, curated laid over it, field by field."""

from __future__ import annotations

from typing import Any, Iterator

import attrs

from ..converter import explain, structure_entry, unstructure_entry
from ..errors import RegistryFormatError
from ..models import Entry
from .layers import Layer


def overlay(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """Lay ``top`` over ``base``: objects merge recursively, lists and scalars are replaced,
    and an explicit null in ``top`` clears the field."""
    out = dict(base)
    for key, value in top.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = overlay(out[key], value)
        else:
            out[key] = value
    return out


@attrs.frozen
class MergedView:
    """The effective registry: merged entries sorted by name, each knowing its layer."""

    entries: tuple[Entry, ...]
    layers: dict[str, str]
    shadowed: dict[str, list[str]]  # name -> fields where curated hides a different value
    index: dict[str, Entry] = attrs.field(eq=False, repr=False)

    @index.default
    def _build_index(self) -> dict[str, Entry]:
        return {entry.name: entry for entry in self.entries}

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def get(self, name: str) -> Entry | None:
        return self.index.get(name)

    def layer_of(self, name: str) -> str:
        return self.layers[name]


def _shadowed_fields(discovered: dict[str, Any], curated: dict[str, Any], prefix="") -> list[str]:
    found = []
    for key, value in curated.items():
        if key == "name" or key not in discovered:
            continue
        old = discovered[key]
        if isinstance(value, dict) and isinstance(old, dict):
            found += _shadowed_fields(old, value, f"{prefix}{key}.")
        elif value != old and old not in (None, [], {}, False):
            found.append(prefix + key)
    return found


def merge_layers(curated: Layer, discovered: Layer) -> MergedView:
    by_name: dict[str, Entry] = {e.name: e for e in discovered.entries}
    layers = dict.fromkeys(by_name, "discovered")
    shadowed: dict[str, list[str]] = {}
    for raw, entry in zip(curated.raw, curated.entries):
        found = by_name.get(entry.name)
        if found is None:
            by_name[entry.name] = entry
            layers[entry.name] = "curated"
            continue
        base = unstructure_entry(found)
        merged_raw = overlay(base, raw)
        try:
            by_name[entry.name] = structure_entry(merged_raw)
        except Exception:  # noqa: BLE001 - explained with the entry's name
            raise RegistryFormatError(
                f"{curated.path}: curated entry {entry.name!r} does not merge: "
                f"{explain(merged_raw, '$')}"
            ) from None
        layers[entry.name] = "both"
        hidden = _shadowed_fields(base, raw)
        if hidden:
            shadowed[entry.name] = hidden
    entries = tuple(by_name[name] for name in sorted(by_name))
    return MergedView(entries, layers, shadowed)

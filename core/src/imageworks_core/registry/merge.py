"""The merge rule (docs/registry.md §2): discovered first, curated laid over it, field by field."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, Iterator

import dataclasses

from ..entry_shape import entry_defaults
from ..errors import RegistryFormatError

if TYPE_CHECKING:  # the classes are built only by commands that need them
    from ..entry import Entry
from .layers import Layer, clean


_DEFAULTS = entry_defaults()


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


@dataclasses.dataclass(frozen=True)
class MergedView:
    """The effective registry, sorted by name, each entry knowing its layer.

    ``rows`` are the merged, validated JSON objects; ``entries`` (attrs objects) are built from
    them on first use, so a command that only prints rows never builds them.
    """

    rows: dict[str, dict[str, Any]]
    layers: dict[str, str]
    shadowed: dict[str, list[str]]  # name -> fields where curated hides a different value

    @functools.cached_property
    def index(self) -> dict[str, Entry]:
        from ..converter import structure_entry

        return {name: structure_entry(row) for name, row in self.rows.items()}

    @property
    def entries(self) -> tuple[Entry, ...]:
        return tuple(self.index.values())

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.index.values())

    def __len__(self) -> int:
        return len(self.rows)

    def get(self, name: str) -> Entry | None:
        return self.index.get(name)

    def layer_of(self, name: str) -> str:
        return self.layers[name]

    def full_row(self, name: str) -> dict[str, Any]:
        """The row with every field present, in the contract's order (for JSON output);
        ``display_name`` defaults to the name (docs/registry.md §3)."""
        row = {**_DEFAULTS, **self.rows[name]}
        if row["display_name"] is None:
            row["display_name"] = name
        return row


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


_NON_NULL = tuple(k for k, v in _DEFAULTS.items() if v is not None and k != "name")


def _discovered_row(raw: dict[str, Any]) -> dict[str, Any]:
    """A discovered row as is, unless a null stands where a field has a non-null default (a
    null elsewhere equals the default): the rows our writer makes need no copy."""
    if None not in raw.values():  # the common case, checked in C
        return raw
    for key in _NON_NULL:
        if key in raw and raw[key] is None:
            return clean(raw)
    return raw


def merge_layers(curated: Layer, discovered: Layer) -> MergedView:
    rows: dict[str, dict[str, Any]] = {raw["name"]: _discovered_row(raw) for raw in discovered.raw}
    layers = dict.fromkeys(rows, "discovered")
    shadowed: dict[str, list[str]] = {}
    for raw in curated.raw:
        name = raw["name"]
        found = rows.get(name)
        if found is None:
            rows[name] = clean(raw)
            layers[name] = "curated"
            continue
        from ..converter import explain, structure_entry

        base = clean({**_DEFAULTS, **found})
        merged = overlay(base, raw)
        try:
            structure_entry(merged)
        except Exception:  # noqa: BLE001 - explained with the entry's name
            raise RegistryFormatError(
                f"{curated.path}: curated entry {name!r} does not merge: {explain(merged, '$')}"
            ) from None
        rows[name] = merged
        layers[name] = "both"
        hidden = _shadowed_fields(base, raw)
        if hidden:
            shadowed[name] = hidden
    return MergedView({name: rows[name] for name in sorted(rows)}, layers, shadowed)

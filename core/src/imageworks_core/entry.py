"""The registry's data model (docs/registry.md §3): frozen attrs classes, serialised by ``converter``.

Field order is the order of the contract's table; it is also the order fields are written in.
"""

from __future__ import annotations

from typing import Any

import attrs

from .entry_shape import CAPABILITY_KEYS, ENTRY_FIELDS, NAME_MAX, NAME_PATTERN, SCHEMA_VERSION, name_problem


@attrs.frozen
class ArtifactFile:
    path: str
    size: int | None = None
    sha256: str | None = None


@attrs.frozen
class Artifacts:
    files: tuple[ArtifactFile, ...] = ()
    aggregate_sha256: str | None = None


@attrs.frozen
class ChatTemplate:
    source: str = "none"
    path: str | None = None
    sha256: str | None = None


@attrs.frozen
class Capabilities:
    text: bool = False
    vision: bool = False
    audio: bool = False
    embedding: bool = False
    tools: bool = False
    thinking: bool = False

    def enabled(self) -> list[str]:
        return [key for key in CAPABILITY_KEYS if getattr(self, key)]


@attrs.frozen
class Entry:
    """One model variant: one set of weights in one format for one serving backend."""

    name: str
    display_name: str | None = None
    family: str | None = None
    backend: str = "unassigned"
    download_format: str | None = None
    quantization: str | None = None
    source_provider: str | None = None
    source: dict[str, Any] | None = None
    served_model_id: str | None = None
    model_aliases: tuple[str, ...] = ()
    download_location: str | None = None
    download_path: str | None = None
    download_files: tuple[str, ...] = ()
    download_size_bytes: int | None = None
    download_directory_checksum: str | None = None
    artifacts: Artifacts = Artifacts()
    chat_template: ChatTemplate | None = None
    capabilities: Capabilities = Capabilities()
    roles: tuple[str, ...] = ()
    role_priority: dict[str, int] = attrs.field(factory=dict)
    backend_config: dict[str, Any] = attrs.field(factory=dict)
    generation_defaults: dict[str, Any] = attrs.field(factory=dict)
    license: str | None = None
    deprecated: bool = False
    downloaded_at: str | None = None
    updated_at: str | None = None
    metadata: dict[str, Any] = attrs.field(factory=dict)
    # Top-level fields this version does not know: kept on round-trip, never interpreted.
    extra: dict[str, Any] = attrs.field(factory=dict, eq=False)

    @property
    def identity(self) -> str | None:
        return self.metadata.get("identity")

    @property
    def label(self) -> str:
        return self.display_name or self.name

    @property
    def is_logical(self) -> bool:
        return not self.download_path

    @property
    def is_testing(self) -> bool:
        return bool(self.metadata.get("testing"))


def entry_defaults() -> dict[str, Any]:
    """The JSON shape of an entry with only defaults set, from the classes themselves (the
    table ``entry_shape`` keeps for start-up is tested against this)."""
    row = attrs.asdict(Entry(name=""))
    row.pop("extra")
    row["name"] = None
    return row

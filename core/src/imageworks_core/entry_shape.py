"""The registry entry's JSON shape without its classes: names, field order and defaults.

Read-only commands (``list --json``) work on JSON rows and need only this; building the attrs
classes of ``entry`` costs more start-up than such a command spends on 10,000 rows. The classes
stay the source of truth: a test checks these tables against them.
"""

from __future__ import annotations

import re
from typing import Any

NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]*\Z")
NAME_MAX = 96
SCHEMA_VERSION = 1
CAPABILITY_KEYS = ("text", "vision", "audio", "embedding", "tools", "thinking")

# Field order is the order of the contract's table (docs/registry.md §3); it is also the order
# fields are written in.
ENTRY_FIELDS = (
    "name", "display_name", "family", "backend", "download_format", "quantization",
    "source_provider", "source", "served_model_id", "model_aliases", "download_location",
    "download_path", "download_files", "download_size_bytes", "download_directory_checksum",
    "artifacts", "chat_template", "capabilities", "roles", "role_priority", "backend_config",
    "generation_defaults", "license", "deprecated", "downloaded_at", "updated_at", "metadata",
)


def entry_defaults() -> dict[str, Any]:
    """An entry's JSON with only defaults set (``name`` None); a new object on every call."""
    return {
        "name": None, "display_name": None, "family": None, "backend": "unassigned",
        "download_format": None, "quantization": None, "source_provider": None, "source": None,
        "served_model_id": None, "model_aliases": [], "download_location": None,
        "download_path": None, "download_files": [], "download_size_bytes": None,
        "download_directory_checksum": None,
        "artifacts": {"files": [], "aggregate_sha256": None},
        "chat_template": None,
        "capabilities": dict.fromkeys(CAPABILITY_KEYS, False),
        "roles": [], "role_priority": {}, "backend_config": {}, "generation_defaults": {},
        "license": None, "deprecated": False, "downloaded_at": None, "updated_at": None,
        "metadata": {},
    }


def name_problem(name: str) -> str | None:
    """Why ``name`` is not a valid registry name, or None when it is."""
    if not NAME_PATTERN.match(name):
        return f"name {name!r} must match [a-z0-9][a-z0-9._-]*"
    if len(name) > NAME_MAX:
        return f"name {name!r} is longer than {NAME_MAX} characters"
    return None

"""Entry points for other tools that read the registry."""

from __future__ import annotations

import os

from .registry.merge import MergedView
from .registry.store import Registry, find_registry_dir


def load_registry(registry_dir: str | os.PathLike | None = None) -> MergedView:
    """The effective (merged) registry, found as the CLI finds it. Read-only; takes no lock."""
    return Registry(find_registry_dir(registry_dir)).load()

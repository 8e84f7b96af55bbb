"""The layered registry (docs/registry.md): files, merge, identity and naming, locked atomic writes."""

from .layers import Layer, read_layer
from .merge import MergedView, merge_layers
from .naming import entry_name, family_from_repo, family_from_file
from .store import Registry, Transaction, find_registry_dir

__all__ = [
    "Layer",
    "MergedView",
    "Registry",
    "Transaction",
    "entry_name",
    "family_from_file",
    "family_from_repo",
    "find_registry_dir",
    "merge_layers",
    "read_layer",
]

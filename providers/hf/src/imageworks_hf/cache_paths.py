"""Where the Hugging Face hub caches are, by huggingface_hub's own rules: asked by every command
that resolves settings (the hf provider's roots), so nothing heavier is imported here."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """The Hugging Face cache, by huggingface_hub's own rules, read now (not at import: a
    process may change its environment, and this avoids importing huggingface_hub)."""
    explicit = os.environ.get("HF_HUB_CACHE") or os.environ.get("HUGGINGFACE_HUB_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    home = os.environ.get("HF_HOME") or os.path.join(os.environ.get("XDG_CACHE_HOME") or "~/.cache", "huggingface")
    return Path(home).expanduser() / "hub"


def cache_roots() -> list[Path]:
    """Every hub cache in use: huggingface_hub's, and llama.cpp's ``LLAMA_CACHE`` when it is
    set to another folder (llama.cpp uses it as the hub root itself)."""
    roots = [cache_dir()]
    llama = os.environ.get("LLAMA_CACHE")
    if llama and os.path.realpath(llama) != os.path.realpath(roots[0]):
        roots.append(Path(llama))
    return roots

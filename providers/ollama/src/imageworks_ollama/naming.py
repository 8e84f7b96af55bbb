"""Ollama's model names (``MODEL[:TAG]``, ``hf.co/owner/repo:QUANT``) in registry form."""

from __future__ import annotations

from imageworks_core.kit import slug, strip_format_tokens


def family_from_ollama(shown_name: str) -> str:
    """``qwen3:8b`` -> ``qwen3-8b``; ``llama3.2:latest`` -> ``llama3.2``;
    ``hf.co/bartowski/Foo-GGUF:Q5_K_M`` -> ``foo``; ``user/model:tag`` -> ``model-tag``."""
    model, _, tag = shown_name.partition(":")
    model = model.rsplit("/", 1)[-1]
    family = slug(strip_format_tokens(model)) or slug(model)
    if tag and tag != "latest":
        tag_rest = slug(strip_format_tokens(tag))
        if tag_rest:
            family = slug(f"{family}-{tag_rest}")
    return family

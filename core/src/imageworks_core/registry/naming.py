"""Identity and names (docs/registry.md §4). Pure functions: every provider names entries through here."""

from __future__ import annotations

import functools
import hashlib
import os
import re

from ..entry_shape import NAME_MAX

FORMAT_WORDS = ("gguf", "awq", "gptq", "exl2", "mlx", "bnb", "safetensors", "onnx", "ggml")
# Precision/quant labels as they appear in repo and file names.
_QUANT = (
    r"i?q\d+(?:_[a-z0-9]+)*"  # q4_k_m, q8_0, iq4_xs, q4_0_4_4
    r"|f16|f32|bf16|fp16|fp32|fp8|fp4|nf4|mxfp4(?:_moe)?|nvfp4"
    r"|int\d+|\d+bit|\d+bpw|\d+(?:\.\d+)?bpw|w\d+a\d+(?:_?[a-z0-9]+)?"
)
_TOKEN = re.compile(rf"(?:^|[-._ ])(?:{'|'.join(FORMAT_WORDS)}|{_QUANT})(?=$|[-._ ])")
_HEX40 = re.compile(r"[0-9a-f]{40}\Z")


_NOT_SLUG = re.compile(r"[^a-z0-9._-]+")
_DASHES = re.compile(r"-{2,}")


@functools.lru_cache(maxsize=4096)
def slug(text: str) -> str:
    """Lowercase; characters outside [a-z0-9._-] become '-'; runs of '-' collapse. (Cached:
    a scan slugs the same backends, formats and quants thousands of times.)"""
    return _DASHES.sub("-", _NOT_SLUG.sub("-", text.lower())).strip("-._")


def strip_format_tokens(text: str) -> str:
    """Remove format and quant tokens (gguf, awq, int4, 4bit, q4_k_m, ...) from a name."""
    text = text.lower()
    while True:
        stripped = _TOKEN.sub("", text)
        if stripped == text:
            break
        text = stripped
    return text


def revision_suffix(revision: str | None) -> str | None:
    if not revision or revision == "main":
        return None
    return revision[:7] if _HEX40.match(revision.lower()) else revision


def family_from_repo(repo: str, revision: str | None = None) -> str:
    """``TheBloke/Llama-3-8B-AWQ`` -> ``llama-3-8b``; a revision other than main is appended."""
    name = repo.rstrip("/").rsplit("/", 1)[-1]
    family = slug(strip_format_tokens(name)) or slug(name)
    suffix = revision_suffix(revision)
    return slug(f"{family}-{suffix}") if suffix else family


def family_from_file(file_name: str, basename: str | None = None, size_label: str | None = None) -> str:
    """A loose GGUF file: ``general.basename`` + ``general.size_label`` when the header has them,
    else the file name without its quant label, shard suffix and extension."""
    if basename:
        text = basename if not size_label or size_label.lower() in basename.lower() else (
            f"{basename}-{size_label}"
        )
        family = slug(strip_format_tokens(text))
        if family:
            return family
    stem = re.sub(r"\.gguf\Z", "", file_name, flags=re.I)
    stem = re.sub(r"-\d{5}-of-\d{5}\Z", "", stem)
    return slug(strip_format_tokens(stem)) or slug(stem)


COPY_SEPARATOR = "@/"


def copy_identity(base: str, path: str | os.PathLike) -> str:
    """An identity that names one *copy* (docs/registry.md §4): ``<base>@<real path>``. The same repo
    in the weights folder and in the Hugging Face cache is two copies, two entries."""
    from ..realpaths import real_path

    return f"{base}@{real_path(path)}"


def base_identity(identity: str) -> str:
    """The identity without its ``@<path>`` part: the form earlier versions wrote."""
    return identity.split(COPY_SEPARATOR, 1)[0]


def identity_hash(identity: str, digits: int = 6) -> str:
    from ..fileset import path_bytes

    return hashlib.sha256(path_bytes(identity)).hexdigest()[:digits]  # an identity holds a path: any bytes


# How many hex digits of sha256(identity) a name that is taken gets: six, and more only when that
# name is taken too (10,000 copies of one model make a clash of six digits likely: ~n^2 / 2^25).
SUFFIX_DIGITS = (6, 8, 10, 12, 16, 24, 32, 64)


def entry_name(
    family: str,
    backend: str | None,
    download_format: str | None,
    quantization: str | None,
    *,
    identity: str | None = None,
    taken: dict[str, str | None] | None = None,
) -> str:
    """``<family>-<backend>-<format>[-<quant>]``, at most 96 characters.

    ``taken`` maps names already in use to their identity; a name held by a different identity
    gets ``-`` and the first 6 hex digits of sha256(identity), or more (``SUFFIX_DIGITS``) while
    that name is held by another too. A holder with no identity (a curated overlay, or an entry
    from an earlier version) is not a different identity.
    """
    family = slug(family) or "model"
    words = family.split("-")
    tokens: list[str] = []
    for part in (backend, download_format, quantization):
        token = slug(part) if part else ""
        if token and token not in words and token not in tokens:
            tokens.append(token)
    suffix = "-" + "-".join(tokens) if tokens else ""

    def build(extra: str) -> str:
        room = NAME_MAX - len(suffix) - len(extra)
        # A slug stays a slug unless cut (a cut may end on '-'): one slug call per name, not two.
        return (family if len(family) <= room else slug(family[:room])) + suffix + extra

    name = build("")
    if taken is None or identity is None or not _held_by_another(taken, name, identity):
        return name
    for digits in SUFFIX_DIGITS:
        name = build(f"-{identity_hash(identity, digits)}")
        if not _held_by_another(taken, name, identity):
            break
    return name


def _held_by_another(taken: dict[str, str | None], name: str, identity: str) -> bool:
    holder = taken.get(name, identity)
    return name in taken and holder is not None and holder != identity

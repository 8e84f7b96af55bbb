"""Choosing the files of one variant from a repo listing: the download side of the core's
file-selection rule (``imageworks_core.detect.files``), plus format and quant preferences."""

from __future__ import annotations

import fnmatch
import re
from collections import defaultdict

import attrs

from imageworks_core.kit import gguf_sets, quant_label_from_filename
from imageworks_core.kit import CONFIG_FILES, is_optional, is_shared_file, weight_format
from imageworks_core import BadInputError, NotFoundError

# The support files another repo may fill in (--support-repo): configs, tokenizers, templates.
SUPPORT_FILES = tuple(f for f in CONFIG_FILES if not f.endswith(".index.json"))


@attrs.frozen
class Selection:
    download_format: str
    quantization: str | None
    files: tuple[str, ...]  # main weights file first for GGUF
    missing_support: tuple[str, ...] = ()


def _top(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def repo_formats(paths: list[str], config: dict | None) -> dict[str, list[str]]:
    """Weight files of the repo by format (index files not included)."""
    formats: dict[str, list[str]] = defaultdict(list)
    for path in paths:
        fmt = weight_format(path, config)
        if fmt is not None and not path.lower().endswith(".index.json"):
            formats[fmt].append(path)
    return formats


def choose(
    paths: list[str],
    *,
    config: dict | None,
    formats: tuple[str, ...],
    preferred: tuple[str, ...],
    quant: str | None,
    preferred_quants: tuple[str, ...],
    weights: tuple[str, ...],
    include_optional: bool,
    ask_quant=None,
) -> Selection:
    """The repo as published minus the weights of other formats and quants (docs/providers.md hf):
    every config, tokenizer, template, processor, sentence-transformers module and custom code
    file comes along, so the model loads as its authors ship it."""
    available = repo_formats(paths, config)
    choosable = ("gguf", "awq", "gptq", "exl2", "mlx", "bnb", "safetensors", "pytorch", "onnx")
    if not any(f in available for f in choosable):
        raise NotFoundError("the repo holds no weight files (safetensors, GGUF, .bin, ONNX)")
    order = list(formats) or list(preferred)
    order += [f for f in choosable if f not in order]
    if quant and "gguf" in available and not formats:
        order = ["gguf"] + order
    chosen = next((f for f in order if f in available), None)
    if formats and chosen not in formats:
        have = ", ".join(sorted(available))
        raise NotFoundError(f"none of the formats {', '.join(formats)} is in the repo (it has: {have})")
    weight_files = available[chosen]
    if chosen != "gguf":
        # Mistral ships its native consolidated.safetensors beside the transformers shards: the
        # same weights twice. Loaders read the shards; the second copy stays behind.
        shards = [p for p in weight_files if not _top(p).lower().startswith("consolidated")]
        if shards:
            weight_files = shards
    quantization = None
    if chosen == "gguf":
        weight_files, quantization = _choose_gguf(paths, weight_files, quant, preferred_quants, ask_quant)
    if weights:
        wanted = [p for p in weight_files if any(fnmatch.fnmatch(p, w) or fnmatch.fnmatch(_top(p), w) for w in weights)]
        wanted += [p for p in paths if p not in wanted and any(p == w or _top(p) == w for w in weights)]
        if not wanted:
            raise NotFoundError(f"--weights {', '.join(weights)} matched no file of the repo")
        weight_files = wanted
    # Everything that is not a weight file, plus the chosen format's weight indexes.
    shared = [p for p in paths if is_shared_file(p, config)]  # the rule every discovery path applies
    indexes = [p for p in paths if p.lower().endswith(".index.json") and weight_format(p, config) == chosen
               and chosen != "gguf"]
    optional = [p for p in paths if include_optional and is_optional(p) and weight_format(p, config) is None]
    files = list(dict.fromkeys([*weight_files, *indexes, *shared, *optional]))
    needed = ("config.json", "tokenizer_config.json") if chosen != "gguf" else ()
    missing = tuple(n for n in needed if n not in files)
    return Selection(chosen, quantization, tuple(files), missing)


def _choose_gguf(paths, ggufs, quant, preferred_quants, ask_quant) -> tuple[list[str], str | None]:
    by_folder: dict[str, list[str]] = defaultdict(list)
    for path in ggufs:
        by_folder[path.rsplit("/", 1)[0] if "/" in path else ""].append(_top(path))
    variants: dict[str, list[str]] = {}
    projectors: list[str] = []
    for folder, names in by_folder.items():
        sets, projs, _incomplete = gguf_sets(names)
        prefix = f"{folder}/" if folder else ""
        projectors += [prefix + p for p in projs]
        for files in sets:
            label = quant_label_from_filename(files[0]) or (folder.rsplit("/", 1)[-1].lower() if folder else None)
            label = label or files[0].lower()
            variants.setdefault(label, [prefix + f for f in files])
    if not variants:
        raise NotFoundError("the repo holds only projector (mmproj) GGUF files")
    wanted = quant.lower() if quant else None
    if wanted is None:
        for candidate in preferred_quants:
            if candidate.lower() in variants:
                wanted = candidate.lower()
                break
    if wanted is None and len(variants) == 1:
        wanted = next(iter(variants))
    if wanted is None and ask_quant is not None:
        wanted = ask_quant(sorted(variants))
    if wanted is None:
        wanted = "q4_k_m"
    if wanted not in variants:
        raise NotFoundError(f"quant {wanted} is not in the repo (it has: {', '.join(sorted(variants))})",
                            hint="pass --quant with one of those")
    files = variants[wanted]
    return files + sorted(projectors), wanted if re.match(r"^[a-z0-9_]+$", wanted) else None


def check_support_repo(repo_id: str | None) -> None:
    if repo_id is not None and "/" not in repo_id:
        raise BadInputError(f"--support-repo {repo_id!r} must be owner/name")

"""Choosing the files of one variant from a repo listing."""

from __future__ import annotations

import fnmatch
import re
from collections import defaultdict

import attrs

from imageworks_core.detect import gguf_sets, quant_label_from_filename
from imageworks_core.errors import BadInputError, NotFoundError

SUPPORT_FILES = (
    "config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json", "tokenizer.model",
    "special_tokens_map.json", "vocab.json", "merges.txt", "added_tokens.json", "preprocessor_config.json",
    "processor_config.json", "chat_template.json", "chat_template.jinja", "quant_config.json",
    "quantize_config.json", "params.json", "video_preprocessor_config.json", "measurement.json",
)
INDEX_FILES = ("model.safetensors.index.json", "pytorch_model.bin.index.json")
OPTIONAL_PATTERNS = ("README*", "LICENSE*", "LICENCE*", "*.md", "*.png", "*.jpg", "*.jpeg", "*.gif", "*.webp",
                     "USE_POLICY*", "NOTICE*", ".gitattributes")


@attrs.frozen
class Selection:
    download_format: str
    quantization: str | None
    files: tuple[str, ...]  # main weights file first for GGUF
    missing_support: tuple[str, ...] = ()


def _top(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def repo_formats(paths: list[str], config: dict | None) -> dict[str, list[str]]:
    """Weight files of the repo by format."""
    formats: dict[str, list[str]] = defaultdict(list)
    quant_method = str(((config or {}).get("quantization_config") or {}).get("quant_method", "")).lower()
    for path in paths:
        name = _top(path).lower()
        if name.endswith(".gguf"):
            formats["gguf"].append(path)
        elif name.endswith(".safetensors"):
            if quant_method in ("awq", "gptq", "exl2"):
                formats[quant_method].append(path)
            elif quant_method == "bitsandbytes":
                formats["bnb"].append(path)
            elif (config or {}).get("quantization") is not None:
                formats["mlx"].append(path)
            else:
                formats["safetensors"].append(path)
        elif name.endswith(".bin") and ("pytorch_model" in name or name.startswith("model")):
            formats["pytorch"].append(path)
        elif name.endswith(".onnx"):
            formats["onnx"].append(path)
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
    available = repo_formats(paths, config)
    if not available:
        raise NotFoundError("the repo holds no weight files (safetensors, GGUF, .bin, ONNX)")
    order = list(formats) or list(preferred)
    order += [f for f in ("gguf", "awq", "gptq", "exl2", "mlx", "bnb", "safetensors", "pytorch", "onnx") if f not in order]
    if quant and "gguf" in available and not formats:
        order = ["gguf"] + order
    chosen = next((f for f in order if f in available), None)
    if formats and chosen not in formats:
        have = ", ".join(sorted(available))
        raise NotFoundError(f"none of the formats {', '.join(formats)} is in the repo (it has: {have})")
    weight_files = available[chosen]
    quantization = None
    if chosen == "gguf":
        weight_files, quantization = _choose_gguf(paths, weight_files, quant, preferred_quants, ask_quant)
    if weights:
        wanted = [p for p in weight_files if any(fnmatch.fnmatch(p, w) or fnmatch.fnmatch(_top(p), w) for w in weights)]
        wanted += [p for p in paths if p not in wanted and any(p == w or _top(p) == w for w in weights)]
        if not wanted:
            raise NotFoundError(f"--weights {', '.join(weights)} matched no file of the repo")
        weight_files = wanted
    support = [p for p in paths if _top(p) in SUPPORT_FILES + INDEX_FILES and "/" not in p]
    if chosen == "gguf":
        support = [p for p in support if _top(p) in ("chat_template.jinja", "chat_template.json")]
    optional = [p for p in paths if include_optional and any(fnmatch.fnmatch(_top(p), pat) for pat in OPTIONAL_PATTERNS)]
    files = list(dict.fromkeys([*weight_files, *support, *optional]))
    needed = ("config.json", "tokenizer_config.json") if chosen != "gguf" else ()
    missing = tuple(n for n in needed if n not in {_top(p) for p in support})
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

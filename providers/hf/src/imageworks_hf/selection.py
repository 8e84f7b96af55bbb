"""Choosing the files of one variant from a repo listing."""

from __future__ import annotations

import fnmatch
import re
from collections import defaultdict

import attrs

from imageworks_core.kit import gguf_sets, quant_label_from_filename
from imageworks_core import BadInputError, NotFoundError

SUPPORT_FILES = (
    "config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json", "tokenizer.model",
    "special_tokens_map.json", "vocab.json", "merges.txt", "added_tokens.json", "preprocessor_config.json",
    "processor_config.json", "chat_template.json", "chat_template.jinja", "quant_config.json",
    "quantize_config.json", "params.json", "video_preprocessor_config.json", "measurement.json",
)
INDEX_FILES = ("model.safetensors.index.json", "pytorch_model.bin.index.json")
OPTIONAL_PATTERNS = ("README*", "LICENSE*", "LICENCE*", "*.md", "*.png", "*.jpg", "*.jpeg", "*.gif", "*.webp",
                     "*.svg", "*.pdf", "USE_POLICY*", "NOTICE*", ".gitattributes", "*.imatrix", "imatrix*")
# Weights of formats that are never chosen by a preference list but must stay behind.
_FOLDER_FORMATS = {"onnx": "onnx", "openvino": "openvino", "coreml": "coreml"}
_SUFFIX_FORMATS = ((".gguf", "gguf"), (".onnx", "onnx"), (".onnx_data", "onnx"), (".onnx.data", "onnx"),
                   (".h5", "tensorflow"), (".tflite", "tensorflow"), (".msgpack", "flax"), (".ot", "rust"),
                   (".pt", "pytorch"), (".pth", "pytorch"), (".ckpt", "pytorch"), (".mlmodel", "coreml"))
_NOT_WEIGHTS = ("training_args.bin",)


@attrs.frozen
class Selection:
    download_format: str
    quantization: str | None
    files: tuple[str, ...]  # main weights file first for GGUF
    missing_support: tuple[str, ...] = ()


def _top(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def _safetensors_format(config: dict | None) -> str:
    quant_method = str(((config or {}).get("quantization_config") or {}).get("quant_method", "")).lower()
    if quant_method in ("awq", "gptq", "exl2"):
        return quant_method
    if quant_method == "bitsandbytes":
        return "bnb"
    if (config or {}).get("quantization") is not None:
        return "mlx"
    return "safetensors"


def weight_format(path: str, config: dict | None) -> str | None:
    """The format whose weights ``path`` is (its index files included), or None for a file every
    format shares (configs, tokenizers, templates, module folders, custom code)."""
    first = path.split("/", 1)[0].lower() if "/" in path else ""
    if first in _FOLDER_FORMATS or ".mlpackage/" in path.lower():
        return _FOLDER_FORMATS.get(first, "coreml")
    name = _top(path).lower()
    if name in _NOT_WEIGHTS:
        return None
    if name.endswith(".index.json"):
        return weight_format(name[: -len(".index.json")], config)
    if name.endswith(".safetensors"):
        return _safetensors_format(config)
    if name.endswith(".bin"):
        return "pytorch"
    for suffix, fmt in _SUFFIX_FORMATS:
        if name.endswith(suffix):
            return fmt
    return None


def repo_formats(paths: list[str], config: dict | None) -> dict[str, list[str]]:
    """Weight files of the repo by format (index files not included)."""
    formats: dict[str, list[str]] = defaultdict(list)
    for path in paths:
        fmt = weight_format(path, config)
        if fmt is not None and not path.lower().endswith(".index.json"):
            formats[fmt].append(path)
    return formats


def is_optional(path: str) -> bool:
    return any(fnmatch.fnmatch(_top(path), pattern) for pattern in OPTIONAL_PATTERNS)


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
    shared = [p for p in paths if weight_format(p, config) is None and not is_optional(p)]
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

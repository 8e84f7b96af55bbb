"""The file-selection rule (providers.md): which files of a model repo or folder a loader reads.

A variant is its chosen weights (with their index) plus every file all formats share: configs,
tokenizers of every kind, chat templates, processor configs, sentence-transformers modules and
their sub-folders (``modules.json``, ``1_Pooling/config.json``...), custom code. Never weights
of other formats, documents and images, hidden files. A download chooses with this rule
(hf ``selection``) and every discovery path (HF cache, ``owner/repo`` folders, ``scan``) lists
a folder's files with it, so an entry's files are the ones the loader needs, wherever it came from."""

from __future__ import annotations

import fnmatch
import functools
import os
import re

OPTIONAL_PATTERNS = ("README*", "LICENSE*", "LICENCE*", "*.md", "*.png", "*.jpg", "*.jpeg", "*.gif", "*.webp",
                     "*.svg", "*.pdf", "USE_POLICY*", "NOTICE*", ".gitattributes", "*.imatrix", "imatrix*")
# Weights of formats that are never chosen by a preference list but must stay behind.
_FOLDER_FORMATS = {"onnx": "onnx", "openvino": "openvino", "coreml": "coreml"}
_SUFFIX_FORMATS = ((".gguf", "gguf"), (".onnx", "onnx"), (".onnx_data", "onnx"), (".onnx.data", "onnx"),
                   (".h5", "tensorflow"), (".tflite", "tensorflow"), (".msgpack", "flax"), (".ot", "rust"),
                   (".pt", "pytorch"), (".pth", "pytorch"), (".ckpt", "pytorch"), (".mlmodel", "coreml"))
_NOT_WEIGHTS = ("training_args.bin",)
# What loaders read besides weights: configs (json, yaml), tokenizers of every kind (json,
# sentencepiece .model, tiktoken, vocab/merges text, bpe), chat templates, custom code.
LOADER_SUFFIXES = (".json", ".jinja", ".txt", ".model", ".py", ".tiktoken", ".vocab", ".spm", ".bpe",
                   ".yaml", ".yml", ".npz")
LOADER_NAMES = ("params", "template", "system")  # Ollama reads these from GGUF repos (hf.co/ pulls)


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


# One compiled pattern: fnmatch per pattern and file was a fifth of a 10,000-folder scan.
_OPTIONAL = re.compile("|".join(fnmatch.translate(pattern) for pattern in OPTIONAL_PATTERNS))


def is_optional(path: str) -> bool:
    """Documents, licences, images: never needed to load a model."""
    return _OPTIONAL.match(_top(path)) is not None


def is_shared_file(path: str, config: dict | None = None) -> bool:
    """A file every format of the model needs: a kind loaders read, not weights, not optional,
    not hidden (an unknown file, a stray link, is not the model's). ``config`` changes which
    format a weight file is, never whether a file is one: the answer is the path's alone."""
    return _shared(path)


@functools.lru_cache(maxsize=4096)
def _shared(path: str) -> bool:
    # Remembered by name: a scan or a cache of 10,000 repos asks this of config.json,
    # tokenizer.json... 10,000 times each (a fifth of ingest-local-hf's detection).
    if path.startswith(".") or "/." in path:
        return False
    if not path.lower().endswith(LOADER_SUFFIXES) and _top(path) not in LOADER_NAMES:
        return False
    return weight_format(path, None) is None and not is_optional(path)


@functools.lru_cache(maxsize=4096)
def _format_alone(path: str) -> str | None:
    return weight_format(path, None)


def loader_files(names: list[str], weights: list[str]) -> list[str]:
    """The chosen ``weights``, their index files, and every shared file of ``names``, sorted."""
    formats = {_format_alone(w) for w in weights}
    indexes = [n for n in names if n.lower().endswith(".index.json") and _format_alone(n) in formats]
    return sorted({*weights, *indexes, *[n for n in names if _shared(n)]})


def model_folder_files(folder: str | os.PathLike, names: list[str], subfolders: bool | None = None) -> list[str]:
    """``names`` (the folder's own files) plus the files of its sub-folders as relative POSIX
    paths. Hidden folders are skipped (``.cache``, our staging) and folder links not followed.
    ``subfolders=False``: the caller's listing of the folder found no sub-folder (no folder
    that is not a link), so there is nothing to look for below and not even a stat is made."""
    out = list(names)
    if subfolders is False:
        return out
    folder = os.fspath(folder)
    try:
        if os.stat(folder).st_nlink == 2:  # POSIX file systems count "." and each sub-folder's "..":
            return out                     # none below (a stat, not a listing, for a scan's 10,000)
    except OSError:
        return out
    pending = [""]
    while pending:
        relative = pending.pop()
        try:
            with os.scandir(os.path.join(folder, relative)) as entries:
                found = list(entries)
        except OSError:
            continue
        for entry in found:
            if entry.name.startswith("."):
                continue
            name = f"{relative}/{entry.name}" if relative else entry.name
            try:
                if entry.is_dir(follow_symlinks=False):
                    pending.append(name)
                elif relative and entry.is_file():  # follows links: HF cache snapshots
                    out.append(name)
            except OSError:
                continue
    return out

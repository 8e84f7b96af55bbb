"""Facts of a model folder (safetensors, AWQ/GPTQ/bnb/fp8/compressed-tensors, MLX, PyTorch,
ONNX) from ``config.json``, side files and safetensors headers; never from weight data."""

from __future__ import annotations

import hashlib
import json
import os
import struct
from collections import Counter
from pathlib import Path
from typing import Any

import attrs

from ..entry import Capabilities, ChatTemplate

CONFIG_FILES = (
    "config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
    "tokenizer.model", "special_tokens_map.json", "vocab.json", "merges.txt", "added_tokens.json",
    "preprocessor_config.json", "processor_config.json", "chat_template.json", "chat_template.jinja",
    "quant_config.json", "quantize_config.json", "measurement.json", "model.safetensors.index.json",
    "pytorch_model.bin.index.json", "video_preprocessor_config.json", "params.json",
)
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".onnx", ".gguf", ".npz", ".pth", ".pt")
_DTYPES = {"bfloat16": "bf16", "float16": "fp16", "float32": "fp32", "half": "fp16", "float": "fp32",
           "BF16": "bf16", "F16": "fp16", "F32": "fp32", "F8_E4M3": "fp8", "F8_E5M2": "fp8"}


@attrs.frozen
class FolderFacts:
    download_format: str | None
    quantization: str | None
    files: tuple[str, ...]
    chat_template: ChatTemplate
    capabilities: Capabilities
    metadata: dict[str, Any]


def read_small(path: str | Path, limit: int = 64 << 20) -> bytes:
    """A whole small file in as few syscalls as it takes: raw ``os.read`` calls, no file object
    (a scan reads one or two of these per model folder). Raises OSError; ValueError past ``limit``."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        data = os.read(fd, 64 << 10)
        if len(data) < 64 << 10:
            return data
        chunks = [data]
        total = len(data)
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                raise ValueError(f"{path}: larger than {limit} bytes")
        return b"".join(chunks)
    finally:
        os.close(fd)


def _read_json(path: str | Path) -> Any:
    try:
        return json.loads(read_small(path))  # bytes: json decodes UTF-8 itself, no text layer
    except (OSError, ValueError):
        return None


def safetensors_dtype(path: Path) -> str | None:
    """Most common tensor dtype from a safetensors header (first 8 + N bytes only)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
            if len(head) != 8:
                return None
            (size,) = struct.unpack("<Q", head)
            if size > 100 * 1024 * 1024:
                return None
            header = json.loads(handle.read(size))
    except (OSError, ValueError):
        return None
    counts = Counter(v.get("dtype") for k, v in header.items() if k != "__metadata__" and isinstance(v, dict))
    if not counts:
        return None
    return counts.most_common(1)[0][0]


def _bits(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return f"int{int(value)}" if float(value).is_integer() else f"{value:g}bpw"


def _quant_config(config: dict[str, Any], folder: str | Path, names: set[str]) -> tuple[str | None, str | None, dict]:
    """(format, quant, details) from quantization_config and side files."""
    qc = config.get("quantization_config") if isinstance(config.get("quantization_config"), dict) else None
    if qc is None and "quant_config.json" in names:
        side = _read_json(os.path.join(folder, "quant_config.json")) or {}
        qc = {"quant_method": "awq", "bits": side.get("w_bit"), "group_size": side.get("q_group_size"), **side}
    if qc is None and "quantize_config.json" in names:
        side = _read_json(os.path.join(folder, "quantize_config.json")) or {}
        qc = {"quant_method": "gptq", **side}
    if qc is None and "measurement.json" in names:
        qc = {"quant_method": "exl2"}
    if isinstance(config.get("quantization"), dict) and qc is None:  # MLX
        mlx = config["quantization"]
        return "mlx", _bits(mlx.get("bits")), {k: mlx[k] for k in ("group_size", "bits") if k in mlx}
    if qc is None:
        return None, None, {}
    method = str(qc.get("quant_method", "")).lower()
    details = {k: qc[k] for k in ("bits", "group_size", "desc_act", "version", "sym", "zero_point", "fmt", "format")
               if k in qc and not isinstance(qc[k], (dict, list))}
    if method == "awq":
        return "awq", _bits(qc.get("bits") or qc.get("w_bit") or 4), details
    if method == "gptq":
        return "gptq", _bits(qc.get("bits") or 4), details
    if method == "exl2":
        return "exl2", _bits(qc.get("bits")), details
    if method == "bitsandbytes":
        if qc.get("load_in_8bit"):
            return "bnb", "int8", details
        kind = str(qc.get("bnb_4bit_quant_type", "nf4")).lower()
        return "bnb", kind if kind in ("nf4", "fp4") else "nf4", details
    if method in ("fp8", "fbgemm_fp8"):
        return "safetensors", "fp8", details
    if method in ("mxfp4", "nvfp4"):
        return "safetensors", method, details
    if method == "compressed-tensors":
        fmt = str(qc.get("format", "")).lower()
        groups = qc.get("config_groups") or {}
        weights = next((g.get("weights") for g in groups.values() if isinstance(g, dict) and g.get("weights")), {}) or {}
        if "nvfp4" in fmt:
            return "safetensors", "nvfp4", details
        if "mxfp4" in fmt:
            return "safetensors", "mxfp4", details
        if weights.get("type") == "float" and weights.get("num_bits") == 8 or "float-quantized" in fmt:
            return "safetensors", "fp8", details
        if weights.get("num_bits"):
            details["scheme"] = fmt or None
            return "safetensors", _bits(weights["num_bits"]), details
        return "safetensors", None, details
    return "safetensors", method or None, details


NO_TEMPLATE = ChatTemplate("none")  # frozen: one object shared by every folder without a template


def chat_template_of(folder: str | Path, names: set[str]) -> tuple[ChatTemplate, str]:
    """Where the folder's chat template lives, and its text (read once: a tokenizer_config.json
    can be megabytes)."""
    for name in ("chat_template.jinja", "chat_template.json"):
        if name in names:
            try:
                with open(os.path.join(folder, name), encoding="utf-8") as handle:
                    text = handle.read()
            except (OSError, UnicodeDecodeError):
                continue
            return ChatTemplate("external", name, hashlib.sha256(text.encode()).hexdigest()), text
    if "tokenizer_config.json" in names:
        config = _read_json(os.path.join(folder, "tokenizer_config.json"))
        template = config.get("chat_template") if isinstance(config, dict) else None
        if template:
            text = template if isinstance(template, str) else json.dumps(template, sort_keys=True)
            return ChatTemplate("embedded", "tokenizer_config.json", hashlib.sha256(text.encode()).hexdigest()), text
    return NO_TEMPLATE, ""


# Frozen, so shared: most GGUF files of a scan get one of these.
_TEXT_ONLY = {vision: Capabilities(text=True, vision=vision) for vision in (False, True)}


def capabilities_from(config: dict[str, Any], template: str, *, projector: bool = False) -> Capabilities:
    if not config and not template:  # a GGUF without a chat template: nothing to look through
        return _TEXT_ONLY[bool(projector)]
    archs = " ".join(str(a) for a in config.get("architectures") or []).lower()
    model_type = str(config.get("model_type", "")).lower()
    vision = projector or "vision_config" in config or any(t in archs for t in ("vl", "vision", "llava", "imagetext")) \
        or any(t in model_type for t in ("vl", "llava", "vision"))
    audio = "audio_config" in config or "audio" in archs
    embedding = any(t in archs for t in ("embedding", "formaskedlm", "bertmodel")) or "sentence" in model_type
    return Capabilities(
        text=not embedding or bool(template),
        vision=vision,
        audio=audio,
        embedding=embedding,
        tools="tools" in template,
        thinking="<think>" in template or "enable_thinking" in template or "reasoning" in template,
    )


def detect_folder(folder: str | Path, names: list[str] | None = None) -> FolderFacts:
    """Facts of a non-GGUF model folder; ``names`` are its files (top level) when already listed."""
    if names is None:
        names = sorted(e.name for e in os.scandir(folder) if e.is_file())
    name_set = set(names)
    config = _read_json(os.path.join(folder, "config.json")) if "config.json" in name_set else None
    config = config if isinstance(config, dict) else {}
    text_config = config.get("text_config") if isinstance(config.get("text_config"), dict) else {}
    safetensors = sorted(n for n in names if n.endswith(".safetensors"))
    bins = sorted(n for n in names if n.endswith(".bin") and ("pytorch_model" in n or n.startswith("model")))
    onnx = sorted(n for n in names if n.endswith(".onnx"))
    fmt, quant, details = _quant_config(config, folder, name_set)
    metadata: dict[str, Any] = {}
    if fmt is None:
        if safetensors:
            fmt = "mlx" if "mlx" in os.path.basename(folder).lower() or "weights.npz" in name_set else "safetensors"
        elif bins:
            fmt = "pytorch"
        elif onnx:
            fmt = "onnx"
    if quant is None and fmt in ("safetensors", "pytorch", "mlx"):
        dtype = config.get("torch_dtype") or config.get("dtype") or text_config.get("torch_dtype")
        quant = _DTYPES.get(str(dtype)) if dtype else None
        if quant is None and safetensors:
            header_dtype = safetensors_dtype(os.path.join(folder, safetensors[0]))
            quant = _DTYPES.get(header_dtype or "")
    if details:
        metadata["quant_details"] = details
    weights = safetensors or bins or onnx
    files = tuple(sorted({*(n for n in names if n in CONFIG_FILES), *weights}))
    template, template_text = chat_template_of(folder, name_set)
    archs = config.get("architectures")
    if isinstance(archs, list) and archs:
        metadata["architecture"] = str(archs[0])
    context = config.get("max_position_embeddings") or text_config.get("max_position_embeddings")
    if isinstance(context, int):
        metadata["context_length"] = context
    return FolderFacts(fmt, quant, files, template, capabilities_from(config, template_text), metadata)

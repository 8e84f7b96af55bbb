"""Facts of a model folder (safetensors, AWQ/GPTQ/bnb/fp8/compressed-tensors, MLX, PyTorch,
ONNX) from ``config.json``, side files and safetensors headers; never from weight data."""

from __future__ import annotations

import hashlib
import json
import os
import re
import struct
from collections import Counter
from pathlib import Path
from typing import Any

import attrs

from ..entry import Capabilities, ChatTemplate
from ..jsonio import loads
from .files import loader_files

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


class ModelFileError(ValueError):
    """A config file of the wrong shape: the folder is skipped, ``path`` named in the warning."""

    def __init__(self, path: str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


def _read_object(path: str) -> dict[str, Any]:
    """A JSON object file, or ModelFileError naming what is wrong with it."""
    try:
        doc = loads(read_small(path))  # bytes: json decodes UTF-8 itself, no text layer
    except OSError as exc:
        raise ModelFileError(path, f"unreadable: {exc.strerror}") from None
    except ValueError as exc:
        raise ModelFileError(path, f"not valid JSON ({str(exc).splitlines()[0][:100]})") from None
    if not isinstance(doc, dict):
        raise ModelFileError(path, f"expected a JSON object, got {_kind(doc)}")
    return doc


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number")


# The fields detection reads, and what they must be when present (null: absent). A wrong type
# means the file does not say what it seems to (format, quantisation): the folder is skipped.
_IS = {"object": dict, "string": str, "list of strings": list}
_CONFIG_FIELDS = {
    "architectures": "list of strings", "model_type": "string", "torch_dtype": "string", "dtype": "string",
    "text_config": "object", "quantization_config": "object",
}
_QUANT_FIELDS = {"quant_method": "string", "config_groups": "object", "format": "string",
                 "bnb_4bit_quant_type": "string"}


def check_shape(doc: dict[str, Any], fields: dict[str, str], path: str, where: str = "$") -> None:
    for key, expected in fields.items():
        value = doc.get(key)
        if value is None:
            continue
        ok = isinstance(value, _IS[expected])
        if ok and expected == "list of strings":
            ok = all(isinstance(item, str) for item in value)
        if not ok:
            raise ModelFileError(path, f"{where}.{key} must be {'an' if expected == 'object' else 'a'} "
                                       f"{expected}, not {_kind(value)}")


def _config(folder: str | Path) -> dict[str, Any]:
    path = os.path.join(folder, "config.json")
    config = _read_object(path)
    check_shape(config, _CONFIG_FIELDS, path)
    text_config = config.get("text_config") or {}
    check_shape(text_config, {"torch_dtype": "string"}, path, "$.text_config")
    qc = config.get("quantization_config")
    if qc:
        check_shape(qc, _QUANT_FIELDS, path, "$.quantization_config")
        for name, group in (qc.get("config_groups") or {}).items():
            if not isinstance(group, dict) or not isinstance(group.get("weights") or {}, dict):
                raise ModelFileError(path, f"$.quantization_config.config_groups.{name} must be an object "
                                           "whose weights are an object")
    return config


def safetensors_dtype(path: Path) -> str | None:
    """Most common tensor dtype from a safetensors header (first 8 + N bytes only)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
            if len(head) != 8:
                return None
            (size,) = struct.unpack("<Q", head)
            # a header larger than the file is a lie; reading it would allocate what it claims
            if size > min(100 * 1024 * 1024, os.fstat(handle.fileno()).st_size - 8):
                return None
            header = loads(handle.read(size))  # what is there: never more than the file holds
    except (OSError, ValueError):
        return None
    if not isinstance(header, dict):
        return None
    counts = Counter(v["dtype"] for k, v in header.items()
                     if k != "__metadata__" and isinstance(v, dict) and isinstance(v.get("dtype"), str))
    if not counts:
        return None
    return counts.most_common(1)[0][0]


def _bits(value: Any) -> str | None:
    # 0 < bits <= 64: a JSON number can be 10**400 (float() overflows), NaN or Infinity
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 64:
        return None
    return f"int{int(value)}" if float(value).is_integer() else f"{value:g}bpw"


def _side_file(folder: str | Path, name: str) -> dict[str, Any]:
    path = os.path.join(folder, name)
    side = _read_object(path)
    check_shape(side, _QUANT_FIELDS, path)
    return side


def _quant_config(config: dict[str, Any], folder: str | Path, names: set[str]) -> tuple[str | None, str | None, dict]:
    """(format, quant, details) from quantization_config and side files."""
    qc = config.get("quantization_config") if isinstance(config.get("quantization_config"), dict) else None
    if qc is None and "quant_config.json" in names:
        side = _side_file(folder, "quant_config.json")
        qc = {"quant_method": "awq", "bits": side.get("w_bit"), "group_size": side.get("q_group_size"), **side}
    if qc is None and "quantize_config.json" in names:
        side = _side_file(folder, "quantize_config.json")
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
            return ChatTemplate("external", name, _text_sha256(text)), text
    if "tokenizer_config.json" in names:
        path = os.path.join(folder, "tokenizer_config.json")
        template = _read_object(path).get("chat_template")
        if template and not isinstance(template, (str, list)):  # one template, or a list of named ones
            raise ModelFileError(path, f"$.chat_template must be a string or a list, not {_kind(template)}")
        if template:
            text = template if isinstance(template, str) else json.dumps(template, sort_keys=True)
            return ChatTemplate("embedded", "tokenizer_config.json", _text_sha256(text)), text
    return NO_TEMPLATE, ""


# Frozen, so shared: most GGUF files of a scan get one of these.
_TEXT_ONLY = {vision: Capabilities(text=True, vision=vision) for vision in (False, True)}


def _text_sha256(text: str) -> str:
    # surrogatepass: a JSON string may hold a lone surrogate ("\\ud800"), which strict UTF-8 refuses
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


_VISION_ARCH = re.compile("vl|vision|llava|imagetext")
_VISION_TYPE = re.compile("vl|llava|vision")
_EMBEDDING_ARCH = re.compile("embedding|formaskedlm|bertmodel")


def capabilities_from(config: dict[str, Any], template: str, *, projector: bool = False) -> Capabilities:
    if not config and not template:  # a GGUF without a chat template: nothing to look through
        return _TEXT_ONLY[bool(projector)]
    archs = " ".join(str(a) for a in config.get("architectures") or []).lower()
    model_type = str(config.get("model_type", "")).lower()
    # Substring tests as one compiled search each (not a generator per word): asked per folder.
    vision = projector or "vision_config" in config or _VISION_ARCH.search(archs) is not None \
        or _VISION_TYPE.search(model_type) is not None
    audio = "audio_config" in config or "audio" in archs
    embedding = _EMBEDDING_ARCH.search(archs) is not None or "sentence" in model_type
    key = (not embedding or bool(template), bool(vision), audio, embedding, "tools" in template,
           "<think>" in template or "enable_thinking" in template or "reasoning" in template)
    caps = _CAPABILITIES.get(key)
    if caps is None:  # frozen, so shared: a scan meets a handful of combinations
        caps = _CAPABILITIES[key] = Capabilities(*key)
    return caps


_CAPABILITIES: dict[tuple[bool, ...], Capabilities] = {}


def detect_folder(folder: str | Path, names: list[str] | None = None) -> FolderFacts:
    """Facts of a non-GGUF model folder; ``names`` are its files when already listed (top level,
    and sub-folder files as relative paths: ``files`` keeps what the file-selection rule keeps)."""
    if names is None:
        from ..listing import file_names

        names = file_names(folder)
    every = names
    # Weights and facts: the folder's own files, sorted by kind in one pass (asked per folder).
    own: list[str] = []
    safetensors: list[str] = []
    bins: list[str] = []
    onnx: list[str] = []
    for n in names:
        if "/" in n:
            continue
        own.append(n)
        if n.endswith(".safetensors"):
            safetensors.append(n)
        elif n.endswith(".bin"):
            if "pytorch_model" in n or n.startswith("model"):
                bins.append(n)
        elif n.endswith(".onnx"):
            onnx.append(n)
    safetensors.sort()
    bins.sort()
    onnx.sort()
    name_set = set(own)
    config = _config(folder) if "config.json" in name_set else {}
    text_config = config.get("text_config") or {}
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
    files = tuple(loader_files(every, weights))
    template, template_text = chat_template_of(folder, name_set)
    archs = config.get("architectures")
    if isinstance(archs, list) and archs:
        metadata["architecture"] = str(archs[0])
    context = config.get("max_position_embeddings") or text_config.get("max_position_embeddings")
    if isinstance(context, int) and not isinstance(context, bool):
        metadata["context_length"] = context
    return FolderFacts(fmt, quant, files, template, capabilities_from(config, template_text), metadata)

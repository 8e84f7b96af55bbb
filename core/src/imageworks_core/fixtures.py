"""Real model files for tests and benchmarks: GGUF files written with the ``gguf`` package and
safetensors files with real headers. Small, but byte-for-byte what the real tools read."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

_SAFETENSORS_SIZES = {"F32": 4, "F16": 2, "BF16": 2, "I32": 4, "U8": 1, "I8": 1, "F8_E4M3": 1}


def write_gguf(
    path: str | Path,
    *,
    file_type: int | None = 15,
    arch: str = "llama",
    basename: str | None = None,
    size_label: str | None = None,
    context_length: int | None = 4096,
    chat_template: str | None = None,
    tensor_values: int = 16,
    extra: dict[str, str] | None = None,
    projector: bool = False,
) -> Path:
    """A valid GGUF file (header, key/values, one small f32 tensor). file_type 15 = Q4_K_M."""
    import gguf
    import numpy as np

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = gguf.GGUFWriter(str(path), "clip" if projector else arch)
    if file_type is not None:
        writer.add_file_type(file_type)
    if basename:
        writer.add_basename(basename)
    if size_label:
        writer.add_size_label(size_label)
    if context_length and not projector:
        writer.add_context_length(context_length)
    if chat_template:
        writer.add_chat_template(chat_template)
    if projector:
        writer.add_bool("clip.has_vision_encoder", True)
    for key, value in (extra or {}).items():
        writer.add_string(key, value)
    writer.add_tensor("token_embd.weight", np.arange(tensor_values, dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def write_safetensors(path: str | Path, tensors: dict[str, tuple[str, list[int]]] | None = None,
                      metadata: dict[str, str] | None = None) -> Path:
    """A valid safetensors file: 8-byte header length, JSON header, zero-filled data."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = tensors or {"model.embed_tokens.weight": ("BF16", [8, 4])}
    header: dict[str, Any] = {}
    offset = 0
    for name, (dtype, shape) in tensors.items():
        count = 1
        for dim in shape:
            count *= dim
        size = count * _SAFETENSORS_SIZES[dtype]
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
    if metadata:
        header["__metadata__"] = metadata
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + b"\0" * offset)
    return path


def write_hf_folder(folder: str | Path, *, config: dict[str, Any] | None = None,
                    dtype: str = "BF16", shards: int = 1, template: str | None = "{{ messages }}",
                    side_files: dict[str, Any] | None = None) -> Path:
    """An HF-style model folder: config, tokenizer files, safetensors weights (+ index)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config or {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "torch_dtype": "bfloat16",
        "max_position_embeddings": 8192}))
    tokenizer_config: dict[str, Any] = {"model_max_length": 8192}
    if template:
        tokenizer_config["chat_template"] = template
    (folder / "tokenizer_config.json").write_text(json.dumps(tokenizer_config))
    (folder / "tokenizer.json").write_text(json.dumps({"version": "1.0", "model": {"type": "BPE"}}))
    names = []
    for i in range(shards):
        name = "model.safetensors" if shards == 1 else f"model-{i + 1:05d}-of-{shards:05d}.safetensors"
        write_safetensors(folder / name, {f"layer.{i}.weight": (dtype, [4, 4])})
        names.append(name)
    if shards > 1:
        (folder / "model.safetensors.index.json").write_text(json.dumps(
            {"weight_map": {f"layer.{i}.weight": n for i, n in enumerate(names)}}))
    for name, content in (side_files or {}).items():
        (folder / name).write_text(content if isinstance(content, str) else json.dumps(content))
    return folder

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
    vocabulary: list[str] | None = None,
) -> Path:
    """A valid GGUF file (header, key/values, one small f32 tensor). file_type 15 = Q4_K_M.
    ``vocabulary`` adds a tokenizer token list (and token types) before the other keys, as
    converted models carry one: 100,000+ strings a reader must step over."""
    import gguf
    import numpy as np

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = gguf.GGUFWriter(str(path), "clip" if projector else arch)
    if file_type is not None:
        writer.add_file_type(file_type)
    if vocabulary:
        writer.add_token_list(vocabulary)
        writer.add_token_types([1] * len(vocabulary))
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


def write_stale_blob(store: str | Path, size: int, *, age_s: float = 7200.0, digest_char: str = "9") -> Path:
    """A blob no Ollama manifest references, last changed ``age_s`` ago: what `cleanup` reclaims."""
    import os
    import time

    blob = Path(store) / "blobs" / ("sha256-" + digest_char * 64)
    blob.parent.mkdir(parents=True, exist_ok=True)
    blob.write_bytes(os.urandom(size))
    os.utime(blob, (time.time() - age_s,) * 2)
    return blob


def write_space_to_reclaim(root: str | Path, stale_bytes: int = 20000) -> Path:
    """Disk a dedupe and a cleanup would free: one GGUF in two byte-identical copies under
    ``root/models/weights`` (``acme/Foo-7B-GGUF`` and ``mirror``), and an Ollama store
    ``root/ollama`` with a model and a stale blob of ``stale_bytes``. Returns the first GGUF."""
    import shutil

    weights = Path(root) / "models" / "weights"
    gguf = write_gguf(weights / "acme" / "Foo-7B-GGUF" / "Foo-7B-Q4_K_M.gguf", basename="Foo", size_label="7B",
                      tensor_values=4000)
    (weights / "mirror").mkdir(parents=True)
    shutil.copyfile(gguf, weights / "mirror" / gguf.name)
    write_ollama_model(Path(root) / "ollama", "qwen3:8b")
    write_stale_blob(Path(root) / "ollama", stale_bytes)
    return gguf


def _blob(store: Path, data: bytes) -> tuple[str, int]:
    import hashlib

    digest = hashlib.sha256(data).hexdigest()
    blobs = store / "blobs"
    blobs.mkdir(parents=True, exist_ok=True)
    (blobs / f"sha256-{digest}").write_bytes(data)
    return digest, len(data)


def write_ollama_model(
    store: str | Path,
    name: str,
    *,
    gguf_file_type: int | None = 15,
    config_file_type: str | None = "Q4_K_M",
    family: str = "qwen3",
    parameter_size: str = "8.2B",
    template: str | None = "{{ if .Tools }}tools{{ end }}{{ .Prompt }}",
    projector: bool = False,
    model_blob: bytes | None = None,
    tensor_values: int = 16,
) -> Path:
    """One model in an Ollama store laid out as Ollama lays it out: a manifest at
    ``manifests/<host>/<namespace>/<model>/<tag>`` and blobs named by their sha256.
    ``name`` is what ``ollama list`` shows (``qwen3:8b``, ``hf.co/user/repo:Q4_K_M``)."""
    import tempfile

    store = Path(store)
    model, _, tag = name.partition(":")
    tag = tag or "latest"
    parts = model.split("/")
    if len(parts) == 1:
        host, namespace, model_name = "registry.ollama.ai", "library", parts[0]
    elif len(parts) == 2:
        host, namespace, model_name = "registry.ollama.ai", parts[0], parts[1]
    else:
        host, namespace, model_name = parts[0], "/".join(parts[1:-1]), parts[-1]
    if model_blob is None:
        with tempfile.TemporaryDirectory() as tmp:
            model_blob = write_gguf(Path(tmp) / "m.gguf", file_type=gguf_file_type, arch=family,
                                    tensor_values=tensor_values).read_bytes()
    layers = []
    digest, size = _blob(store, model_blob)
    layers.append({"mediaType": "application/vnd.ollama.image.model", "digest": f"sha256:{digest}", "size": size})
    if projector:
        with tempfile.TemporaryDirectory() as tmp:
            data = write_gguf(Path(tmp) / "p.gguf", projector=True, file_type=1).read_bytes()
        digest, size = _blob(store, data)
        layers.append({"mediaType": "application/vnd.ollama.image.projector", "digest": f"sha256:{digest}", "size": size})
    if template is not None:
        digest, size = _blob(store, template.encode())
        layers.append({"mediaType": "application/vnd.ollama.image.template", "digest": f"sha256:{digest}", "size": size})
    digest, size = _blob(store, b'{"temperature": 0.6}')
    layers.append({"mediaType": "application/vnd.ollama.image.params", "digest": f"sha256:{digest}", "size": size})
    config = {"model_format": "gguf", "model_family": family, "model_families": [family] + (["clip"] if projector else []),
              "model_type": parameter_size, "file_type": config_file_type or "", "architecture": "amd64", "os": "linux"}
    digest, size = _blob(store, json.dumps(config).encode())
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                           "digest": f"sha256:{digest}", "size": size},
                "layers": layers}
    path = store / "manifests" / host / namespace / model_name / tag
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(manifest))
    return path


# Put first in a ``python -c`` child that a test stops with SIGINT: a terminal's foreground job
# gets Ctrl-C as KeyboardInterrupt, but Python leaves SIGINT ignored when it starts ignored, as
# it does under a runner started in the background (``cmd &`` in a script), which would make
# such a test pass or fail by how pytest was started.
CTRL_C_AS_IN_A_TERMINAL = "import signal; signal.signal(signal.SIGINT, signal.default_int_handler); "


def entry_with_every_field():
    """A registry Entry with every field set to a value of its type (extra fields included): what
    the converter's tests write and read back."""
    from imageworks_core import ArtifactFile, Artifacts, Capabilities, ChatTemplate, Entry

    return Entry(
        name="m-1", display_name="M", family="fam", backend="vllm", download_format="awq", quantization="int4",
        source_provider="hf", source={"repo_id": "a/b", "nested": {"x": [1, 2]}}, served_model_id="a/b",
        model_aliases=("x", "y"), download_location="home", download_path="/m", download_files=("a", "b/c"),
        download_size_bytes=12, download_directory_checksum="ab",
        artifacts=Artifacts((ArtifactFile("a", 1, "cd" * 32), ArtifactFile("b/c", 2, None, "01" * 20)), "ef" * 32),
        chat_template=ChatTemplate("embedded", "tokenizer_config.json", "12" * 32),
        capabilities=Capabilities(text=True, vision=True, tools=True), roles=("chat",), role_priority={"chat": 1},
        backend_config={"k": [1]}, generation_defaults={"t": 0.5}, license="mit", deprecated=True,
        downloaded_at="2020-01-01T00:00:00Z", updated_at="2020-01-02T00:00:00Z", metadata={"identity": "i", "b": {}},
        extra={"zz": 1})

"""Linking GGUF files into the Ollama store and out of it, as Ollama lays a model out.

Facts from Ollama's source that shape this: a blob's name is its true sha256 and nothing hashes
it again later; a model whose config blob is missing or not JSON is dropped from ``ollama list``;
at start-up Ollama deletes every blob no manifest references. So the blobs (hard links named by
their sha256) and the config blob are written first, the manifest last, each atomically, the
manifest's temporary file outside the four-level ``manifests/`` tree."""

from __future__ import annotations

import hashlib
import json
import os
import re
import uuid
from pathlib import Path

from imageworks_core import BadInputError, GgufFile, ImageworksError, LinkRequest, LinkResult
from imageworks_core.kit import place_file, read_gguf_info

from .store import (DEFAULT_HOST, DEFAULT_NAMESPACE, MEDIA_PREFIX, ManifestError, check_blob, read_config,
                    read_manifest)

MANIFEST_MEDIA = "application/vnd.docker.distribution.manifest.v2+json"
CONFIG_MEDIA = "application/vnd.docker.container.image.v1+json"
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,79}$")


def _write_atomic(path: Path, data: bytes, tmp_dir: Path) -> bool:
    if path.exists() and path.read_bytes() == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = tmp_dir / f".imageworks-{uuid.uuid4().hex}.tmp"
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return True


def model_and_tag(request: LinkRequest) -> tuple[str, str]:
    entry = request.entry
    if request.model_name:
        model, _, tag = request.model_name.partition(":")
    else:
        model, tag = entry.family, entry.quantization or "latest"
    model, tag = model.lower(), (tag or "latest").lower()
    for part in (model, tag):
        if not _NAME.match(part):
            raise BadInputError(f"{request.model_name or part!r} is not a valid Ollama model name (MODEL[:TAG], "
                                "lowercase letters, digits, . _ -)")
    return model, tag


def link_in(request: LinkRequest, store: Path) -> LinkResult:
    models = [f for f in request.files if f.role == "model"]
    if len(models) != 1:
        raise ImageworksError(f"{request.entry.name} is split into {len(models)} GGUF files; Ollama loads one file",
                              hint="merge the shards first (llama-gguf-split --merge), then link the merged file")
    model, tag = model_and_tag(request)
    manifest_path = store / "manifests" / DEFAULT_HOST / DEFAULT_NAMESPACE / model / tag
    ordered = [*models, *(f for f in request.files if f.role == "projector")]
    layers, blob_paths = [], []
    for f in ordered:
        if not f.sha256:
            raise ImageworksError(f"the sha256 of {f.path} is unknown; cannot name its Ollama blob")
        layers.append({"mediaType": MEDIA_PREFIX + f.role, "digest": f"sha256:{f.sha256}", "size": f.size})
        blob_paths.append(store / "blobs" / f"sha256-{f.sha256}")
    info = read_gguf_info(Path(models[0].path))
    size_label = info.values.get("general.size_label")
    config = {
        "model_format": "gguf",
        "model_family": info.architecture or "",
        "model_families": [info.architecture] if info.architecture else None,
        "model_type": size_label if isinstance(size_label, str) else request.entry.metadata.get("parameter_size", ""),
        "file_type": (info.quant or request.entry.quantization or "").upper(),
        "architecture": "amd64",
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [layer["digest"] for layer in layers]},
    }
    config_bytes = json.dumps(config, separators=(",", ":")).encode()
    config_sha = hashlib.sha256(config_bytes).hexdigest()
    manifest = {"schemaVersion": 2, "mediaType": MANIFEST_MEDIA,
                "config": {"mediaType": CONFIG_MEDIA, "digest": f"sha256:{config_sha}", "size": len(config_bytes)},
                "layers": layers}
    manifest_bytes = json.dumps(manifest, separators=(",", ":")).encode()
    paths = (str(manifest_path), *(str(p) for p in blob_paths), str(store / "blobs" / f"sha256-{config_sha}"))
    served = f"{model}:{tag}"
    if manifest_path.exists() and manifest_path.read_bytes() != manifest_bytes:
        raise ImageworksError(f"Ollama already has a different model named {served}",
                              hint="choose another name with --as MODEL[:TAG], or `ollama rm` it first")
    if request.dry_run:
        return LinkResult(paths, str(store), served_model_id=served)
    wrote = False
    for f, blob in zip(ordered, blob_paths):
        wrote |= place_file(f.path, blob, request.mode, sha256=f.sha256)
    wrote |= _write_atomic(store / "blobs" / f"sha256-{config_sha}", config_bytes, store / "blobs")
    wrote |= _write_atomic(manifest_path, manifest_bytes, store)  # last: the model appears whole
    return LinkResult(paths, str(store), already=not wrote, served_model_id=served)


def gguf_files(entry, store: Path) -> list[GgufFile]:
    """An Ollama model's GGUF bytes are its model (and projector) blobs; elsewhere they get a
    file name from the model's name and quant."""
    manifest_rel = next((f for f in entry.download_files if f.startswith("manifests/")), None)
    if manifest_rel is None:
        return []
    try:  # checked again here: the store may have changed since the import
        manifest = read_manifest(store, store / manifest_rel)
        read_config(store, manifest)
        layers = [layer for layer in manifest.layers if layer.kind in ("model", "projector")]
        paths = [check_blob(store, layer) for layer in layers]
    except ManifestError as exc:
        raise BadInputError(f"{entry.name}: Ollama model {manifest_rel}: {exc}") from None
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", (entry.served_model_id or entry.family).replace(":", "-")).strip("-")
    out = []
    for layer, path in zip(layers, paths):
        name = f"{stem}.gguf" if layer.kind == "model" else f"mmproj-{stem}.gguf"
        out.append(GgufFile(str(path), name, layer.kind, layer.size, layer.digest))
    return out

"""Ollama manifests -> Variants (Strategy A names), and store-aware verify/normalize/remove."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

from imageworks_core import (ArtifactFile, Capabilities, ChatTemplate, Context, Finding, Redetected,
                             RemovedFiles, Variant)
from imageworks_core.kit import copy_identity, GGUFHeaderError, read_gguf_info, sha256_of, with_aggregate

from .naming import family_from_ollama
from .store import Manifest, ManifestError, check_blob, read_config, read_manifest, manifest_paths, referenced_blobs

NAME = "ollama"


def discover_store(ctx: Context, store: Path) -> Iterator[Variant]:
    server = _server_models(ctx)
    for path in manifest_paths(store):
        try:
            yield manifest_variant(ctx, store, path, server)
        except ManifestError as exc:
            ctx.warn(f"ollama manifest {path.relative_to(store)}", str(exc))


def manifest_variant(ctx: Context, store: Path, path: Path, server: dict[str, Any] | None = None) -> Variant:
    manifest = read_manifest(store, path)
    for layer in {layer.blob: layer for layer in (manifest.config, *manifest.layers)}.values():
        check_blob(store, layer)
    config = read_config(store, manifest)
    model = manifest.layer("model")
    if model is None:
        raise ManifestError("no model layer")
    quant = str(config.get("file_type") or "").lower() or None
    metadata: dict[str, Any] = {
        "ollama_model_family": config.get("model_family"),
        "ollama_model_families": config.get("model_families"),
        "ollama_parameter_size": config.get("model_type"),
        "ollama_file_type": config.get("file_type"),
        "ollama_manifest": str(manifest.path),
    }
    if config.get("model_type"):
        metadata["parameter_size"] = config["model_type"]
    try:  # the header says what the blob is; a blob that is not a GGUF model is not imported
        info = read_gguf_info(store / model.blob)
    except (GGUFHeaderError, OSError) as exc:
        raise ManifestError(f"model blob {model.blob} is not a readable GGUF file: "
                            f"{str(exc).rpartition(': ')[2]}") from None
    quant = quant or info.quant
    if info.architecture:
        metadata["architecture"] = info.architecture
    if info.context_length:
        metadata["context_length"] = info.context_length
    template_text = info.chat_template or ""
    template_layer = manifest.layer("template")
    chat = ChatTemplate("none")
    if template_layer is not None:
        chat = ChatTemplate("external", template_layer.blob, template_layer.digest)
        try:
            template_text = (store / template_layer.blob).read_text(encoding="utf-8", errors="replace")
        except OSError:
            pass
    elif template_text:
        chat = ChatTemplate("embedded", model.blob, None)
    families = [str(f).lower() for f in (config.get("model_families") or [])] + [str(config.get("model_family", "")).lower()]
    vision = manifest.layer("projector") is not None or any(f in ("clip", "mllama") for f in families)
    embedding = any("bert" in f for f in families) and not template_text
    capabilities = Capabilities(
        text=not embedding, vision=vision, embedding=embedding,
        tools=".Tools" in template_text or "tools" in template_text,
        thinking=".Thinking" in template_text or "<think>" in template_text,
    )
    if server and manifest.shown_name in server:
        metadata["ollama_server"] = server[manifest.shown_name]
    manifest_file = ArtifactFile(str(manifest.path), (store / manifest.path).stat().st_size,
                                 sha256_of(store / manifest.path))
    blob_files = [ArtifactFile(layer.blob, layer.size, layer.digest)
                  for layer in {layer.blob: layer for layer in (manifest.config, *manifest.layers)}.values()]
    return Variant(
        provider=NAME,
        identity=copy_identity(f"ollama:{manifest.shown_name}", store),
        family=family_from_ollama(manifest.shown_name),
        backend="ollama",
        download_format=str(config.get("model_format") or "gguf").lower(),
        quantization=quant,
        download_path=str(store),
        download_files=(str(manifest.path), *manifest.blobs),
        served_model_id=manifest.shown_name,
        source={"store": str(store)},
        artifacts=with_aggregate([manifest_file, *blob_files]),
        chat_template=chat,
        capabilities=capabilities,
        metadata={k: v for k, v in metadata.items() if v not in (None, "", [])},
    )


def _server_models(ctx: Context) -> dict[str, Any] | None:
    """``/api/tags`` of a running server, when ``ollama_host`` is set; the store alone suffices."""
    host = ctx.settings.ollama_host
    if not host:
        return None
    import requests

    url = host if host.startswith("http") else f"http://{host}"
    try:
        response = requests.get(f"{url.rstrip('/')}/api/tags", timeout=2)
        response.raise_for_status()
        models = response.json().get("models", [])
    except (requests.RequestException, ValueError) as exc:
        ctx.warn(f"Ollama server {url}", f"not reachable ({type(exc).__name__}); imported from the store only")
        return None
    out = {}
    for model in models:
        name = str(model.get("name", ""))
        shown = name.removesuffix(":latest") + ":latest" if ":" not in name else name
        out[shown] = {k: model[k] for k in ("modified_at", "details") if k in model}
    return out


def _manifest_of(entry) -> Path | None:
    manifest = entry.metadata.get("ollama_manifest") or next(
        (f for f in entry.download_files if f.startswith("manifests/")), None)
    return Path(manifest) if manifest else None


def verify_entry(entry, ctx: Context) -> list[Finding]:
    store = Path(entry.download_path)
    rel = _manifest_of(entry)
    if rel is None:
        return [Finding("no manifest recorded: re-run import-ollama")]
    if not (store / rel).is_file():
        return [Finding(f"tag {entry.served_model_id} was removed from the Ollama store", str(rel))]
    try:
        manifest = read_manifest(store, store / rel)
    except ManifestError as exc:
        return [Finding(f"manifest unreadable: {exc}", str(rel))]
    if set(manifest.blobs) != {f for f in entry.download_files if f.startswith("blobs/")}:
        return [Finding("the tag now points at other blobs (pulled again?): re-run import-ollama", str(rel))]
    return []


def redetect(entry, ctx: Context) -> Redetected | None:
    store = Path(entry.download_path)
    rel = _manifest_of(entry)
    if rel is None or not (store / rel).is_file():
        return None
    try:
        variant = manifest_variant(ctx, store, store / rel)
    except ManifestError:
        return None
    return Redetected(variant.download_format, variant.quantization, variant.download_files)


def remove_model(entry, ctx: Context) -> RemovedFiles:
    """What ``ollama rm`` does: the manifest, and only blobs no other manifest references."""
    from imageworks_core.kit import check_paths, entry_roots, prune_empty_parents, safe_delete

    store = Path(entry.download_path)
    rel = _manifest_of(entry)
    roots = entry_roots(entry, ctx)
    paths = [store / f for f in entry.download_files]
    check_paths(paths, roots)
    still_used = referenced_blobs(store, exclude={rel} if rel else set())
    deleted: list[str] = []
    kept: list[str] = []
    if rel is not None and (store / rel).exists():
        deleted += safe_delete(store / rel, roots)
        prune_empty_parents((store / rel).parent, [store / "manifests"], levels=3)
    for blob in (f for f in entry.download_files if f.startswith("blobs/")):
        if blob in still_used:
            kept.append(str(store / blob))
        elif (store / blob).exists() or (store / blob).is_symlink():
            deleted += safe_delete(store / blob, roots)
    return RemovedFiles(tuple(deleted), tuple(kept))


__all__ = ["Manifest", "discover_store", "manifest_variant", "redetect", "remove_model", "verify_entry"]

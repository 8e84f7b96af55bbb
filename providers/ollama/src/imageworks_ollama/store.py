"""Reading an Ollama model store directly: manifests four levels deep, content-addressed blobs."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Iterator

import attrs

DEFAULT_HOST = "registry.ollama.ai"
DEFAULT_NAMESPACE = "library"
MEDIA_PREFIX = "application/vnd.ollama.image."
_DIGEST = re.compile(r"sha256[:-]([0-9a-f]{64})\Z")


class ManifestError(ValueError):
    """A manifest that cannot be used; the message says why."""


@attrs.frozen
class Layer:
    kind: str  # model, projector, template, params, license, system, adapter, messages, config...
    digest: str  # hex
    size: int

    @property
    def blob(self) -> str:
        return f"blobs/sha256-{self.digest}"


@attrs.frozen
class Manifest:
    path: Path  # relative to the store
    shown_name: str
    config: Layer
    layers: tuple[Layer, ...]

    def layer(self, kind: str) -> Layer | None:
        return next((layer for layer in self.layers if layer.kind == kind), None)

    @property
    def blobs(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys([self.config.blob, *(layer.blob for layer in self.layers)]))


def shown_name(host: str, namespace: str, model: str, tag: str) -> str:
    """What ``ollama list`` shows: the default host and ``library`` namespace are dropped."""
    if host == DEFAULT_HOST:
        prefix = "" if namespace == DEFAULT_NAMESPACE else f"{namespace}/"
    else:
        prefix = f"{host}/{namespace}/"
    return f"{prefix}{model}:{tag}"


def manifest_paths(store: Path) -> Iterator[Path]:
    """Files exactly four levels below ``manifests/``: host/namespace/model/tag."""
    root = store / "manifests"
    if not root.is_dir():
        return
    for path in sorted(root.glob("*/*/*/*")):
        if path.is_file() and not path.name.startswith("."):
            yield path


def _layer(raw: Any, where: str) -> Layer:
    if not isinstance(raw, dict):
        raise ManifestError(f"{where} is not an object")
    digest = _DIGEST.match(str(raw.get("digest", "")))
    if not digest:
        raise ManifestError(f"{where} has no valid sha256 digest")
    size = raw.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise ManifestError(f"{where} has no valid size")
    media = str(raw.get("mediaType", ""))
    kind = media.removeprefix(MEDIA_PREFIX) if media.startswith(MEDIA_PREFIX) else media.rsplit(".", 1)[-1] or "unknown"
    return Layer(kind, digest.group(1), size)


def read_manifest(store: Path, path: Path) -> Manifest:
    rel = path.relative_to(store)
    host, namespace, model, tag = rel.parts[1:]
    try:
        doc = json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise ManifestError(f"not valid JSON ({exc})") from None
    except RecursionError:  # [[[[… nested deeper than the parser recurses
        raise ManifestError("not valid JSON (nested too deeply)") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("layers"), list):
        raise ManifestError("no 'layers' list")
    if doc.get("schemaVersion") not in (2, None):
        raise ManifestError(f"unsupported schemaVersion {doc.get('schemaVersion')!r}")
    config = _layer(doc.get("config"), "config")
    layers = tuple(_layer(raw, f"layers[{i}]") for i, raw in enumerate(doc["layers"]))
    return Manifest(rel, shown_name(host, namespace, model, tag), config, layers)


def read_config(store: Path, manifest: Manifest) -> dict[str, Any]:
    try:
        doc = json.loads((store / manifest.config.blob).read_bytes())
    except OSError as exc:
        raise ManifestError(f"config blob unreadable: {exc.strerror}") from None
    except (ValueError, RecursionError):
        raise ManifestError("config blob is not JSON") from None
    if not isinstance(doc, dict):
        raise ManifestError("config blob is not a JSON object")
    for key, expected in _CONFIG_TYPES.items():
        value = doc.get(key)
        if value is not None and not (isinstance(value, expected) and (
                expected is not list or all(isinstance(item, str) for item in value))):
            what = "a list of strings" if expected is list else "a string"
            raise ManifestError(f"config blob: {key} must be {what}, not {type(value).__name__}")
    return doc


# The config blob's fields the import reads, and their types (null: absent). A wrong type is
# refused rather than stored as its Python text (``"['gguf']"``).
_CONFIG_TYPES = {"model_format": str, "model_family": str, "model_families": list, "model_type": str,
                 "file_type": str}


def check_blob(store: Path, layer: Layer) -> Path:
    """The layer's blob: a regular file of the declared size inside the store's ``blobs/``
    (Ollama writes nothing else there; a link to ``/etc/passwd`` is not a model)."""
    import os
    import stat

    path = store / layer.blob
    try:
        info = path.lstat()
    except OSError:
        raise ManifestError(f"missing blob {layer.blob}") from None
    if not stat.S_ISREG(info.st_mode):
        raise ManifestError(f"{layer.blob} is not a regular file")
    # the blobs folder itself may be a link to another disk: its real place is the store's
    if os.path.dirname(os.path.realpath(path)) != os.path.realpath(store / "blobs"):
        raise ManifestError(f"{layer.blob} is outside the store's blobs folder")
    if info.st_size != layer.size:
        raise ManifestError(f"{layer.blob} is {info.st_size} bytes, the manifest says {layer.size}")
    return path


def referenced_blobs(store: Path, *, exclude: set[Path] = frozenset()) -> set[str]:
    """Blob paths (``blobs/sha256-…``) referenced by the store's manifests, except ``exclude``."""
    found: set[str] = set()
    for path in manifest_paths(store):
        if path.relative_to(store) in exclude:
            continue
        try:
            found.update(read_manifest(store, path).blobs)
        except ManifestError:
            # An unreadable manifest might still reference blobs: keep every blob it names.
            found.update(f"blobs/sha256-{m}" for m in re.findall(r"sha256[:-]([0-9a-f]{64})", path.read_text(errors="replace")))
    return found

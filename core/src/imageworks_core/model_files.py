"""Turning folders and GGUF files into Variants: shared by local_scan, lmstudio and hf ingest."""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from .detect import GGUFHeaderError, ModelFileError, detect_folder, gguf_sets, quant_label_from_filename, read_gguf_info
from .detect import files as _files  # model_folder_files looked up per call: tests replace it
from .detect.folder import NO_TEMPLATE, WEIGHT_SUFFIXES, capabilities_from
from .entry import Capabilities, ChatTemplate
from .realpaths import real_path
from .registry.naming import family_from_file, family_from_repo
from .hook_types import Context, Variant

if TYPE_CHECKING:
    from .settings import Settings

SAFETENSORS_BACKENDS = {"mlx": "mlx", "onnx": "unassigned"}


def default_backend(download_format: str | None, *, at: str | os.PathLike | None = None,
                    settings: "Settings | None" = None) -> str:
    """The one rule (docs/commands.md "Backends chosen by default"): GGUF files are served by the backend
    of the location holding them when a provider declared one (LM Studio's folder: ``lmstudio``),
    else ``llamacpp``; safetensors-family formats by ``vllm`` (MLX by ``mlx``)."""
    if download_format == "gguf":
        if at is not None and settings is not None:
            return settings.backend_at(at) or "llamacpp"
        return "llamacpp"
    if download_format is None:
        return "unassigned"
    return SAFETENSORS_BACKENDS.get(download_format, "vllm")


def location_label(ctx: Context, path: Path | str) -> str | None:
    """The configured location whose directory holds ``path`` (the deepest one)."""
    text = str(path) + os.sep
    # String prefixes, deepest first: this runs once per variant of a 10,000-model scan. The
    # prefixes of the locations last asked about are kept with a copy of them (compared, not
    # trusted by identity: settings can change in place).
    locations = ctx.settings.locations
    last_locations, prefixes = _last_prefixes
    if locations != last_locations:
        prefixes = _location_prefixes(tuple(locations.items()))
        _last_prefixes[:] = [dict(locations), prefixes]
    for root, label in prefixes:
        if text.startswith(root):
            return label
    return None


_last_prefixes: list = [None, []]


@functools.lru_cache(maxsize=8)
def _location_prefixes(locations: tuple[tuple[str, str], ...]) -> list[tuple[str, str]]:
    prefixes = [(os.path.join(os.path.abspath(directory), ""), label) for label, directory in locations]
    return sorted(prefixes, key=lambda item: -len(item[0]))


def gguf_variants(
    ctx: Context,
    provider: str,
    folder: str | os.PathLike,
    names: list[str],
    *,
    family: str | None = None,
    backend: str | None = None,
    source: dict[str, Any] | None = None,
    identity_fn: "Callable[[str | None, str], str] | None" = None,
    extra_metadata: dict[str, Any] | None = None,
    sizes: dict[str, int] | None = None,
) -> list[Variant]:
    """One variant per GGUF quant file or complete split set in ``folder``; projectors attach
    to every variant beside them. Unreadable headers are reported and skipped. ``sizes``: the
    files' sizes if the caller's walk already has them (the registry then stats nothing)."""
    folder = os.fspath(folder)  # plain strings: this runs for every GGUF of a scan
    sets, projectors, incomplete = gguf_sets(names)
    for name in incomplete:
        ctx.warn(os.path.join(folder, name), "part of an incomplete split GGUF set")
    usable_projectors = []
    for name in projectors:
        try:
            read_gguf_info(os.path.join(folder, name))
            usable_projectors.append(name)
        except (GGUFHeaderError, OSError) as exc:
            ctx.warn(os.path.join(folder, name), f"unreadable projector: {exc}")
    variants = []
    for files in sets:
        main = os.path.join(folder, files[0])
        try:
            info = read_gguf_info(main)
        except (GGUFHeaderError, OSError) as exc:
            ctx.warn(main, str(exc).replace(main + ": ", ""))
            continue
        label = quant_label_from_filename(files[0])
        header_quant, architecture, context_length = info.quant, info.architecture, info.context_length  # once each
        quant = header_quant or label
        metadata: dict[str, Any] = {"gguf_file_type": info.file_type}
        if label:
            metadata["quant_label"] = label
        if label and header_quant and label != header_quant:
            metadata["quant_mismatch"] = f"file name says {label}, header says {header_quant}"
        if architecture:
            metadata["architecture"] = architecture
        if context_length:
            metadata["context_length"] = context_length
        size_label = info.values.get("general.size_label")
        if isinstance(size_label, str):
            metadata["parameter_size"] = size_label
        if len(files) > 1:
            metadata["gguf_split_count"] = len(files)
        metadata.update(extra_metadata or {})
        template = info.chat_template
        chat = ChatTemplate("embedded", files[0], info.chat_template_sha256()) if template else NO_TEMPLATE
        caps = capabilities_from({}, template or "", projector=bool(usable_projectors))
        fam = family or family_from_file(
            files[0], info.values.get("general.basename") if isinstance(info.values.get("general.basename"), str) else None,
            size_label if isinstance(size_label, str) else None,
        )
        names_held = (*files, *usable_projectors)
        variants.append(Variant(
            provider=provider,
            identity=identity_fn(quant, main) if identity_fn else f"{provider}:{real_path(main)}",
            family=fam,
            backend=backend or default_backend("gguf", at=folder, settings=ctx.settings),
            download_format="gguf",
            quantization=quant,
            download_path=folder,
            download_files=names_held,
            download_location=location_label(ctx, folder),
            source=source,
            chat_template=chat,
            capabilities=caps,
            metadata=metadata,
            file_sizes=sizes_of(sizes, names_held),
        ))
    return variants


def folder_variant(
    ctx: Context,
    provider: str,
    folder: str | os.PathLike,
    names: list[str],
    *,
    family: str | None = None,
    backend: str | None = None,
    source: dict[str, Any] | None = None,
    identity: str | None = None,
    identity_fn: "Callable[[str, str | None], str] | None" = None,
    fallback_format: str | None = None,
    extra_metadata: dict[str, Any] | None = None,
    location: str | None = None,
    sizes: dict[str, int] | None = None,
    subfolders: bool | None = None,
) -> Variant | None:
    """The variant a safetensors/MLX/PyTorch/ONNX folder holds, or None if it holds no weights.

    ``identity_fn(format, quantization)`` names it once its format is known (else ``identity``,
    else ``<provider>:<real path>``); ``location`` overrides the configured location's label;
    ``sizes``: the files' sizes if the caller's walk already has them; ``subfolders``: whether
    the caller's listing of the folder found sub-folders (not links), if it has one."""
    folder = os.fspath(folder)
    try:
        # not a model folder: nothing of it to list below the top level
        facts = detect_folder(folder, _files.model_folder_files(folder, names, subfolders) if has_weights(names) else names)
    except ModelFileError as exc:  # a config of the wrong shape: this folder only is skipped
        ctx.warn(exc.path, exc.reason)
        return None
    fmt = facts.download_format or fallback_format
    if fmt is None:
        return None
    metadata = {**facts.metadata, **(extra_metadata or {})}
    if facts.download_format is None:
        metadata["format_from"] = "--format fallback"
    if identity_fn is not None:
        identity = identity_fn(fmt, facts.quantization)
    return Variant(
        provider=provider,
        identity=identity or f"{provider}:{real_path(folder)}",
        family=family or family_from_repo(os.path.basename(folder)),
        backend=backend or default_backend(fmt),
        download_format=fmt,
        quantization=facts.quantization,
        download_path=folder,
        download_files=facts.files,
        download_location=location or location_label(ctx, folder),
        source=source,
        chat_template=facts.chat_template,
        capabilities=facts.capabilities,
        metadata=metadata,
        file_sizes=sizes_of(sizes, facts.files),
    )


def sizes_of(sizes: dict[str, int] | None, names: tuple[str, ...]) -> dict[str, int] | None:
    """The sizes of ``names`` from ``sizes``; None unless every one is known."""
    if sizes is None:
        return None
    try:
        return {name: sizes[name] for name in names}
    except KeyError:
        return None


def has_weights(names: list[str]) -> bool:
    for name in names:  # a plain loop: runs for every folder of a scan
        if name.endswith(WEIGHT_SUFFIXES):
            return True
    return False


__all__ = ["Capabilities", "default_backend", "folder_variant", "gguf_variants", "has_weights",
           "location_label"]

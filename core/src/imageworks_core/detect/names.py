"""What file names say: quant labels and split GGUF sets."""

from __future__ import annotations

import re
from collections import defaultdict

_LABEL = re.compile(
    r"(?:^|[-._])(i?q\d+(?:_[a-z0-9]+)*|bf16|f16|f32|fp16|fp32|mxfp4(?:_moe)?|tq\d_\d)(?=$|[-._])", re.I
)
_GGUF_SUFFIX = re.compile(r"(-\d{5}-of-\d{5})?\.gguf$", re.I)  # compiled once: asked for every GGUF of a scan
_SHARD = re.compile(r"^(?P<stem>.+)-(?P<index>\d{5})-of-(?P<total>\d{5})\.gguf$", re.I)


def quant_label_from_filename(name: str) -> str | None:
    """``Qwen2.5-7B-Instruct-Q4_K_M.gguf`` -> ``q4_k_m`` (the last label in the name)."""
    stem = _GGUF_SUFFIX.sub("", name)
    labels = _LABEL.findall(stem)
    return labels[-1].lower() if labels else None


def is_projector_name(name: str) -> bool:
    return "mmproj" in name.lower()


def gguf_sets(names: list[str]) -> tuple[list[list[str]], list[str], list[str]]:
    """Group GGUF file names of one folder: (weight sets, projectors, incomplete split sets).

    A split set (``x-00001-of-00003.gguf``...) is one variant with its shards in order; every
    other GGUF file is a variant of its own; ``mmproj`` files are projectors.
    """
    if len(names) == 1:  # the common case (one quant in its folder): no grouping to do
        name = names[0]
        lowered = name.lower()
        if lowered.endswith(".gguf") and "mmproj" not in lowered and _SHARD.match(name) is None:
            return [[name]], [], []
    sets: list[list[str]] = []
    projectors: list[str] = []
    shards: dict[tuple[str, int], dict[int, str]] = defaultdict(dict)
    for name in sorted(names):
        if not name.lower().endswith(".gguf"):
            continue
        if is_projector_name(name):
            projectors.append(name)
            continue
        match = _SHARD.match(name)
        if match:
            shards[(match["stem"], int(match["total"]))][int(match["index"])] = name
        else:
            sets.append([name])
    incomplete = []
    for (_stem, total), parts in sorted(shards.items()):
        ordered = [parts[i] for i in sorted(parts)]
        if sorted(parts) == list(range(1, total + 1)):
            sets.append(ordered)
        else:
            incomplete.extend(ordered)
    sets.sort(key=lambda s: s[0])
    return sets, projectors, incomplete

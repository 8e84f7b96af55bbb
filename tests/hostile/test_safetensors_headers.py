"""safetensors headers: any length prefix, any JSON (or none) after it. The dtype read from them
is a known label or nothing, in bounded time and memory."""

from __future__ import annotations

import struct
import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from imageworks_core.detect import ModelFileError, detect_folder
from imageworks_core.detect.folder import safetensors_dtype
from imageworks_testing.fixtures import write_hf_folder

from .strategies import budget, JSON, RAW_BYTES, json_bytes, memory_bound, mutated, time_bound

REAL_HEADER = {"__metadata__": {"format": "pt"},
               "w": {"dtype": "BF16", "shape": [4, 4], "data_offsets": [0, 32]}}
HEADER_JSON = st.sampled_from([REAL_HEADER]).flatmap(mutated).map(json_bytes) | JSON.map(json_bytes) | RAW_BYTES
LENGTH = st.sampled_from(["true", "short", "long", "absurd", "big"]) | st.integers(0, 2**64 - 1)


@st.composite
def safetensors_file(draw) -> bytes:
    header = draw(HEADER_JSON)
    length = draw(LENGTH)
    declared = {"true": len(header), "short": max(len(header) - 3, 0), "long": len(header) + 1000,
                "absurd": 2**63,
                "big": 99 << 20}.get(length, length)
    return struct.pack("<Q", declared) + header + draw(st.binary(max_size=64))


@pytest.fixture(scope="module", autouse=True)
def _imports_done(tmp_path_factory):
    """What the first call imports is not the parser's memory."""
    folder = tmp_path_factory.mktemp("warm")
    write_hf_folder(folder)
    detect_folder(folder)


@budget(400)
@given(safetensors_file() | st.binary(max_size=16))
def test_header_dtype_is_a_label_or_nothing(data):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "model"  # a fixed name: tokens of a random one (tmpmlx…) would be read as labels
        folder.mkdir()
        (folder / "config.json").write_text("{}")
        (folder / "model.safetensors").write_bytes(data)
        with time_bound(10), memory_bound(len(data)):
            dtype = safetensors_dtype(folder / "model.safetensors")
            try:
                facts = detect_folder(folder)
            except ModelFileError as exc:  # only the config files are refused; the header is not one
                raise AssertionError(exc) from None
        assert dtype is None or isinstance(dtype, str)
        assert facts.download_format == "safetensors"
        assert facts.quantization in (None, "bf16", "fp16", "fp32", "fp8")

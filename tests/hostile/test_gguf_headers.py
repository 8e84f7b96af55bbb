"""GGUF headers written with the ``gguf`` package, then broken: truncated, overwritten with
absurd counts and string lengths, wrong and unknown value types; and headers built from
scratch field by field. Reading one is a GGUFInfo or a GGUFHeaderError, in bounded time and
memory; a scan beside a good model registers the good one and names the bad one."""

from __future__ import annotations

import functools
import os
import struct
import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from imageworks_core.detect import GGUFHeaderError, read_gguf_info
from imageworks_testing.fixtures import write_gguf

from .strategies import budget, assert_ran_clean, fresh, memory_bound, registered, time_bound, warned_about

ABSURD = [0, 1, 2**31, 2**32 - 1, 2**32, 2**62, 2**63, 2**64 - 1, 50_000_001, 64 * 1024 * 1024 + 1]


@functools.lru_cache(maxsize=1)
def valid_gguf() -> bytes:
    """A real header with every kind of value a reader meets: strings, scalars, arrays of
    strings and numbers, a chat template, a vocabulary."""
    with tempfile.TemporaryDirectory() as tmp:
        path = write_gguf(Path(tmp) / "m.gguf", basename="Base", size_label="7B", chat_template="{{ messages }}",
                          vocabulary=[f"tok{i}" for i in range(40)], extra={"general.license": "mit"})
        return path.read_bytes()


@st.composite
def broken_gguf(draw) -> bytes:
    data = bytearray(valid_gguf())
    header_end = min(len(data), 2048)  # the key/values: where a reader's decisions are
    for _ in range(draw(st.integers(0, 4))):
        offset = draw(st.integers(0, header_end - 1))
        kind = draw(st.sampled_from(["u64", "u32", "byte"]))
        if kind == "u64":
            patch = struct.pack("<Q", draw(st.sampled_from(ABSURD) | st.integers(0, 2**64 - 1)))
        elif kind == "u32":
            patch = struct.pack("<I", draw(st.integers(0, 20) | st.integers(0, 2**32 - 1)))  # value types 0-12 exist
        else:
            patch = bytes([draw(st.integers(0, 255))])
        data[offset:offset + len(patch)] = patch
    if draw(st.booleans()):
        data = data[:draw(st.integers(0, len(data)))]
    return bytes(data)


_GGUF_STRING = 8
_GGUF_ARRAY = 9


@st.composite
def scratch_gguf(draw) -> bytes:
    """A header built field by field, each length and count possibly lying."""
    out = [draw(st.sampled_from([b"GGUF", b"GGUF", b"GGUF", b"GGML", b"\0\0\0\0"])),
           struct.pack("<I", draw(st.sampled_from([2, 3, 3, 1, 4, 2**32 - 1]))),
           struct.pack("<Q", draw(st.sampled_from([1, 0, 2**63]) | st.integers(0, 2**64 - 1))),
           struct.pack("<Q", kv_count := draw(st.integers(0, 6) | st.sampled_from(ABSURD)))]
    for _ in range(min(kv_count, 6)):
        key = draw(st.sampled_from(["general.architecture", "general.file_type", "llama.context_length",
                                    "tokenizer.chat_template", "general.basename", "tokenizer.ggml.tokens",
                                    "general.tags"]) | st.text(max_size=8)).encode("utf-8", "surrogatepass")
        declared = draw(st.just(len(key)) | st.sampled_from(ABSURD))
        out += [struct.pack("<Q", declared), key]
        vtype = draw(st.integers(0, 13) | st.integers(0, 2**32 - 1))
        out.append(struct.pack("<I", vtype))
        out.append(draw(_value_bytes(vtype)))
    out.append(draw(st.binary(max_size=64)))
    return b"".join(out)


@st.composite
def _value_bytes(draw, vtype: int, depth: int = 0) -> bytes:
    if vtype == _GGUF_STRING:
        text = draw(st.binary(max_size=32))
        return struct.pack("<Q", draw(st.just(len(text)) | st.sampled_from(ABSURD))) + text
    if vtype == _GGUF_ARRAY:
        item = draw(st.integers(0, 12))
        count = draw(st.integers(0, 4) | st.sampled_from(ABSURD))
        items = b"".join(draw(_value_bytes(item, depth + 1)) for _ in range(min(count, 4))) if depth < 3 else b""
        return struct.pack("<IQ", item, count) + items
    return draw(st.binary(min_size=0, max_size=8))


def _nested_arrays(depth: int) -> bytes:
    """A key whose value is an array of arrays of arrays…: a reader must not recurse into the stack."""
    key = b"general.deep"
    body = struct.pack("<IQ", _GGUF_ARRAY, 1) * depth + struct.pack("<IQ", 4, 0)
    return b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", len(key)) + key + struct.pack("<I", _GGUF_ARRAY) + body


def check_read(tmp: Path, data: bytes) -> None:
    path = tmp / "x.gguf"
    path.write_bytes(data)
    with time_bound(10), memory_bound(len(data)):
        try:
            info = read_gguf_info(path)
        except GGUFHeaderError as exc:
            assert str(path) in str(exc) and "\n" not in str(exc)
            return
    assert info.architecture is None or isinstance(info.architecture, str)
    assert info.quant is None or isinstance(info.quant, str)
    assert info.context_length is None or (isinstance(info.context_length, int) and not isinstance(info.context_length, bool))
    assert info.chat_template is None or isinstance(info.chat_template, str)
    assert info.tensor_count <= len(data)


@budget(300)
@given(broken_gguf())
def test_mutated_headers_read_or_refused(data):
    with tempfile.TemporaryDirectory() as tmp:
        check_read(Path(tmp), data)


@budget(300)
@given(scratch_gguf())
def test_headers_from_scratch_read_or_refused(data):
    with tempfile.TemporaryDirectory() as tmp:
        check_read(Path(tmp), data)


def test_deeply_nested_arrays_and_absurd_counts(tmp_path):
    for data in (_nested_arrays(100_000), _nested_arrays(5),
                 b"GGUF" + struct.pack("<IQQ", 3, 2**63, 0),  # 2**63 tensors in 24 bytes
                 b"GGUF" + struct.pack("<IQQ", 3, 0, 2**63)):
        check_read(tmp_path, data)
        try:
            read_gguf_info(tmp_path / "x.gguf")
        except GGUFHeaderError:
            continue
        raise AssertionError(f"accepted {data[:40]!r}")


@budget(40)
@given(broken_gguf() | scratch_gguf())
def test_scan_registers_the_good_model_and_names_the_bad(sandbox, cli, data):
    weights = sandbox.root / "models" / "weights"
    good = weights / "good" / "Good-Q4_K_M.gguf"
    if not good.exists():
        good.parent.mkdir(parents=True)
        good.write_bytes(valid_gguf())
    fresh(sandbox, weights / "bad")
    bad = weights / "bad" / "Bad-Q8_0.gguf"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(data)
    with time_bound(30):
        result = cli("scan", "--base", str(weights))
    assert_ran_clean(result)
    rows = {os.path.join(r["download_path"], r["download_files"][0]) for r in registered(cli)}
    assert str(good) in rows
    assert str(bad) in rows or warned_about(result, str(bad)), result.stderr


def _outcome(read, path: Path):
    """What a reader makes of a file: its values (repr: NaN equals NaN), or its refusal."""
    try:
        result = read(path)
    except GGUFHeaderError as exc:
        return "refused", str(exc)
    if not isinstance(result, tuple):
        result = (result.version, result.tensor_count, result.values)
    return "read", repr(result)


def _as_gguf_reads_it(path: Path, keys) -> tuple[int, int, dict]:
    """The header as the format's own reader (llama.cpp's ``gguf`` package) reads it: version,
    tensor count and the values of ``keys``."""
    import gguf

    reader = gguf.GGUFReader(path)
    return (int(reader.fields["GGUF.version"].contents()), len(reader.tensors),
            {key: reader.fields[key].contents() for key in keys})


@pytest.mark.parametrize("vocabulary", [0, 40, 150_000])
@pytest.mark.parametrize("template", [0, 65_000, 70_000, 2_000_000])
def test_large_headers_read_as_the_gguf_package_reads_them(tmp_path, vocabulary, template):
    """Vocabularies and templates that run past the reader's first block and past a refill block
    (150,000 tokens: a string across a block's end, an array of token types skipped past the
    buffer) give what the ``gguf`` package reads; a cut file gives the same values or a refusal."""
    path = write_gguf(tmp_path / "m.gguf", basename="Big", size_label="7B", chat_template="t" * template or None,
                      vocabulary=[f"token-{i}" for i in range(vocabulary)] or None)
    info = read_gguf_info(path)
    assert {"general.architecture", "general.basename", "general.size_label"} <= set(info.values)
    assert ("tokenizer.chat_template" in info.values) == bool(template)
    assert (info.version, info.tensor_count, info.values) == _as_gguf_reads_it(path, info.values)
    whole = _outcome(read_gguf_info, path)
    data = path.read_bytes()
    for cut in (len(data) // 3, len(data) // 2, len(data) - 100):
        path.write_bytes(data[:cut])
        outcome = _outcome(read_gguf_info, path)
        assert outcome == whole or outcome[0] == "refused", (cut, outcome)

"""Generators of hostile input, and the checks every property shares: bounded in time and in
memory, and what a command run beside a good model must show."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import tracemalloc
from typing import Any, Iterator

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# -- the budget -----------------------------------------------------------------------------------
# CI: a fixed, derandomized set of examples (the same every run), sized so this folder takes
# about a minute and a half. ``IMAGEWORKS_HOSTILE_EXAMPLES=5000``: that many fresh random
# examples per property instead (minutes to hours; failures print a blob to replay them).
LONG_RUN = int(os.environ.get("IMAGEWORKS_HOSTILE_EXAMPLES", "0") or 0)
_SLOW_OK = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large,
            HealthCheck.filter_too_much]
settings.register_profile("hostile-ci", derandomize=True, deadline=None, print_blob=True, database=None,
                          suppress_health_check=_SLOW_OK)
settings.register_profile("hostile-long", deadline=None, print_blob=True, database=None,
                          suppress_health_check=_SLOW_OK)
settings.load_profile("hostile-long" if LONG_RUN else "hostile-ci")


def budget(ci: int) -> settings:
    """``ci`` examples in CI; the long run's count when one is asked for."""
    return settings(max_examples=LONG_RUN or ci)


# -- text and JSON of any shape -----------------------------------------------------------------
# Lone surrogates (what a JSON "\udcff" escape or a non-UTF-8 file name becomes), NUL, newlines,
# path separators: the characters parsers trip on.
ODD_CHARS = ["\udcff", "\ud800", "\x00", "\n", "/", "\\", ".", "\u202e", "\ufeff"]
ANY_TEXT = st.text(alphabet=st.characters() | st.sampled_from(ODD_CHARS), max_size=16)
# Field names the parsers read, so generated objects hit real code paths, and any other name.
KNOWN_KEYS = [
    "architectures", "model_type", "torch_dtype", "dtype", "text_config", "vision_config", "audio_config",
    "max_position_embeddings", "quantization_config", "quantization", "quant_method", "bits", "w_bit",
    "q_group_size", "group_size", "config_groups", "weights", "num_bits", "type", "format", "load_in_8bit",
    "bnb_4bit_quant_type", "chat_template", "name", "template", "desc_act", "version",
    # Ollama manifests and config blobs
    "schemaVersion", "mediaType", "config", "layers", "digest", "size", "model_format", "model_family",
    "model_families", "file_type",
]
KEYS = st.sampled_from(KNOWN_KEYS) | ANY_TEXT
SCALARS = (st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
           | st.floats(allow_nan=True, allow_infinity=True) | ANY_TEXT
           | st.sampled_from(["awq", "gptq", "exl2", "bitsandbytes", "fp8", "compressed-tensors", "nvfp4", "bfloat16",
                              "float16", "F16", "sha256:" + "0" * 64, "application/vnd.ollama.image.model"]))
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=5),
                    max_leaves=24)
JSON_OBJECTS = st.dictionaries(KEYS, JSON, max_size=8)


def json_bytes(value: Any) -> bytes:
    """As a tool would write it (NaN and Infinity included: Python's json writes and reads them)."""
    return json.dumps(value).encode()


@st.composite
def mutated(draw, base: Any) -> Any:
    """``base`` with one value somewhere replaced by any JSON (or a key added): a file that is
    nearly right, which reaches deeper code than a random one."""
    doc = json.loads(json.dumps(base))
    paths = list(_paths(doc))
    path = draw(st.sampled_from(paths))
    value = draw(JSON)
    if not path:
        return value
    node = doc
    for part in path[:-1]:
        node = node[part]
    if isinstance(node, dict) and draw(st.booleans()):
        node[draw(KEYS)] = value
    else:
        node[path[-1]] = value
    return doc


def _paths(node: Any, prefix: tuple = ()) -> Iterator[tuple]:
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _paths(value, (*prefix, i))


RAW_BYTES = st.binary(max_size=512) | st.sampled_from([
    b"", b"{", b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 50_000 + b"1" + b"}" * 50_000, b"\xff\xfe{}", b"null",
    b"NaN", b'"\\ud800"', b"\x00" * 64,
])


# -- bounds every example runs under --------------------------------------------------------------
class Hang(Exception):
    """An example ran past its time bound: a loop that does not end on hostile input."""


@contextlib.contextmanager
def time_bound(seconds: float = 10.0) -> Iterator[None]:
    def expire(signum, frame):
        raise Hang(f"no answer after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def memory_bound(file_size: int) -> Iterator[None]:
    """Peak memory of the block within a few buffers plus a small multiple of the file's real
    size, whatever sizes and counts the file claims."""
    tracemalloc.start()
    try:
        yield
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    limit = (4 << 20) + 64 * file_size
    assert peak <= limit, f"{peak} bytes at peak for a {file_size}-byte file"


# -- what a command shows ---------------------------------------------------------------------------
def assert_ran_clean(result) -> None:
    assert result.exit_code == 0, result.stderr
    for marker in ("unexpected error", "Traceback"):
        assert marker not in result.stderr and marker not in result.stdout, result.stderr


def warned_about(result, needle: str) -> bool:
    """One warning line names ``needle`` (control characters in it printed escaped; a name that is
    not UTF-8 as its bytes on a terminal, as ``\\udcXX`` through click's test runner)."""
    from imageworks_core.cli.base import one_line

    shown = one_line(needle).encode("utf-8", "backslashreplace").decode("utf-8")
    return any(line.startswith("warning:") and (shown in line or one_line(needle) in line)
               for line in result.stderr.splitlines())


def registered(cli, *extra: str) -> list[dict]:
    return cli("list", "--json", "--include-testing", *extra).json()


def fresh(sandbox, *folders) -> None:
    """Each example starts from nothing: no registry, scan cache or log of an earlier example,
    and ``folders`` (the bad model's) removed."""
    import shutil

    for path in (sandbox.registry_dir, sandbox.root / "cache", sandbox.log_dir, *folders):
        shutil.rmtree(path, ignore_errors=True)

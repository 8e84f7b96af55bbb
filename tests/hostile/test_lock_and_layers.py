"""Lock files and registry layers of any shape. A lock file is refused whole (one line, the
field named) or every model in it is safe to fetch; a layer file is read or refused with its
file:line:col, never half-read and never overwritten."""

from __future__ import annotations

import contextlib
import re
import tempfile
from pathlib import Path

import tomli_w
from hypothesis import given
from hypothesis import strategies as st

from imageworks_core import BadInputError, RegistryFormatError
from imageworks_core.kit import unsafe_path_reason
from imageworks_core.lockfile import check_lock, read_lock
from imageworks_core.registry.layers import read_layer

from .strategies import budget, JSON, RAW_BYTES, assert_ran_clean, fresh, json_bytes, mutated, time_bound
from .test_gguf_headers import valid_gguf

GOOD_MODEL = {"name": "good-vllm-safetensors", "source": "hf:acme/good", "revision": "main", "commit": "a" * 40,
              "format": "safetensors", "quantization": "bf16", "backend": "vllm", "location": "linux_wsl",
              "roles": ["chat"], "files": [{"path": "config.json", "size": 10, "sha256": "b" * 64},
                                           {"path": "sub/model.safetensors", "size": 4096, "sha256": "c" * 64}]}
GOOD_LOCK = {"version": 1, "model": [GOOD_MODEL]}


def _toml_safe(value):
    """TOML has no null and no keys but strings: drop what it cannot say."""
    if isinstance(value, dict):
        return {str(k): _toml_safe(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_toml_safe(v) for v in value if v is not None]
    return value


@budget(500)
@given(mutated(GOOD_LOCK) | JSON)
def test_a_lock_is_refused_whole_or_safe(doc):
    try:
        with time_bound(5):
            models = check_lock(doc if isinstance(doc, dict) else {"version": 1, "model": doc}, "team.lock")
    except BadInputError as exc:
        assert str(exc).startswith("team.lock: ") and "\n" not in str(exc)
        return
    names = [m["name"] for m in models]
    assert len(names) == len(set(names))
    for model in models:
        assert re.fullmatch(r"hf:[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*", model["source"])
        assert re.fullmatch(r"[0-9a-f]{40}", model["commit"])
        paths = [f["path"] for f in model["files"]]
        assert len({p.casefold() for p in paths}) == len(paths)
        for f in model["files"]:
            assert unsafe_path_reason(f["path"]) is None
            assert type(f["size"]) is int and 0 <= f["size"] < 1 << 44
            assert re.fullmatch(r"[0-9a-f]{64}", f["sha256"])


@budget(200)
@given(mutated(GOOD_LOCK).map(_toml_safe).map(lambda d: tomli_w.dumps(d).encode() if isinstance(d, dict) else b"")
       | RAW_BYTES)
def test_lock_file_bytes(content):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "team.lock"
        path.write_bytes(content)
        with time_bound(5), refused_in_one_line(BadInputError, str(path)):
            read_lock(str(path))


@contextlib.contextmanager
def refused_in_one_line(error: type[Exception], path: str):
    """The block either works or raises ``error``: one line naming ``path``."""
    try:
        yield
    except error as exc:
        assert path in str(exc) and "\n" not in str(exc).strip()


LAYER = {"schema_version": 1, "models": [{
    "name": "a-llamacpp-gguf-q4_k_m", "display_name": "A", "family": "a", "backend": "llamacpp",
    "download_format": "gguf", "quantization": "q4_k_m", "download_path": "/m/a", "download_files": ["a.gguf"],
    "download_size_bytes": 10, "capabilities": {"text": True}, "metadata": {"x": 1}, "roles": ["chat"],
    "artifacts": {"files": [{"path": "a.gguf", "size": 10, "sha256": "d" * 64}], "aggregate_sha256": None}}]}


@budget(400)
@given(mutated(LAYER).map(json_bytes) | JSON.map(json_bytes) | RAW_BYTES)
def test_layer_files_are_read_or_refused(content):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model_registry.discovered.json"
        path.write_bytes(content)
        with time_bound(5), refused_in_one_line(RegistryFormatError, str(path)):
            layer = read_layer(path, "discovered")
            assert layer.exists
            layer.entries  # noqa: B018 - built: every raw object becomes an entry


@budget(50)
@given(mutated(LAYER).map(json_bytes) | RAW_BYTES)
def test_commands_on_a_hostile_layer(sandbox, cli, content):
    fresh(sandbox)
    sandbox.registry_dir.mkdir(parents=True)
    layer = sandbox.layer("discovered")
    layer.write_bytes(content)
    (sandbox.root / "empty").mkdir(exist_ok=True)
    with time_bound(30):
        listed = cli("list", "--json")
        scan = cli("scan", "--base", str(sandbox.root / "empty"))
    for result in (listed, scan):
        assert result.exit_code in (0, 2), result.stderr
        assert "unexpected error" not in result.stderr and "Traceback" not in result.stderr
        if result.exit_code == 2:
            assert result.stderr.startswith("error: ") and str(layer) in result.stderr
    if listed.exit_code == 2:
        assert layer.read_bytes() == content  # a layer that cannot be read is never overwritten


@budget(40)
@given(st.sampled_from(["imageworks.toml", "content-hashes.json", "validated-layers", "scan"]),
       RAW_BYTES | JSON.map(json_bytes) | st.just(b"a = " + b"[" * 3000 + b"]" * 3000))
def test_settings_and_caches_of_any_bytes(sandbox, cli, which, content):
    """The project settings file is refused with its name (exit 2); a cache of any content is
    as if empty: the command works."""
    from imageworks_core.cachedir import cache_path

    fresh(sandbox)
    weights = sandbox.root / "models" / "weights"
    (weights / "a").mkdir(parents=True, exist_ok=True)
    if not (weights / "a" / "A-Q4_K_M.gguf").exists():
        (weights / "a" / "A-Q4_K_M.gguf").write_bytes(valid_gguf())
    sandbox.registry_dir.mkdir(parents=True)
    if which == "imageworks.toml":
        target = sandbox.registry_dir / which
    else:
        cli("scan", "--base", str(weights))  # the caches exist, then are overwritten
        cli("verify", "--hash")
        target = cache_path(sandbox.registry_dir, which)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(content)
    with time_bound(30):
        results = [cli("scan", "--base", str(weights)), cli("verify", "--hash"), cli("list", "--json")]
    for result in results:
        assert "unexpected error" not in result.stderr and "Traceback" not in result.stderr, result.stderr
        if which == "imageworks.toml" and result.exit_code == 2:
            assert result.stderr.startswith("error: ") and str(target) in result.stderr
        else:
            assert result.exit_code == 0, result.stderr

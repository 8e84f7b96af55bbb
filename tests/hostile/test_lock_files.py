"""A lock file comes from git, from a colleague: ``sync`` checks it whole before its first
request. Each hostile shape, online against the fake hub: exit 2, one line naming the field,
no request made, nothing written."""

from __future__ import annotations

import copy

import pytest
import tomli_w

GOOD_FILES = {"config.json": b'{"torch_dtype": "bfloat16"}', "model.safetensors": b"\0" * 4096}


def _good_lock(hub) -> dict:
    repo = hub.add_repo("acme/good", GOOD_FILES)
    files = [{"path": p, "size": f.size, "sha256": f.sha256} for p, f in sorted(repo.files.items())]
    return {"version": 1, "model": [{"name": "good-vllm-safetensors", "source": "hf:acme/good", "revision": "main",
                                     "commit": repo.commit, "format": "safetensors", "files": files}]}


def _set(doc, where, value):
    """``where``: a path into the first model (``files.0.path``) or ``^model`` for the top."""
    if where.startswith("^"):
        doc[where[1:]] = value
        return doc
    node = doc["model"][0]
    *parents, last = where.split(".")
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    node[int(last) if last.isdigit() else last] = value
    return doc


HOSTILE = [
    ("^model", 5), ("^model", ["a", 3]), ("files", 5), ("files", ["a", 3]), ("files", []),
    ("source", "hf:../../x"), ("source", "hf:/etc/passwd"), ("source", "hf:"), ("source", 7),
    ("name", "../../evil"), ("name", ["x"]), ("commit", "main"), ("commit", "z" * 40),
    ("revision", "../x"), ("roles", "chat"), ("format", 3),
    ("files.0.path", "../../outside"), ("files.0.path", "/etc/passwd"), ("files.0.path", "a/./b"),
    ("files.0.path", ".git/config"), ("files.0.path", "a\\b"), ("files.0.path", 12),
    ("files.0.sha256", "not-hex"), ("files.0.sha256", "A" * 64), ("files.0.sha256", None),
    ("files.0.size", -1), ("files.0.size", 1 << 62), ("files.0.size", "12"), ("files.0.size", True),
    ("files.1.path", "config.json"), ("files.1.path", "CONFIG.json"),
]


@pytest.mark.parametrize("where, value", HOSTILE, ids=[f"{w}={v!r}"[:40] for w, v in HOSTILE])
def test_hostile_lock_is_refused_before_any_request(sandbox, cli, hub, tmp_path, where, value):
    doc = _good_lock(hub)
    doc["model"].append(copy.deepcopy(doc["model"][0]) | {"name": "second"})
    doc = _set(doc, where, value) if value is not None else _drop(doc, where)
    lock = tmp_path / "team.lock"
    lock.write_bytes(tomli_w.dumps(doc).encode())
    hub.requests.clear()
    result = cli("sync", str(lock))
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert result.stderr.startswith("error: ") and "unexpected" not in result.stderr
    assert str(lock) in result.stderr
    assert hub.requests == []
    assert not (sandbox.root / "models").exists() and not sandbox.layer("discovered").exists()


def _drop(doc, where):
    *parents, last = where.split(".")
    node = doc["model"][0]
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    del node[last]
    return doc


def test_duplicate_model_names_and_files_that_are_not_toml(sandbox, cli, hub, tmp_path):
    doc = _good_lock(hub)
    doc["model"].append(copy.deepcopy(doc["model"][0]))
    lock = tmp_path / "team.lock"
    lock.write_bytes(tomli_w.dumps(doc).encode())
    for content in (tomli_w.dumps(doc).encode(), b"\xff\xfe version = 1", b"a = " + b"[" * 5000 + b"]" * 5000,
                    b"version = 1\nmodel = 5"):
        lock.write_bytes(content)
        result = cli("sync", str(lock))
        assert result.exit_code == 2 and "unexpected" not in result.stderr, result.stderr
    assert cli("sync", str(tmp_path)).exit_code == 2  # a folder
    assert hub.requests == []


def test_a_good_lock_still_syncs(sandbox, cli, hub, tmp_path, monkeypatch):
    monkeypatch.setenv("IMAGEWORKS_USE_ARIA2", "never")
    lock = tmp_path / "team.lock"
    lock.write_bytes(tomli_w.dumps(_good_lock(hub)).encode())
    result = cli("sync", str(lock))
    assert result.exit_code == 0, result.stderr
    assert [r["name"] for r in cli("list", "--json").json()] == ["good-vllm-safetensors"]

"""Ollama manifests and config blobs of any shape (nearly right, any JSON, not JSON, nested
100,000 deep) and model blobs of any content: ``import-ollama`` beside a good model imports
the good one and names the bad manifest; nothing it imports points at a blob it did not check."""

from __future__ import annotations

import hashlib
import json
import os
import shutil

from hypothesis import given
from hypothesis import strategies as st

from imageworks_testing.fixtures import write_ollama_model

from .strategies import budget, JSON, RAW_BYTES, assert_ran_clean, fresh, json_bytes, mutated, registered, time_bound, \
    warned_about


def _store(sandbox):
    store = sandbox.root / "ollama"
    if not (store / "manifests" / "registry.ollama.ai" / "library" / "good").exists():
        write_ollama_model(store, "good:1b")
    return store


def _fresh_bad_model(sandbox):
    """The good model kept, the bad one written again, nothing registered yet."""
    store = _store(sandbox)
    fresh(sandbox, store / "manifests" / "registry.ollama.ai" / "library" / "bad")
    return (store, *_bad_manifest(store))


def _bad_manifest(store):
    path = write_ollama_model(store, "bad:7b", tensor_values=8)
    return path, json.loads(path.read_text())


def _put_blob(store, data: bytes) -> dict:
    digest = hashlib.sha256(data).hexdigest()
    (store / "blobs" / f"sha256-{digest}").write_bytes(data)
    return {"digest": f"sha256:{digest}", "size": len(data)}


def _import_and_check(sandbox, cli, store):
    with time_bound(30):
        result = cli("import-ollama")
    assert_ran_clean(result)
    rows = {r["served_model_id"]: r for r in registered(cli)}
    assert "good:1b" in rows, result.stderr
    assert "bad:7b" in rows or warned_about(result, "library/bad/7b"), result.stderr
    for row in rows.values():  # whatever was imported lists regular blob files of the store only
        for rel in row["download_files"]:
            path = store / rel
            assert not path.is_symlink() and path.is_file() and os.path.realpath(path).startswith(str(store))


def any_version_of(doc) -> st.SearchStrategy[bytes]:
    """``doc`` nearly right, any JSON, or bytes that are not JSON at all."""
    return mutated(doc).map(json_bytes) | JSON.map(json_bytes) | RAW_BYTES


@budget(50)
@given(st.data())
def test_manifests_of_any_shape(sandbox, cli, data):
    store, path, manifest = _fresh_bad_model(sandbox)
    path.write_bytes(data.draw(any_version_of(manifest)))
    _import_and_check(sandbox, cli, store)


@budget(50)
@given(st.data())
def test_config_blobs_of_any_shape(sandbox, cli, data):
    store, path, manifest = _fresh_bad_model(sandbox)
    config = json.loads((store / "blobs" / ("sha256-" + manifest["config"]["digest"][7:])).read_bytes())
    content = data.draw(any_version_of(config))
    manifest["config"].update(_put_blob(store, content))
    path.write_text(json.dumps(manifest))
    _import_and_check(sandbox, cli, store)


@budget(40)
@given(st.binary(max_size=256) | st.sampled_from([b"GGUF", b"GGUF\x03\x00\x00\x00" + b"\xff" * 16]))
def test_model_blobs_of_any_content(sandbox, cli, content):
    store, path, manifest = _fresh_bad_model(sandbox)
    layer = next(l for l in manifest["layers"] if l["mediaType"].endswith(".model"))
    layer.update(_put_blob(store, content))
    path.write_text(json.dumps(manifest))
    _import_and_check(sandbox, cli, store)
    assert warned_about(cli("import-ollama"), "library/bad/7b")  # random bytes are never a model


def test_blob_links_and_folders(sandbox, cli, tmp_path):
    """A model blob that is a link (to /etc/passwd, to a good GGUF outside the store, to another
    blob), a folder, or a blob folder that is itself a link to another disk."""
    store = _store(sandbox)
    path, manifest = _bad_manifest(store)
    layer = next(l for l in manifest["layers"] if l["mediaType"].endswith(".model"))
    blob = store / "blobs" / ("sha256-" + layer["digest"][7:])
    outside = tmp_path / "outside.gguf"
    shutil.copyfile(blob, outside)
    good_blob = next(p for p in (store / "blobs").iterdir() if p != blob and p.stat().st_size > 100)
    for make in (lambda: blob.symlink_to("/etc/passwd"), lambda: blob.symlink_to(outside),
                 lambda: blob.symlink_to(good_blob.name), lambda: blob.mkdir()):
        fresh(sandbox)
        saved = blob.read_bytes() if blob.is_file() and not blob.is_symlink() else outside.read_bytes()
        blob.unlink() if blob.is_symlink() or blob.is_file() else blob.rmdir()
        make()
        _import_and_check(sandbox, cli, store)
        assert "bad:7b" not in {r["served_model_id"] for r in registered(cli)}
        blob.unlink() if blob.is_symlink() else blob.rmdir()
        blob.write_bytes(saved)
    # the whole blobs folder on another disk, linked: still the store's own blobs
    fresh(sandbox)
    moved = tmp_path / "other-disk-blobs"
    shutil.move(store / "blobs", moved)
    (store / "blobs").symlink_to(moved)
    result = cli("import-ollama")
    assert_ran_clean(result)
    assert {"good:1b", "bad:7b"} <= {r["served_model_id"] for r in registered(cli)}, result.stderr

"""Content hashing: parallel, cached, and failing loudly rather than hanging."""

from __future__ import annotations

import ctypes
import hashlib
import mmap
import os

import pytest

from imageworks_core.kit import aligned_buffer
from imageworks_core import hashing
from imageworks_core.cachedir import cache_path
from imageworks_core.hashing import HashCache, hash_files, start_hashing


def _files(tmp_path, sizes):
    paths = []
    for i, size in enumerate(sizes):
        path = tmp_path / f"f{i}.bin"
        path.write_bytes(os.urandom(size))
        paths.append(str(path))
    return paths


def test_aligned_buffer_starts_on_a_page_and_takes_reads(tmp_path):
    view = aligned_buffer(3 << 20)
    address = ctypes.addressof(ctypes.c_char.from_buffer(view))
    assert address % mmap.PAGESIZE == 0
    assert len(view) == 3 << 20 and not view.readonly
    data = os.urandom(5000)
    (tmp_path / "x").write_bytes(data)
    with open(tmp_path / "x", "rb", buffering=0) as handle:
        assert handle.readinto(view) == 5000
    assert bytes(view[:5000]) == data
    with pytest.raises(ValueError):
        aligned_buffer(0)


def test_hash_files_hashes_in_parallel_fills_the_cache_and_reports_each(tmp_path):
    paths = _files(tmp_path, [0, 1, hashing.CHUNK + 17, 3 * hashing.CHUNK, 4096])
    missing = str(tmp_path / "gone.bin")
    cache = HashCache(tmp_path / "cache.json")
    done: list[str] = []
    results = hash_files([*paths, missing, paths[0]], cache, workers=3, on_done=done.append)
    for path in paths:
        assert results[path] == hashlib.sha256(open(path, "rb").read()).hexdigest()
    assert isinstance(results[missing], FileNotFoundError)
    assert sorted(done) == sorted(paths)  # each once, a repeated path included once
    cache.save()
    again = HashCache(tmp_path / "cache.json")
    assert hash_files(paths, again, on_done=lambda p: pytest.fail(f"{p} hashed again")) == {
        p: results[p] for p in paths}


def test_an_unexpected_error_while_hashing_is_raised_not_waited_for(tmp_path, monkeypatch):
    paths = _files(tmp_path, [10, 20, 30])

    def broken(path):
        raise RuntimeError(f"cannot hash {path}")

    monkeypatch.setattr(hashing, "sha256_of", broken)
    with pytest.raises(RuntimeError, match="cannot hash"):
        hash_files(paths, HashCache(None), workers=2)


def test_start_hashing_hands_back_results_and_saves_the_cache(tmp_path, monkeypatch):
    folder = tmp_path / "model"
    folder.mkdir()
    paths = _files(folder, [100, 200])

    class View:
        rows = {"m": {"name": "m", "download_path": str(folder), "download_files": ["f0.bin", "f1.bin"]},
                "logical": {"name": "logical"}}

    running = start_hashing(tmp_path / "registry", View(), [])
    results = running.result()
    assert set(results) == set(paths)
    assert cache_path(tmp_path / "registry", hashing.CACHE_NAME).is_file()

    monkeypatch.setattr(hashing, "hash_files", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("boom")))
    with pytest.raises(RuntimeError, match="boom"):
        start_hashing(tmp_path / "registry", View(), []).result()

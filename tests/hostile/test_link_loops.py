"""A link to itself in a folder a store lists (every stat of it fails with ELOOP): it is no file
and no folder, and everything else in that folder is still read.

``os.DirEntry.is_file()`` raises for such a link, where ``os.path.isfile`` answers False; asked
inside a listing, it ended the listing (found by the long run of ``test_hf_cache.py``). One loop
at the top of a Hugging Face cache hid every repo from ``ingest-local-hf`` and made ``cleanup``
fail with an unexpected error; one in a snapshot or an LM Studio model folder lost the files
listed after it. A folder's listing order is the file system's, so each folder here holds
several loops: with the old listing, the chance that every good file came before every loop is
under 2%."""

from __future__ import annotations

from imageworks_testing.fixtures import write_gguf, write_hf_folder

from .strategies import assert_ran_clean, registered, warned_about
from .test_hf_cache import COMMIT, _cache_repo

LOOPS = ("a-loop", "m-loop.gguf", "z-loop.safetensors")


def loops_in(folder) -> list:
    paths = [folder / name for name in LOOPS]
    for path in paths:
        path.symlink_to(path.name)
    return paths


def rows_at(cli, path) -> list[dict]:
    return [row for row in registered(cli) if row["download_path"] == str(path)]


def test_hugging_face_cache(sandbox, cli):
    cache = sandbox.root / "hf_home" / "hub"
    _cache_repo(cache, "models--good--Model")
    _, snapshot = _cache_repo(cache, "models--other--Model")
    for name in ("models--aaa--Loop", "models--mmm--Loop", "models--zzz--Loop"):
        (cache / name).symlink_to(name)
    in_snapshot = loops_in(snapshot)
    result = cli("ingest-local-hf", program="imageworks-loader")
    assert_ran_clean(result)
    assert rows_at(cli, cache / "models--good--Model" / "snapshots" / COMMIT), result.stderr
    [other] = rows_at(cli, snapshot)
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= set(other["download_files"])
    assert not set(LOOPS) & set(other["download_files"])
    for path in in_snapshot:
        assert warned_about(result, str(path)), result.stderr
    assert_ran_clean(cli("cleanup", "--older-than", "0"))


def test_owner_repo_folders(sandbox, cli):
    root = sandbox.root / "downloads"
    folder = write_hf_folder(root / "acme" / "Model")
    loops_in(folder)
    loops_in(root / "acme")
    result = cli("ingest-local-hf", "--root", str(root), program="imageworks-loader")
    assert_ran_clean(result)
    [row] = rows_at(cli, folder)
    assert "model.safetensors" in row["download_files"]


def test_lm_studio_model_folder(sandbox, cli):
    repo = sandbox.home / ".lmstudio" / "models" / "pub" / "Good-GGUF"
    write_gguf(repo / "Good-Q4_K_M.gguf")
    loops_in(repo)
    result = cli("import-lmstudio")
    assert_ran_clean(result)
    [row] = rows_at(cli, repo)
    assert row["download_files"] == ["Good-Q4_K_M.gguf"]


def test_scanned_folders(sandbox, cli):
    base = sandbox.root / "models" / "weights"
    folder = write_hf_folder(base / "acme" / "Model")
    loose = write_gguf(base / "loose" / "Loose-Q4_K_M.gguf").parent
    named = loops_in(folder) + loops_in(loose)
    result = cli("scan", "--base", str(base))
    assert_ran_clean(result)
    assert "model.safetensors" in rows_at(cli, folder)[0]["download_files"]
    assert rows_at(cli, loose)[0]["download_files"] == ["Loose-Q4_K_M.gguf"]
    for path in named:
        assert warned_about(result, str(path)), result.stderr


def test_detect_folder_lists_past_a_loop(tmp_path):
    from imageworks_core.kit import detect_folder, file_names

    folder = write_hf_folder(tmp_path / "Model")
    loops_in(folder)
    assert file_names(folder) == ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"]
    assert detect_folder(folder).download_format == "safetensors"

import os

from imageworks_testing.fixtures import write_gguf, write_hf_folder


def make_cache_repo(cache, repo_id, commit, files_writer, refs=("main",)):
    folder = cache / f"models--{repo_id.replace('/', '--')}"
    snapshot = folder / "snapshots" / commit
    staging = folder / "staging"
    files_writer(staging)
    (folder / "blobs").mkdir(parents=True)
    snapshot.mkdir(parents=True)
    for path in sorted(staging.iterdir()):
        blob = folder / "blobs" / f"blob-{path.name}"
        path.rename(blob)
        (snapshot / path.name).symlink_to(os.path.relpath(blob, snapshot))
    staging.rmdir()
    (folder / "refs").mkdir()
    for ref in refs:
        (folder / "refs" / ref).write_text(commit)
    return snapshot


def test_ingest_owner_repo_and_cache(sandbox, cli, hub):
    weights = sandbox.root / "models" / "weights"
    write_hf_folder(weights / "Qwen" / "Qwen2.5-7B-Instruct")
    write_hf_folder(weights / "Qwen" / "Qwen2.5-7B-Instruct@v1")
    cache = sandbox.root / "hf_home" / "hub"
    commit = "c" * 40
    make_cache_repo(cache, "meta/Llama-3.2-1B", commit, lambda d: write_hf_folder(d))
    make_cache_repo(cache, "bartowski/Foo-GGUF", "d" * 40,
                    lambda d: (write_gguf(d / "Foo-Q4_K_M.gguf"), write_gguf(d / "Foo-Q8_0.gguf", file_type=7)), refs=())
    broken = cache / "models--x--broken" / "snapshots" / ("e" * 40)
    broken.mkdir(parents=True)
    (broken / "model.safetensors").symlink_to("../../blobs/missing")
    result = cli("ingest-local-hf", program="imageworks-loader")
    assert result.exit_code == 0, result.stderr
    assert "broken symlink" in result.stderr
    rows = {r["name"]: r for r in cli("list", "--json").json()}
    assert set(rows) == {
        "qwen2.5-7b-instruct-vllm-safetensors-bf16", "qwen2.5-7b-instruct-v1-vllm-safetensors-bf16",
        "llama-3.2-1b-vllm-safetensors-bf16", "foo-ddddddd-llamacpp-gguf-q4_k_m", "foo-ddddddd-llamacpp-gguf-q8_0",
    }, sorted(rows)
    llama = rows["llama-3.2-1b-vllm-safetensors-bf16"]
    assert llama["source_provider"] == "hf" and llama["source"]["commit"] == commit
    assert llama["metadata"]["identity"] == "hf:meta/Llama-3.2-1B@main:safetensors:bf16@" + os.path.realpath(
        cache / "models--meta--Llama-3.2-1B" / "snapshots" / commit)
    assert llama["download_location"] == "hf_cache"
    assert llama["installed"] and llama["download_size_bytes"] > 0
    assert cli("ingest-local-hf", program="imageworks-loader").stdout.count("unchanged") >= 1


def test_download_then_ingest_is_the_same_entry(sandbox, cli, hub):
    hub.add_repo("o/m", {"config.json": b'{"torch_dtype": "bfloat16"}', "model.safetensors": b"\0" * 4096,
                         "tokenizer_config.json": b"{}"})
    assert cli("download", "o/m", "-y", "--no-aria2").exit_code == 0
    cli("ingest-local-hf", "--root", str(sandbox.root / "models" / "weights"), program="imageworks-loader")
    assert len(cli("list", "--json").json()) == 1


def test_discover_all_runs_every_provider(sandbox, cli, hub):
    from imageworks_testing.fixtures import write_ollama_model

    write_ollama_model(sandbox.root / "ollama", "qwen3:8b")
    write_hf_folder(sandbox.root / "models" / "weights" / "a" / "Alpha")
    result = cli("discover-all", program="imageworks-loader")
    assert result.exit_code == 0, result.stderr
    providers = {r["source_provider"] for r in cli("list", "--json").json()}
    assert providers == {"ollama", "hf"}
    dry = cli("discover-all", "--skip-ollama", "--dry-run", program="imageworks-loader")
    assert dry.exit_code == 0


def test_cache_ingest_knows_links_and_sizes_from_its_listing(sandbox, cli, monkeypatch):
    """The listing tells which folders are no links (identities need no lstat per folder), a
    linked repo folder still gets its real path, and the sizes the listing read reach the entry
    without another stat."""
    import imageworks_core.registry.register as register

    cache = sandbox.root / "cache"
    plain = make_cache_repo(cache, "o/plain", "a" * 40, lambda d: write_hf_folder(d))
    elsewhere = make_cache_repo(sandbox.root / "disk2", "o/linked", "b" * 40, lambda d: write_hf_folder(d))
    (cache / "models--o--linked").symlink_to(elsewhere.parents[1])

    def no_stat(*_args):
        raise AssertionError("the registry stat the files again")

    monkeypatch.setattr(register, "stat_sizes", no_stat)
    result = cli("ingest-local-hf", "--root", str(cache), program="imageworks-loader")
    assert result.exit_code == 0, result.stderr
    rows = {r["source"]["repo_id"]: r for r in cli("list", "--json").json()}
    assert rows["o/plain"]["metadata"]["identity"].endswith("@" + os.path.realpath(plain))
    assert rows["o/linked"]["metadata"]["identity"].endswith("@" + os.path.realpath(elsewhere))
    assert str(sandbox.root / "disk2") in rows["o/linked"]["metadata"]["identity"]
    for repo, snapshot in (("o/plain", plain), ("o/linked", elsewhere)):
        held = rows[repo]["download_files"]
        assert rows[repo]["download_size_bytes"] == sum((snapshot / name).stat().st_size for name in held)


def test_the_listing_says_whether_a_model_folder_has_sub_folders(sandbox, cli, monkeypatch):
    """A snapshot or scanned folder whose listing shows no sub-folder is not looked into again
    (no stat, no listing); one with a sub-folder still has its files below listed."""
    import imageworks_core.detect.files as files

    asked = {}
    real = files.model_folder_files

    def recording(folder, names, subfolders=None):
        asked[os.path.basename(os.fspath(folder))] = subfolders
        if subfolders is False:
            return real(sandbox.root / "no-such-folder", names, subfolders)  # must not touch the disk
        return real(folder, names, subfolders)

    monkeypatch.setattr(files, "model_folder_files", recording)
    cache = sandbox.root / "cache"
    make_cache_repo(cache, "o/plain", "a" * 40, lambda d: write_hf_folder(d))
    nested = make_cache_repo(cache, "o/nested", "b" * 40, lambda d: write_hf_folder(d))
    (nested / "1_Pooling").mkdir()
    (nested / "1_Pooling" / "config.json").write_text("{}")
    scanned = sandbox.root / "scanned" / "o" / "Plain-Scan"
    write_hf_folder(scanned)
    assert cli("ingest-local-hf", "--root", str(cache), program="imageworks-loader").exit_code == 0
    assert cli("scan", "--base", str(sandbox.root / "scanned")).exit_code == 0
    assert asked == {"a" * 40: False, "b" * 40: True, "Plain-Scan": False}
    rows = {r["download_path"]: r for r in cli("list", "--json").json()}
    assert "1_Pooling/config.json" in rows[str(nested)]["download_files"]
    assert len(rows) == 3

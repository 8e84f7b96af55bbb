import json

from imageworks_testing.fixtures import write_gguf, write_hf_folder


def lm_home(sandbox, relocated=False):
    home = sandbox.home / ".lmstudio"
    home.mkdir()
    models = home / "models"
    if relocated:
        models = sandbox.root / "big-disk" / "lm-models"
        (home / "settings.json").write_text(json.dumps({"downloadsFolder": str(models)}))
    models.mkdir(parents=True)
    return models


def test_import_relocated_downloads_folder(sandbox, cli):
    models = lm_home(sandbox, relocated=True)
    repo = models / "lmstudio-community" / "Qwen2.5-7B-Instruct-GGUF"
    write_gguf(repo / "Qwen2.5-7B-Instruct-Q4_K_M.gguf", file_type=15)
    write_gguf(repo / "Qwen2.5-7B-Instruct-Q8_0.gguf", file_type=7)
    write_gguf(repo / "mmproj-model-f16.gguf", projector=True, file_type=1)
    write_hf_folder(models / "mlx-community" / "Llama-3.2-1B-Instruct-4bit",
                    config={"quantization": {"group_size": 64, "bits": 4}})
    write_gguf(models / "too-shallow.gguf")
    write_gguf(models / "a" / "b" / "c" / "too-deep.gguf")
    config = cli("config", "--json").json()
    assert config["lmstudio_roots"]["value"] == [str(models)]
    assert config["locations"]["value"]["windows_lmstudio"] == str(models)
    result = cli("import-lmstudio")
    assert result.exit_code == 0, result.stderr
    rows = {r["name"]: r for r in cli("list", "--json").json()}
    assert set(rows) == {"qwen2.5-7b-instruct-lmstudio-gguf-q4_k_m", "qwen2.5-7b-instruct-lmstudio-gguf-q8_0",
                         "llama-3.2-1b-instruct-mlx-int4"}
    q4 = rows["qwen2.5-7b-instruct-lmstudio-gguf-q4_k_m"]
    assert q4["download_files"] == ["Qwen2.5-7B-Instruct-Q4_K_M.gguf", "mmproj-model-f16.gguf"]
    assert q4["capabilities"]["vision"] and q4["download_location"] == "windows_lmstudio"
    assert q4["source"] == {"repo_id": "lmstudio-community/Qwen2.5-7B-Instruct-GGUF"}
    # idempotent
    assert "0 added, 0 updated, 3 unchanged" in cli("import-lmstudio").stdout


def test_pointer_file_and_absent_home(sandbox, cli):
    assert "not found" in cli("import-lmstudio").stdout
    home = sandbox.root / "elsewhere-home"
    (home / "models" / "pub" / "Repo-GGUF").mkdir(parents=True)
    write_gguf(home / "models" / "pub" / "Repo-GGUF" / "Repo-Q4_K_M.gguf")
    (sandbox.home / ".lmstudio-home-pointer").write_text(str(home))
    assert cli("import-lmstudio").exit_code == 0
    assert [r["name"] for r in cli("list", "--json").json()] == ["repo-lmstudio-gguf-q4_k_m"]


def test_remove_deletes_variant_and_empty_folders_never_root(sandbox, cli):
    models = lm_home(sandbox)
    repo = models / "pub" / "Repo-GGUF"
    write_gguf(repo / "Repo-Q4_K_M.gguf")
    write_gguf(repo / "Repo-Q8_0.gguf", file_type=7)
    cli("import-lmstudio")
    cli("remove", "repo-lmstudio-gguf-q4_k_m", "--delete-files", "--purge", "--force")
    assert not (repo / "Repo-Q4_K_M.gguf").exists() and (repo / "Repo-Q8_0.gguf").exists()
    cli("remove", "repo-lmstudio-gguf-q8_0", "--delete-files", "--purge", "--force")
    assert not (models / "pub").exists() and models.is_dir()

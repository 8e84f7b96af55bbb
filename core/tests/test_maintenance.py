import os

import pytest

from imageworks_testing.fixtures import write_gguf, write_hf_folder


@pytest.fixture
def weights(sandbox):
    return sandbox.root / "models" / "weights"


def scan(cli, weights):
    result = cli("scan", "--base", str(weights))
    assert result.exit_code == 0, result.stderr


def test_verify_sizes_missing_and_fix(weights, cli, sandbox):
    write_hf_folder(weights / "a" / "Alpha")
    gguf = write_gguf(weights / "b" / "Beta-Q4_K_M.gguf")
    scan(cli, weights)
    ok = cli("verify")
    assert ok.exit_code == 0 and "✓ alpha-vllm-safetensors-bf16" in ok.stdout
    gguf.unlink()
    bad = cli("verify", "--json")
    assert bad.exit_code == 1
    by = {r["name"]: r for r in bad.json()}
    assert by["beta-llamacpp-gguf-q4_k_m"]["problems"] == ["missing file: Beta-Q4_K_M.gguf"]
    assert by["alpha-vllm-safetensors-bf16"]["ok"]
    assert cli("verify", "no-such-entry").exit_code == 1
    cli("verify", "--fix-missing")
    row = {r["name"]: r for r in sandbox.read_layer("discovered")}["beta-llamacpp-gguf-q4_k_m"]
    assert row["download_path"] is None and "missing_since" in row["metadata"]
    assert cli("verify").exit_code == 0


def test_verify_hash_records_then_compares_and_caches(weights, cli, sandbox, monkeypatch):
    folder = write_hf_folder(weights / "a" / "Alpha")
    scan(cli, weights)
    assert cli("verify", "--hash").exit_code == 0
    row = sandbox.read_layer("discovered")[0]
    hashed = {a["path"]: a["sha256"] for a in row["artifacts"]["files"]}
    assert set(hashed) == set(row["download_files"]) and row["artifacts"]["aggregate_sha256"]
    import imageworks_core.hashing as hashing

    calls = []
    real = hashing.sha256_of
    monkeypatch.setattr(hashing, "sha256_of", lambda p: calls.append(p) or real(p))
    assert cli("verify", "--hash").exit_code == 0
    assert calls == []  # unchanged files come from the cache
    weights_file = folder / "model.safetensors"
    data = bytearray(weights_file.read_bytes())
    data[-1] ^= 1
    weights_file.write_bytes(bytes(data))
    result = cli("verify", "--hash", "--json")
    assert result.exit_code == 1 and "digest mismatch: model.safetensors" in result.json()[0]["problems"][0]
    assert calls == [os.path.realpath(weights_file)]


def test_normalize_diff_apply_rebuild_prune(weights, cli, sandbox):
    write_gguf(weights / "b" / "Beta-Q4_K_M.gguf")
    gone = write_gguf(weights / "c" / "Gamma-Q8_0.gguf", file_type=7)
    scan(cli, weights)
    rows = sandbox.read_layer("discovered")
    for row in rows:
        row["quantization"] = "q2_k"
    sandbox.write_layer("discovered", rows)
    sandbox.write_layer("curated", [{"name": "beta-llamacpp-gguf-q4_k_m", "backend": "vllm"}])
    gone.unlink()
    dry = cli("normalize-formats")
    assert dry.exit_code == 0 and "quant: q2_k → q4_k_m" in dry.stdout and "shadowed" in dry.stdout
    assert all(r["quantization"] == "q2_k" for r in sandbox.read_layer("discovered"))
    write_gguf(weights / "b" / "Beta-Q4_K_M.gguf", tensor_values=64)
    applied = cli("normalize-formats", "--rebuild", "--prune-missing", "--apply")
    assert applied.exit_code == 0 and "backup:" in applied.stdout
    rows = {r["name"]: r for r in sandbox.read_layer("discovered")}
    assert set(rows) == {"beta-llamacpp-gguf-q4_k_m"}
    beta = rows["beta-llamacpp-gguf-q4_k_m"]
    assert beta["quantization"] == "q4_k_m"
    assert beta["download_size_bytes"] == (weights / "b" / "Beta-Q4_K_M.gguf").stat().st_size


def test_remove_modes_and_safety(weights, cli, sandbox):
    folder = write_hf_folder(weights / "a" / "Alpha")
    (folder / "escape").symlink_to(sandbox.sentinel)
    scan(cli, weights)
    name = "alpha-vllm-safetensors-bf16"
    assert cli("remove", name, "--force").exit_code == 0
    row = sandbox.read_layer("discovered")[0]
    assert row["download_path"] is None and folder.exists()
    scan(cli, weights)
    result = cli("remove", name, "--delete-files", "--purge", "--force")
    assert result.exit_code == 0, result.stderr
    assert sandbox.read_layer("discovered") == []
    assert not (folder / "model.safetensors").exists()
    assert sandbox.sentinel.read_text() == "must survive\n"
    assert (folder / "escape").is_symlink()  # not listed by the entry: not touched


def test_remove_refuses_paths_outside_roots(sandbox, cli, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    victim = outside / "model.gguf"
    victim.write_text("keep me")
    sandbox.write_layer("discovered", [{"name": "evil", "download_path": str(outside),
                                        "download_files": ["model.gguf", "../sentinel.txt"]}])
    result = cli("remove", "evil", "--delete-files", "--force")
    assert result.exit_code == 2 and "outside the configured roots" in result.stderr
    assert victim.exists() and sandbox.sentinel.exists()
    assert sandbox.read_layer("discovered")[0]["download_path"] == str(outside)


def test_remove_does_not_follow_linked_files_out(weights, sandbox, cli):
    folder = weights / "a" / "Linky"
    folder.mkdir(parents=True)
    (folder / "model.gguf").symlink_to(sandbox.sentinel)
    sandbox.write_layer("discovered", [{"name": "linky", "download_path": str(folder), "download_files": ["model.gguf"]}])
    assert cli("remove", "linky", "--delete-files", "--force").exit_code == 0
    assert sandbox.sentinel.exists() and not (folder / "model.gguf").is_symlink()


def test_curated_entries_need_include_curated(sandbox, cli):
    sandbox.write_layer("curated", [{"name": "hand-made", "roles": ["chat"]}])
    result = cli("remove", "hand-made", "--purge", "--force")
    assert result.exit_code == 2 and "--include-curated" in result.stderr
    assert cli("remove", "hand-made", "--purge", "--force", "--include-curated").exit_code == 0
    assert sandbox.read_layer("curated") == []


def test_prune_duplicates_keeps_best_described(weights, sandbox, cli):
    folder = write_hf_folder(weights / "a" / "Alpha")
    files = sorted(p.name for p in folder.iterdir())
    sandbox.write_layer("discovered", [
        {"name": "alpha-old", "download_path": str(folder), "download_files": files},
        {"name": "alpha-vllm-safetensors-bf16", "download_path": str(folder), "download_files": files,
         "download_format": "safetensors", "quantization": "bf16", "family": "alpha", "backend": "vllm"},
        {"name": "other", "download_path": str(folder), "download_files": ["config.json"]},
    ])
    dry = cli("prune-duplicates", "--dry-run")
    assert "duplicate of alpha-vllm-safetensors-bf16" in dry.stdout
    assert len(sandbox.read_layer("discovered")) == 3
    cli("prune-duplicates")
    assert {r["name"] for r in sandbox.read_layer("discovered")} == {"alpha-vllm-safetensors-bf16", "other"}


def test_prune_and_purge_commands(sandbox, cli):
    sandbox.write_layer("discovered", [
        {"name": "model-ollama-gguf-x", "deprecated": True, "source_provider": "ollama"},
        {"name": "old-thing", "deprecated": True, "download_path": "/x"},
        {"name": "logical", "source_provider": "hf"},
        {"name": "scanned", "source_provider": "local_scan", "download_path": "/y"},
    ])
    sandbox.write_layer("curated", [{"name": "curated-logical"}])
    cli("prune-deprecated", "--placeholders-only")
    assert "model-ollama-gguf-x" not in {r["name"] for r in sandbox.read_layer("discovered")}
    cli("prune-deprecated")
    assert "old-thing" not in {r["name"] for r in sandbox.read_layer("discovered")}
    cli("purge-logical-only")
    assert {r["name"] for r in sandbox.read_layer("discovered")} == {"scanned"}
    assert sandbox.read_layer("curated") != []
    cli("purge-logical-only", "--include-curated")
    assert sandbox.read_layer("curated") == []
    dry = cli("purge-imported", "--providers", "local_scan", program="imageworks-loader")
    assert "would delete" in dry.stdout and len(sandbox.read_layer("discovered")) == 1
    cli("purge-imported", "--providers", "local_scan", "--apply", program="imageworks-loader")
    assert sandbox.read_layer("discovered") == []
    backups = list((sandbox.registry_dir / "backups").iterdir())
    assert backups and all(b.name.startswith("model_registry.") for b in backups)


def test_caches_live_in_the_user_cache_dir_not_the_registry(weights, cli, sandbox):
    """docs/registry.md §1: the registry directory holds the registry and nothing else; caches are
    per machine, under IMAGEWORKS_CACHE_DIR keyed by the registry's real path."""
    from imageworks_core.cachedir import registry_cache_dir

    write_gguf(weights / "b" / "Beta-Q4_K_M.gguf")
    scan(cli, weights)
    assert cli("verify", "--hash").exit_code == 0
    cache = registry_cache_dir(sandbox.registry_dir)
    assert cache.is_relative_to(sandbox.root / "cache")
    assert {p.name for p in cache.iterdir()} >= {"scan", "content-hashes.json", "validated-layers"}
    top = {p.name for p in sandbox.registry_dir.iterdir()}
    assert top <= {"model_registry.discovered.json", "model_registry.json", ".model_registry.lock",
                   "backups", "model_registry.curated.json", "imageworks.toml"}
    path = cli("config", "path").stdout
    assert f"cache_dir: {cache}" in path and "registry_dir_from: environment IMAGEWORKS_REGISTRY_DIR" in path


def _tree_bytes(folder):
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None)
            for p in sorted(folder.rglob("*"))}


def test_dry_runs_and_reads_leave_the_registry_dir_byte_identical(weights, cli, sandbox):
    write_gguf(weights / "a" / "Alpha-Q4_K_M.gguf")
    scan(cli, weights)
    write_gguf(weights / "b" / "Beta-Q8_0.gguf", file_type=7)
    before = _tree_bytes(sandbox.registry_dir)
    for args in (("scan", "--base", str(weights), "--dry-run"), ("list", "--json"), ("list", "--details"),
                 ("stats",), ("verify",), ("config", "show"), ("config", "path"),
                 ("normalize-formats",), ("remove", "alpha-llamacpp-gguf-q4_k_m", "--dry-run", "--force"),
                 ("prune-duplicates", "--dry-run"), ("import-ollama", "--dry-run")):
        result = cli(*args)
        assert result.exit_code in (0, 1), (args, result.stderr)
        assert _tree_bytes(sandbox.registry_dir) == before, args

import json
from pathlib import Path

from imageworks_testing.fixtures import write_ollama_model


def blobs_of(manifest: Path) -> set[str]:
    doc = json.loads(manifest.read_text())
    return {l["digest"].replace(":", "-") for l in [doc["config"], *doc["layers"]]}


def test_remove_keeps_shared_blobs(sandbox, cli):
    store = sandbox.root / "ollama"
    a = write_ollama_model(store, "qwen3:8b")
    b = write_ollama_model(store, "qwen3:latest")  # same model blob: two tags sharing everything
    c = write_ollama_model(store, "other:1b", tensor_values=4, family="other")
    cli("import-ollama")
    stats = cli("stats", "--json").json()
    unique = {p for p in (store / "blobs").iterdir()}
    manifest_bytes = sum(m.stat().st_size for m in (a, b, c))
    assert stats["disk_bytes"] == sum(p.stat().st_size for p in unique) + manifest_bytes
    result = cli("remove", "qwen3-8b-ollama-gguf-q4_k_m", "--delete-files", "--purge", "--force")
    assert result.exit_code == 0, result.stderr
    assert not a.exists() and b.exists()
    for blob in blobs_of(b):
        assert (store / "blobs" / blob).exists()
    names = {r["name"] for r in cli("list", "--json").json()}
    assert names == {"qwen3-ollama-gguf-q4_k_m", "other-1b-ollama-gguf-q4_k_m"}
    # the last tag goes with the blobs only it used; the other model's blobs stay
    only_c = blobs_of(c) - blobs_of(b)
    cli("remove", "qwen3-ollama-gguf-q4_k_m", "--delete-files", "--force")
    assert not b.exists()
    left = {p.name for p in (store / "blobs").iterdir()}
    assert left == blobs_of(c) and only_c <= left
    assert not (store / "manifests" / "registry.ollama.ai" / "library" / "qwen3").exists()
    entry = {r["name"]: r for r in sandbox.read_layer("discovered")}["qwen3-ollama-gguf-q4_k_m"]
    assert entry["download_path"] is None and "removed_at" in entry["metadata"]


def test_remove_needs_confirmation_off_terminal(sandbox, cli):
    write_ollama_model(sandbox.root / "ollama", "qwen3:8b")
    cli("import-ollama")
    result = cli("remove", "qwen3-8b-ollama-gguf-q4_k_m", "--delete-files")
    assert result.exit_code == 2 and "--force" in result.stderr
    assert (sandbox.root / "ollama" / "manifests").exists()
    dry = cli("remove", "qwen3-8b-ollama-gguf-q4_k_m", "--delete-files", "--dry-run")
    assert dry.exit_code == 0 and "delete" in dry.stdout
    assert len(list((sandbox.root / "ollama" / "blobs").iterdir())) == 4


def test_reset_and_restore_round_trip(sandbox, cli):
    store = sandbox.root / "ollama"
    write_ollama_model(store, "qwen3:8b")
    write_ollama_model(store, "phi3:mini", family="phi3", tensor_values=8)
    cli("import-ollama")
    before = sandbox.layer("discovered").read_bytes()
    result = cli("reset-discovered", "--backend", "ollama")
    assert result.exit_code == 0 and "backup:" in result.stdout
    assert sandbox.read_layer("discovered") == []
    assert cli("restore-ollama", "--dry-run").exit_code == 0
    assert sandbox.read_layer("discovered") == []
    result = cli("restore-ollama")
    assert "2 entries restored" in result.stdout
    assert sandbox.layer("discovered").read_bytes() == before


def test_backfill_and_rebuild(sandbox, cli):
    store = sandbox.root / "ollama"
    write_ollama_model(store, "qwen3:8b")
    sandbox.write_layer("discovered", [{"name": "qwen3-8b-ollama-gguf-q4_k_m", "backend": "ollama",
                                        "served_model_id": "qwen3:8b", "roles": ["chat"]},
                                       {"name": "stale-ollama-gguf", "backend": "ollama", "served_model_id": "gone:1b"}])
    result = cli("backfill-ollama-paths")
    assert "filled qwen3-8b-ollama-gguf-q4_k_m" in result.stdout
    row = {r["name"]: r for r in sandbox.read_layer("discovered")}["qwen3-8b-ollama-gguf-q4_k_m"]
    assert row["download_path"] == str(store) and row["download_files"][0].startswith("manifests/")
    result = cli("rebuild-ollama", program="imageworks-loader")
    assert result.exit_code == 0
    rows = {r["name"]: r for r in sandbox.read_layer("discovered")}
    assert set(rows) == {"qwen3-8b-ollama-gguf-q4_k_m"} and rows["qwen3-8b-ollama-gguf-q4_k_m"]["roles"] == ["chat"]


def test_verify_hash_checks_blob_content(sandbox, cli):
    store = sandbox.root / "ollama"
    manifest = write_ollama_model(store, "qwen3:8b")
    cli("import-ollama")
    assert cli("verify", "--hash").exit_code == 0
    model_digest = json.loads(manifest.read_text())["layers"][0]["digest"].split(":")[1]
    blob = store / "blobs" / f"sha256-{model_digest}"
    data = bytearray(blob.read_bytes())
    data[-1] ^= 0xFF
    blob.write_bytes(bytes(data))
    result = cli("verify", "--hash", "--json")
    assert result.exit_code == 1
    assert "digest mismatch" in " ".join(result.json()[0]["problems"])

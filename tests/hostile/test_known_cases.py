"""Every hostile case issue 25 names, through the real commands: the bad file is one named
warning, the good model beside it is registered, nothing aborts."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from imageworks_testing.fixtures import write_gguf, write_hf_folder, write_ollama_model

BAD = os.fsdecode(b"bad\xff")  # a name that is not UTF-8: surrogate-escaped, as Python lists it


def names(cli, *extra) -> set[str]:
    return {r["name"] for r in cli("list", "--json", *extra).json()}


def warnings_about(result, needle: str) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("warning:") and needle in line]


def assert_clean(result):
    assert result.exit_code == 0, result.stderr
    assert "unexpected error" not in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("config", [
    {"architectures": 5}, {"architectures": [{"a": 1}]}, {"model_type": ["x"]}, {"torch_dtype": {"x": 1}},
    {"quantization_config": "awq"}, {"quantization_config": {"quant_method": ["awq"]}},
    {"quantization_config": {"quant_method": "compressed-tensors", "config_groups": [1, 2]}},
    {"quantization_config": {"quant_method": "compressed-tensors", "config_groups": {"g": {"weights": [8]}}}},
    {"text_config": 3, "max_position_embeddings": "big"}, [1, 2, 3], "just a string", 17,
])
def test_scan_config_of_the_wrong_shape(sandbox, cli, config):
    weights = sandbox.root / "models" / "weights"
    write_hf_folder(weights / "good" / "Good-Model")
    bad = write_hf_folder(weights / "bad" / "Bad-Model")
    (bad / "config.json").write_text(json.dumps(config))
    result = cli("scan", "--base", str(weights))
    assert_clean(result)
    assert "good-model-vllm-safetensors-bf16" in names(cli)
    assert len(warnings_about(result, str(bad / "config.json"))) == 1, result.stderr
    assert not any(n.startswith("bad-model") for n in names(cli))


@pytest.mark.parametrize("side, content", [
    ("quant_config.json", [4, 128]), ("quantize_config.json", '"gptq"'), ("tokenizer_config.json", [1]),
    ("quantize_config.json", '{"bits": 4'), ("tokenizer_config.json", '{"chat_template": 5}'),
    ("quant_config.json", '{"quant_method": ["awq"]}'), ("tokenizer_config.json", b"\xff\xfe{}"),
])
def test_scan_side_files_of_the_wrong_shape(sandbox, cli, side, content):
    weights = sandbox.root / "models" / "weights"
    write_hf_folder(weights / "good" / "Good-Model")
    bad = write_hf_folder(weights / "bad" / "Bad-Model", config={"architectures": ["X"]})
    (bad / side).write_bytes(content if isinstance(content, bytes) else
                             (content if isinstance(content, str) else json.dumps(content)).encode())
    result = cli("scan", "--base", str(weights))
    assert_clean(result)
    assert "good-model-vllm-safetensors-bf16" in names(cli)
    assert len(warnings_about(result, str(bad / side))) == 1, result.stderr


def test_ingest_local_hf_config_of_the_wrong_shape(sandbox, cli):
    weights = sandbox.root / "models" / "weights"
    write_hf_folder(weights / "Good" / "Good-Model")
    bad = write_hf_folder(weights / "Bad" / "Bad-Model")
    (bad / "config.json").write_text('{"architectures": 5}')
    result = cli("ingest-local-hf", "--root", str(weights), program="imageworks-loader")
    assert_clean(result)
    assert "good-model-vllm-safetensors-bf16" in names(cli)
    assert len(warnings_about(result, str(bad / "config.json"))) == 1, result.stderr


def test_scan_non_utf8_names(sandbox, cli):
    weights = sandbox.root / "models" / "weights"
    write_gguf(weights / "good" / "Good-Q4_K_M.gguf")
    odd = write_gguf(weights / BAD / f"{BAD}-Q4_K_M.gguf")
    write_hf_folder(weights / "o" / f"Odd-{BAD}")
    result = cli("scan", "--base", str(weights))
    assert_clean(result)
    rows = {r["name"]: r for r in cli("list", "--json").json()}
    assert "good-llamacpp-gguf-q4_k_m" in rows
    # the odd names are registered too, and their paths come back as the same bytes
    paths = {os.fsencode(os.path.join(r["download_path"], r["download_files"][0])) for r in rows.values()}
    assert os.fsencode(odd) in paths
    assert any(os.fsencode(r["download_path"]).endswith(b"Odd-bad\xff") for r in rows.values())
    layer = sandbox.layer("discovered").read_bytes()
    layer.decode("utf-8")  # still a valid UTF-8 JSON file
    assert b"\\udcff" in layer
    for line in sandbox.log_file.read_bytes().splitlines():
        json.loads(line)
    # a second scan finds the same files unchanged
    again = cli("scan", "--base", str(weights))
    assert_clean(again)
    assert "0 added" in again.stdout


def test_import_lmstudio_non_utf8_names(sandbox, cli):
    models = sandbox.home / ".lmstudio" / "models"
    write_gguf(models / "pub" / "Good-GGUF" / "Good-Q4_K_M.gguf")
    write_gguf(models / "pub" / f"{BAD}-GGUF" / f"{BAD}-Q4_K_M.gguf")
    result = cli("import-lmstudio")
    assert_clean(result)
    assert names(cli) == {"good-lmstudio-gguf-q4_k_m", "bad-lmstudio-gguf-q4_k_m"}


def test_import_ollama_non_utf8_tag(sandbox, cli):
    store = sandbox.root / "ollama"
    write_ollama_model(store, "qwen3:8b")
    write_ollama_model(store, "odd:" + os.fsdecode(b"b\xffad"))
    result = cli("import-ollama")
    assert_clean(result)
    assert "qwen3-8b-ollama-gguf-q4_k_m" in names(cli)
    assert len(names(cli)) == 2, names(cli)


def test_ingest_local_hf_non_utf8_names(sandbox, cli):
    weights = sandbox.root / "models" / "weights"
    write_hf_folder(weights / "Good" / "Good-Model")
    write_hf_folder(weights / "Odd" / f"Model-{BAD}")
    result = cli("ingest-local-hf", "--root", str(weights), program="imageworks-loader")
    assert_clean(result)
    assert "good-model-vllm-safetensors-bf16" in names(cli)
    assert len(names(cli)) == 2, names(cli)


def _manifest_dir(store: Path, model: str, tag: str) -> Path:
    return store / "manifests" / "registry.ollama.ai" / "library" / model / tag


def test_import_ollama_deeply_nested_manifest(sandbox, cli):
    store = sandbox.root / "ollama"
    write_ollama_model(store, "qwen3:8b")
    bad = _manifest_dir(store, "deep", "latest")
    bad.parent.mkdir(parents=True)
    bad.write_text('{"layers": ' + "[" * 100_000 + "]" * 100_000 + "}")
    result = cli("import-ollama")
    assert_clean(result)
    assert names(cli) == {"qwen3-8b-ollama-gguf-q4_k_m"}
    assert len(warnings_about(result, "manifests/registry.ollama.ai/library/deep/latest")) == 1, result.stderr


def _replace_model_blob(store: Path, manifest: Path, make) -> Path:
    doc = json.loads(manifest.read_text())
    layer = next(l for l in doc["layers"] if l["mediaType"].endswith(".model"))
    blob = store / "blobs" / ("sha256-" + layer["digest"].split(":")[1])
    blob.unlink()
    make(blob)
    return blob


@pytest.mark.parametrize("kind", ["symlink-to-etc-passwd", "random-bytes", "absurd-tensor-count", "directory"])
def test_import_ollama_hostile_model_blob(sandbox, cli, kind, tmp_path):
    import struct

    store = sandbox.root / "ollama"
    write_ollama_model(store, "qwen3:8b")
    manifest = write_ollama_model(store, "evil:latest", tensor_values=32)
    makers = {
        "symlink-to-etc-passwd": lambda blob: blob.symlink_to("/etc/passwd"),
        "random-bytes": lambda blob: blob.write_bytes(os.urandom(4096)),
        "absurd-tensor-count": lambda blob: blob.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 2**63, 0)),
        "directory": lambda blob: blob.mkdir(),
    }
    _replace_model_blob(store, manifest, makers[kind])
    result = cli("import-ollama")
    assert_clean(result)
    assert names(cli) == {"qwen3-8b-ollama-gguf-q4_k_m"}, result.stderr
    assert len(warnings_about(result, "library/evil/latest")) == 1, result.stderr
    link = cli("link", "evil-ollama-gguf-q4_k_m", "--to", str(tmp_path / "links"))
    assert link.exit_code != 0
    assert not any(p.is_symlink() and os.path.realpath(p) == "/etc/passwd"
                   for p in (tmp_path / "links").rglob("*")) if (tmp_path / "links").exists() else True


@pytest.mark.parametrize("config", [
    {"model_format": ["gguf"]}, {"file_type": 3.5}, {"model_families": "llama"}, {"model_family": {"a": 1}},
    {"model_type": [8]},
])
def test_import_ollama_config_blob_wrong_types(sandbox, cli, config):
    import hashlib

    store = sandbox.root / "ollama"
    write_ollama_model(store, "qwen3:8b")
    manifest = write_ollama_model(store, "odd:latest", family="odd")
    doc = json.loads(manifest.read_text())
    blob = store / "blobs" / ("sha256-" + doc["config"]["digest"].split(":")[1])
    data = json.dumps({**json.loads(blob.read_bytes()), **config}).encode()
    digest = hashlib.sha256(data).hexdigest()
    (store / "blobs" / f"sha256-{digest}").write_bytes(data)
    doc["config"].update(digest=f"sha256:{digest}", size=len(data))
    manifest.write_text(json.dumps(doc))
    result = cli("import-ollama")
    assert_clean(result)
    assert names(cli) == {"qwen3-8b-ollama-gguf-q4_k_m"}, names(cli)
    assert len(warnings_about(result, "library/odd/latest")) == 1, result.stderr


def test_import_ollama_manifest_without_model_layer(sandbox, cli):
    store = sandbox.root / "ollama"
    write_ollama_model(store, "qwen3:8b")
    manifest = write_ollama_model(store, "nomodel:latest")
    doc = json.loads(manifest.read_text())
    doc["layers"] = [l for l in doc["layers"] if not l["mediaType"].endswith(".model")]
    manifest.write_text(json.dumps(doc))
    result = cli("import-ollama")
    assert_clean(result)
    assert names(cli) == {"qwen3-8b-ollama-gguf-q4_k_m"}
    assert len(warnings_about(result, "library/nomodel/latest")) == 1, result.stderr


def test_hf_cache_snapshot_links_outside_the_cache(sandbox, cli, tmp_path):
    from imageworks_testing.fixtures import write_safetensors

    cache = sandbox.root / "hf_home" / "hub"
    write_hf_folder(cache / "models--good--Model" / "snapshots" / ("a" * 40))
    (cache / "models--good--Model" / "refs").mkdir()
    (cache / "models--good--Model" / "refs" / "main").write_text("a" * 40)
    outside = write_safetensors(tmp_path / "elsewhere" / "secret.safetensors")
    snap = write_hf_folder(cache / "models--evil--Model" / "snapshots" / ("b" * 40))
    (snap / "model.safetensors").unlink()
    (snap / "model.safetensors").symlink_to(outside)
    result = cli("ingest-local-hf", program="imageworks-loader")
    assert_clean(result)
    assert "model-vllm-safetensors-bf16" in names(cli) or any("model" in n for n in names(cli))
    rows = cli("list", "--json").json()
    assert [r["source"]["repo_id"] for r in rows] == ["good/Model"], rows
    assert len(warnings_about(result, str(snap / "model.safetensors"))) == 1, result.stderr


def test_dedupe_dry_run_plans_only_what_apply_does(sandbox, cli):
    import shutil

    weights = sandbox.root / "models" / "weights"
    first = write_gguf(weights / "a" / "Same-Q8_0.gguf", file_type=7, tensor_values=6000, basename="Same")
    for folder in (weights / "b", sandbox.root / "outside"):  # the second copy lies outside every root
        folder.mkdir(parents=True)
        shutil.copyfile(first, folder / "Same-Q8_0.gguf")
    assert cli("scan", "--base", str(weights)).exit_code == 0
    assert cli("scan", "--base", str(sandbox.root / "outside")).exit_code == 0
    dry = cli("dedupe", "--json").json()
    planned = {p for link in dry["links"] for p in (link["keep"], link["replace"])}
    assert planned == {str(first), str(weights / "b" / "Same-Q8_0.gguf")}, dry
    assert {"path": str(sandbox.root / "outside" / "Same-Q8_0.gguf"),
            "reason": "outside the configured roots"} in dry["skipped"]
    applied = cli("dedupe", "--apply", "--json")
    assert applied.exit_code == 0 and applied.json()["links"] == dry["links"]


def test_verify_of_an_entry_at_root_with_no_files_is_not_valid(sandbox, cli):
    weights = sandbox.root / "models" / "weights"
    write_gguf(weights / "a" / "A-Q4_K_M.gguf")
    assert cli("scan", "--base", str(weights)).exit_code == 0
    rows = sandbox.read_layer("discovered")
    rows[0].update(download_path="/", download_files=[])
    sandbox.write_layer("discovered", rows)
    result = cli("verify", "--json")
    assert result.exit_code == 1
    (row,) = result.json()
    assert not row["ok"] and "no files listed" in row["problems"][0]

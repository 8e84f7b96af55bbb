import json
from pathlib import Path

import pytest

from imageworks_testing.fixtures import write_ollama_model


@pytest.fixture
def store(sandbox):
    return Path(sandbox.root / "ollama")


def names(cli, *extra):
    return {r["name"]: r for r in cli("list", "--json", *extra).json()}


def test_import_reads_store_strategy_a(store, cli, sandbox):
    write_ollama_model(store, "qwen3:8b")
    write_ollama_model(store, "llama3.2:latest", config_file_type="", gguf_file_type=7, family="llama")
    write_ollama_model(store, "hf.co/bartowski/Foo-GGUF:Q5_K_M", config_file_type="Q5_K_M", family="llama")
    write_ollama_model(store, "someone/model:tag", family="gemma3")
    write_ollama_model(store, "qwen2.5vl:7b", projector=True, family="qwen25vl")
    result = cli("import-ollama")
    assert result.exit_code == 0, result.stderr
    rows = names(cli)
    assert set(rows) == {
        "qwen3-8b-ollama-gguf-q4_k_m", "llama3.2-ollama-gguf-q8_0", "foo-ollama-gguf-q5_k_m",
        "model-tag-ollama-gguf-q4_k_m", "qwen2.5vl-7b-ollama-gguf-q4_k_m",
    }
    qwen = rows["qwen3-8b-ollama-gguf-q4_k_m"]
    assert qwen["served_model_id"] == "qwen3:8b" and qwen["backend"] == "ollama"
    assert qwen["download_path"] == str(store) and qwen["installed"]
    assert qwen["download_files"][0] == "manifests/registry.ollama.ai/library/qwen3/8b"
    assert all((store / f).is_file() for f in qwen["download_files"])
    blob_hashes = {a["path"]: a["sha256"] for a in qwen["artifacts"]["files"]}
    for path, digest in blob_hashes.items():
        if path.startswith("blobs/"):
            assert path == f"blobs/sha256-{digest}"
    assert qwen["artifacts"]["aggregate_sha256"]
    assert qwen["capabilities"]["tools"] and qwen["chat_template"]["source"] == "external"
    assert qwen["metadata"]["parameter_size"] == "8.2B"
    assert rows["qwen2.5vl-7b-ollama-gguf-q4_k_m"]["capabilities"]["vision"]
    assert rows["foo-ollama-gguf-q5_k_m"]["served_model_id"] == "hf.co/bartowski/Foo-GGUF:Q5_K_M"
    assert rows["model-tag-ollama-gguf-q4_k_m"]["served_model_id"] == "someone/model:tag"


def test_reimport_is_idempotent_and_removed_tags_are_reported(store, cli, sandbox):
    write_ollama_model(store, "qwen3:8b")
    path = write_ollama_model(store, "qwen3:4b", tensor_values=8)
    cli("import-ollama")
    first = sandbox.layer("discovered").read_bytes()
    assert "0 added, 0 updated, 2 unchanged" in cli("import-ollama").stdout
    assert sandbox.layer("discovered").read_bytes() == first
    path.unlink()
    result = cli("import-ollama")
    assert "qwen3-4b-ollama-gguf-q4_k_m is no longer in its source" in result.stderr
    verify = cli("verify", "--json")
    bad = {r["name"]: r for r in verify.json()}
    assert verify.exit_code == 1 and not bad["qwen3-4b-ollama-gguf-q4_k_m"]["ok"]


def test_bad_models_are_skipped_rest_imported(store, cli):
    write_ollama_model(store, "good:1b")
    bad_json = store / "manifests/registry.ollama.ai/library/broken/latest"
    bad_json.parent.mkdir(parents=True)
    bad_json.write_text("{not json")
    missing = write_ollama_model(store, "missing:1b", tensor_values=4)
    manifest = json.loads(missing.read_text())
    (store / f"blobs/sha256-{manifest['layers'][0]['digest'].split(':')[1]}").unlink()
    write_ollama_model(store, "trunc:1b", config_file_type="", model_blob=b"GGUF\x03\x00\x00\x00\x01")
    notjson = write_ollama_model(store, "cfg:1b", tensor_values=5, family="other")
    cfg = json.loads(notjson.read_text())["config"]
    cfg_digest = cfg["digest"].split(":")[1]
    (store / f"blobs/sha256-{cfg_digest}").write_text("not json".ljust(cfg["size"]))  # the size it claims
    result = cli("import-ollama")
    assert result.exit_code == 0
    for fragment in ("broken/latest", "missing blob", "trunc/1b", "config blob is not JSON"):
        assert fragment in result.stderr, fragment
    assert set(names(cli)) == {"good-1b-ollama-gguf-q4_k_m"}


def test_dry_run_writes_nothing(store, cli, sandbox):
    write_ollama_model(store, "qwen3:8b")
    result = cli("import-ollama", "--dry-run")
    assert result.exit_code == 0 and "qwen3-8b-ollama-gguf-q4_k_m" in result.stdout
    assert not sandbox.layer("discovered").exists()


def test_store_option_and_missing_store(sandbox, cli, tmp_path):
    other = tmp_path / "elsewhere"
    write_ollama_model(other, "phi3:mini", family="phi3")
    assert cli("import-ollama", "--store", str(other)).exit_code == 0
    assert set(names(cli)) == {"phi3-mini-ollama-gguf-q4_k_m"}
    result = cli("import-ollama", "--store", str(tmp_path / "none"))
    assert result.exit_code == 0 and "no manifests" in result.stderr


def test_placeholders_are_deprecated_and_it_sticks(store, cli, sandbox):
    sandbox.write_layer("discovered", [{"name": "model-ollama-gguf-qwen", "backend": "ollama"}])
    write_ollama_model(store, "qwen3:8b")
    cli("import-ollama", "--deprecate-placeholders")
    rows = {r["name"]: r for r in sandbox.read_layer("discovered")}
    assert rows["model-ollama-gguf-qwen"]["deprecated"] is True
    cli("import-ollama")
    rows = {r["name"]: r for r in sandbox.read_layer("discovered")}
    assert rows["model-ollama-gguf-qwen"]["deprecated"] is True


def test_import_script_has_the_same_options(store, sandbox):
    import subprocess
    import sys

    write_ollama_model(store, "qwen3:8b")
    script = Path(__file__).parents[3] / "scripts" / "import_ollama_models.py"
    proc = subprocess.run([sys.executable, str(script), "--dry-run"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "qwen3-8b-ollama-gguf-q4_k_m" in proc.stdout


def test_running_server_enriches_and_absent_server_is_a_warning(store, cli, sandbox):
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    write_ollama_model(store, "qwen3:8b")

    class Tags(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            body = json.dumps({"models": [{"name": "qwen3:8b", "modified_at": "2026-11-01T00:00:00Z",
                                           "details": {"quantization_level": "Q4_K_M"}}]}).encode()
            self.send_response(200 if self.path == "/api/tags" else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Tags)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        host = f"http://127.0.0.1:{server.server_address[1]}"
        assert cli("import-ollama", "--host", host).exit_code == 0
        row = sandbox.read_layer("discovered")[0]
        assert row["metadata"]["ollama_server"]["modified_at"] == "2026-11-01T00:00:00Z"
    finally:
        server.shutdown()
        server.server_close()
    result = cli("import-ollama", "--host", host)  # the server is gone: the store alone is enough
    assert result.exit_code == 0 and "not reachable" in result.stderr
    assert len(sandbox.read_layer("discovered")) == 1

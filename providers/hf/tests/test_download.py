import hashlib
import json

import pytest

from imageworks_testing.fixtures import write_gguf
from imageworks_testing.plugin import run_process
from imageworks_testing.fakehub import random_bytes


def gguf_bytes(tmp_path, name, **kw):
    return write_gguf(tmp_path / "src" / name, **kw).read_bytes()


@pytest.fixture
def gguf_repo(hub, tmp_path):
    files = {"README.md": b"# readme", "LICENSE": b"mit"}
    for label, ft in (("Q4_K_M", 15), ("Q8_0", 7), ("Q2_K", 10), ("IQ4_XS", 30), ("BF16", 32)):
        files[f"Foo-7B-{label}.gguf"] = gguf_bytes(tmp_path, f"{label}.gguf", file_type=ft, basename="Foo", size_label="7B",
                                                  tensor_values=1000 + ft)
    for i in range(1, 4):
        files[f"Q6_K/Foo-7B-Q6_K-0000{i}-of-00003.gguf"] = gguf_bytes(tmp_path, f"q6-{i}.gguf", file_type=18, tensor_values=500 + i)
    files["mmproj-Foo-7B-f16.gguf"] = gguf_bytes(tmp_path, "mmproj.gguf", projector=True, file_type=1)
    hub.add_repo("bartowski/Foo-7B-GGUF", files)
    return hub


@pytest.fixture
def awq_repo(hub):
    config = {"architectures": ["LlamaForCausalLM"], "max_position_embeddings": 8192,
              "quantization_config": {"quant_method": "awq", "bits": 4, "group_size": 128}}
    files = {
        "config.json": json.dumps(config).encode(),
        "generation_config.json": b"{}",
        "tokenizer.json": b'{"model": {}}',
        "tokenizer_config.json": json.dumps({"chat_template": "{% for m in messages %}{{ m }}{% endfor %}"}).encode(),
        "model.safetensors.index.json": b'{"weight_map": {}}',
        "README.md": b"readme",
        "assets/diagram.png": b"\x89PNG",
        "onnx/model.onnx": b"onnx",
    }
    for i in range(1, 4):
        files[f"model-0000{i}-of-00003.safetensors"] = random_bytes(20_000 + i, seed=i)
    hub.add_repo("TheBloke/Llama-3-8B-AWQ", files, revisions={"v2": "a" * 40})
    return hub


@pytest.mark.parametrize("backend", ["--no-aria2", None])
def test_gguf_repo_downloads_one_quant_with_projector(gguf_repo, cli, sandbox, backend):
    args = ["download", "bartowski/Foo-7B-GGUF", "--quant", "q8_0", "-y"] + ([backend] if backend else [])
    result = cli(*args)
    assert result.exit_code == 0, result.stderr
    target = sandbox.root / "models" / "weights" / "bartowski" / "Foo-7B-GGUF"
    assert sorted(p.name for p in target.iterdir()) == ["Foo-7B-Q8_0.gguf", "mmproj-Foo-7B-f16.gguf"]
    assert "Download complete" in result.stdout and "foo-7b-llamacpp-gguf-q8_0" in result.stdout
    row = {r["name"]: r for r in cli("list", "--json").json()}["foo-7b-llamacpp-gguf-q8_0"]
    assert row["download_files"] == ["Foo-7B-Q8_0.gguf", "mmproj-Foo-7B-f16.gguf"]
    assert row["source"]["repo_id"] == "bartowski/Foo-7B-GGUF" and len(row["source"]["commit"]) == 40
    assert row["metadata"]["identity"] == f"hf:bartowski/Foo-7B-GGUF@main:gguf:q8_0@{target.resolve()}"
    hub_sha = gguf_repo.repos["bartowski/Foo-7B-GGUF"].files["Foo-7B-Q8_0.gguf"].sha256
    assert {a["path"]: a["sha256"] for a in row["artifacts"]["files"]}["Foo-7B-Q8_0.gguf"] == hub_sha
    assert row["capabilities"]["vision"]
    assert not (target / ".imageworks-partial").exists()


def test_split_gguf_in_subfolder_and_default_quant(gguf_repo, cli, sandbox):
    result = cli("download", "bartowski/Foo-7B-GGUF", "--quant", "Q6_K", "--no-aria2", "-y")
    assert result.exit_code == 0, result.stderr
    row = cli("list", "--json").json()[0]
    assert row["download_files"][:3] == [f"Q6_K/Foo-7B-Q6_K-0000{i}-of-00003.gguf" for i in range(1, 4)]
    assert row["quantization"] == "q6_k"
    result = cli("download", "bartowski/Foo-7B-GGUF", "-y", "--no-aria2")
    assert result.exit_code == 0
    assert "foo-7b-llamacpp-gguf-q4_k_m" in {r["name"] for r in cli("list", "--json").json()}
    missing = cli("download", "bartowski/Foo-7B-GGUF", "--quant", "q3_k_s", "-y")
    assert missing.exit_code == 1 and "q3_k_s is not in the repo" in missing.stderr


def test_awq_repo_gets_config_tokenizer_index_and_all_shards(awq_repo, cli, sandbox):
    result = cli("download", "TheBloke/Llama-3-8B-AWQ", "--format", "awq,safetensors", "-y")
    assert result.exit_code == 0, result.stderr
    target = sandbox.root / "models" / "weights" / "TheBloke" / "Llama-3-8B-AWQ"
    got = sorted(str(p.relative_to(target)) for p in target.rglob("*") if p.is_file())
    assert got == ["config.json", "generation_config.json", "model-00001-of-00003.safetensors",
                   "model-00002-of-00003.safetensors", "model-00003-of-00003.safetensors",
                   "model.safetensors.index.json", "tokenizer.json", "tokenizer_config.json"]
    row = cli("list", "--json").json()[0]
    assert row["name"] == "llama-3-8b-vllm-awq-int4" and row["backend"] == "vllm"
    assert row["chat_template"]["source"] == "embedded" and row["metadata"]["context_length"] == 8192
    assert "Download complete" in result.stdout and "embedded" in result.stdout


def test_optional_files_weights_filter_and_revision(awq_repo, cli, sandbox):
    result = cli("download", "TheBloke/Llama-3-8B-AWQ@v2", "--include-optional", "--weights",
                 "model-00001-of-00003.safetensors", "-y", "--no-aria2")
    assert result.exit_code == 0, result.stderr
    target = sandbox.root / "models" / "weights" / "TheBloke" / "Llama-3-8B-AWQ@v2"
    names = {str(p.relative_to(target)) for p in target.rglob("*") if p.is_file()}
    assert "README.md" in names and "assets/diagram.png" in names
    assert "model-00002-of-00003.safetensors" not in names
    row = cli("list", "--json").json()[0]
    assert row["name"] == "llama-3-8b-v2-vllm-awq-int4" and row["source"]["revision"] == "v2"


def test_rerun_is_a_fast_noop_and_force_refetches(awq_repo, cli):
    assert cli("download", "TheBloke/Llama-3-8B-AWQ", "-y").exit_code == 0
    awq_repo.served.clear()
    again = cli("download", "TheBloke/Llama-3-8B-AWQ", "-y")
    assert again.exit_code == 0 and "Already downloaded" in again.stdout
    assert sum(awq_repo.served.values()) < 2000  # only config.json for detection
    assert len(cli("list", "--json").json()) == 1
    forced = cli("download", "TheBloke/Llama-3-8B-AWQ", "-y", "--force", "--no-aria2")
    assert forced.exit_code == 0 and sum(awq_repo.served.values()) > 60_000


def test_the_hf_endpoint_setting_reaches_the_hub_without_the_variable(awq_repo, cli, monkeypatch):
    """`config set hf_endpoint URL` (a mirror, say) works as HF_ENDPOINT does, in a process
    where the variable is not set; the variable itself still wins over the file."""
    url = awq_repo.url
    monkeypatch.delenv("HF_ENDPOINT")
    assert cli("config", "set", "hf_endpoint", url).exit_code == 0
    result = run_process("download", "TheBloke/Llama-3-8B-AWQ", "-y", "--no-aria2")
    assert result.exit_code == 0, result.stderr
    assert awq_repo.served, "nothing was fetched from the configured endpoint"
    wrong = run_process("download", "TheBloke/Llama-3-8B-AWQ", "-y", "--force", "--no-aria2",
                        env={"HF_ENDPOINT": "http://127.0.0.1:9"})  # the variable wins: nothing listens there
    assert wrong.exit_code != 0 and "127.0.0.1:9" in wrong.stderr + wrong.stdout


def test_dry_run_plans_and_writes_nothing(awq_repo, cli, sandbox):
    result = cli("download", "TheBloke/Llama-3-8B-AWQ", "--dry-run", "-y")
    assert result.exit_code == 0 and "model-00002-of-00003.safetensors" in result.stdout
    assert not (sandbox.root / "models").exists() and not sandbox.layer("discovered").exists()


def test_resolve_url_downloads_that_file_only(gguf_repo, cli, sandbox, hub):
    url = f"{hub.url}/bartowski/Foo-7B-GGUF/resolve/main/Foo-7B-Q2_K.gguf"
    result = cli("download", url, "-y", "--no-aria2")
    assert result.exit_code == 0, result.stderr
    row = cli("list", "--json").json()[0]
    assert row["download_files"] == ["Foo-7B-Q2_K.gguf"] and row["quantization"] == "q2_k"


@pytest.mark.parametrize("source, code, fragment", [
    ("not a repo", 2, "no installed provider understands"),
    ("bad name!/x", 2, "invalid repo id"),
    ("owner/../etc", 2, "invalid"),
    ("nobody/missing", 1, "was not found"),
    ("TheBloke/Llama-3-8B-AWQ@nope", 1, "revision 'nope' does not exist"),
])
def test_errors_are_one_line(awq_repo, source, code, fragment):
    result = run_process("download", source, "-y")
    assert result.exit_code == code, result.stderr
    assert fragment in result.stderr and "Traceback" not in result.stderr


def test_gated_and_bad_token(hub, cli, monkeypatch):
    hub.add_repo("meta/Gated", {"model.safetensors": b"x" * 100, "config.json": b"{}"}, gated=True)
    result = run_process("download", "meta/Gated", "-y")
    assert result.exit_code == 1 and "gated" in result.stderr
    result = run_process("download", "meta/Gated", "-y", env={"HF_TOKEN": "hf_wrong_token_abcdef"})
    assert result.exit_code == 1 and "hf_wrong_token_abcdef" not in result.stderr + result.stdout
    assert "token" in result.stderr
    ok = run_process("download", "meta/Gated", "-y", env={"HF_TOKEN": hub.token})
    assert ok.exit_code == 0, ok.stderr


def test_hostile_names_refused_before_writing(hub, cli, sandbox):
    hub.add_repo("evil/repo", {"../../escape.safetensors": b"x", "config.json": b"{}"})
    result = cli("download", "evil/repo", "-y")
    assert result.exit_code == 2 and "unsafe file name" in result.stderr
    assert not (sandbox.root / "models").exists()


def test_sha_mismatch_deletes_and_fails(awq_repo, cli, sandbox):
    awq_repo.faults.corrupt_path = "model-00002-of-00003.safetensors"
    result = cli("download", "TheBloke/Llama-3-8B-AWQ", "-y", "--no-aria2")
    assert result.exit_code == 1 and "sha256 mismatch" in result.stderr
    assert "model-00002-of-00003.safetensors" in result.stderr
    assert not sandbox.layer("discovered").exists()
    target = sandbox.root / "models" / "weights" / "TheBloke" / "Llama-3-8B-AWQ"
    assert not (target / "model-00002-of-00003.safetensors").exists()


def test_sha_mismatch_aria2(awq_repo, cli, sandbox):
    awq_repo.faults.corrupt_path = "model-00002-of-00003.safetensors"
    result = cli("download", "TheBloke/Llama-3-8B-AWQ", "-y")
    assert result.exit_code == 1 and ("checksum" in result.stderr or "sha256" in result.stderr)
    assert not sandbox.layer("discovered").exists()


@pytest.mark.parametrize("backend", ["--no-aria2", None])
def test_dropped_connections_and_busy_server_are_retried(hub, cli, sandbox, backend):
    data = random_bytes(3_000_000, seed=9)
    hub.add_repo("o/big", {"model.safetensors": data, "config.json": b"{}"})
    hub.faults.drop_after_bytes = 1_000_000
    hub.faults.drops_left = 2
    hub.faults.busy_responses = 2
    result = cli("download", "o/big", "-y", *([backend] if backend else []))
    assert result.exit_code == 0, result.stderr
    target = sandbox.root / "models" / "weights" / "o" / "big" / "model.safetensors"
    assert hashlib.sha256(target.read_bytes()).hexdigest() == hashlib.sha256(data).hexdigest()
    assert hub.served["model.safetensors"] <= 1.05 * len(data) + 2_000_000


def test_server_ignoring_range_restarts_instead_of_appending(hub, cli, sandbox):
    data = random_bytes(40_000_000, seed=3)
    hub.add_repo("o/norange", {"model.safetensors": data})
    hub.faults.ignore_range = True
    result = cli("download", "o/norange", "-y", "--no-aria2")
    assert result.exit_code == 0, result.stderr
    target = sandbox.root / "models" / "weights" / "o" / "norange" / "model.safetensors"
    assert target.stat().st_size == len(data)


def test_a_piece_answered_from_the_wrong_offset_is_fetched_again(hub, cli, sandbox):
    """A 206 whose Content-Range starts elsewhere than asked (a confused cache in between) is
    retried, not written at the wrong place (which would cost the whole file at the hash check)."""
    data = random_bytes(30_000_000, seed=31)  # four pieces
    hub.add_repo("o/shifted", {"model.safetensors": data, "config.json": b"{}"})
    hub.faults.shifted_ranges = 2
    result = cli("download", "o/shifted", "-y", "--no-aria2")
    assert result.exit_code == 0, result.stderr
    target = sandbox.root / "models" / "weights" / "o" / "shifted" / "model.safetensors"
    assert target.read_bytes() == data
    assert hub.faults.shifted_ranges == 0


def test_content_range_checks(tmp_path):
    from imageworks_core import DownloadError
    from imageworks_hf.python_downloader import PythonDownloader, _Retry
    from imageworks_hf.transfer import FileJob

    job = FileJob("model.safetensors", "http://127.0.0.1:9/x", tmp_path / "model.safetensors", 1000, None)
    check = PythonDownloader._check_range
    check(job, 100, "bytes 100-199/1000")
    check(job, 100, "bytes 100-199/*")
    check(job, 100, None)  # no header: the sha256 still judges the bytes
    with pytest.raises(_Retry):
        check(job, 100, "bytes 101-199/1000")
    with pytest.raises(DownloadError, match="changed while downloading"):
        check(job, 100, "bytes 100-199/2000")


def test_token_never_leaks(hub, sandbox, monkeypatch):
    hub.add_repo("meta/Private", {"model.safetensors": b"y" * 5000, "config.json": b"{}"}, gated=True)
    env = {"HF_TOKEN": hub.token, "IMAGEWORKS_DEBUG": "1"}
    for extra in ([], ["--no-aria2"]):
        result = run_process("download", "meta/Private", "-y", "--force", *extra, env=env)
        assert result.exit_code == 0, result.stderr
        assert hub.token not in result.stdout + result.stderr
    for path in sandbox.root.rglob("*"):
        if path.is_file() and path.stat().st_size < 10_000_000:
            assert hub.token.encode() not in path.read_bytes(), path
    # the token went to the hub, never to the redirect target
    cdn = [h for method, p, h in hub.requests if p.startswith("/cdn/")]
    assert cdn and all("Authorization" not in h for h in cdn)


def test_support_repo_fills_missing_config_and_tokenizer(hub, cli, sandbox):
    hub.add_repo("quant/Bare-AWQ", {"model.safetensors": random_bytes(5000, seed=1),
                                    "config.json": b'{"quantization_config": {"quant_method": "awq", "bits": 4}}'})
    hub.add_repo("orig/Bare", {"config.json": b'{"x": 1}', "tokenizer.json": b"{}",
                               "tokenizer_config.json": b'{"chat_template": "{{ x }}"}', "chat_template.jinja": b"{{ x }}"})
    result = cli("download", "quant/Bare-AWQ", "--support-repo", "orig/Bare", "-y", "--no-aria2")
    assert result.exit_code == 0, result.stderr
    target = sandbox.root / "models" / "weights" / "quant" / "Bare-AWQ"
    assert json.loads((target / "config.json").read_text())["quantization_config"]["quant_method"] == "awq"
    assert (target / "tokenizer.json").exists() and (target / "chat_template.jinja").exists()
    row = cli("list", "--json").json()[0]
    assert row["source"]["support_repo"] == "orig/Bare" and row["chat_template"]["source"] == "external"
    assert cli("download", "quant/Bare-AWQ", "--support-repo", "nonsense", "-y").exit_code == 2


def test_gguf_goes_to_lm_studio_when_present_and_import_does_not_duplicate(gguf_repo, cli, sandbox):
    models = sandbox.home / ".lmstudio" / "models"
    models.mkdir(parents=True)
    result = cli("download", "bartowski/Foo-7B-GGUF", "--quant", "q8_0", "-y", "--no-aria2")
    assert result.exit_code == 0, result.stderr
    target = models / "bartowski" / "Foo-7B-GGUF"
    assert (target / "Foo-7B-Q8_0.gguf").exists()
    row = cli("list", "--json").json()[0]
    assert row["name"] == "foo-7b-lmstudio-gguf-q8_0" and row["download_location"] == "windows_lmstudio"
    imported = cli("import-lmstudio")
    assert imported.exit_code == 0 and "1 already registered" in imported.stdout
    assert len(cli("list", "--json").json()) == 1


def test_a_gguf_gets_the_same_metadata_downloaded_or_scanned(gguf_repo, cli, sandbox):
    """One "files -> variant" rule: a download and a scan of the same GGUF agree."""
    import shutil

    assert cli("download", "bartowski/Foo-7B-GGUF", "--quant", "q8_0", "-y", "--no-aria2").exit_code == 0
    (downloaded,) = cli("list", "--json").json()
    copy = sandbox.root / "elsewhere" / "Foo-7B-GGUF"
    shutil.copytree(downloaded["download_path"], copy)
    assert cli("scan", "--base", str(sandbox.root / "elsewhere")).exit_code == 0
    (scanned,) = [r for r in cli("list", "--json").json() if r["source_provider"] == "local_scan"]
    for field in ("download_format", "quantization", "chat_template", "capabilities", "download_files"):
        assert downloaded[field] == scanned[field], field
    without = lambda m: {k: v for k, v in m.items() if k not in ("identity", "location_root")}  # noqa: E731
    assert without(downloaded["metadata"]) == without(scanned["metadata"])


def test_split_gguf_in_a_sub_folder_downloads_as_one_variant(gguf_repo, cli, sandbox):
    result = cli("download", "bartowski/Foo-7B-GGUF", "--quant", "q6_k", "-y", "--no-aria2")
    assert result.exit_code == 0, result.stderr
    (row,) = cli("list", "--json").json()
    assert row["quantization"] == "q6_k" and row["metadata"]["gguf_split_count"] == 3
    assert row["download_files"][0] == "Q6_K/Foo-7B-Q6_K-00001-of-00003.gguf"


@pytest.mark.parametrize("setting, flag, engine", [
    ("auto", None, "python"), ("auto", "--aria2", "aria2c"), ("always", None, "aria2c"),
    ("always", "--no-aria2", "python"), ("never", "--aria2", "aria2c"),
])
def test_the_built_in_downloader_is_the_default_and_flags_choose(gguf_repo, cli, monkeypatch, setting, flag, engine):
    monkeypatch.setenv("IMAGEWORKS_USE_ARIA2", setting)
    args = ["download", "bartowski/Foo-7B-GGUF", "--quant", "q8_0", "-y", "--dry-run"] + ([flag] if flag else [])
    result = cli(*args)
    assert result.exit_code == 0, result.stderr
    assert f"(via {engine})" in result.stdout


def test_aria2_asked_for_but_missing_is_a_one_line_error(gguf_repo, cli, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    result = cli("download", "bartowski/Foo-7B-GGUF", "--quant", "q8_0", "-y", "--aria2")
    assert result.exit_code != 0 and "aria2c is not installed" in result.stderr


def test_a_repo_of_many_files_downloads_under_a_low_descriptor_limit(hub, sandbox):
    """Files are opened when their first piece is handed out and closed when checked, and the
    pool is no larger than the descriptor limit allows: with each answer held back 0.2 s, every
    worker holds its socket and its file at once (a default soft limit is 1,024; here it is 256,
    and the default pool of 128 workers would need about 400)."""
    import subprocess
    import sys

    from imageworks_testing.fakehub import random_bytes

    files = {f"shards/part-{i:04d}.safetensors": random_bytes(3000 + i, seed=i) for i in range(400)}
    hub.add_repo("o/many", {**files, "config.json": b"{}"})
    hub.faults.stall_seconds = 0.2
    code = ("import resource, sys; resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256)); "
            "from imageworks_core.cli.download_program import main; sys.argv[0] = 'imageworks-download'; main()")
    done = subprocess.run([sys.executable, "-c", code, "download", "o/many", "-y", "--no-aria2"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    target = sandbox.root / "models" / "weights" / "o" / "many" / "shards"
    assert len(list(target.iterdir())) == 400
    assert (target / "part-0399.safetensors").read_bytes() == files["shards/part-0399.safetensors"]


def test_a_corrupted_multi_piece_file_is_refused_and_removed(hub, cli, sandbox):
    """Hashed by the thread that follows the pieces, confirmed by a full read: never registered."""
    data = random_bytes(20_000_000, seed=11)  # three 8 MiB pieces
    hub.add_repo("o/bad", {"model.safetensors": data, "config.json": b"{}"})
    hub.faults.corrupt_path = "model.safetensors"
    result = cli("download", "o/bad", "-y", "--no-aria2")
    assert result.exit_code != 0 and "sha256 mismatch" in result.stderr
    target = sandbox.root / "models" / "weights" / "o" / "bad"
    assert not (target / "model.safetensors").exists()
    assert cli("list", "--json").json() == []

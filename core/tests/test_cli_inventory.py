import json

import pytest

from imageworks_testing.plugin import run_process


@pytest.fixture
def populated(sandbox, tmp_path):
    weights = tmp_path / "models" / "weights" / "a" / "m"
    weights.mkdir(parents=True)
    (weights / "model.safetensors").write_bytes(b"x" * 100)
    sandbox.write_layer("discovered", [
        {"name": "m-vllm-awq-int4", "backend": "vllm", "download_format": "awq", "quantization": "int4",
         "download_location": "linux_wsl", "download_path": str(weights),
         "download_files": ["model.safetensors"], "download_size_bytes": 100, "source_provider": "hf"},
        {"name": "gone-llamacpp-gguf-q4_k_m", "backend": "llamacpp", "download_format": "gguf",
         "quantization": "q4_k_m", "download_path": str(tmp_path / "nowhere"), "download_files": ["x.gguf"]},
        {"name": "logical-only", "backend": "vllm"},
        {"name": "old", "deprecated": True, "download_path": str(weights), "download_files": ["model.safetensors"]},
        {"name": "testmodel", "metadata": {"testing": True}, "download_path": str(weights)},
    ])
    sandbox.write_layer("curated", [
        {"name": "m-vllm-awq-int4", "roles": ["caption", "keywords"], "role_priority": {"caption": 10},
         "capabilities": {"vision": True}},
        {"name": "logical-only", "roles": ["caption"], "role_priority": {"caption": 3}},
    ])
    return sandbox


def test_list_json_filters_and_fields(populated, cli):
    result = cli("list", "--json")
    assert result.exit_code == 0
    rows = result.json()
    assert [r["name"] for r in rows] == ["gone-llamacpp-gguf-q4_k_m", "m-vllm-awq-int4"]
    by = {r["name"]: r for r in rows}
    assert by["m-vllm-awq-int4"]["installed"] is True and by["m-vllm-awq-int4"]["layer"] == "both"
    assert by["gone-llamacpp-gguf-q4_k_m"]["installed"] is False
    assert [r["name"] for r in cli("list", "--json", "--backend", "vllm").json()] == ["m-vllm-awq-int4"]
    assert [r["name"] for r in cli("list", "--json", "--quant", "q4_k_m").json()] == ["gone-llamacpp-gguf-q4_k_m"]
    assert [r["name"] for r in cli("list", "--json", "--role", "caption", "--include-logical").json()] == [
        "logical-only", "m-vllm-awq-int4"]
    names = {r["name"] for r in cli("list", "--json", "--show-deprecated", "--include-testing", "--include-logical").json()}
    assert names == {"gone-llamacpp-gguf-q4_k_m", "m-vllm-awq-int4", "logical-only", "old", "testmodel"}


def test_list_human_table(populated, cli):
    result = cli("list", "--details")
    assert result.exit_code == 0
    assert "m-vllm-awq-int4" in result.stdout and "✓" in result.stdout and "✗" in result.stdout


def test_list_roles(populated, cli):
    rows = cli("list-roles", "--json").json()
    assert rows[0] == {"role": "caption", "name": "m-vllm-awq-int4", "priority": 10, "backend": "vllm",
                       "capabilities": ["vision"]}
    assert [(r["role"], r["name"]) for r in rows] == [
        ("caption", "m-vllm-awq-int4"), ("caption", "logical-only"), ("keywords", "m-vllm-awq-int4")]
    assert cli("list-roles", "--show-capabilities").exit_code == 0
    assert cli("list-roles", "--json", program="imageworks-loader").json() == rows


def test_stats_count_shared_files_once(populated, cli):
    data = cli("stats", "--json").json()
    assert data["entries"] == 5
    assert data["disk_bytes"] == 100  # listed by two entries, counted once
    assert data["by_backend"]["vllm"]["count"] == 2
    assert set(data) >= {"by_backend", "by_format", "by_quantization", "by_location", "by_provider"}
    assert cli("stats").exit_code == 0


def test_corrupt_registry_is_exit_2_one_line(sandbox, cli):
    sandbox.layer("curated").parent.mkdir(parents=True)
    sandbox.layer("curated").write_text('{"models": [{"name": "a",}]}')
    result = run_process("list", "--json")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert "model_registry.curated.json:1:" in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 2


def test_config_show_set_and_sources(sandbox, cli, monkeypatch):
    monkeypatch.setenv("IMAGEWORKS_LOCK_TIMEOUT_S", "8")
    data = cli("config", "show", "--json").json()
    assert data["lock_timeout_s"] == {"value": 8.0, "source": "environment IMAGEWORKS_LOCK_TIMEOUT_S"}
    assert data["backups_keep"]["source"] == "default"
    assert cli("config", "set", "backups_keep", "5").exit_code == 0
    assert cli("config", "set", "locations.fast", str(sandbox.root / "fast")).exit_code == 0
    data = cli("config", "--json").json()
    assert data["backups_keep"]["value"] == 5 and data["backups_keep"]["source"].startswith("project file")
    assert data["locations"]["value"]["fast"] == str(sandbox.root / "fast")
    bad = cli("config", "set", "backups_keep", "many")
    assert bad.exit_code == 2 and "backups_keep" in bad.stderr
    assert cli("config", "set", "nonsense", "1").exit_code == 2
    assert "registry_dir" in cli("config", "path").stdout


def test_plugins_lists_the_four_providers(sandbox, cli):
    rows = cli("plugins", "--json").json()
    names = {r["name"] for r in rows}
    assert {"hf", "ollama", "lmstudio", "local_scan"} <= names
    assert all(r["distribution"].startswith("imageworks-") for r in rows if r["name"] in names)


def test_load_plugins_env_chooses(sandbox, monkeypatch):
    result = run_process("plugins", "--json", env={"IMAGEWORKS_LOAD_PLUGINS": "hf"})
    assert [r["name"] for r in json.loads(result.stdout)] == ["hf"]
    result = run_process("plugins", "--json", env={"IMAGEWORKS_LOAD_PLUGINS": ""})
    assert json.loads(result.stdout) == []


def test_migrate_registry_rewrites_bare_lists(sandbox, cli):
    sandbox.layer("curated").parent.mkdir(parents=True)
    sandbox.layer("curated").write_text(json.dumps([{"roles": ["chat"], "name": "legacy"}]))
    assert cli("migrate-registry", "--dry-run").exit_code == 0
    assert sandbox.layer("curated").read_text().startswith("[")
    result = cli("migrate-registry")
    assert result.exit_code == 0 and "backup:" in result.stdout
    doc = json.loads(sandbox.layer("curated").read_text())
    assert doc == {"schema_version": 1, "models": [{"name": "legacy", "roles": ["chat"]}]}
    assert "nothing to do" in cli("migrate-registry", program="imageworks-loader").stdout


def test_unknown_command_and_option_exit_2(sandbox, cli):
    assert run_process("frobnicate").exit_code == 2
    assert run_process("list", "--bogus").exit_code == 2


def test_commands_write_structured_log(populated, cli):
    cli("config", "set", "backups_keep", "3")
    record = populated.log_records()[-1]
    assert record["event"] == "config_set" and record["command"] == "config"
    assert {"ts", "level", "event", "command"} <= set(record)
    cli("list", "--json")
    assert populated.log_records()[-1]["command"] == "list"  # read-only commands leave a record too


def test_broken_pipe_is_quiet(populated):
    import subprocess
    import sys

    code = "import sys; from imageworks_core.cli.download_program import main; sys.argv[0]='x'; main()"
    proc = subprocess.run(f"{sys.executable} -c \"{code}\" list --json | head -c 1", shell=True,
                          capture_output=True, text=True, timeout=60)
    assert "Traceback" not in proc.stderr

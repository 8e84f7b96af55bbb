"""A person who installs only imageworks-core and imageworks-hf (CI builds that venv: .ci/run).
The other providers' commands do not exist there, and download works. Skipped in the workspace
venv, where every provider is installed."""

import importlib.metadata

import pytest

from imageworks_testing import run_process

try:
    importlib.metadata.distribution("imageworks-ollama")
    pytestmark = pytest.mark.skip(reason="every provider is installed here; CI runs this in a core + hf venv")
except importlib.metadata.PackageNotFoundError:
    pass


def test_other_providers_commands_do_not_exist(sandbox, tmp_path):
    (tmp_path / "w").mkdir()
    for args, dist in ((("scan", "--base", str(tmp_path / "w")), "imageworks-local-scan"),
                       (("import-ollama",), "imageworks-ollama"), (("import-lmstudio",), "imageworks-lmstudio")):
        result = run_process(*args)
        assert result.exit_code == 2 and "No such command" in result.stderr and dist in result.stderr, result.stderr
    assert "rebuild-ollama" not in run_process("--help", program="imageworks-loader").stdout


def test_download_and_settings_work_with_hf_alone(sandbox, monkeypatch):
    from imageworks_testing.fakehub import FakeHub

    hub = FakeHub().start()
    try:
        hub.add_repo("o/alone", {"config.json": b'{"torch_dtype": "bfloat16"}', "model.safetensors": b"\0" * 4096,
                                 "tokenizer_config.json": b"{}"})
        env = {"HF_ENDPOINT": hub.url, "HF_HUB_DISABLE_XET": "1"}
        result = run_process("download", "o/alone", "-y", "--no-aria2", env=env)
        assert result.exit_code == 0, result.stderr
        assert [e["name"] for e in run_process("list", "--json").json()] == ["alone-vllm-safetensors-bf16"]
        settings = run_process("config", "show", "--json", env=env).json()
        assert "hf_endpoint" in settings and "ollama_models" not in settings and "lmstudio_roots" not in settings
    finally:
        hub.stop()

"""The example third-party provider, installed as a distribution: its command, setting,
discovery, removal and GUI panel, through the public API only."""

from pathlib import Path

import pytest

from imageworks_testing.fixtures import write_gguf, write_hf_folder

pytest.importorskip("imageworks_modelscope", reason="install the example (CI does: .ci/minimal-install)")


def test_setting_discovery_command_and_removal(sandbox, cli, monkeypatch):
    cache = sandbox.root / "modelscope" / "hub"
    monkeypatch.setenv("MODELSCOPE_CACHE", str(cache))
    write_hf_folder(cache / "models" / "qwen" / "Qwen2.5-0.5B-Instruct")
    write_gguf(cache / "models" / "unsloth" / "Tiny-GGUF" / "Tiny-Q8_0.gguf", file_type=7, basename="Tiny")
    settings = cli("config", "show", "--json").json()
    assert settings["modelscope_cache"] == {"value": str(cache), "source": "default (~/.cache/modelscope/hub)"}
    assert "modelscope" in {p["name"] for p in cli("plugins", "--json").json()}
    result = cli("import-modelscope")
    assert result.exit_code == 0, result.stderr
    rows = {r["name"]: r for r in cli("list", "--json").json()}
    assert set(rows) == {"qwen2.5-0.5b-instruct-vllm-safetensors-bf16", "tiny-llamacpp-gguf-q8_0"}
    assert rows["tiny-llamacpp-gguf-q8_0"]["source_provider"] == "modelscope"
    folder = Path(rows["qwen2.5-0.5b-instruct-vllm-safetensors-bf16"]["download_path"])
    removed = cli("remove", "qwen2.5-0.5b-instruct-vllm-safetensors-bf16", "--delete-files", "--purge", "--force")
    assert removed.exit_code == 0, removed.stderr
    assert not folder.exists() and sandbox.sentinel.exists()
    assert len(cli("list", "--json").json()) == 1


def test_gui_panel(sandbox, monkeypatch):
    from streamlit.testing.v1 import AppTest

    import imageworks_gui

    cache = sandbox.root / "modelscope" / "hub"
    monkeypatch.setenv("MODELSCOPE_CACHE", str(cache))
    write_hf_folder(cache / "models" / "qwen" / "Qwen2.5-0.5B-Instruct")
    page = Path(imageworks_gui.__file__).parent / "pages" / "2_🎯_Models.py"
    at = AppTest.from_file(str(page), default_timeout=60).run()
    assert "🔭 Import ModelScope" in [t.label for t in at.tabs]
    at.checkbox(key="modelscope-dry").uncheck().run()
    next(b for b in at.button if b.key == "modelscope-run").click().run()
    assert [r["name"] for r in sandbox.read_layer("discovered")] == ["qwen2.5-0.5b-instruct-vllm-safetensors-bf16"]

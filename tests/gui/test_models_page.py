"""The Models page, driven with Streamlit's AppTest (the page's real script, in-process)."""

import pytest

pytest.importorskip("streamlit")

from imageworks_testing.apptest import button, codes  # noqa: E402
from imageworks_testing.apptest import models_page as app  # noqa: E402
from imageworks_testing.fixtures import write_gguf, write_ollama_model  # noqa: E402


def test_empty_registry_has_a_helpful_state(sandbox):
    at = app()
    assert any("is empty" in i.value for i in at.info)
    assert len(at.tabs) >= 4


def test_browse_shows_entries_and_stats(sandbox, cli):
    write_gguf(sandbox.root / "models" / "weights" / "a" / "Alpha-Q4_K_M.gguf")
    cli("scan", "--base", str(sandbox.root / "models" / "weights"))
    at = app()
    table = at.dataframe[0].value
    assert list(table["name"]) == ["alpha-llamacpp-gguf-q4_k_m"] and list(table["installed"]) == ["✓"]
    assert any(m.label == "Entries" and m.value == "1" for m in at.metric)
    assert any("uv run imageworks-download list" in c for c in codes(at))
    at.selectbox(key="f-backend").select("llamacpp").run()
    assert any("--backend llamacpp" in c for c in codes(at))


def test_scan_tab_shows_command_and_runs_dry_by_default(sandbox, cli):
    base = sandbox.root / "models" / "weights"
    write_gguf(base / "a" / "Alpha-Q4_K_M.gguf")
    at = app()
    at.text_input(key="scan-base").input(str(base)).run()
    assert any(c.startswith("uv run imageworks-download scan --base") and "--dry-run" in c for c in codes(at))
    button(at, "scan-run").click().run()
    assert not at.exception
    # The result is a table built from `scan --json`, not the terminal's text.
    assert any("alpha-llamacpp-gguf-q4_k_m" in t.value["name"].tolist() for t in at.table)
    assert any("would be added" in m.value or "1 added" in m.value for m in at.markdown)
    assert not sandbox.layer("discovered").exists()  # dry run by default
    at.checkbox(key="scan-dry").uncheck().run()
    button(at, "scan-run").click().run()
    assert [r["name"] for r in sandbox.read_layer("discovered")] == ["alpha-llamacpp-gguf-q4_k_m"]
    assert any(r["command"] == "scan" for r in sandbox.log_records())


def test_import_ollama_tab(sandbox):
    write_ollama_model(sandbox.root / "ollama", "qwen3:8b")
    at = app()
    at.checkbox(key="ollama-dry").uncheck().run()
    button(at, "ollama-run").click().run()
    assert [r["name"] for r in sandbox.read_layer("discovered")] == ["qwen3-8b-ollama-gguf-q4_k_m"]


def test_remove_needs_confirmation(sandbox, cli):
    path = write_gguf(sandbox.root / "models" / "weights" / "a" / "Alpha-Q4_K_M.gguf")
    cli("scan", "--base", str(sandbox.root / "models" / "weights"))
    at = app()
    at.radio(key="remove-mode").set_value("purge (delete files and the entry)").run()
    at.checkbox(key="remove-dry").uncheck().run()
    assert button(at, "remove-run").disabled
    assert any("--purge --delete-files --force" in c for c in codes(at))
    at.checkbox(key="remove-confirm").check().run()
    button(at, "remove-run").click().run()
    assert not path.exists() and sandbox.read_layer("discovered") == []


def test_verify_and_normalize_tabs(sandbox, cli):
    write_gguf(sandbox.root / "models" / "weights" / "a" / "Alpha-Q4_K_M.gguf")
    cli("scan", "--base", str(sandbox.root / "models" / "weights"))
    at = app()
    button(at, "verify-run").click().run()
    assert any("uv run imageworks-download verify --json" in c for c in codes(at))
    rows = [row for t in at.table for row in t.value.to_dict("records")]
    assert {"": "✓", "name": "alpha-llamacpp-gguf-q4_k_m", "problems": ""} in rows
    assert any(m.value == "1 checked, 0 invalid" for m in at.markdown)
    assert button(at, "norm-run").disabled is False
    at.checkbox(key="norm-apply").check().run()
    assert button(at, "norm-run").disabled  # applying needs the confirmation


def test_bad_registry_is_a_plain_error(sandbox):
    sandbox.layer("curated").parent.mkdir(parents=True)
    sandbox.layer("curated").write_text("{broken")
    at = app()
    assert any("cannot be read" in e.value for e in at.error)


def test_download_tab_with_progress(sandbox, monkeypatch):
    from huggingface_hub import constants

    from imageworks_testing.fakehub import FakeHub, random_bytes

    with FakeHub() as hub:
        hub.add_repo("o/gui", {"config.json": b'{"torch_dtype": "bfloat16"}', "model.safetensors": random_bytes(300_000)})
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        monkeypatch.setattr(constants, "ENDPOINT", hub.url)
        at = app()
        at.text_input(key="dl-model").input("o/gui").run()
        assert any(c.startswith("uv run imageworks-download download o/gui --non-interactive --location linux_wsl")
                   for c in codes(at))
        button(at, "dl-run").click().run()
        assert not at.exception and not at.error, [e.value for e in at.error]
        assert any("gui-vllm-safetensors-bf16" in s.value for s in at.success)
        assert [r["name"] for r in sandbox.read_layer("discovered")] == ["gui-vllm-safetensors-bf16"]
        assert any(r["event"] == "download_finished" for r in sandbox.log_records())


def test_read_only_commands_and_loader_commands_have_twins(sandbox, cli):
    from imageworks_testing.fixtures import write_hf_folder

    write_gguf(sandbox.root / "models" / "weights" / "a" / "Alpha-Q4_K_M.gguf")
    cli("scan", "--base", str(sandbox.root / "models" / "weights"))
    sandbox.write_layer("curated", [{"name": "alpha-llamacpp-gguf-q4_k_m", "roles": ["caption"]}])
    write_hf_folder(sandbox.root / "models" / "weights" / "Qwen" / "Qwen2.5-7B")
    at = app()
    commands = " ".join(codes(at))
    for command in ("list-roles", "config show", "plugins", "stats"):
        assert f"imageworks-download {command}" in commands, command
    assert any("caption" in str(df.value) for df in at.dataframe)
    # ingest-local-hf is the hf provider's: its panel, under 🧩 Providers.
    at.checkbox(key="ingest-dry").uncheck().run()
    at.checkbox(key="ingest-confirm").check().run()
    assert any(c.startswith("uv run imageworks-loader ingest-local-hf") for c in codes(at))
    button(at, "ingest-run").click().run()
    names = {r["name"] for r in sandbox.read_layer("discovered")}
    assert "qwen2.5-7b-vllm-safetensors-bf16" in names


def test_tabs_come_from_the_installed_providers(sandbox, monkeypatch):
    """With only hf loaded, the Download & Import tab has hf's panel and no Ollama/LM Studio/Scan."""
    from imageworks_core.plugins import get_plugins

    monkeypatch.setenv("IMAGEWORKS_LOAD_PLUGINS", "hf")
    get_plugins.cache_clear()
    try:
        at = app()
        titles = [t.label for t in at.tabs]
        assert "🌐 Download" in titles and "🦙 Import Ollama" not in titles and "📁 Scan" not in titles
        assert "🤗 Hugging Face" in titles
    finally:
        monkeypatch.delenv("IMAGEWORKS_LOAD_PLUGINS")
        get_plugins.cache_clear()


def test_reclaim_space_shows_the_plan_and_needs_confirmation(sandbox):
    import os
    import time

    store = sandbox.root / "ollama"
    write_ollama_model(store, "live:1b")
    stray = store / "blobs" / ("sha256-" + "9" * 64)
    stray.write_bytes(b"s" * 10000)
    os.utime(stray, (time.time() - 7200,) * 2)
    at = app()
    assert any("cleanup --older-than 1h --json" in c for c in codes(at))
    assert any(m.label == "Reclaimable" for m in at.metric)
    assert button(at, "reclaim-run").disabled
    at.checkbox(key="reclaim-confirm").check().run()
    button(at, "reclaim-run").click().run()
    assert any(s.value.startswith("Freed") for s in at.success)
    assert not stray.exists()


def test_share_tab_links_a_model_into_ollama(sandbox, cli):
    write_gguf(sandbox.root / "models" / "weights" / "a" / "Alpha-Q4_K_M.gguf", basename="Alpha")
    cli("scan", "--base", str(sandbox.root / "models" / "weights"))
    at = app()
    assert any(c.startswith("uv run imageworks-download link alpha-llamacpp-gguf-q4_k_m --to ollama") for c in codes(at))
    button(at, "link-run").click().run()
    assert (sandbox.root / "ollama" / "manifests" / "registry.ollama.ai" / "library" / "alpha" / "q4_k_m").is_file()
    button(at, "dupes-run").click().run()
    assert any(m.label == "A dedupe frees" for m in at.metric)

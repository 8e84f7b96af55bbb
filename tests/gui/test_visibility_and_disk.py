"""Where each model is visible, the disk view, and the Hugging Face cache as a target of the
Share and Download panels, driven with Streamlit's AppTest (the page's real script)."""

from pathlib import Path

import pytest

pytest.importorskip("streamlit")

from imageworks_core import human_bytes  # noqa: E402
from imageworks_testing.apptest import button, codes  # noqa: E402
from imageworks_testing.apptest import models_page as app  # noqa: E402
from imageworks_testing.fixtures import write_gguf, write_space_to_reclaim  # noqa: E402


def metric(at, label):
    return next(m.value for m in at.metric if m.label == label)


def chart_rows(at, title):
    """The data behind the chart titled ``title``, as the browser receives it (Arrow)."""
    import json

    import pyarrow as pa

    for chart in at.get("vega_lite_chart"):
        spec = json.loads(chart.proto.spec)
        titles = [layer.get("title") for layer in spec.get("layer", [spec])] + [spec.get("title")]
        if title in titles:
            return pa.ipc.open_stream(chart.proto.datasets[0].data.data).read_all().to_pylist()
    raise AssertionError(f"no chart titled {title!r}")


def scanned_gguf(sandbox, cli):
    folder = sandbox.root / "models" / "weights" / "acme" / "Foo-7B-GGUF"
    write_gguf(folder / "Foo-7B-Q4_K_M.gguf", basename="Foo", size_label="7B", tensor_values=4000)
    assert cli("scan", "--base", str(sandbox.root / "models" / "weights")).exit_code == 0
    return folder, "foo-7b-llamacpp-gguf-q4_k_m"


def test_browse_shows_where_each_model_is_visible(sandbox, cli):
    _folder, name = scanned_gguf(sandbox, cli)
    at = app()
    table = at.dataframe[0].value
    assert list(table["visible in"]) == ["📁 linux_wsl"]
    assert any("0 with copies in more than one place" in e.label for e in at.expander)
    assert cli("link", name, "--to", "ollama").exit_code == 0
    at = app()
    visible = dict(zip(at.dataframe[0].value["name"], at.dataframe[0].value["visible in"]))
    assert visible == {name: "📁 linux_wsl · 🦙 Ollama", "foo-7b-ollama-gguf-q4_k_m": "🦙 Ollama · 📁 linux_wsl"}
    copies = next(t.value for t in at.table if "how a tool finds it" in t.value.columns)
    assert list(copies["tool"]) == ["📁 linux_wsl", "🦙 Ollama"]
    assert list(copies["how a tool finds it"]) == ["by path", "ollama run foo-7b:q4_k_m"]
    at.selectbox(key="where-name").select("foo-7b-ollama-gguf-q4_k_m").run()
    copies = next(t.value for t in at.table if "how a tool finds it" in t.value.columns)
    assert list(copies["entry"]) == ["foo-7b-ollama-gguf-q4_k_m", name]


def test_disk_view_draws_what_stats_dedupe_and_cleanup_say(sandbox, cli):
    gguf = write_space_to_reclaim(sandbox.root, 30000)
    assert cli("scan", "--base", str(sandbox.root / "models" / "weights")).exit_code == 0
    assert cli("import-ollama").exit_code == 0
    stats = cli("stats", "--json").json()
    cleanup = cli("cleanup", "--json").json()
    at = app()
    assert metric(at, "On disk (each file once)") == human_bytes(stats["disk_bytes"])
    assert metric(at, "A cleanup would free") == human_bytes(cleanup["reclaimable_bytes"])
    by_store = {r["store"]: r["bytes"] for r in chart_rows(at, "Bytes by store (a shared file counts in each)")}
    assert by_store == {"Scanned folders": stats["by_provider"]["local_scan"]["bytes"],
                        "Ollama": stats["by_provider"]["ollama"]["bytes"]}
    by_location = {r["location"]: r["bytes"] for r in chart_rows(at, "Bytes by location")}
    assert by_location == {"linux_wsl": stats["by_location"]["linux_wsl"]["bytes"],
                           "(no label: a tool's store)": stats["by_location"]["none"]["bytes"]}
    assert [r["command"] for r in chart_rows(at, "What each command would free")] == ["cleanup"]
    assert not any(m.label == "A dedupe would free" for m in at.metric)  # nothing hashed until asked
    button(at, "disk-dedupe").click().run()
    size = gguf.stat().st_size
    assert metric(at, "A dedupe would free") == human_bytes(size) == human_bytes(
        cli("dedupe", "--json").json()["reclaimable_bytes"])
    freed = {r["command"]: r["bytes"] for r in chart_rows(at, "What each command would free")}
    assert freed == {"dedupe": size, "cleanup": cleanup["reclaimable_bytes"]}
    assert any("uv run imageworks-download cleanup --older-than 1h" in c.value for c in at.caption)


def fake_hub(monkeypatch, hub_files):
    """A hub model downloaded through the CLI from the loopback fake hub; the running hub."""
    from huggingface_hub import constants

    from imageworks_testing.fakehub import FakeHub

    hub = FakeHub().start()
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    monkeypatch.setattr(constants, "ENDPOINT", hub.url)
    hub.add_repo("o/gui", hub_files)
    return hub


def safetensors_repo():
    from imageworks_testing.fakehub import random_bytes

    return {"config.json": b'{"torch_dtype": "bfloat16"}', "model.safetensors": random_bytes(300_000),
            "1_Pooling/config.json": b'{"pooling_mode_mean_tokens": true}'}


def supports_hf_cache(cli, *args) -> bool:
    """True once the CLI writes the Hugging Face cache (`link --to hf-cache`, `download --location
    hf_cache`: the hfcache branch); until then only the command lines are checked."""
    result = cli(*args, "--dry-run")
    assert result.exit_code in (0, 2), result.stderr
    return result.exit_code == 0


def test_share_offers_the_hf_cache_for_any_hub_entry(sandbox, cli, monkeypatch):
    hub = fake_hub(monkeypatch, safetensors_repo())
    try:
        assert cli("download", "o/gui", "-y").exit_code == 0
        _folder, gguf = scanned_gguf(sandbox, cli)
        at = app()
        at.selectbox(key="link-name").select("gui-vllm-safetensors-bf16").run()
        assert at.selectbox(key="link-target").options == ["🤗 Hugging Face cache"]  # not only GGUF
        assert at.radio(key="link-mode").options == ["hard link (0 bytes)", "copy (verified)"]  # never a symlink
        assert any(c == "uv run imageworks-download link gui-vllm-safetensors-bf16 --to hf-cache" for c in codes(at))
        at.radio(key="link-mode").set_value("copy (verified)").run()
        assert any(c.endswith("link gui-vllm-safetensors-bf16 --to hf-cache --copy") for c in codes(at))
        at.selectbox(key="link-name").select(gguf).run()  # a scanned GGUF has no hub commit
        assert at.selectbox(key="link-target").options == ["🦙 Ollama", "🖥️ LM Studio", "📁 a folder…"]
        if not supports_hf_cache(cli, "link", "gui-vllm-safetensors-bf16", "--to", "hf-cache"):
            pytest.skip("`link --to hf-cache` is not in this CLI yet (the hfcache branch adds it)")
        at.selectbox(key="link-name").select("gui-vllm-safetensors-bf16").run()
        at.radio(key="link-mode").set_value("hard link (0 bytes)").run()
        button(at, "link-run").click().run()
        assert any(s.value.startswith("Done") for s in at.success), [e.value for e in at.error]
        repo = sandbox.root / "hf_home" / "hub" / "models--o--gui"
        (snapshot,) = (repo / "snapshots").iterdir()
        assert (snapshot / "1_Pooling" / "config.json").read_bytes() == b'{"pooling_mode_mean_tokens": true}'
        at = app()
        visible = dict(zip(at.dataframe[0].value["name"], at.dataframe[0].value["visible in"]))
        assert "🤗 HF cache" in visible["gui-vllm-safetensors-bf16"]
    finally:
        hub.stop()


def test_download_panel_writes_into_the_hf_cache(sandbox, cli, monkeypatch):
    hub = fake_hub(monkeypatch, safetensors_repo())
    try:
        at = app()
        at.text_input(key="dl-model").input("o/gui").run()
        at.selectbox(key="dl-location").select("hf_cache").run()
        assert any(c == "uv run imageworks-download download o/gui --non-interactive --location hf_cache"
                   for c in codes(at))
        assert any("find it by repo id" in c.value for c in at.caption)
        if not supports_hf_cache(cli, "download", "o/gui", "-y", "--location", "hf_cache"):
            pytest.skip("`download --location hf_cache` is not in this CLI yet (the hfcache branch adds it)")
        button(at, "dl-run").click().run()
        assert not at.error, [e.value for e in at.error]
        (row,) = cli("list", "--json").json()
        assert row["download_location"] == "hf_cache"
        assert Path(row["download_path"]).parent.parent.name == "models--o--gui"
        at = app()
        assert list(at.dataframe[0].value["visible in"]) == ["🤗 HF cache"]
    finally:
        hub.stop()

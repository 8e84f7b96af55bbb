"""End to end: the GUI started as users start it, driven in a real headless Chromium."""

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from imageworks_testing.fixtures import write_gguf, write_hf_folder

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")
SHOTS = Path(__file__).parents[2] / "docs" / "screenshots"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def gui(sandbox):
    port = free_port()
    env = {**os.environ, "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    code = "from imageworks_gui.launch import main; main()"
    proc = subprocess.Popen([sys.executable, "-c", code, "--host", "127.0.0.1", "--port", str(port)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("the GUI did not start")
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture
def page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        yield context.new_page()
        browser.close()


def shot(page, name, full_page=True):
    """With UPDATE_SCREENSHOTS=1, docs/screenshots/<name> (emoji need fonts-noto-color-emoji)."""
    if os.environ.get("UPDATE_SCREENSHOTS"):
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / name), full_page=full_page)


def open_tab(page, label):
    page.get_by_role("tab", name=label).click()
    page.wait_for_timeout(500)


def test_browse_scan_and_see_the_new_entry(sandbox, cli, gui, page):
    weights = sandbox.root / "models" / "weights"
    write_hf_folder(weights / "Qwen" / "Qwen2.5-VL-7B-Instruct-AWQ", config={
        "architectures": ["Qwen2_5_VLForConditionalGeneration"], "vision_config": {},
        "quantization_config": {"quant_method": "awq", "bits": 4, "group_size": 128}}, dtype="I32")
    cli("scan", "--base", str(weights))
    new = sandbox.root / "incoming"
    write_gguf(new / "bartowski" / "Qwen3-8B-GGUF" / "Qwen3-8B-Q4_K_M.gguf", basename="Qwen3", size_label="8B")
    page.goto(gui + "/Models", wait_until="networkidle")
    page.get_by_text("🎯 Models").first.wait_for(timeout=60_000)
    page.get_by_text("1 of 1 entries").wait_for(timeout=30_000)
    grid = page.locator("[data-testid='stDataFrame']").first
    grid.wait_for()
    open_tab(page, "📥 Download & Import")
    page.get_by_role("tab", name="📁 Scan").click()
    base = page.get_by_label("Base directory")
    base.wait_for()
    base.fill(str(new))
    base.press("Enter")
    page.wait_for_timeout(800)
    page.locator("label:visible", has_text="Dry run").first.click()  # uncheck: really scan
    page.wait_for_timeout(800)
    page.get_by_role("button", name="Scan").click()
    page.get_by_text("Done (exit status 0)").wait_for(timeout=30_000)
    shot(page, "download-import.png")
    page.get_by_text("qwen3-8b-llamacpp-gguf-q4_k_m").first.wait_for(timeout=30_000)
    page.reload(wait_until="networkidle")
    page.get_by_text("2 of 2 entries").wait_for(timeout=30_000)
    names = {r["name"] for r in sandbox.read_layer("discovered")}
    assert "qwen3-8b-llamacpp-gguf-q4_k_m" in names
    open_tab(page, "🔧 Registry Maintenance")
    shot(page, "registry-maintenance.png")
    open_tab(page, "⚙️ Advanced Operations")
    page.get_by_role("button", name="Verify").click()
    page.get_by_text("2 checked, 0 invalid").wait_for(timeout=30_000)
    shot(page, "advanced-operations.png")


def test_where_models_are_visible_the_disk_and_sharing_into_the_hf_cache(sandbox, cli, gui, page, monkeypatch):
    """A hub download, a GGUF also linked into Ollama, a second copy of it and an Ollama leftover:
    Browse says where each model is visible, the disk view draws the bytes and what dedupe and
    cleanup would free, and Share offers the Hugging Face cache for the hub download."""
    from huggingface_hub import constants

    from imageworks_testing.fakehub import FakeHub, random_bytes
    from imageworks_testing.fixtures import write_ollama_model, write_stale_blob

    with FakeHub() as hub:
        hub.add_repo("sentence-transformers/all-MiniLM-L6-v2", {
            "config.json": b'{"architectures": ["BertModel"], "torch_dtype": "float32"}',
            "model.safetensors": random_bytes(3_000_000), "modules.json": b"[]",
            "1_Pooling/config.json": b'{"pooling_mode_mean_tokens": true}'})
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        monkeypatch.setattr(constants, "ENDPOINT", hub.url)
        assert cli("download", "sentence-transformers/all-MiniLM-L6-v2", "-y").exit_code == 0
    weights = sandbox.root / "models" / "weights"
    gguf = write_gguf(weights / "bartowski" / "Qwen3-8B-GGUF" / "Qwen3-8B-Q4_K_M.gguf", basename="Qwen3",
                      size_label="8B", tensor_values=1_500_000)
    (weights / "backup").mkdir()
    shutil.copyfile(gguf, weights / "backup" / gguf.name)
    store = sandbox.root / "ollama"
    write_ollama_model(store, "llama3.2:3b", tensor_values=500_000)
    write_stale_blob(store, 2_500_000, digest_char="7")
    assert cli("scan", "--base", str(weights / "bartowski"), "--base", str(weights / "backup")).exit_code == 0
    assert cli("import-ollama").exit_code == 0
    assert cli("link", "qwen3-8b-llamacpp-gguf-q4_k_m", "--to", "ollama").exit_code == 0
    names = [r["name"] for r in cli("list", "--json").json()]
    page.goto(gui + "/Models", wait_until="networkidle")
    page.get_by_text(f"{len(names)} of {len(names)} entries").wait_for(timeout=60_000)
    page.get_by_text("Where each model is visible").click()
    page.get_by_text("ollama run qwen3-8b:q4_k_m").wait_for(timeout=30_000)
    shot(page, "browse.png")
    page.get_by_role("button", name="Measure what dedupe frees").click()
    page.get_by_text("A dedupe would free").wait_for(timeout=30_000)
    page.get_by_text("What each command would free").first.wait_for(timeout=30_000)
    page.get_by_text("💽 Disk").evaluate("e => e.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(1500)  # the charts draw after their data arrives
    assert page.locator("[data-testid='stVegaLiteChart'], .vega-embed").count() >= 3
    shot(page, "disk-view.png", full_page=False)
    open_tab(page, "⚙️ Advanced Operations")
    page.get_by_role("tab", name="🔗 Share").click()
    page.get_by_text("link all-minilm-l6-v2-vllm-safetensors-fp32 --to hf-cache").wait_for(timeout=30_000)
    page.get_by_text("Model (GGUF, or any hub download)").scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    shot(page, "share.png", full_page=False)

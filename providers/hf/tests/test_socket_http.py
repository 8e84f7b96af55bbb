"""The socket client under the built-in downloader (plain and TLS): kept-alive connections, a redirect
resolved once per file, servers that close idle connections or frame bodies by closing, proxies
and Ctrl-C."""

import hashlib
import os
import signal
import subprocess
import sys
import time

import pytest

from imageworks_testing.fakehub import random_bytes
from imageworks_testing.fixtures import CTRL_C_AS_IN_A_TERMINAL

from imageworks_hf.socket_http import SocketHttp

def _target(sandbox, repo):
    return sandbox.root / "models" / "weights" / repo / "model.safetensors"

def test_pieces_share_kept_alive_connections_and_resolve_once(hub, cli, sandbox, monkeypatch):
    data = random_bytes(41_000_000, seed=21)  # five 8 MiB pieces
    hub.add_repo("o/pieces", {"model.safetensors": data, "config.json": b"{}"})
    monkeypatch.setenv("IMAGEWORKS_CONNECTIONS", "2")
    result = cli("download", "o/pieces", "-y", "--no-aria2")
    assert result.exit_code == 0, result.stderr
    assert hashlib.sha256(_target(sandbox, "o/pieces").read_bytes()).digest() == hashlib.sha256(data).digest()
    resolves = [p for method, p, _ in hub.requests if method == "GET" and "/resolve/" in p and p.endswith("/model.safetensors")]
    pieces = [p for method, p, _ in hub.requests if method == "GET" and p.startswith("/cdn/") and p.endswith("model.safetensors")]
    assert len(resolves) == 1, "later pieces go straight to where the first one was redirected"
    assert len(pieces) == 5
    # Two connections for the pieces (one per worker), far fewer than a connection per request.
    assert hub.connections <= len(hub.requests) - len(pieces) + 2
    assert hub.served["model.safetensors"] == len(data)

def test_connections_the_server_closed_while_idle_are_replaced(hub, cli, sandbox, monkeypatch):
    data = random_bytes(25_000_000, seed=22)
    hub.add_repo("o/idle", {"model.safetensors": data, "config.json": b"{}"})
    hub.faults.close_idle = True
    monkeypatch.setenv("IMAGEWORKS_CONNECTIONS", "1")
    started = time.monotonic()
    result = cli("download", "o/idle", "-y", "--no-aria2")
    assert result.exit_code == 0, result.stderr
    assert _target(sandbox, "o/idle").read_bytes() == data
    assert hub.served["model.safetensors"] == len(data)  # no piece was fetched twice
    assert time.monotonic() - started < 30  # no back-off: a closed idle connection is not a failure

def test_bodies_ended_by_closing_the_connection_go_through_requests(hub, cli, sandbox):
    data = random_bytes(20_000_000, seed=23)
    hub.add_repo("o/unframed", {"model.safetensors": data, "config.json": b"{}"})
    hub.faults.unframed = True
    result = cli("download", "o/unframed", "-y", "--no-aria2")
    assert result.exit_code == 0, result.stderr
    assert _target(sandbox, "o/unframed").read_bytes() == data

def test_only_urls_that_no_proxy_applies_to(monkeypatch):
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    assert SocketHttp(timeout=5).handles("http://127.0.0.1:8000/x")
    assert SocketHttp(timeout=5).handles("https://127.0.0.1:8000/x")
    assert not SocketHttp(timeout=5).handles("ftp://127.0.0.1:8000/x")
    monkeypatch.setenv("https_proxy", "http://127.0.0.1:9")
    assert not SocketHttp(timeout=5).handles("https://example.org/x")  # requests speaks CONNECT
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    assert not SocketHttp(timeout=5).handles("http://example.org/x")
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    assert SocketHttp(timeout=5).handles("http://127.0.0.1:8000/x")

def test_a_proxy_in_the_environment_carries_the_pieces(hub, cli, sandbox, monkeypatch):
    """With http_proxy set, requests (which honours it) fetches; a dead proxy is then an error."""
    hub.add_repo("o/proxied", {"model.safetensors": random_bytes(2_000_000, seed=24), "config.json": b"{}"})

    seen = []
    original = SocketHttp.get
    monkeypatch.setattr(SocketHttp, "get", lambda self, *a, **k: seen.append(a) or original(self, *a, **k))
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")  # the discard port: nothing listens
    monkeypatch.setenv("no_proxy", "127.0.0.1")  # the hub itself (API, resolve) is reached directly
    monkeypatch.setenv("IMAGEWORKS_RETRIES", "0")
    result = cli("download", "o/proxied", "-y", "--no-aria2")
    # the redirect target (localhost) is proxied: the plain client gives it to requests, which
    # goes to the (dead) proxy
    assert result.exit_code == 1 and "ProxyError" in result.stderr
    assert seen  # the hub itself was asked over the plain client

@pytest.mark.parametrize("transport", ["http", "https"])
def test_ctrl_c_stops_threads_waiting_on_a_stalled_server(request, sandbox, transport):
    hub = request.getfixturevalue("hub" if transport == "http" else "tls_hub")
    hub.add_repo("o/stall", {"model.safetensors": random_bytes(20_000_000, seed=25), "config.json": b"{}"})
    hub.faults.stall_seconds = 60
    code = CTRL_C_AS_IN_A_TERMINAL + "from imageworks_core.cli.download_program import cli; cli()"
    proc = subprocess.Popen([sys.executable, "-c", code, "download", "o/stall", "-y", "--no-aria2"], env=os.environ.copy(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while not any(p.startswith("/cdn/") for _, p, _ in list(hub.requests)) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        stopped_at = time.monotonic()
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=20)
        assert time.monotonic() - stopped_at < 5, "a thread waited out the read timeout"
        assert proc.returncode == 130 and "interrupted" in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_a_download_with_no_proxy_never_loads_requests(hub, sandbox, monkeypatch):
    """requests is only the fallback: with no proxy variable set, a whole download (listing,
    config.json, every piece) goes through huggingface_hub's client and our sockets."""
    for name in [n for n in os.environ if n.lower().endswith("_proxy")]:
        monkeypatch.delenv(name)
    hub.add_repo("o/no-requests", {"config.json": b'{"architectures": ["LlamaForCausalLM"]}',
                                   "model.safetensors": random_bytes(20_000_000, seed=7)})
    code = ("import sys; from imageworks_core.cli.download_program import cli; "
            "cli.main(['download', 'o/no-requests', '-y', '--no-aria2'], standalone_mode=False); "
            "print('requests loaded' if 'requests' in sys.modules else 'requests not loaded')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "IMAGEWORKS_USE_ARIA2": "never"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("requests not loaded"), done.stdout[-500:]
    assert hub.served["model.safetensors"] >= 20_000_000

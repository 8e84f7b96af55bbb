"""reliability.md #15: the product through a real third-party mirror. ``HF_ENDPOINT`` is olah
(from PyPI, its own environment) in front of the loopback fake hub, every test once per transport
(the ``scheme`` fixture): plain HTTP (a LAN mirror, its upstream over HTTP too) and HTTPS (olah
serving TLS with a certificate from its own throwaway CA, trusted by the client only through
REQUESTS_CA_BUNDLE, SSL_CERT_FILE and CURL_CA_BUNDLE; its upstream the hub over TLS, whose CA
only olah trusts). Download, resume after a kill, outdated, lock and sync on a second registry
give the hub's bytes; a mirror stopped mid-file is a clear network error with the partial kept;
over HTTPS, a mirror certificate the client's bundle does not vouch for is one clear error."""

import hashlib
import os
import signal
import ssl
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

from imageworks_testing.fakehub import random_bytes

from imageworks_testing.mirror import close_client_connections

pytestmark = pytest.mark.timeout(180)

SIZE = 3_000_000
CODE = "import sys; from imageworks_core.cli.download_program import main; sys.argv[0]='imageworks-download'; main()"
BACKENDS = pytest.mark.parametrize("backend", ["python", "aria2c"])


def files(seed: int = 1) -> dict[str, bytes]:
    return {"config.json": b'{"torch_dtype": "bfloat16", "architectures": ["LlamaForCausalLM"]}',
            "tokenizer.json": b'{"model": {}}', "model.safetensors": random_bytes(SIZE, seed=seed)}


def use(backend: str, monkeypatch) -> list[str]:
    """The downloader to use, for in-process commands and the processes they start alike: the real
    aria2c or the built-in one, never a silent fallback."""
    monkeypatch.setenv("IMAGEWORKS_USE_ARIA2", "always" if backend == "aria2c" else "never")
    return ["--aria2"] if backend == "aria2c" else ["--no-aria2"]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_hub_bytes(folder: Path, repo) -> None:
    for name, hub_file in repo.files.items():
        assert (folder / name).stat().st_size == hub_file.size, name
        assert sha256(folder / name) == hub_file.sha256, name


def went_through_olah(mirror, repo) -> None:
    """olah's cache holds every file of the commit, byte for byte: the bytes passed through it."""
    for name, hub_file in repo.files.items():
        block = mirror.workdir / "repos" / "files" / "models" / repo.repo_id / "resolve" / repo.commit / name / \
            "blocks" / "block_00000000.bin"  # one block: olah's blocks are 64 MiB
        assert block.is_file(), f"olah never served {name}"
        assert hashlib.sha256(block.read_bytes()[:hub_file.size]).hexdigest() == hub_file.sha256, name


def start_download(repo: str, extra: list[str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", CODE, "download", repo, "-y", *extra], env=os.environ.copy(),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def wait_for(condition, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


@BACKENDS
def test_download_through_the_mirror_gives_the_hubs_bytes(mirror, hub, sandbox, cli, monkeypatch, backend, scheme):
    assert mirror.url.startswith(f"{scheme}://127.0.0.1:") and hub.url.startswith(f"{scheme}://127.0.0.1:")
    repo = hub.add_repo(f"acme/tiny-{backend}", files())
    result = cli("download", repo.repo_id, "-y", *use(backend, monkeypatch))
    assert result.exit_code == 0, result.stderr + mirror.log()
    (entry,) = cli("list", "--json").json()
    assert entry["source"]["commit"] == repo.commit
    assert_hub_bytes(Path(entry["download_path"]), repo)
    went_through_olah(mirror, repo)
    assert cli("verify", "--hash").exit_code == 0


@BACKENDS
def test_a_download_killed_through_the_mirror_resumes(mirror, hub, sandbox, monkeypatch, backend):
    """SIGKILL to the downloader (and its aria2c: the whole group) half-way through the file,
    then the same command completes with the hub's sha256."""
    repo = hub.add_repo(f"acme/killed-{backend}", files(seed=2))
    extra = use(backend, monkeypatch)
    monkeypatch.setenv("IMAGEWORKS_CONNECTIONS", "1")  # one stream, so olah passes the bytes on as they come
    hub.faults.throttle_bps = 1_500_000  # olah's upstream, hence the download, takes ~2 s
    proc = start_download(repo.repo_id, extra)
    try:
        wait_for(lambda: hub.served.get("model.safetensors", 0) >= SIZE // 2 or proc.poll() is not None, 60,
                 "half the file to pass through olah")
        assert proc.poll() is None, "the download finished before it could be killed: " + proc.communicate()[1]
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.communicate(timeout=30)
    target = sandbox.root / "models" / "weights" / "acme" / f"killed-{backend}"
    assert proc.returncode == -signal.SIGKILL
    assert not (target / "model.safetensors").exists(), "a partial sits under the final name"
    partial = target / ".imageworks-partial" / "model.safetensors"
    assert 0 < partial.stat().st_blocks * 512 < SIZE, "the kill left no partial to resume"
    hub.faults.throttle_bps = None
    again = start_download(repo.repo_id, extra)
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err + mirror.log()
    assert_hub_bytes(target, repo)
    assert not (target / ".imageworks-partial").exists()


def test_outdated_through_the_mirror_lags_by_its_metadata_ttl(mirror, hub, cli, monkeypatch):
    """olah reuses a branch's commit for ``metadata-cache-ttl`` seconds (600 by default): until
    then ``outdated`` through it sees the hub as it was. With a short TTL it sees the move."""
    use("python", monkeypatch)
    c1 = hub.add_repo("acme/moving", files(seed=3)).commit
    assert cli("download", "acme/moving", "-y").exit_code == 0
    c2 = hub.add_repo("acme/moving", {**files(seed=3), "model.safetensors": random_bytes(SIZE, seed=4),
                                      "generation_config.json": b'{"top_p": 0.9}'}).commit
    assert c2 != c1
    (lagging,) = cli("outdated", "--json").json()
    assert (lagging["outdated"], lagging["latest_commit"]) == (False, c1), "olah's 600 s metadata cache"

    mirror.metadata_ttl_s = 1
    close_client_connections()
    mirror.restart()  # same address, same cache folder, a 1 s TTL
    time.sleep(1.5)
    result = cli("outdated", "--json")
    assert result.exit_code == 0, result.stderr + mirror.log()
    (check,) = result.json()
    assert check["outdated"] and (check["commit"], check["latest_commit"]) == (c1, c2)
    assert {(c["path"], c["change"]) for c in check["changed"]} == {
        ("model.safetensors", "changed"), ("generation_config.json", "added")}
    assert check["download_bytes"] == SIZE + len(b'{"top_p": 0.9}')


def test_lock_then_sync_on_a_second_registry(mirror, hub, sandbox, cli, monkeypatch, tmp_path):
    use("python", monkeypatch)
    repo = hub.add_repo("acme/team", files(seed=5))
    assert cli("download", "acme/team", "-y").exit_code == 0
    lock = tmp_path / "team.lock"
    assert cli("lock", "-o", str(lock)).exit_code == 0
    (model,) = tomllib.loads(lock.read_text())["model"]
    assert model["source"] == "hf:acme/team" and model["commit"] == repo.commit
    assert {f["path"]: (f["size"], f["sha256"]) for f in model["files"]} == {
        name: (f.size, f.sha256) for name, f in repo.files.items()}

    other = tmp_path / "host2"  # another machine: its own registry and weights, the same mirror
    monkeypatch.setenv("IMAGEWORKS_REGISTRY_DIR", str(other / "configs"))
    monkeypatch.setenv("IMAGEWORKS_MODEL_ROOT", str(other / "models"))
    synced = cli("sync", str(lock), "--json")
    assert synced.exit_code == 0, synced.stderr + mirror.log()
    assert [r["action"] for r in synced.json()] == ["fetched"]
    (there,) = cli("list", "--json").json()
    assert there["name"] == model["name"] and there["source"]["commit"] == repo.commit
    assert Path(there["download_path"]).is_relative_to(other)
    assert_hub_bytes(Path(there["download_path"]), repo)
    assert [r["action"] for r in cli("sync", str(lock), "--json").json()] == ["kept"]
    went_through_olah(mirror, repo)


@BACKENDS
def test_a_mirror_stopped_mid_file_is_a_network_error_and_keeps_the_partial(mirror, hub, sandbox, monkeypatch,
                                                                           backend):
    repo = hub.add_repo(f"acme/cut-{backend}", files(seed=6))
    extra = use(backend, monkeypatch)
    monkeypatch.setenv("IMAGEWORKS_CONNECTIONS", "1")  # one stream, so olah passes the bytes on as they come
    monkeypatch.setenv("IMAGEWORKS_RETRIES", "1")
    monkeypatch.setenv("IMAGEWORKS_TIMEOUT_S", "5")
    hub.faults.throttle_bps = 1_500_000
    proc = start_download(repo.repo_id, extra)
    try:
        wait_for(lambda: hub.served.get("model.safetensors", 0) >= SIZE // 2 or proc.poll() is not None, 60,
                 "half the file to pass through olah")
        assert proc.poll() is None, "the download finished before the mirror could be stopped"
        mirror.kill()
        out, err = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate(timeout=30)
    assert proc.returncode == 1, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err and "unexpected error" not in err, err
    assert [line for line in lines if line.startswith("error:")] == lines[-1:], err
    # The Python path names the file and its retries; aria2c's second round finds the mirror gone.
    assert "failed after 1 retries (ConnectionError)" in err or "cannot reach 127.0.0.1" in err, err
    target = sandbox.root / "models" / "weights" / "acme" / f"cut-{backend}"
    partial = target / ".imageworks-partial" / "model.safetensors"
    assert 0 < partial.stat().st_blocks * 512 < SIZE, "the partial was not kept"
    assert not (target / "model.safetensors").exists() and not sandbox.layer("discovered").exists()

    hub.faults.throttle_bps = None
    mirror.restart()
    again = start_download(repo.repo_id, extra)
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err + mirror.log()
    assert_hub_bytes(target, repo)


@BACKENDS
@pytest.mark.parametrize("scheme", ["https"], scope="module")  # the module's HTTPS mirror only
def test_an_untrusted_mirror_certificate_is_one_clear_error(mirror, hub, sandbox, monkeypatch, backend):
    """The client's CA bundle is a real one (the system's) without the mirror's CA: one line
    naming the mirror and the bundle, exit 1, at once (no retry makes a certificate trusted),
    nothing asked of the hub through olah, nothing written or registered."""
    repo = hub.add_repo(f"acme/untrusted-{backend}", files(seed=7))
    extra = use(backend, monkeypatch)
    system = ssl.get_default_verify_paths().openssl_cafile
    for name in mirror.ca_environ():
        monkeypatch.setenv(name, system)
    monkeypatch.setenv("IMAGEWORKS_RETRIES", "8")  # retried, the backoff alone would take over 30 s
    began = time.monotonic()
    proc = start_download(repo.repo_id, extra)
    try:
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate(timeout=30)
    elapsed = time.monotonic() - began
    assert proc.returncode == 1, err
    assert "Traceback" not in err and "unexpected error" not in err, err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert errors == [f"error: the TLS certificate of 127.0.0.1:{mirror.port} is not signed by a CA in "
                      f"the CA bundle {system}"], err
    assert elapsed < 20, f"{elapsed:.1f} s: retried"
    assert hub.requests == [], "olah went upstream for a client that never got past the handshake"
    assert not (sandbox.root / "models" / "weights" / "acme" / f"untrusted-{backend}").exists()
    assert not sandbox.layer("discovered").exists()

"""docs/reliability.md #1, #2, #3, #7, #9, #10, #11: downloads under kills, bad servers, hostile
metadata, full disks, access errors; and secrets that must never leak."""

import hashlib
import os
import random
import signal
import subprocess
import sys
import time

import pytest

from imageworks_testing.plugin import run_process
from imageworks_testing.fakehub import random_bytes
from imageworks_testing.fixtures import CTRL_C_AS_IN_A_TERMINAL

from imageworks_testing.plugin import HUB_TOKEN as CANARY

SIZE = 6_000_000
CODE = CTRL_C_AS_IN_A_TERMINAL + (
    "import sys; from imageworks_core.cli.download_program import main; sys.argv[0]='imageworks-download'; main()")


def downloader(args, env=None, **kw):
    return subprocess.Popen([sys.executable, "-c", CODE, "download", *args],
                            env={**os.environ, **(env or {})}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, **kw)


def served_progress(hub, path):
    return hub.served.get(path, 0)


@pytest.mark.parametrize("backend", ["python", "aria2c"])
def test_random_kills_then_resume(hub, sandbox, backend):
    """10 seeded trials per downloader: SIGKILL/SIGTERM/SIGINT at a random point of the transfer;
    never registered while partial; the next run finishes with the hub's sha256."""
    rng = random.Random(7 if backend == "python" else 8)
    extra = ["--no-aria2"] if backend == "python" else []
    signals = [signal.SIGKILL, signal.SIGTERM, signal.SIGINT]
    for trial in range(10):
        repo = f"o/kill{trial}"
        data = random_bytes(SIZE, seed=100 + trial)
        hub.add_repo(repo, {"model.safetensors": data, "config.json": b"{}"})
        hub.faults.throttle_bps = 3_000_000
        target = sandbox.root / "models" / "weights" / "o" / f"kill{trial}"
        proc = downloader([repo, "-y", *extra], {"IMAGEWORKS_CONNECTIONS": "2"})
        fraction = rng.uniform(0.01, 0.99)
        deadline = time.monotonic() + 30
        while served_progress(hub, "model.safetensors") < fraction * SIZE * (trial + 1) and \
                proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        sig = signals[trial % 3]
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
        assert "Traceback" not in err
        time.sleep(1.2)  # an orphaned aria2c notices and stops
        names = {r["name"] for r in sandbox.read_layer("discovered")}
        if proc.returncode != 0:
            assert f"kill{trial}-vllm-safetensors" not in " ".join(names), "a partial download was registered"
            assert not (target / "model.safetensors").exists()
        hub.faults.throttle_bps = None
        again = downloader([repo, "-y", *extra])
        out, err = again.communicate(timeout=120)
        assert again.returncode == 0, err
        digest = hashlib.sha256((target / "model.safetensors").read_bytes()).hexdigest()
        assert digest == hashlib.sha256(data).hexdigest()
        assert not (target / ".imageworks-partial").exists()
        hub.served.clear()


def test_stall_then_give_up_with_clear_error(hub, sandbox):
    hub.add_repo("o/stall", {"model.safetensors": random_bytes(100_000, seed=1)})
    hub.faults.stall_seconds = 3
    result = run_process("download", "o/stall", "-y", "--no-aria2",
                         env={"IMAGEWORKS_TIMEOUT_S": "1", "IMAGEWORKS_RETRIES": "1"})
    assert result.exit_code == 1 and "failed after 1 retries" in result.stderr
    assert not sandbox.layer("discovered").exists()


def test_busy_server_429_is_retried(hub, sandbox, cli):
    hub.add_repo("o/busy", {"model.safetensors": random_bytes(50_000, seed=2)})
    hub.faults.busy_responses = 2
    hub.faults.busy_status = 429
    assert cli("download", "o/busy", "-y", "--no-aria2").exit_code == 0


@pytest.mark.parametrize("backend", [["--no-aria2"], []], ids=["python", "aria2c"])
def test_wrong_content_never_registered(hub, sandbox, cli, backend):
    hub.add_repo("o/flip", {"model.safetensors": random_bytes(200_000, seed=3)})
    hub.faults.corrupt_path = "model.safetensors"
    result = cli("download", "o/flip", "-y", *backend)
    assert result.exit_code == 1 and "model.safetensors" in result.stderr
    assert not sandbox.layer("discovered").exists()
    assert not (sandbox.root / "models" / "weights" / "o" / "flip" / "model.safetensors").exists()


def test_corrupted_resume_state_restarts_the_file(hub, sandbox, cli):
    data = random_bytes(3_000_000, seed=4)
    hub.add_repo("o/state", {"model.safetensors": data})
    staging = sandbox.root / "models" / "weights" / "o" / "state" / ".imageworks-partial"
    staging.mkdir(parents=True)
    (staging / "model.safetensors").write_bytes(b"garbage" * 1000)
    (staging / "model.safetensors.state.json").write_text("{not json")
    assert cli("download", "o/state", "-y", "--no-aria2").exit_code == 0
    target = sandbox.root / "models" / "weights" / "o" / "state" / "model.safetensors"
    assert target.read_bytes() == data


HOSTILE = [
    "../escape.bin", "/etc/passwd", "a\\b.bin", "C:/x.bin", "//server/share/x.bin", "bad\nname.bin",
    ".git/config", "x/" + "y" * 300 + ".bin", "a/./b.bin",
]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_names_refused_before_writing(hub, sandbox, cli, name):
    hub.add_repo("evil/names", {name: b"x", "model.safetensors": b"y" * 10})
    result = cli("download", "evil/names", "-y")
    assert result.exit_code == 2 and "unsafe file name" in result.stderr
    assert not (sandbox.root / "models").exists() and not sandbox.layer("discovered").exists()


def test_case_twins_refused(hub, sandbox, cli):
    hub.add_repo("evil/case", {"Model.safetensors": b"x", "model.safetensors": b"y"})
    result = cli("download", "evil/case", "-y")
    assert result.exit_code == 2 and "clash" in result.stderr


def test_disk_full_during_download(hub, sandbox):
    """RLIMIT_FSIZE below the file size: a clear error, nothing registered, the partial kept."""
    hub.add_repo("o/full", {"model.safetensors": random_bytes(2_000_000, seed=5)})
    code = ("import resource, signal, sys; signal.signal(signal.SIGXFSZ, signal.SIG_IGN); "
            "resource.setrlimit(resource.RLIMIT_FSIZE, (500_000, 500_000)); " + CODE)
    for extra in (["--no-aria2"], []):
        proc = subprocess.run([sys.executable, "-c", code, "download", "o/full", "-y", *extra],
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 1, proc.stderr
        assert "Traceback" not in proc.stderr
        assert "disk" in proc.stderr.lower() or "File too large" in proc.stderr or "aria2c failed" in proc.stderr
        assert not sandbox.layer("discovered").exists()


def test_preflight_refuses_what_cannot_fit(hub, sandbox, cli, monkeypatch):
    import shutil
    from collections import namedtuple

    hub.add_repo("o/huge", {"model.safetensors": random_bytes(100_000, seed=6)})
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10, 10, 1000))
    result = cli("download", "o/huge", "-y")
    assert result.exit_code == 1 and "not enough disk space" in result.stderr
    assert not (sandbox.root / "models").exists()


def test_access_errors_are_distinct(hub, sandbox):
    hub.add_repo("meta/Gated", {"model.safetensors": b"x" * 10}, gated=True)
    hub.add_repo("meta/NotGranted", {"model.safetensors": b"x" * 10}, gated=True, granted=False)
    no_token = run_process("download", "meta/Gated", "-y")
    bad_token = run_process("download", "meta/Gated", "-y", env={"HF_TOKEN": "hf_bad_token_0000000000"})
    ungranted = run_process("download", "meta/NotGranted", "-y", env={"HF_TOKEN": CANARY})
    missing = run_process("download", "meta/Missing", "-y")
    messages = [r.stderr.splitlines()[0] for r in (no_token, bad_token, ungranted, missing)]
    assert all(r.exit_code == 1 for r in (no_token, bad_token, ungranted, missing))
    assert len(set(messages)) == 4, messages
    assert "gated" in messages[0] and "refused the token" in messages[1] and "not found" in messages[3]
    assert "hf_bad_token" not in bad_token.stderr + bad_token.stdout
    assert CANARY not in ungranted.stderr + ungranted.stdout
    assert not (sandbox.root / "models").exists()


def test_canary_token_is_nowhere(hub, sandbox):
    """Every path, success and failure, at full verbosity: the canary appears in no output, log,
    registry, temp or state file, child argv or URL, and never reaches another host."""
    hub.add_repo("meta/Secret", {"model.safetensors": random_bytes(3_000_000, seed=8), "config.json": b"{}"},
                 gated=True)
    hub.add_repo("meta/Flip", {"model.safetensors": random_bytes(100_000, seed=9)}, gated=True)
    env = {"HF_TOKEN": CANARY, "IMAGEWORKS_DEBUG": "1"}
    outputs = []
    for args in (["meta/Secret", "-y"], ["meta/Secret", "-y", "--force", "--no-aria2"], ["meta/Missing", "-y"]):
        result = run_process("download", *args, env=env)
        outputs.append(result.stdout + result.stderr)
    hub.faults.corrupt_path = "model.safetensors"
    for extra in ([], ["--no-aria2"]):
        result = run_process("download", "meta/Flip", "-y", *extra, env=env)
        assert result.exit_code == 1
        outputs.append(result.stdout + result.stderr)
    # an interrupted run leaves state files: they must not hold the token either
    hub.faults.corrupt_path = None
    hub.faults.throttle_bps = 500_000
    proc = downloader(["meta/Secret", "-y", "--force", "--no-aria2"], env)
    time.sleep(2)
    proc.kill()
    proc.communicate()
    assert all(CANARY not in text for text in outputs)
    for path in list(sandbox.root.rglob("*")):
        if path.is_file() and path.stat().st_size < 50_000_000:
            assert CANARY.encode() not in path.read_bytes(), path
    for method, path, headers in hub.requests:
        assert CANARY not in path
        if path.startswith("/cdn/"):
            assert "Authorization" not in headers, "the token went to the redirect target's host"
    from imageworks_hf.aria2_downloader import Aria2Downloader
    from imageworks_hf.transfer import ProgressMeter

    argv = Aria2Downloader(headers={"Authorization": f"Bearer {CANARY}"}, connections=4, concurrent=2,
                           retries=1, timeout=5, meter=ProgressMeter("x", None, None))._command()
    assert all(CANARY not in arg for arg in argv)

"""An interrupted download resumes: the second run fetches only what is missing."""

import hashlib
import os
import signal
import subprocess
import sys
import time

import pytest

from imageworks_hf.fakehub import random_bytes

SIZE = 16_000_000


def start_download(extra, env):
    code = "import sys; from imageworks_core.cli.download import main; sys.argv[0]='imageworks-download'; main()"
    return subprocess.Popen([sys.executable, "-c", code, "download", "o/resume", "-y", *extra],
                            env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def allocated(folder):
    total = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            if name.endswith(".safetensors"):
                st = os.stat(os.path.join(root, name))
                total += min(st.st_size, st.st_blocks * 512)
    return total


@pytest.mark.parametrize("extra", [["--no-aria2"], []], ids=["python", "aria2c"])
def test_killed_download_resumes(hub, sandbox, extra):
    data = random_bytes(SIZE, seed=11)
    hub.add_repo("o/resume", {"model.safetensors": data, "config.json": b"{}"})
    hub.faults.throttle_bps = 2_000_000
    env = {"IMAGEWORKS_CONNECTIONS": "4"}
    target = sandbox.root / "models" / "weights" / "o" / "resume"
    proc = start_download(extra, env)
    deadline = time.monotonic() + 60
    while allocated(target) < SIZE // 2 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, proc.communicate()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    time.sleep(1.5)  # aria2c notices its parent died, saves its control file and stops
    assert not sandbox.layer("discovered").exists(), "an interrupted download must not be registered"
    assert not (target / "model.safetensors").exists(), "a partial file must not sit under the final name"
    first = hub.served.get("model.safetensors", 0)
    # The same network for the re-run: unthrottled, the hub would push several MiB into socket
    # buffers on aria2c's open-ended ranges before aria2c closes them (counted as served).
    done = start_download(extra, env)
    out, err = done.communicate(timeout=180)
    assert done.returncode == 0, err
    assert hashlib.sha256((target / "model.safetensors").read_bytes()).hexdigest() == hashlib.sha256(data).hexdigest()
    second = hub.served["model.safetensors"] - first
    # the re-run fetched what was missing, not the file again
    assert second <= 0.55 * SIZE + (1 << 20), (first, second)
    # in total at most 5% more than the file, plus what a kill loses in flight: aria2c records
    # progress in 1 MiB pieces, one in flight per connection
    in_flight = 4 * (1 << 20) if not extra else 4 * (256 << 10)
    assert hub.served["model.safetensors"] <= 1.05 * SIZE + in_flight
    assert not (target / ".imageworks-partial").exists()

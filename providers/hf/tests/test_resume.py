"""An interrupted download resumes: the second run fetches only what is missing."""

import hashlib
import os
import signal
import subprocess
import sys
import time

import pytest

from imageworks_testing.fakehub import random_bytes
from imageworks_testing.fixtures import CTRL_C_AS_IN_A_TERMINAL

SIZE = 16_000_000


def start_download(extra, env, *, own_group=False):
    """``own_group``: the downloader leads its own process group, as a terminal's foreground job does."""
    code = CTRL_C_AS_IN_A_TERMINAL + (
        "import sys; from imageworks_core.cli.download_program import main; sys.argv[0]='imageworks-download'; main()")
    return subprocess.Popen([sys.executable, "-c", code, "download", "o/resume", "-y", *extra],
                            env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=own_group)


def finish_download(hub, extra, env, target, data):
    """Run the download again to the end; check the file; return the bytes this run fetched."""
    before = hub.served.get("model.safetensors", 0)
    done = start_download(extra, env)
    _out, err = done.communicate(timeout=180)
    assert done.returncode == 0, err
    assert hashlib.sha256((target / "model.safetensors").read_bytes()).hexdigest() == hashlib.sha256(data).hexdigest()
    return hub.served["model.safetensors"] - before


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
    second = finish_download(hub, extra, env, target, data)
    # the re-run fetched what was missing, not the file again
    assert second <= 0.55 * SIZE + (1 << 20), (first, second)
    # in total at most 5% more than the file, plus what a kill loses in flight: aria2c records
    # progress in 1 MiB pieces, one in flight per connection
    in_flight = 4 * (1 << 20) if not extra else 4 * (256 << 10)
    assert hub.served["model.safetensors"] <= 1.05 * SIZE + in_flight
    assert not (target / ".imageworks-partial").exists()


def on_disk(partial, data, block=4096):
    """Bytes of the partial file that already hold the right content (4 KiB blocks)."""
    try:
        have = partial.read_bytes()
    except FileNotFoundError:
        return 0
    return sum(len(data[i:i + block]) for i in range(0, min(len(have), len(data)), block)
               if have[i:i + block] == data[i:i + block])


@pytest.mark.parametrize("extra", [["--no-aria2"], []], ids=["python", "aria2c"])
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=["ctrl-c", "term", "kill"])
def test_signal_to_the_whole_process_group_loses_nothing(hub, sandbox, extra, sig):
    """A terminal's Ctrl-C (and a `kill -- -PGID`) reaches every process of the foreground job,
    aria2c included. The next run fetches what was missing and at most 5% of the file more."""
    size = 32_000_000
    data = random_bytes(size, seed=12)
    hub.add_repo("o/resume", {"model.safetensors": data, "config.json": b"{}"})
    hub.faults.throttle_bps = 4_000_000
    env = {"IMAGEWORKS_CONNECTIONS": "4"}
    target = sandbox.root / "models" / "weights" / "o" / "resume"
    proc = start_download(extra, env, own_group=True)
    deadline = time.monotonic() + 60
    while allocated(target) < size // 2 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, proc.communicate()
    os.killpg(proc.pid, sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode != 0 and "Traceback" not in err
    if sig != signal.SIGKILL:
        assert proc.returncode == 130 and "interrupted" in err, (proc.returncode, err)
    # An aria2c orphaned by SIGKILL stops by itself within a second; the next run waits for it
    # (the download lock it inherited), so count what is on disk once it has gone.
    partial = target / ".imageworks-partial" / "model.safetensors"
    lock = target / ".imageworks-partial" / ".lock"
    import fcntl

    with open(lock, "rb") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # blocks while an orphan still holds it
        fcntl.flock(handle, fcntl.LOCK_UN)
    missing = size - on_disk(partial, data)
    fetched = finish_download(hub, extra, env, target, data)
    assert fetched <= missing + 0.05 * size, (missing, fetched)

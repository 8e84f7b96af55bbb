"""olah, a third-party Hugging Face mirror, run in front of the loopback fake hub.

olah lives in its own environment (it pins its own dependencies; CI makes it with
``uv venv .ci/olah-venv && uv pip install --python .ci/olah-venv olah==0.5.4``), so it runs as a
program: :func:`find_olah` locates ``olah-cli``, :class:`Olah` writes its config, starts it on a
free loopback port in its own process group, waits (bounded) until it answers, and stops it.

The config points olah's upstream at the fake hub over plain HTTP (``hf-scheme``, ``hf-netloc``
and ``hf-lfs-netloc``: the hub serves its "CDN" itself), names olah's own address for the URLs it
hands out (``mirror-netloc``), keeps olah's cache of repositories in the test's folder
(``repos-path``) and stays online (``offline = false``: every miss goes upstream).
``metadata-cache-ttl`` is how long olah reuses a repo's metadata (branch -> commit, model info)
without asking upstream again: 600 s by default, so through olah ``outdated`` can lag the hub by
up to that long. Tests set it short.
"""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import urlparse

OLAH_VERSION = "0.5.4"  # what .ci/run installs
OLAH_ENV = "IMAGEWORKS_TEST_OLAH"  # path of an olah-cli to use instead of the known places


def find_olah(repo_root: Path) -> str | None:
    """``$IMAGEWORKS_TEST_OLAH``, else ``<repo>/.ci/olah-venv/bin/olah-cli``, else ``olah-cli`` on PATH."""
    explicit = os.environ.get(OLAH_ENV)
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    known = repo_root / ".ci" / "olah-venv" / "bin" / "olah-cli"
    if os.access(known, os.X_OK):
        return str(known)
    return shutil.which("olah-cli")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Olah:
    """One olah process: ``start()`` (bounded wait), ``url``, ``kill()`` (SIGKILL, as a crash or
    a pulled plug), ``stop()`` (SIGTERM to its group, then SIGKILL), ``log()``."""

    def __init__(self, executable: str, upstream: str, workdir: Path, *, metadata_ttl_s: int = 600):
        self.executable = executable
        self.upstream = upstream
        self.workdir = workdir
        self.metadata_ttl_s = metadata_ttl_s
        self.port = 0
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def config(self) -> str:
        upstream = urlparse(self.upstream)
        own = f"127.0.0.1:{self.port}"
        return "\n".join([
            "[basic]",
            'host = "127.0.0.1"',
            f"port = {self.port}",
            f'repos-path = "{self.workdir / "repos"}"',
            f'hf-scheme = "{upstream.scheme}"',
            f'hf-netloc = "{upstream.netloc}"',
            f'hf-lfs-netloc = "{upstream.netloc}"',
            'mirror-scheme = "http"',
            f'mirror-netloc = "{own}"',
            f'mirror-lfs-netloc = "{own}"',
            f"metadata-cache-ttl = {self.metadata_ttl_s}",
            "",
            "[accessibility]",
            "offline = false",
            "",
        ])

    def start(self, timeout_s: float = 60) -> "Olah":
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()  # a restart keeps its address
        config = self.workdir / "olah.toml"
        config.write_text(self.config())
        with open(self.workdir / "olah.out", "ab") as out:
            self.process = subprocess.Popen(
                [self.executable, "--config", str(config), "--log-path", str(self.workdir / "logs")],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, cwd=self.workdir,
                start_new_session=True)  # its own group: stop() reaches any worker it forks
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"olah exited with {self.process.returncode} at start:\n{self.log()}")
            if self._answers():
                return self
            time.sleep(0.1)
        self.stop()
        raise TimeoutError(f"olah did not answer within {timeout_s:g} s:\n{self.log()}")

    def _answers(self) -> bool:
        """Any HTTP answer (a 404 for a path olah has no route for) means it is serving."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
        try:
            connection.request("HEAD", "/imageworks-ready")
            connection.getresponse().read()
            return True
        except OSError:
            return False
        finally:
            connection.close()

    def _signal(self, sig: int) -> None:
        try:
            os.killpg(self.process.pid, sig)
        except ProcessLookupError:
            pass

    def kill(self) -> None:
        """Stop it at once, mid-answer (a crash, a pulled cable, a reboot)."""
        if self.process is not None and self.process.poll() is None:
            self._signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                self.process.wait(timeout=10)
        self.process = None

    def restart(self, timeout_s: float = 60) -> "Olah":
        """Start again, same address and cache folder."""
        self.stop()
        return self.start(timeout_s)

    def log(self, tail: int = 4000) -> str:
        try:
            return (self.workdir / "olah.out").read_text(errors="replace")[-tail:]
        except OSError:
            return ""

    def __enter__(self) -> "Olah":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

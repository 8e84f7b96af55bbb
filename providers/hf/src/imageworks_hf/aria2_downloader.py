"""The aria2c downloader: several connections per file and several files at once, ``-c`` resume.
The input list (with the token, when the file stays on the hub's host) goes through stdin:
never on a command line or in a file.

Each file's sha256 is checked by us, not by aria2c's ``checksum=``: aria2c hashes after the
download with its own SHA-256 (about half of OpenSSL's speed here), while we hash the file as
it is written (pieces in order) with hashlib, so little is left to hash at the end."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from pathlib import Path
from urllib.parse import urljoin, urlparse

from imageworks_core import DownloadError, Interrupted

from . import tls
from .download_hashing import PrefixHasher
from .transfer import FileJob, ProgressMeter, TransferStats, finish

# aria2c's exit codes (man aria2c, "EXIT STATUS")
_EXIT = {
    3: "resource not found (404)",
    9: "not enough disk space",
    19: "name resolution failed",
    22: "HTTP response header was bad or unexpected",
    24: "HTTP authorization failed",
}


def aria2c_path() -> str | None:
    return shutil.which("aria2c")


def resolve_redirect(url: str, headers: dict[str, str], timeout: float) -> tuple[str, bool]:
    """Follow the hub's redirects ourselves: (final URL, whether the token may go with it).
    The token is only ever sent to the host it was meant for."""
    import requests

    origin = urlparse(url).netloc
    current = url
    for _ in range(5):
        same = urlparse(current).netloc == origin
        try:
            response = requests.head(current, headers=headers if same else {"User-Agent": headers.get("User-Agent", "")},
                                     allow_redirects=False, timeout=timeout, verify=tls.requests_verify())
        except requests.RequestException as exc:
            if tls.untrusted(exc):
                raise tls.untrusted_error(urlparse(current).netloc) from None
            raise DownloadError(f"cannot reach {urlparse(current).netloc}: {type(exc).__name__}") from None
        if response.status_code in (301, 302, 303, 307, 308) and response.headers.get("Location"):
            current = urljoin(current, response.headers["Location"])
            continue
        if response.status_code in (401, 403):
            raise DownloadError(f"access refused ({response.status_code}) for {urlparse(url).path}; check HF_TOKEN and the repo's terms")
        if response.status_code == 404:
            raise DownloadError(f"not found (404): {urlparse(url).path}")
        break
    return current, urlparse(current).netloc == origin


class Aria2Downloader:
    def __init__(self, *, headers: dict[str, str], connections: int, concurrent: int, retries: int,
                 timeout: float, meter: ProgressMeter, lock_fd: int | None = None):
        self.lock_fd = lock_fd  # the download lock, held by aria2c too until it has stopped
        self.headers = headers
        self.connections = max(1, min(16, connections))
        self.concurrent = max(1, concurrent)
        self.retries = retries
        self.timeout = timeout
        self.meter = meter

    def _input(self, jobs: list[FileJob]) -> str:
        lines = []
        for job in jobs:
            url, with_token = resolve_redirect(job.url, self.headers, self.timeout)
            lines.append(url)
            lines.append(f"  dir={job.staging.parent}")
            lines.append(f"  out={job.staging.name}")
            if with_token and "Authorization" in self.headers:
                lines.append(f"  header=Authorization: {self.headers['Authorization']}")
        return "\n".join(lines) + "\n"

    def _command(self) -> list[str]:
        return [
            aria2c_path() or "aria2c", "--input-file=-", "--continue=true",
            f"--max-connection-per-server={self.connections}", f"--split={self.connections}",
            "--min-split-size=16M", f"--max-concurrent-downloads={self.concurrent}",
            "--stream-piece-selector=inorder",
            # Large segments: aria2c asks for open-ended ranges, so each time a connection moves to
            # another segment the server has already pushed a socket buffer of bytes nobody reads
            # (measured on loopback with 1 MiB segments: 1.2-2.8x the file served). 16 MiB segments
            # bring that to 1.00-1.16x at the same speed. (HTTP pipelining would ask for closed
            # ranges, but stalled for aria2c's whole timeout against a plain HTTP/1.1 server.)
            "--file-allocation=none", "--auto-file-renaming=false", "--allow-overwrite=true",
            # no --check-integrity: with a whole-file checksum it judges "complete" by file length,
            # and a sparse partial has full length, so it would re-download from scratch.
            f"--max-tries={self.retries + 1}", "--retry-wait=1",
            f"--timeout={int(self.timeout)}", "--connect-timeout=10", "--remote-time=false",
            "--auto-save-interval=1", "--summary-interval=0", "--console-log-level=error", "--show-console-readout=false",
            "--download-result=hide", "--enable-color=false", "--no-conf=true",
            f"--stop-with-process={os.getpid()}", "--user-agent=imageworks-model-manager",
            *tls.aria2c_options(),
        ]

    def run(self, jobs: list[FileJob]) -> TransferStats:
        if not jobs:
            return TransferStats(backend="aria2c")
        for job in jobs:
            job.staging.parent.mkdir(parents=True, exist_ok=True)
        before = {job.path: _allocated(job.staging) for job in jobs}
        self.meter.set_done(sum(before.values()), 0)
        # Two rounds: a presigned redirect URL can expire mid-download; the second round
        # resolves fresh URLs and aria2c resumes from its control files.
        followers = {job.path: PrefixHasher(job.staging, job.size) for job in jobs if job.sha256 and job.size}
        for follower in followers.values():
            follower.start()
        try:
            for _round in range(2):
                code, output = self._run_once(jobs, before)
                if code in (0, 9):
                    break
        finally:
            digests = {path: follower.result() for path, follower in followers.items()}
        if code == 9:
            raise DownloadError("disk full: aria2c reports not enough disk space; partial files are kept for resume",
                                hint="free some space (or choose --location on another disk) and run the same command again")
        if code != 0:
            reason = _EXIT.get(code, f"exit status {code}")
            detail = output.strip().splitlines()[-1] if output.strip() else ""
            raise DownloadError(f"aria2c failed: {reason}{': ' + detail if detail else ''}; partial files are kept "
                                f"and the next run resumes them", hint="retry, or use --no-aria2")
        transferred = 0
        for job in jobs:
            transferred += max(0, (job.staging.stat().st_size if job.staging.exists() else 0) - before[job.path])
            job.staging.with_name(job.staging.name + ".aria2").unlink(missing_ok=True)
            finish(job, digests.get(job.path), recheck=True)
        self.meter.set_done(sum(j.size or 0 for j in jobs), transferred)
        return TransferStats(bytes_transferred=transferred, files_done=len(jobs), backend="aria2c")

    def _run_once(self, jobs: list[FileJob], before: dict[str, int]) -> tuple[int, str]:
        import tempfile

        from imageworks_core.kit import redact

        # aria2c's output goes to a file, not a pipe: if we are killed, a pipe would break and
        # SIGPIPE would end aria2c before it saves its control files (and the resume state).
        log = tempfile.TemporaryFile(mode="w+", prefix="imageworks-aria2c-")
        # aria2c gets its own session: a terminal's Ctrl-C (or a kill of our whole process group)
        # reaches only us, and we stop aria2c once, gracefully, so that it saves its control file.
        # A second signal would make it halt at once, and a SIGKILL would lose the last second of
        # resume state. If we are killed outright, --stop-with-process stops it within a second;
        # the download lock it inherits makes the next run wait for that.
        proc = subprocess.Popen(self._command(), stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT,
                                text=True, start_new_session=True,
                                pass_fds=(self.lock_fd,) if self.lock_fd is not None else ())
        stop = threading.Event()

        def watch() -> None:
            while not stop.wait(0.5):
                done = sum(_allocated(j.staging) for j in jobs)
                self.meter.set_done(done, max(0, done - sum(before.values())))

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        try:
            proc.communicate(self._input(jobs))
        except KeyboardInterrupt:
            _stop_gracefully(proc)
            raise Interrupted("interrupted; partial files are kept and the next run resumes them") from None
        except BaseException:
            _stop_gracefully(proc)
            raise
        finally:
            stop.set()
            watcher.join(timeout=2)
        log.seek(0)
        output = log.read()
        log.close()
        return proc.returncode, redact(output)


def _stop_gracefully(proc: subprocess.Popen, timeout: float = 30.0) -> None:
    """One SIGINT: aria2c finishes its in-flight writes and saves its control files. Only a
    helper that does not stop in ``timeout`` seconds is killed."""
    import signal

    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGINT)
    while True:
        try:
            proc.wait(timeout=timeout)
            return
        except subprocess.TimeoutExpired:
            proc.kill()
            timeout = 5.0
        except KeyboardInterrupt:  # a second Ctrl-C while it saves: keep waiting, it is quick
            continue


def _allocated(path: Path) -> int:
    """Bytes really on disk: aria2c writes several ranges of a file at once (a sparse file)."""
    try:
        st = os.stat(path)
    except OSError:
        return 0
    return min(st.st_size, st.st_blocks * 512)

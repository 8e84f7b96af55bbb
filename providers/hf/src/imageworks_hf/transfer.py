"""What both downloaders share: the job description, the staging area, progress, verification."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from pathlib import Path
from typing import Callable, Iterator

import attrs

from imageworks_core import DownloadError, VerificationError
from imageworks_core.kit import sha256_of
from imageworks_core import Progress

STAGING = ".imageworks-partial"


@attrs.frozen
class FileJob:
    path: str  # relative to the target folder (POSIX)
    url: str
    dest: Path
    size: int | None
    sha256: str | None

    @property
    def staging(self) -> Path:
        # Partials live beside the target, so the final rename never crosses file systems, and
        # never under the final name, so a partial file is never mistaken for a finished one.
        root = self.dest
        for _ in self.path.split("/"):
            root = root.parent
        return root / STAGING / self.path


@attrs.define
class TransferStats:
    bytes_transferred: int = 0
    files_done: int = 0
    backend: str = "python"


class ProgressMeter:
    """Aggregates bytes from all workers; reports at most twice a second."""

    def __init__(self, label: str, total: int | None, callback: Callable[[Progress], None] | None):
        self.label = label
        self.total = total
        self.callback = callback
        self.done = 0
        self.transferred = 0
        self.started = time.monotonic()
        self._last = 0.0
        self._lock = threading.Lock()

    def add(self, count: int, *, transferred: bool = True) -> None:
        with self._lock:
            self.done += count
            if transferred:
                self.transferred += count
        self.report()

    def set_done(self, done: int, transferred: int) -> None:
        with self._lock:
            self.done, self.transferred = done, transferred
        self.report()

    def report(self, finished: bool = False) -> None:
        if self.callback is None:
            return
        now = time.monotonic()
        if not finished and now - self._last < 0.5:
            return
        self._last = now
        elapsed = max(now - self.started, 1e-6)
        speed = self.transferred / elapsed
        eta = (self.total - self.done) / speed if self.total and speed > 0 else None
        self.callback(Progress(self.label, self.done, self.total, speed, eta, finished))


def finish(job: FileJob, actual_sha: str | None, *, recheck: bool = False) -> None:
    """Check size and hash of a finished staging file, then move it into place. With
    ``recheck``, a mismatching ``actual_sha`` (hashed while downloading) is confirmed by a full
    read before the file is condemned."""
    size = job.staging.stat().st_size
    if job.size is not None and size != job.size:
        job.staging.unlink(missing_ok=True)
        raise VerificationError(f"{job.path}: expected {job.size} bytes, got {size}; the file was removed")
    if job.sha256 is not None:
        actual = actual_sha or sha256_of(job.staging)
        if actual != job.sha256 and recheck and actual_sha is not None:
            actual = sha256_of(job.staging)
        if actual != job.sha256:
            job.staging.unlink(missing_ok=True)
            raise VerificationError(
                f"{job.path}: sha256 mismatch (expected {job.sha256}, got {actual}); the file was removed")
    job.dest.parent.mkdir(parents=True, exist_ok=True)
    os.replace(job.staging, job.dest)


def disk_error(exc: OSError, where: Path) -> DownloadError:
    import errno

    if exc.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
        return DownloadError(f"disk full while writing {where} ({exc.strerror}); the partial file is kept for resume",
                             hint="free some space (or choose --location on another disk) and run the same command again")
    return DownloadError(f"cannot write {where}: {exc.strerror}")


LOCK_NAME = ".lock"


@contextlib.contextmanager
def download_lock(target: Path, *, timeout: float = 120.0,
                  on_wait: Callable[[str], None] | None = None) -> Iterator[int | None]:
    """Held for the whole transfer into ``target`` and inherited by aria2c (``pass_fds``): the
    lock is an ``flock`` on one open file, so it is released only when the last holder exits. A
    second run of the same download waits until the first, and an aria2c it left behind after
    a kill, has stopped and saved its resume state. Yields the lock's file descriptor."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no inherited lock; downloads still resume
        yield None
        return
    folder = target / STAGING
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        deadline = time.monotonic() + timeout
        waited = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise DownloadError(f"another download into {target} is still running",
                                        hint="wait for it to finish, or stop it, then run the command again") from None
                if not waited and on_wait is not None:
                    on_wait(f"waiting for an earlier download into {target} to stop")
                waited = True
                time.sleep(0.1)
        yield fd
    finally:
        os.close(fd)


def clean_staging(target: Path) -> None:
    """Remove the staging folder once it is empty (after a successful download)."""
    staging = target / STAGING
    if not staging.is_dir():
        return
    (staging / LOCK_NAME).unlink(missing_ok=True)  # ours, held until we exit
    for folder, _dirs, _files in sorted(os.walk(staging), key=lambda w: -len(w[0])):
        try:
            os.rmdir(folder)
        except OSError:
            pass

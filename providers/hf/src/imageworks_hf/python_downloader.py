"""The Python downloader: parallel ranged requests into one file, resumable from a state file,
retries with backoff, and never appending to a file when the server ignored ``Range``."""

from __future__ import annotations

import hashlib
import json
import os
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import attrs

from imageworks_core import DownloadError, Interrupted

from .transfer import FileJob, ProgressMeter, TransferStats, disk_error, finish

MIN_SEGMENT = 8 << 20  # below this a file is fetched in one stream
STATE_EVERY = 64 << 10  # bytes a SIGKILL can cost per segment on resume (a graceful stop: none)
CHUNK = 1 << 20


class RangeIgnored(Exception):
    """The server answered a ranged request with the whole file."""


@attrs.define
class Segment:
    start: int
    end: int  # exclusive
    done: int = 0

    @property
    def finished(self) -> bool:
        return self.start + self.done >= self.end


class PythonDownloader:
    def __init__(self, *, headers: dict[str, str], connections: int, concurrent: int, retries: int,
                 timeout: float, meter: ProgressMeter, deadline: float | None = None):
        import requests

        self.headers = headers
        self.connections = max(1, connections)
        self.concurrent = max(1, concurrent)
        self.retries = retries
        self.timeout = timeout
        self.meter = meter
        self.deadline = deadline
        self.stop = threading.Event()
        self._digests: dict[str, str] = {}
        self._state_fds: dict[str, int] = {}
        self.session = requests.Session()
        adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=self.connections * self.concurrent + 4)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def run(self, jobs: list[FileJob]) -> TransferStats:
        stats = TransferStats(backend="python")
        errors: list[BaseException] = []
        with ThreadPoolExecutor(max_workers=self.concurrent) as pool:
            futures = [pool.submit(self._file, job) for job in jobs]
            try:
                for future in futures:
                    try:
                        stats.bytes_transferred += future.result()
                        stats.files_done += 1
                    except BaseException as exc:  # noqa: BLE001 - first error wins, others stop
                        self.stop.set()
                        errors.append(exc)
            except KeyboardInterrupt:
                self.stop.set()
                raise Interrupted("interrupted; partial files are kept and the next run resumes them") from None
        if errors:
            raise errors[0]
        return stats

    def _saved_on_exit(self, job: FileJob, segments: list[Segment], lock: threading.Lock) -> _SavedOnExit:
        return _SavedOnExit(self, job, segments, lock)

    # -- one file
    def _state_path(self, job: FileJob) -> Path:
        return job.staging.with_name(job.staging.name + ".state.json")

    def _load_state(self, job: FileJob) -> list[Segment] | None:
        try:
            doc = json.loads(self._state_path(job).read_text())
            if doc.get("size") != job.size or doc.get("sha256") != job.sha256 or not job.staging.exists():
                return None
            return [Segment(*s) for s in doc["segments"]]
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _save_state(self, job: FileJob, segments: list[Segment], lock: threading.Lock) -> None:
        """Rewrite the state file in place. Numbers are padded to a fixed width (JSON allows the
        spaces), so every save is one ``pwrite`` of the same length: cheap enough to save every
        64 KiB, and a process killed at any instant leaves the old or the new bytes, never a
        torn file (the kernel finishes a write it has begun)."""
        def number(value: int | None) -> str:
            return f"{'null' if value is None else value:>20}"

        with lock:
            spans = ", ".join(f"[{number(s.start)}, {number(s.end)}, {number(s.done)}]" for s in segments)
            data = (f'{{"size": {number(job.size)}, "sha256": {json.dumps(job.sha256)}, '
                    f'"segments": [{spans}]}}\n').encode("ascii")
            fd = self._state_fds.get(job.path)
            if fd is None:
                fd = os.open(self._state_path(job), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
                self._state_fds[job.path] = fd
            os.pwrite(fd, data, 0)
            if os.fstat(fd).st_size != len(data):
                os.ftruncate(fd, len(data))

    def _close_state(self, job: FileJob) -> None:
        fd = self._state_fds.pop(job.path, None)
        if fd is not None:
            os.close(fd)

    def _plan(self, job: FileJob) -> list[Segment]:
        size = job.size or 0
        if job.size is None or size < 2 * MIN_SEGMENT or self.connections == 1:
            return [Segment(0, size if job.size is not None else -1)]
        count = min(self.connections, max(1, size // MIN_SEGMENT))
        step = size // count
        bounds = [i * step for i in range(count)] + [size]
        return [Segment(bounds[i], bounds[i + 1]) for i in range(count)]

    def _file(self, job: FileJob) -> int:
        job.staging.parent.mkdir(parents=True, exist_ok=True)
        segments = self._load_state(job)
        foreign = job.staging.with_name(job.staging.name + ".aria2").exists()
        if segments is None or foreign:
            # No state we can trust (none, corrupt, another downloader's): start the file over.
            job.staging.unlink(missing_ok=True)
            job.staging.with_name(job.staging.name + ".aria2").unlink(missing_ok=True)
            segments = self._plan(job)
        lock = threading.Lock()
        self.meter.add(sum(s.done for s in segments), transferred=False)
        fd = os.open(job.staging, os.O_RDWR | os.O_CREAT, 0o644)
        transferred = 0
        single = len(segments) == 1
        try:
            self._save_state(job, segments, lock)
            try:
                if single:
                    transferred = self._stream(job, fd, segments[0], segments, lock, hash_along=True)
                else:
                    with ThreadPoolExecutor(max_workers=len(segments)) as pool:
                        results = list(pool.map(lambda s: self._stream(job, fd, s, segments, lock), segments))
                    transferred = sum(results)
            except RangeIgnored:
                # The server sends whole files: restart in one stream from byte 0, never append.
                os.ftruncate(fd, 0)
                segments[:] = [Segment(0, job.size if job.size is not None else -1)]
                self._save_state(job, segments, lock)
                transferred = self._stream(job, fd, segments[0], segments, lock, hash_along=True, no_range=True)
            # No fsync of the data: like aria2c and huggingface_hub; a file lost to a power cut
            # shows up as a size mismatch in `verify`. The registry itself is fsynced.
        except OSError as exc:
            if isinstance(exc, (ConnectionError, TimeoutError)):
                raise
            raise disk_error(exc, job.staging) from None
        finally:
            os.close(fd)
            self._close_state(job)
        digest = self._digests.pop(job.path, None)
        finish(job, digest)
        self._state_path(job).unlink(missing_ok=True)
        return transferred

    def _stream(self, job: FileJob, fd: int, segment: Segment, segments: list[Segment], lock: threading.Lock,
                *, hash_along: bool = False, no_range: bool = False) -> int:
        import requests

        transferred = 0
        attempt = 0
        hasher = None
        if hash_along and job.sha256 is not None:
            # One stream: hash while writing; after a resume, hash the part already on disk first.
            hasher = hashlib.sha256()
            if segment.done:
                with open(job.staging, "rb") as handle:
                    remaining = segment.done
                    while remaining:
                        block = handle.read(min(CHUNK, remaining))
                        if not block:
                            break
                        hasher.update(block)
                        remaining -= len(block)
        while not segment.finished or segment.end < 0:
            if self.stop.is_set():
                raise DownloadError("stopped because another file failed")
            if self.deadline and time.monotonic() > self.deadline:
                raise DownloadError(f"{job.path}: gave up after the overall deadline; partial kept for resume")
            headers = dict(self.headers)
            offset = segment.start + segment.done
            ranged = (offset > 0 or segment.end != job.size) and not no_range and segment.end >= 0
            if ranged:
                headers["Range"] = f"bytes={offset}-{segment.end - 1}"
            elif offset > 0 and segment.end < 0:
                headers["Range"] = f"bytes={offset}-"
                ranged = True
            try:
                with self.session.get(job.url, headers=headers, stream=True, timeout=(10, self.timeout),
                                      allow_redirects=True) as response, self._saved_on_exit(job, segments, lock):
                    if response.status_code in (429, 500, 502, 503, 504):
                        raise _Retry(response.status_code, response.headers.get("Retry-After"))
                    if response.status_code == 416 and segment.end < 0:
                        segment.end = offset
                        break
                    if response.status_code in (401, 403):
                        raise DownloadError(f"{job.path}: access refused ({response.status_code}); check HF_TOKEN and that you accepted the repo's terms")
                    if response.status_code == 404:
                        raise DownloadError(f"{job.path}: not found on the server (404)")
                    if response.status_code not in (200, 206):
                        raise _Retry(response.status_code, None)
                    if ranged and response.status_code == 200:
                        raise RangeIgnored()
                    if segment.end < 0:
                        length = response.headers.get("Content-Length")
                        segment.end = offset + int(length) if length and length.isdigit() else -1
                    unsaved = 0
                    for block in response.iter_content(CHUNK):
                        if self.stop.is_set():
                            raise DownloadError("stopped because another file failed")
                        position = segment.start + segment.done
                        if segment.end >= 0 and position + len(block) > segment.end:
                            block = block[: segment.end - position]
                        written = 0
                        while written < len(block):
                            written += os.pwrite(fd, memoryview(block)[written:], position + written)
                        if hasher is not None:
                            hasher.update(block)
                        segment.done += len(block)
                        transferred += len(block)
                        unsaved += len(block)
                        self.meter.add(len(block))
                        if unsaved >= STATE_EVERY:
                            self._save_state(job, segments, lock)
                            unsaved = 0
                        if segment.end >= 0 and segment.finished:
                            break
                    self._save_state(job, segments, lock)
                    if segment.end < 0:
                        segment.end = segment.start + segment.done
                    if not segment.finished:
                        raise _Retry(None, None)  # the connection ended early
                    attempt = 0
            except RangeIgnored:
                raise
            except (_Retry, requests.RequestException, ConnectionError) as exc:
                attempt += 1
                if attempt > self.retries:
                    detail = f"HTTP {exc.status}" if isinstance(exc, _Retry) and exc.status else type(exc).__name__
                    raise DownloadError(f"{job.path}: failed after {self.retries} retries ({detail}); "
                                        f"the partial file is kept and the next run resumes it") from None
                wait = min(30.0, 0.25 * 2 ** (attempt - 1)) * (0.5 + random.random())
                if isinstance(exc, _Retry) and exc.retry_after and exc.retry_after.isdigit():
                    wait = min(30.0, float(exc.retry_after))
                time.sleep(wait)
        if hasher is not None:
            self._digests[job.path] = hasher.hexdigest()
        return transferred


class _SavedOnExit:
    """Save the resume state however a stream ends (stopped by Ctrl-C, an error, the end)."""

    def __init__(self, owner: "PythonDownloader", job: FileJob, segments: list[Segment], lock: threading.Lock):
        self.owner, self.job, self.segments, self.lock = owner, job, segments, lock

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc_info) -> None:
        try:
            self.owner._save_state(self.job, self.segments, self.lock)
        except OSError:
            pass


class _Retry(Exception):
    def __init__(self, status: int | None, retry_after: str | None):
        super().__init__(status)
        self.status = status
        self.retry_after = retry_after

"""The built-in downloader: one pool of keep-alive connections working through every file's
pieces in file order, each file hashed while its pieces arrive.

- A file is cut into ``PIECE``-sized ranges. The first unfinished piece of a file is its probe:
  the file's other pieces wait until the probe's answer shows the server honours ``Range`` (a
  206). A server that answers 200 gets the whole file in one stream from byte 0: a partial file
  is never appended to after a non-ranged answer.
- Pieces are handed out in file order, so each file's hashed prefix grows steadily: a block
  that continues it is hashed from the receive buffer by the thread that wrote it
  (``FileHasher.feed``), and the file's hasher thread reads back only what arrived ahead of it.
  Little is left to hash when the bytes stop arriving.
- Workers are started as the connection count allows (``ConnectionRamp``): one first, more
  while more bring more. Over TLS on a fast link a few streams are the fastest, and 32 would
  only share the same cores; a server that throttles each connection gets as many as pay.
- Resume state (``download_state``) lives beside the partial file, updated in place every
  ``STATE_EVERY`` bytes (what a SIGKILL can cost per active connection) and on every stop.
"""

from __future__ import annotations

import collections
import hashlib
import os
import random
import re
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

from imageworks_core import DownloadError, Interrupted
from imageworks_core.kit import aligned_buffer

from . import tls
from .connection_ramp import ConnectionRamp
from .descriptors import workers_within_limit
from .download_hashing import FileHasher, hash_prefix
from .download_state import Segment, StateFile
from .socket_http import RequestsAnswer, SocketHttp, Unsupported
from .transfer import FileJob, ProgressMeter, TransferStats, disk_error, finish

PIECE = 8 << 20  # one ranged request; a file below two pieces is fetched in one stream
STATE_EVERY = 64 << 10
# One read from the socket, at most what a SIGKILL costs a connection besides its kernel buffers
# (a read also returns after socket_http's FLUSH_AFTER without new bytes). Small enough to stay
# in the core's cache between the decrypt, the hash and the copy into the page cache.
BLOCK = 256 << 10


class RangeIgnored(Exception):
    """The server answered a ranged request with the whole file."""


class Stopped(Exception):
    """This worker stops because the download as a whole is stopping."""


class FileWork:
    """One file of the download: its segments, and once its first piece is handed out (never
    before: a repo of 1,000 files must not hold 2,000 descriptors and 1,000 hash buffers) its
    partial's descriptor, state file and hasher."""

    def __init__(self, job: FileJob, segments: list[Segment], state_path: Path):
        self.job, self.segments, self.state_path = job, segments, state_path
        self.fd = -1
        self.state: StateFile | None = None
        self.lock = threading.Lock()
        self.hasher: FileHasher | None = None
        self.streamed_digest: str | None = None
        self.left = sum(1 for s in segments if not s.finished)
        self.transferred = 0
        self.queued: collections.deque[tuple[int, bool]] = collections.deque()  # (segment, probe?)
        self.active = 0  # pieces being fetched now
        self.direct = True  # through the socket client while its answers are ones it reads
        self.resolved: str | None = None  # where the URL last redirected to
        self.auth_host = urlsplit(job.url).netloc  # the token goes there only, as requests does


class _Probe:
    """A file's first request: its other pieces wait for its answer."""

    __slots__ = ("index", "open")

    def __init__(self, index: int):
        self.index, self.open = index, True


class PythonDownloader:
    def __init__(self, *, headers: dict[str, str], connections: int, concurrent: int, retries: int,
                 timeout: float, meter: ProgressMeter, deadline: float | None = None):
        self.headers = headers
        # As aria2c's -x and -j: at most ``connections`` at once on one file, and as many
        # connections in all as ``concurrent`` files would use; one pool, files taken in order.
        self.per_file = max(1, connections)
        self.workers = workers_within_limit(self.per_file * max(1, concurrent))
        self.retries = retries
        self.timeout = timeout
        self.meter = meter
        self.deadline = deadline
        self.stop = threading.Event()
        self._session = None  # requests, made only for what the socket client does not read
        self._session_lock = threading.Lock()
        self.sockets = SocketHttp(timeout=timeout)
        self.ramp = ConnectionRamp(self.workers)
        self._in_flight = 0  # pieces being fetched now, at most ramp.limit
        self._buffers = threading.local()
        self._ready = threading.Condition()
        self._probing = 0  # probes whose answer may still release more pieces
        self._errors: list[BaseException] = []
        self._done: list[FileWork] = []
        self._open: list[FileWork] = []
        self._threads: list[threading.Thread] = []
        self._pieces = 0

    @property
    def session(self):
        with self._session_lock:
            if self._session is None:
                import requests

                session = requests.Session()
                adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=self.workers + 4)
                session.mount("http://", adapter)
                session.mount("https://", adapter)
                session.verify = tls.requests_verify()  # SSL_CERT_FILE too, which requests alone ignores
                self._session = session
            return self._session

    # -- the pool
    def run(self, jobs: list[FileJob]) -> TransferStats:
        stats = TransferStats(backend="python")
        try:
            for job in jobs:  # in order: the pool works through them in this order
                self._begin(job)
            pieces = sum(work.left for work in self._open)
            # The ramp's ceiling: what these files can use at once.
            usable = sum(min(self.per_file, work.left) for work in self._open)
            self.ramp = ConnectionRamp(min(self.workers, max(1, usable)))
            self._pieces = pieces
            self._grow()
            try:
                while (alive := self._alive()):
                    alive[0].join(0.2)
            except KeyboardInterrupt:
                self._halt()
                for thread in self._alive():
                    thread.join()
                raise Interrupted("interrupted; partial files are kept and the next run resumes them") from None
        finally:
            self.stop.set()  # nothing runs past here: the hashers of unfinished files stop too
            self.sockets.close()
            for work in self._open:
                if work.hasher is not None:
                    work.hasher.join()
                self._close(work)
        if self._errors:
            raise self._errors[0]
        for work in self._done:
            stats.bytes_transferred += work.transferred
            stats.files_done += 1
        return stats

    def _grow(self) -> None:
        """As many workers as the ramp allows now (never more than pieces): a download that
        settles at one connection runs one thread, not a pool of idle ones."""
        with self._ready:
            for i in range(len(self._threads), min(self.ramp.limit, self._pieces)):
                thread = threading.Thread(target=self._worker, name=f"fetch {i}", daemon=True)
                thread.start()
                self._threads.append(thread)
            self._ready.notify_all()

    def _alive(self) -> list[threading.Thread]:
        with self._ready:  # a worker starts another under this lock, so none is missed
            return [thread for thread in self._threads if thread.is_alive()]

    def _halt(self) -> None:
        self.stop.set()
        self.sockets.shutdown()  # wakes the threads waiting for a block
        with self._ready:
            self._ready.notify_all()

    def _begin(self, job: FileJob) -> None:
        job.staging.parent.mkdir(parents=True, exist_ok=True)
        state_path = job.staging.with_name(job.staging.name + ".state.json")
        segments = StateFile.load(state_path, job)
        foreign = job.staging.with_name(job.staging.name + ".aria2")
        if segments is None or foreign.exists():
            # No state we can trust (none, corrupt, another downloader's): start the file over.
            job.staging.unlink(missing_ok=True)
            foreign.unlink(missing_ok=True)
            segments = self._plan(job)
        work = FileWork(job, segments, state_path)
        self._open.append(work)
        self.meter.add(sum(s.done for s in segments), transferred=False)
        pending = [i for i, s in enumerate(segments) if not s.finished]
        if not pending:  # all there from an earlier run: only the check is left
            self._complete(work)
            return
        self._push(work, pending[0], probe=True)

    def _activate(self, work: FileWork) -> None:
        """Open the partial and its state file, and start its hasher: when the first piece of
        the file is handed out."""
        with work.lock:
            if work.fd >= 0:
                return
            job = work.job
            try:
                work.fd = os.open(job.staging, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
                work.state = StateFile(work.state_path, job, work.segments)
            except OSError as exc:
                raise disk_error(exc, job.staging) from None
            if len(work.segments) > 1 and job.sha256 is not None:
                work.hasher = FileHasher(job.staging, work.segments, self.stop)
                work.hasher.start()

    def _plan(self, job: FileJob) -> list[Segment]:
        if job.size is None:
            return [Segment(0, -1)]
        if job.size < 2 * PIECE:
            return [Segment(0, job.size)]
        return [Segment(start, min(start + PIECE, job.size)) for start in range(0, job.size, PIECE)]

    def _push(self, work: FileWork, index: int, *, probe: bool) -> None:
        with self._ready:
            work.queued.append((index, probe))
            self._probing += probe
            self._ready.notify()

    def _next(self) -> tuple[FileWork, int, bool] | None:
        """The next piece in file order, from the first file below its connection cap, once
        fewer pieces than the ramp allows are in flight."""
        with self._ready:
            while True:
                if self.stop.is_set():
                    return None
                waiting = False
                for work in self._open:
                    if work.queued:
                        waiting = True
                        if work.active < self.per_file and self._in_flight < self.ramp.limit:
                            index, probe = work.queued.popleft()
                            work.active += 1
                            self._in_flight += 1
                            return work, index, probe
                if not waiting and not self._probing:
                    return None  # nothing queued and no probe can release more
                self._ready.wait(0.5)

    def _worker(self) -> None:
        while (item := self._next()) is not None:
            work, index, probe = item
            try:
                self._activate(work)
                self._fetch(work, index, probe)
            except Stopped:
                pass
            except BaseException as exc:  # noqa: BLE001 - the first error wins; the rest stop
                with self._ready:
                    self._errors.append(exc)
                self._halt()
            finally:
                with self._ready:
                    work.active -= 1
                    self._in_flight -= 1
                    self._ready.notify_all()

    def _release(self, work: FileWork, probe: _Probe, *, pieces: bool) -> None:
        """A probe is answered: with ``pieces`` (a ranged answer) queue the file's other
        unfinished pieces; either way it no longer holds the pool open. Kept once per probe."""
        with self._ready:
            if not probe.open:
                return
            probe.open = False
            self._probing -= 1
            if pieces:
                work.queued.extend((i, False) for i, segment in enumerate(work.segments)
                                   if i != probe.index and not segment.finished)
            self._ready.notify_all()

    # -- one piece
    def _fetch(self, work: FileWork, index: int, is_probe: bool) -> None:
        segment = work.segments[index]
        probe = _Probe(index) if is_probe else None
        hasher = None
        if len(work.segments) == 1 and work.job.sha256 is not None:
            hasher = self._hash_done_part(work, segment)
        try:
            self._stream(work, index, segment, probe, hasher)
        except RangeIgnored:
            # The server sends whole files: restart in one stream from byte 0, never append.
            if probe is None:
                raise DownloadError(f"{work.job.path}: the server stopped honouring byte ranges mid-download") from None
            self._release(work, probe, pieces=False)
            self._restart_whole(work)
            segment = work.segments[0]
            hasher = hashlib.sha256() if work.job.sha256 is not None else None
            self._stream(work, 0, segment, None, hasher, no_range=True)
        finally:
            if probe is not None:
                self._release(work, probe, pieces=False)  # a probe that failed releases nothing
        if hasher is not None:
            work.streamed_digest = hasher.hexdigest()
        with work.lock:
            work.left -= 1
            last = work.left == 0
        if last:
            self._complete(work)

    @staticmethod
    def _hash_done_part(work: FileWork, segment: Segment):
        """One stream: hash while writing; after a resume, hash the part already on disk first."""
        return hash_prefix(work.job.staging, segment.done)

    def _restart_whole(self, work: FileWork) -> None:
        if work.hasher is not None:
            work.hasher.cancel()
            work.hasher = None
        os.ftruncate(work.fd, 0)
        self.meter.add(-sum(s.done for s in work.segments), transferred=False)
        work.segments[:] = [Segment(0, work.job.size if work.job.size is not None else -1)]
        work.left = 1
        work.state.rewrite(work.job, work.segments)

    def _complete(self, work: FileWork) -> None:
        digest = work.streamed_digest
        if work.hasher is not None:
            work.hasher.wake.set()
            digest = work.hasher.result()
        self._close(work)
        # A digest that followed the prefix is confirmed by a full read before it condemns the
        # file: a mistake in following could cost time, never a good file.
        finish(work.job, digest, recheck=work.hasher is not None)
        work.state_path.unlink(missing_ok=True)
        with self._ready:
            self._done.append(work)

    def _close(self, work: FileWork) -> None:
        if work.fd >= 0:
            os.close(work.fd)
            work.fd = -1
        if work.state is not None:
            work.state.close()

    def _stream(self, work: FileWork, index: int, segment: Segment, probe: _Probe | None, hasher,
                *, no_range: bool = False) -> None:
        """Fetch what ``segment`` misses, with retries; a probe releases its file's other pieces
        as soon as the server's first answer shows it honours ranges."""
        job = work.job
        attempt = 0
        while not segment.finished:
            if self.stop.is_set():
                raise Stopped()
            if self.deadline and time.monotonic() > self.deadline:
                raise DownloadError(f"{job.path}: gave up after the overall deadline; partial kept for resume")
            headers = dict(self.headers)
            offset = segment.start + segment.done
            ranged = not no_range and (offset > 0 or segment.end != job.size) and (segment.end >= 0 or offset > 0)
            if ranged:
                headers["Range"] = f"bytes={offset}-{segment.end - 1}" if segment.end >= 0 else f"bytes={offset}-"
            try:
                with self._request(work, headers) as response:
                    status = response.status
                    if status in (401, 403, 404, 410) and work.resolved is not None:
                        work.resolved = None  # a redirect target that expired: resolve again
                        raise _Retry(status, None)
                    if status in (429, 500, 502, 503, 504):
                        raise _Retry(status, response.header("Retry-After"))
                    if status == 416 and segment.end < 0:
                        segment.end = offset
                        break
                    if status in (401, 403):
                        raise DownloadError(f"{job.path}: access refused ({status}); check HF_TOKEN and that you accepted the repo's terms")
                    if status == 404:
                        raise DownloadError(f"{job.path}: not found on the server (404)")
                    if status not in (200, 206):
                        raise _Retry(status, None)
                    if ranged and status == 200:
                        raise RangeIgnored()
                    if status == 206:
                        self._check_range(job, offset, response.header("Content-Range"))
                    if segment.end < 0:
                        length = response.header("Content-Length")
                        segment.end = offset + int(length) if length and length.isdigit() else -1
                    if probe is not None and probe.open:
                        self._release(work, probe, pieces=True)
                    try:
                        self._copy(work, index, segment, response, hasher)
                    finally:
                        work.state.save(index)
                    if segment.end < 0:
                        segment.end = segment.start + segment.done
                        work.state.save(index)
                    if not segment.finished:
                        raise _Retry(None, None)  # the connection ended early
                    attempt = 0
            except (RangeIgnored, Stopped, DownloadError):
                raise
            except Unsupported:
                work.direct = False  # an answer only requests reads: this file goes through it
            except OSError as exc:
                if tls.untrusted(exc):  # no retry makes a certificate trusted
                    raise tls.untrusted_error(urlsplit(work.resolved or job.url).netloc) from None
                if not isinstance(exc, (ConnectionError, TimeoutError, *_requests_errors())):
                    raise disk_error(exc, job.staging) from None
                attempt = self._back_off(job, attempt, exc)
            except _Retry as exc:  # (requests' errors are OSErrors: handled above)
                attempt = self._back_off(job, attempt, exc)

    @staticmethod
    def _check_range(job: FileJob, offset: int, content_range: str | None) -> None:
        """A 206 must start where it was asked to (a cache or proxy in between can get this
        wrong): written at the wrong place, its bytes would cost the whole file at the hash
        check. A different total size means the file changed on the server."""
        match = _CONTENT_RANGE.match(content_range or "")
        if match is None:
            return  # no (or an unreadable) Content-Range: the sha256 still judges the bytes
        if job.size is not None and match["total"] != "*" and int(match["total"]) != job.size:
            raise DownloadError(f"{job.path}: the server now has {match['total']} bytes, not {job.size}: "
                                f"the file changed while downloading; run the command again")
        if int(match["start"]) != offset:
            raise _Retry(206, None)

    def _request(self, work: FileWork, headers: dict[str, str]):
        """The answer to one GET: through the socket client where it can, else requests."""
        job = work.job
        url = work.resolved or job.url
        if work.direct and self.sockets.handles(url):
            try:
                answer = self.sockets.get(url, headers, auth_host=work.auth_host)
            except Unsupported:
                work.direct = False
            else:
                if answer.url != job.url:
                    work.resolved = answer.url  # later pieces go straight to the redirect target
                return answer
        return RequestsAnswer(self.session.get(job.url, headers=headers, stream=True,
                                                timeout=(10, self.timeout), allow_redirects=True))

    def _copy(self, work: FileWork, index: int, segment: Segment, response, hasher) -> None:
        done_before = segment.done
        try:
            self._copy_blocks(work, index, segment, response, hasher)
        finally:
            with work.lock:
                work.transferred += segment.done - done_before

    def _copy_blocks(self, work: FileWork, index: int, segment: Segment, response, hasher) -> None:
        unsaved = 0
        fd, meter, stop, ramp = work.fd, self.meter, self.stop, self.ramp
        follower = work.hasher
        buffer = getattr(self._buffers, "buffer", None)
        if buffer is None:
            buffer = self._buffers.buffer = aligned_buffer(BLOCK)  # page-aligned: the kernel copies twice as fast
        for block in response.blocks(buffer):
            if stop.is_set():
                raise Stopped()
            position = segment.start + segment.done
            if segment.end >= 0 and position + len(block) > segment.end:
                block = block[: segment.end - position]
            size = len(block)
            written = 0
            while written < size:
                written += os.pwrite(fd, block[written:], position + written)
            if hasher is not None:
                hasher.update(block)
            fed = follower is not None and follower.feed(position, block)
            segment.done += size  # after the write: the follower reads back only what is on disk
            unsaved += size
            meter.add(size)
            if ramp.add(size):
                self._grow()
            if follower is not None and not fed and index == follower.front:
                follower.wake.set()  # the prefix reached bytes it must read back
            if unsaved >= STATE_EVERY:
                work.state.save(index)
                unsaved = 0
            if segment.finished:
                if follower is not None:
                    follower.wake.set()  # the next piece may be ahead already: read it back
                break

    def _back_off(self, job: FileJob, attempt: int, exc: BaseException) -> int:
        attempt += 1
        if attempt > self.retries:
            detail = f"HTTP {exc.status}" if isinstance(exc, _Retry) and exc.status else type(exc).__name__
            raise DownloadError(f"{job.path}: failed after {self.retries} retries ({detail}); "
                                f"the partial file is kept and the next run resumes it") from None
        wait = min(30.0, 0.25 * 2 ** (attempt - 1)) * (0.5 + random.random())
        if isinstance(exc, _Retry) and exc.retry_after and exc.retry_after.isdigit():
            wait = min(30.0, float(exc.retry_after))
        if self.stop.wait(wait):
            raise Stopped()
        return attempt


def _requests_errors() -> tuple[type[BaseException], ...]:
    """requests' network errors, if requests is in use at all (it is loaded only for what the
    socket client does not read, so without it none can have been raised)."""
    requests = sys.modules.get("requests")
    return (requests.RequestException,) if requests is not None else ()


_CONTENT_RANGE = re.compile(r"\s*bytes\s+(?P<start>\d+)-(?P<end>\d+)/(?P<total>\d+|\*)\s*$", re.IGNORECASE)


class _Retry(Exception):
    def __init__(self, status: int | None, retry_after: str | None):
        super().__init__(status)
        self.status = status
        self.retry_after = retry_after

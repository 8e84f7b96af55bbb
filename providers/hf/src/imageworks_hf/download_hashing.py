"""Hashing a file while it downloads, so that little is left to hash when the bytes stop: the
built-in downloader hashes each block that continues the hashed prefix straight from its
receive buffer and reads back from the page cache only what arrived ahead of it; with aria2c a
thread follows the written prefix. Every reader here shares one loop (``hash_range``); a whole finished file is
hashed by ``imageworks_core.kit.sha256_of``."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from imageworks_core.kit import aligned_buffer

if TYPE_CHECKING:
    from .download_state import Segment

HASH_BLOCK = 4 << 20  # one read back from the page cache (as sha256_of's)


def hash_range(fd: int, digest, position: int, end: int, buffer: memoryview) -> int:
    """Feed bytes ``position``..``end`` of ``fd`` to ``digest`` through ``buffer``; returns
    ``end``. A file shorter than ``end`` raises OSError."""
    size = len(buffer)
    while position < end:
        count = os.preadv(fd, [buffer[: min(size, end - position)]], position)
        if count <= 0:
            raise OSError(f"short read at {position}")
        digest.update(buffer[:count])
        position += count
    return position


def hash_prefix(path: Path, end: int):
    """A sha256 object fed the first ``end`` bytes of ``path`` (a partial resumed in one stream)."""
    digest = hashlib.sha256()
    if end:
        with open(path, "rb", buffering=0) as handle:
            hash_range(handle.fileno(), digest, 0, end, aligned_buffer(HASH_BLOCK))
    return digest


class FileHasher(threading.Thread):
    """Hashes one file of the built-in downloader as its pieces (handed out in file order)
    arrive. A block received right at the hashed prefix's end is fed straight from the receive
    buffer (``feed``) by the thread that wrote it: no read back, no hand-over between threads.
    This thread only reads back what arrived ahead of the prefix (another connection's piece),
    once the prefix reaches it."""

    def __init__(self, path: Path, segments: "list[Segment]", stop: threading.Event):
        super().__init__(daemon=True, name=f"hash {path.name}")
        self.path, self.segments, self.stop = path, segments, stop
        self.cancelled = False
        self.digest = hashlib.sha256()
        self.position = 0  # every byte before it is hashed
        self.lock = threading.Lock()  # held while the digest and position move
        self.front = 0  # index of the first segment not wholly hashed past
        self.wake = threading.Event()
        self.error: OSError | None = None
        self.size = segments[-1].end

    def feed(self, position: int, block) -> bool:
        """Hash ``block`` (bytes ``position``.. of the file, already written) if it continues the
        hashed prefix and nobody else is hashing now; False leaves it to the read back."""
        if position != self.position or not self.lock.acquire(blocking=False):
            return False
        try:
            if position != self.position:
                return False
            self.digest.update(block)
            self.position = position + len(block)
            return True
        finally:
            self.lock.release()

    def prefix_end(self) -> int:
        segments = self.segments
        while self.front < len(segments) and segments[self.front].finished:
            self.front += 1
        if self.front == len(segments):
            return self.size
        current = segments[self.front]
        return current.start + current.done

    def run(self) -> None:
        buffer = aligned_buffer(HASH_BLOCK)
        try:
            with open(self.path, "rb", buffering=0) as handle:
                while self.position < self.size and not self.stop.is_set() and not self.cancelled:
                    end = self.prefix_end()
                    if end <= self.position:
                        self.wake.wait(0.05)
                        self.wake.clear()
                        continue
                    with self.lock:  # a block at a time: a feed waits at most one block's hashing
                        start = self.position
                        if start < end:
                            self.position = hash_range(handle.fileno(), self.digest, start,
                                                       min(end, start + HASH_BLOCK), buffer)
        except OSError as exc:
            self.error = exc

    def cancel(self) -> None:
        self.cancelled = True
        self.wake.set()
        self.join()

    def result(self) -> str | None:
        """The file's sha256 once every byte is hashed; None when following failed (the caller
        then reads the file whole)."""
        self.wake.set()
        self.join()
        if self.error is not None or self.position != self.size:
            return None
        return self.digest.hexdigest()


class PrefixHasher(threading.Thread):
    """Hashes a file while another process (aria2c) downloads it, following the written prefix.

    aria2c fetches pieces in file order (``--stream-piece-selector=inorder``), so the prefix
    before the first hole grows steadily. ``SEEK_HOLE`` finds the prefix; the last 64 KiB before
    the hole are left for later, as a page there may still be being written. A mismatch is
    re-checked with a full read before anyone is told, so a wrong guess about the prefix can
    cost time but never a wrong verdict.
    """

    MARGIN = 64 << 10

    def __init__(self, path: Path, size: int):
        super().__init__(daemon=True)
        self.path = path
        self.size = size
        self.digest = hashlib.sha256()
        self.position = 0
        self.done = threading.Event()
        self.failed = False
        self.buffer = aligned_buffer(HASH_BLOCK)

    def run(self) -> None:
        fd = None
        try:
            while fd is None and not self.done.is_set():
                try:
                    fd = os.open(self.path, os.O_RDONLY)
                except FileNotFoundError:
                    self.done.wait(0.05)
            while not self.done.is_set():
                try:
                    hole = os.lseek(fd, self.position, os.SEEK_HOLE)
                except OSError:  # ENXIO: position at or past the end of the file so far
                    hole = self.position
                safe = min(self.size, max(self.position, hole - self.MARGIN))
                if safe > self.position:
                    self.position = hash_range(fd, self.digest, self.position, safe, self.buffer)
                else:
                    self.done.wait(0.05)
        except OSError:
            self.failed = True
        finally:
            if fd is not None:
                os.close(fd)

    def result(self) -> str | None:
        """After the download: hash the rest and return the digest (None if following failed)."""
        self.done.set()
        self.join()
        if self.failed:
            return None
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except OSError:
            return None
        try:
            self.position = hash_range(fd, self.digest, self.position, os.fstat(fd).st_size, self.buffer)
        except OSError:
            return None
        finally:
            os.close(fd)
        return self.digest.hexdigest()

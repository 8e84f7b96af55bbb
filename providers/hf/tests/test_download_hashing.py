"""The built-in downloader's hashing while pieces arrive: blocks that continue the hashed prefix
are hashed from the receive buffer, the rest read back once the prefix reaches them; whatever
the order, the digest is the file's (and is right on its own, not saved by the re-check)."""

import hashlib
import os
import random
import threading

import pytest

from imageworks_hf import download_hashing
from imageworks_hf.download_hashing import FileHasher
from imageworks_hf.download_state import Segment
from imageworks_testing.fakehub import random_bytes

PIECE = 256 << 10
BLOCK = 64 << 10


def pieces(size):
    return [Segment(start, min(start + PIECE, size)) for start in range(0, size, PIECE)]


def write_block(fd, hasher, segment, data):
    """What a fetch thread does with one received block: write it, offer it, record it."""
    position = segment.start + segment.done
    block = memoryview(data)[position: min(segment.end, position + BLOCK)]
    os.pwrite(fd, block, position)
    fed = hasher.feed(position, block)
    segment.done += len(block)
    if not fed or segment.finished:
        hasher.wake.set()
    return fed


@pytest.fixture
def read_backs(monkeypatch):
    """How many bytes the hasher thread read back from the file."""
    counted = []
    real = download_hashing.hash_range

    def counting(fd, digest, position, end, buffer):
        counted.append(end - position)
        return real(fd, digest, position, end, buffer)

    monkeypatch.setattr(download_hashing, "hash_range", counting)
    return counted


def test_one_stream_in_order_is_hashed_from_the_buffer_alone(tmp_path, read_backs):
    data = random_bytes(3 * PIECE + 1234, seed=1)
    path = tmp_path / "partial"
    fd = os.open(path, os.O_RDWR | os.O_CREAT)
    segments = pieces(len(data))
    hasher = FileHasher(path, segments, threading.Event())
    hasher.start()
    try:
        for segment in segments:
            while not segment.finished:
                assert write_block(fd, hasher, segment, data)  # every block continues the prefix
        assert hasher.result() == hashlib.sha256(data).hexdigest()
    finally:
        os.close(fd)
    assert sum(read_backs) == 0


@pytest.mark.parametrize("seed", range(8))
def test_pieces_from_many_connections_in_any_order_give_the_files_digest(tmp_path, seed, read_backs):
    data = random_bytes(9 * PIECE + 4321, seed=seed)
    path = tmp_path / "partial"
    fd = os.open(path, os.O_RDWR | os.O_CREAT)
    segments = pieces(len(data))
    hasher = FileHasher(path, segments, threading.Event())
    hasher.start()
    rng = random.Random(seed)
    order = list(range(len(segments)))
    rng.shuffle(order)
    queue = list(order)
    lock = threading.Lock()

    def connection():
        while True:
            with lock:
                if not queue:
                    return
                index = queue.pop()
            segment = segments[index]
            while not segment.finished:
                write_block(fd, hasher, segment, data)
                if rng.random() < 0.3:
                    threading.Event().wait(0.001)  # connections go at different speeds

    threads = [threading.Thread(target=connection) for _ in range(4)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert hasher.result() == hashlib.sha256(data).hexdigest()
    finally:
        os.close(fd)
    assert sum(read_backs) < len(data)  # some blocks were hashed from the buffer


def test_a_block_that_does_not_continue_the_prefix_is_refused(tmp_path):
    path = tmp_path / "partial"
    path.write_bytes(b"")
    hasher = FileHasher(path, pieces(2 * PIECE), threading.Event())  # not started: nothing reads back
    assert hasher.feed(PIECE, b"x" * 10) is False  # ahead of the prefix
    assert hasher.feed(0, b"abc") is True
    assert hasher.feed(0, b"abc") is False  # already hashed: never twice
    assert hasher.position == 3 and hasher.digest.hexdigest() == hashlib.sha256(b"abc").hexdigest()

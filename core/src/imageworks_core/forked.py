"""CPU-bound work shared between this process and one forked child.

A first scan is mostly Python reading headers and building variants, which threads cannot run
in parallel. A forked child inherits the loaded providers and the settings for free; it and the
parent take items from one queue, and the child hands back what it computed as one pickle.
"""

from __future__ import annotations

import os
import pickle
import signal
import struct
import sys
import tempfile
import threading
from typing import Any, Callable, Iterator, Sequence, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def usable_cores() -> int:
    """The cores this process may run on (its affinity, as a container or ``taskset`` sets it)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def fork_map(fn: Callable[[T], R], items: Sequence[T], *, at_least: int,
             pack: Callable[[R], Any] | None = None, unpack: Callable[[Any], R] | None = None) -> list[R]:
    """``[fn(item) for item in items]``, shared between this process and a forked child.

    The two take items from a queue the kernel keeps (a pipe holding their indexes), so
    whichever is faster computes more: sub-trees differ in size, and a fixed half would leave one
    process waiting for the other. The results come back in the order of ``items``.

    Everything runs here instead when there are fewer than ``at_least`` items, one usable core,
    a system other than Linux (macOS frameworks are not safe across a fork), or other threads (a child forked from a threaded process, a Streamlit server
    for one, can hang on a lock some other thread held). A child that fails for any reason costs
    only time: what it took is then computed here. ``fn`` must leave no state behind that the
    parent needs, and return something picklable.

    ``pack`` and ``unpack`` (both or neither) change what crosses between the processes: the
    child packs each result before pickling it and the parent unpacks it after (thousands of
    attrs objects pickle several times slower than the plain tuples they can be rebuilt from,
    and the parent waits for the child's pickle).
    """
    items = list(items)
    if (len(items) < max(at_least, 2) or not sys.platform.startswith("linux") or usable_cores() < 2
            or threading.active_count() > 1):
        return [fn(item) for item in items]
    # Items are handed out in runs of ``step`` so the queue stays far below what a pipe holds
    # (a write to a full pipe with no reader yet would block).
    step = -(-len(items) // _MAX_UNITS)
    queue = _index_queue(-(-len(items) // step))
    # The child's answer goes to a file, not a pipe: a full pipe would stop the child until
    # this process, busy with its own share, came to read it.
    with tempfile.TemporaryFile() as out:
        pid = os.fork()
        if pid == 0:  # the child: what it takes into ``out``, then leave without running any cleanup
            code = 1
            try:
                signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C ends it at once
                done = [(index, pack(fn(items[index])) if pack else fn(items[index]))
                        for index in _take(queue, step, len(items))]
                pickle.dump(done, out, protocol=pickle.HIGHEST_PROTOCOL)
                out.flush()
                code = 0
            finally:
                os._exit(code)
        try:
            mine = {index: fn(items[index]) for index in _take(queue, step, len(items))}
        except BaseException:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise
        finally:
            os.close(queue)
        _, status = os.waitpid(pid, 0)
        theirs: dict[int, R] = {}
        if os.waitstatus_to_exitcode(status) == 0:
            out.seek(0)
            try:
                shared = pickle.load(out)
                theirs = {index: unpack(r) for index, r in shared} if unpack else dict(shared)
            except Exception:  # noqa: BLE001 - a torn result: compute that share here instead
                theirs = {}
    # What the child took but did not hand back (it failed) is computed here.
    return [mine[i] if i in mine else theirs[i] if i in theirs else fn(items[i]) for i in range(len(items))]


_INDEX = struct.Struct("<I")
_MAX_UNITS = 1024  # 4 KiB of indexes: every platform's pipe holds that


def _index_queue(count: int) -> int:
    """A pipe holding the indexes 0..count-1, its write end closed: reading it to the end hands
    each index to exactly one reader (a read of 4 bytes from a pipe is atomic)."""
    read_end, write_end = os.pipe()
    try:
        data = b"".join(_INDEX.pack(i) for i in range(count))
        written = 0
        while written < len(data):
            written += os.write(write_end, data[written:])
    except BaseException:
        os.close(read_end)
        raise
    finally:
        os.close(write_end)
    return read_end


def _take(queue: int, step: int, total: int) -> Iterator[int]:
    """The item indexes this process takes: a run of ``step`` per index read from the queue."""
    while chunk := os.read(queue, _INDEX.size):
        start = _INDEX.unpack(chunk)[0] * step
        yield from range(start, min(start + step, total))

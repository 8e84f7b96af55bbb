"""CPU-bound work spread over two cores with one forked child.

A first scan is mostly Python reading headers and building variants, which threads cannot run
in parallel. A forked child inherits the loaded providers and the cache for free, computes its
share and hands back a pickle; the parent computes the rest meanwhile.
"""

from __future__ import annotations

import os
import pickle
import signal
import tempfile
import threading
from typing import Any, Callable, Sequence, TypeVar

T = TypeVar("T")
R = TypeVar("R")

# Below this many items a fork (a few ms) and the pickle cost more than they save.
WORTH_FORKING = 256


def fork_map(fn: Callable[[T], R], items: Sequence[T], *, at_least: int | None = None,
             pack: Callable[[R], Any] | None = None, unpack: Callable[[Any], R] | None = None) -> list[R]:
    """``[fn(item) for item in items]``, the second half computed by a forked child.

    Everything runs here instead when there are fewer than ``at_least`` (``WORTH_FORKING``)
    items, one core, no ``fork``, or other threads (a child forked from a threaded process, a
    Streamlit server for one, can hang on a lock some other thread held). A child that fails
    for any reason costs only time: its share is then computed here. ``fn`` must leave no state
    behind that the parent needs, and return something picklable.

    ``pack`` and ``unpack`` (both or neither) change what crosses between the processes: the
    child packs each result before pickling it and the parent unpacks it after. Pickling
    thousands of objects costs more than plain tuples and rebuilding them (measured on scan
    variants: 150 ms against 60 ms), and the wait for the child is part of the run.
    """
    items = list(items)
    least = WORTH_FORKING if at_least is None else at_least
    if (len(items) < least or not hasattr(os, "fork") or (os.cpu_count() or 1) < 2
            or threading.active_count() > 1):
        return [fn(item) for item in items]
    half = len(items) // 2
    mine, theirs = items[:half], items[half:]
    with tempfile.TemporaryFile() as out:
        pid = os.fork()
        if pid == 0:  # the child: its share into ``out``, then leave without running any cleanup
            code = 1
            try:
                signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C ends it at once
                done = [fn(item) for item in theirs]
                pickle.dump([pack(r) for r in done] if pack else done, out, protocol=pickle.HIGHEST_PROTOCOL)
                out.flush()
                code = 0
            finally:
                os._exit(code)
        try:
            results = [fn(item) for item in mine]
        except BaseException:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise
        _, status = os.waitpid(pid, 0)
        if os.waitstatus_to_exitcode(status) == 0:
            out.seek(0)
            try:
                shared = pickle.load(out)
            except Exception:  # noqa: BLE001 - a torn result: compute that share here instead
                pass
            else:
                return results + ([unpack(r) for r in shared] if unpack else shared)
        return results + [fn(item) for item in theirs]

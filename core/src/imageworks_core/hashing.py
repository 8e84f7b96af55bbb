"""Content hashing for ``verify --hash``: parallel, and remembered across runs by
(size, mtime, inode) so an unchanged file is never hashed twice; a changed one always is."""

from __future__ import annotations

import hashlib
import json
import os
import sys
import threading
from pathlib import Path
from queue import SimpleQueue
from typing import Callable, Iterable

from .buffers import aligned_buffer

CACHE_NAME = "content-hashes.json"


CHUNK = 4 << 20  # measured: 4 MiB reads hash ~8% faster than file_digest's 256 KiB


def sha256_of(path: str | os.PathLike) -> str:
    # One reusable buffer; hashlib releases the GIL on large updates, so several files hash in
    # parallel on several cores.
    digest = hashlib.sha256()
    view = aligned_buffer(CHUNK)
    with open(path, "rb", buffering=0) as handle:
        while True:
            count = handle.readinto(view)
            if not count:
                break
            digest.update(view[:count])
    return digest.hexdigest()


def _stamp(st: os.stat_result) -> list[int]:
    return [st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev]


class HashCache:
    """realpath -> (size, mtime_ns, inode, device, sha256), stored beside the registry."""

    def __init__(self, path: Path | None):
        self.path = path
        self.entries: dict[str, list] = {}
        self.dirty = False
        if path is not None:
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                if isinstance(data, dict):
                    self.entries = data
            except (OSError, ValueError, RecursionError):  # a cache: unreadable means empty
                pass

    def lookup(self, real: str, st: os.stat_result) -> str | None:
        found = self.entries.get(real)
        if isinstance(found, list) and len(found) == 5 and found[:4] == _stamp(st):
            return found[4]
        return None

    def store(self, real: str, st: os.stat_result, digest: str) -> None:
        self.entries[real] = [*_stamp(st), digest]
        self.dirty = True

    def save(self) -> None:
        if self.path is None or not self.dirty:
            return
        from .registry.layers import atomic_write

        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(self.path, json.dumps(self.entries, separators=(",", ":")).encode(), durable=False)
        except OSError:
            pass


def hash_files(
    paths: Iterable[str],
    cache: HashCache,
    *,
    workers: int | None = None,
    on_done: Callable[[str], None] | None = None,
) -> dict[str, str | OSError]:
    """sha256 of each path (or the OSError that stopped it), using and filling the cache."""
    results: dict[str, str | OSError] = {}
    todo: list[tuple[str, str, os.stat_result]] = []
    for path in dict.fromkeys(paths):
        try:
            real = os.path.realpath(path)
            st = os.stat(real)
        except OSError as exc:
            results[path] = exc
            continue
        cached = cache.lookup(real, st)
        if cached:
            results[path] = cached
        else:
            todo.append((path, real, st))
    todo.sort(key=lambda item: -item[2].st_size)  # largest first keeps every core busy

    def work(item: tuple[str, str, os.stat_result]) -> tuple[str, str, os.stat_result, str | OSError]:
        path, real, st = item
        try:
            return path, real, st, sha256_of(real)
        except OSError as exc:
            return path, real, st, exc

    # Plain daemon threads, not a ThreadPoolExecutor: importing concurrent.futures (and the
    # logging it pulls in) delays the first read of `verify --hash` by ~10 ms, and a pool's
    # threads are joined at exit, so Ctrl-C would wait for a 50 GB file to finish hashing.
    count = max(1, min(workers or min(8, os.cpu_count() or 2), len(todo)))
    pending = iter(todo)
    take = threading.Lock()
    finished: SimpleQueue = SimpleQueue()

    def worker() -> None:
        while True:
            with take:
                item = next(pending, None)
            if item is None:
                return
            try:
                finished.put(work(item))
            except BaseException as exc:  # noqa: BLE001 - raised again by the waiting thread
                finished.put(exc)
                return

    # A hashing thread needs the GIL back after every chunk. With the default 5 ms switch
    # interval, a main thread busy meanwhile (verify loads entries and providers while the
    # files hash) keeps it that long each time: measured +0.2 s on a 1 GiB file. 50 us costs
    # the busy thread little and the hashing nothing.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(min(interval, 5e-5))
    try:
        for _ in range(count if todo else 0):
            threading.Thread(target=worker, name="hash", daemon=True).start()
        for _ in todo:
            done = finished.get()
            if isinstance(done, BaseException):
                raise done
            path, real, st, digest = done
            results[path] = digest
            if isinstance(digest, str):
                try:
                    if _stamp(os.stat(real)) == _stamp(st):  # changed while hashing: do not remember
                        cache.store(real, st, digest)
                except OSError:
                    pass
            if on_done:
                on_done(path)
    finally:
        sys.setswitchinterval(interval)
    return results


class Hashing:
    """Hashing running on a thread of its own (from ``start_hashing``)."""

    def __init__(self, run: Callable[[], dict[str, str | OSError]]):
        self._value: dict[str, str | OSError] = {}
        self._error: BaseException | None = None
        # A daemon thread: Ctrl-C ends the command at once, whatever is still hashing.
        self._thread = threading.Thread(target=self._run, args=(run,), name="verify-hash", daemon=True)
        self._thread.start()

    def _run(self, run: Callable[[], dict[str, str | OSError]]) -> None:
        try:
            self._value = run()
        except BaseException as exc:  # noqa: BLE001 - handed to whoever waits in result()
            self._error = exc

    def result(self) -> dict[str, str | OSError]:
        """Wait for the hashing; ``hash_files``'s result, or its exception raised here."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value


def start_hashing(registry_dir: Path, view, names: list[str],
                  on_done: Callable[[str], None] | None = None) -> Hashing:
    """Begin hashing, in the background, the files of the named (or every installed) entry of
    ``view`` (a merged view: plain JSON rows, no entry objects needed), with the cache beside
    the registry. ``verify --hash`` starts this first thing, so that building entries and
    loading the providers run on one core while the files hash on the other. ``result()``
    gives ``hash_files``'s result; the cache is saved when it is done."""
    from .cachedir import cache_path

    if names:
        rows = [view.rows[n] for n in names if n in view.rows]
    else:
        rows = list(view.rows.values())
    paths = [os.path.join(r["download_path"], f) for r in rows if r.get("download_path")
             for f in r.get("download_files") or ()]
    cache = HashCache(cache_path(registry_dir, CACHE_NAME))
    # Shortened before the thread starts: with the default 5 ms, the new thread would wait for
    # the busy main thread's next switch before its first read (see hash_files).
    interval = sys.getswitchinterval()
    sys.setswitchinterval(min(interval, 5e-5))

    def run() -> dict[str, str | OSError]:
        try:
            return hash_files(paths, cache, on_done=on_done)
        finally:
            cache.save()
            sys.setswitchinterval(interval)

    return Hashing(run)

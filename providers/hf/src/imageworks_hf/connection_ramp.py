"""How many connections a download uses: as many as pay, found while it runs.

A server or CDN that throttles each connection needs dozens, while over TLS on a fast link the
bytes cost CPU (decrypting, hashing, writing), and past a few connections more only share the
same cores and add handshakes. So the pool starts with one connection and, after each window of
transfer, judges the level by its bytes per second and by the CPU this process spent in it:

- **network-bound** (under ``BUSY`` of a core used: the connections mostly wait for bytes), the
  next level is ``FACTOR`` times as many connections, judged after ``WINDOW``;
- **CPU-bound**, the next level only doubles, judged after the longer ``BUSY_WINDOW`` (a small
  gain is then worth seeing through the noise), and must bring ``BUSY_GAIN``.

A level that does not bring at least ``GAIN`` (or ``BUSY_GAIN``) times the bytes per second of
the one before is taken back: the pool settles one level down (the extra connections finish
their pieces and then wait). A level's window opens once each of its connections has delivered
a block (their handshakes are not the level's fault), or after ``SETTLE_LIMIT`` at the latest.
"""

from __future__ import annotations

import threading
import time

WINDOW = 0.1  # seconds of transfer measured at a network-bound level
BUSY_WINDOW = 0.25  # ... and at a CPU-bound one
SETTLE_LIMIT = 0.5
GAIN = 1.4
BUSY_GAIN = 1.12
FACTOR = 8
BUSY = 0.9  # cores of CPU per second of the window from which a level is CPU-bound (a thread's worth)


class ConnectionRamp:
    def __init__(self, ceiling: int, *, start: int = 1):
        self.ceiling = max(1, ceiling)
        self.limit = min(start, self.ceiling)
        self.settled = self.limit >= self.ceiling
        self._lock = threading.Lock()
        self._raised = time.monotonic()
        self._delivered: set[int] = set()  # threads that delivered a block at this level
        self._window_start: float | None = None
        self._cpu_start = 0.0
        self._window = WINDOW
        self._bytes = 0
        self._previous: tuple[float, int] | None = None  # (bytes per second, limit) one level down
        self._gain = GAIN  # what this level must bring over the previous one

    def add(self, count: int) -> bool:
        """Count ``count`` bytes this thread received; True when the limit just rose (start or
        wake the workers it allows)."""
        if self.settled:
            return False
        now = time.monotonic()
        with self._lock:
            if self.settled:
                return False
            if self._window_start is None:
                self._delivered.add(threading.get_ident())
                if len(self._delivered) >= self.limit or now - self._raised > SETTLE_LIMIT:
                    self._window_start, self._cpu_start, self._bytes = now, time.process_time(), 0
                return False
            self._bytes += count
            elapsed = now - self._window_start
            if elapsed < self._window:
                return False
            rate = self._bytes / elapsed
            busy = (time.process_time() - self._cpu_start) / elapsed >= BUSY
            if self._previous is not None and rate < self._previous[0] * self._gain:
                self.settled = True
                self.limit = self._previous[1]
                return False
            self._previous = (rate, self.limit)
            if self.limit >= self.ceiling:  # the ceiling, and it paid: stay there
                self.settled = True
                return False
            if busy:  # more connections can only use spare cores: a small step, looked at longer
                self.limit, self._gain, self._window = min(self.ceiling, self.limit * 2), BUSY_GAIN, BUSY_WINDOW
            else:
                self.limit, self._gain, self._window = min(self.ceiling, self.limit * FACTOR), GAIN, WINDOW
            self._raised, self._delivered, self._window_start = now, set(), None
            return True

"""How many connections a download uses: as many as pay, found while it runs.

Over TLS on a fast link one stream can be the fastest (every extra connection shares the same
cores' decryption and adds a handshake), while a server or CDN that throttles each connection
needs dozens. So the pool starts with one connection and multiplies them by ``FACTOR`` after
each ``WINDOW`` of transfer while the new level brings at least ``GAIN`` times the bytes per
second of the one before. The first level that does not is taken back: it settles one level
down (the extra connections finish their pieces and then wait). A level's window opens once
each of its connections has delivered a block (their handshakes are not the level's fault), or
after ``SETTLE_LIMIT`` at the latest.
"""

from __future__ import annotations

import threading
import time

WINDOW = 0.1  # seconds of transfer measured at each level
SETTLE_LIMIT = 0.5
GAIN = 1.4
FACTOR = 8


class ConnectionRamp:
    def __init__(self, ceiling: int, *, start: int = 1):
        self.ceiling = max(1, ceiling)
        self.limit = min(start, self.ceiling)
        self.settled = self.limit >= self.ceiling
        self._lock = threading.Lock()
        self._raised = time.monotonic()
        self._delivered: set[int] = set()  # threads that delivered a block at this level
        self._window_start: float | None = None
        self._bytes = 0
        self._previous: tuple[float, int] | None = None  # (bytes per second, limit) one level down

    def add(self, count: int) -> bool:
        """Count ``count`` bytes this thread received; True when the limit just rose (wake the
        waiting workers)."""
        if self.settled:
            return False
        now = time.monotonic()
        with self._lock:
            if self.settled:
                return False
            if self._window_start is None:
                self._delivered.add(threading.get_ident())
                if len(self._delivered) >= self.limit or now - self._raised > SETTLE_LIMIT:
                    self._window_start, self._bytes = now, 0
                return False
            self._bytes += count
            elapsed = now - self._window_start
            if elapsed < WINDOW:
                return False
            rate = self._bytes / elapsed
            if self._previous is not None and rate < self._previous[0] * GAIN:
                self.settled = True
                self.limit = self._previous[1]
                return False
            self._previous = (rate, self.limit)
            if self.limit >= self.ceiling:  # the ceiling, and it paid: stay there
                self.settled = True
                return False
            self.limit = min(self.ceiling, self.limit * FACTOR)
            self._raised, self._delivered, self._window_start = now, set(), None
            return True

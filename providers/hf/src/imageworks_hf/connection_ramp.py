"""How many connections a download uses: as many as pay, found while it runs.

A server or CDN that throttles each connection needs dozens, while over TLS on a fast link the
bytes cost CPU (decrypting, hashing, writing), and past a few connections more only share the
same cores, add handshakes and fill socket buffers (what a SIGKILL loses). So the pool starts
with one connection and, after each window of transfer, judges the level by its bytes per
second, the CPU this process spent in it and the share of the machine's cores in use (a server
on the same machine, or any other work, takes cores too):

- **network-bound** (this process under ``BUSY`` of a core: the connections mostly wait for
  bytes), the next level is ``FACTOR`` times as many connections, judged after ``WINDOW``; but
  no more than the cores carry at ``MACHINE_TARGET`` of what other work leaves, counting what each
  connection added to the load since the level before (a server on the same machine counts
  too). A level past which they carry less than half as many again is kept. When other
  programs already keep the cores that busy, there is no telling: the next level doubles.
- **CPU-bound** (this process at ``BUSY`` of a core or more) the next level only doubles, and,
  once a level before it tells what each connection adds to the load, no further than the cores
  carry; once the machine's cores are all in use (``MACHINE_BUSY``), a good part of it by this
  process (``OWN_SHARE``), the level is kept: more connections could only share the same cores.

A step that doubles, or that the idle cores cut short, is judged after the longer
``BUSY_WINDOW`` (a small gain is then worth seeing through the noise) and must bring
``BUSY_GAIN``.

A level that does not bring at least ``GAIN`` (or ``BUSY_GAIN``) times the bytes per second of
the one before is taken back: the pool settles one level down (the extra connections finish
their pieces and then wait). A level's window opens ``WARM_UP`` after each of its connections has
delivered a block (their handshakes and first bursts are not the level's), or after
``SETTLE_LIMIT`` at the latest. Once settled, the level is looked at once more over a longer
window, and given back if it is CPU-bound and brings no more than the level below.
"""

from __future__ import annotations

import os
import threading
import time

WINDOW = 0.1  # seconds of transfer measured at a network-bound level
BUSY_WINDOW = 0.25  # ... and at a CPU-bound one
SETTLE_LIMIT = 0.5
# A new connection's first bytes come in a burst (what piled up in its socket buffers while the
# others were measured): the level's window opens this long after each has delivered a block.
WARM_UP = 0.1
REVIEW_AFTER = 0.25  # after settling, a level is looked at again this long after ...
REVIEW_WINDOW = 0.5  # ... over this long
GAIN = 1.4
BUSY_GAIN = 1.12
FACTOR = 8
BUSY = 0.9  # cores of CPU per second of the window from which a level is CPU-bound (a thread's worth)
MACHINE_BUSY = 0.9  # share of all the machine's cores in use from which a level is CPU-bound
MACHINE_TARGET = 0.7  # a step adds connections until they would use this share of the cores left to them
OWN_SHARE = 0.25  # ... and it is this process's doing when this share of that use is ours


def machine_cpu() -> tuple[int, int] | None:
    """The machine's (busy, total) CPU time so far, in clock ticks of all its cores, from
    ``/proc/stat``; None where there is none (not Linux) or it cannot be read."""
    try:
        with open("/proc/stat", "rb") as handle:
            fields = handle.readline().split()
    except OSError:
        return None
    if len(fields) < 6 or fields[0] != b"cpu":
        return None
    try:
        ticks = [int(value) for value in fields[1:9]]
    except ValueError:
        return None
    total = sum(ticks)  # user nice system idle iowait irq softirq steal (guest time is in user)
    return total - ticks[3] - ticks[4], total


class ConnectionRamp:
    def __init__(self, ceiling: int, *, start: int = 1):
        self.ceiling = max(1, ceiling)
        self.limit = min(start, self.ceiling)
        self.settled = self.limit >= self.ceiling
        self._lock = threading.Lock()
        self._raised = time.monotonic()
        self._delivered: set[int] = set()  # threads that delivered a block at this level
        self._window_start: float | None = None
        self._warm_until: float | None = None  # once every connection of the level delivered
        self._cpu_start = 0.0
        self._machine_start: tuple[int, int] | None = None
        self._window = WINDOW
        self._bytes = 0
        # (bytes per second, limit, machine load) of each level that paid
        self._levels: list[tuple[float, int, float | None]] = []
        self._gain = GAIN  # what this level must bring over the previous one
        self._review: tuple[float, int, float | None] | None = None  # the level below the one settled at

    def add(self, count: int) -> bool:
        """Count ``count`` bytes this thread received; True when the limit just rose (start or
        wake the workers it allows)."""
        if self.settled and self._review is None:
            return False
        now = time.monotonic()
        with self._lock:
            if self.settled:
                if self._review is not None:
                    self._reviewing(now, count)
                return False
            if self._window_start is None:
                if self._warm_until is None:
                    self._delivered.add(threading.get_ident())
                    if len(self._delivered) >= self.limit or now - self._raised > SETTLE_LIMIT:
                        self._warm_until = now + WARM_UP
                elif now >= self._warm_until:
                    self._open_window(now)
                return False
            self._bytes += count
            elapsed = now - self._window_start
            if elapsed < self._window:
                return False
            rate = self._bytes / elapsed
            load, ours, busy, full = self._judge(elapsed)
            if self._levels and rate < self._levels[-1][0] * self._gain:
                self._settle(self._levels[-1][1], now)  # this level did not pay: one level down
                return False
            self._levels.append((rate, self.limit, load))
            if self.limit >= self.ceiling:  # the ceiling, and it paid: stay there
                self._settle(self.limit, now)
                return False
            if busy:  # this process uses a core: more connections can only use the idle ones
                if full:  # there are none, and we keep them busy: more could only share them
                    self._settle(self.limit, now)
                    return False
                next_limit, careful = self.limit * 2, True
                # Once a level before this one tells what each connection adds to the load, a
                # doubling goes no further than the cores carry either (a throttled hub at 17-21
                # connections and 80-89% load was doubled to 32, and a kill then lost 50-90 MiB
                # in full socket buffers). From one connection there is no telling: it doubles.
                capped = len(self._levels) >= 2
            else:
                next_limit, careful, capped = self.limit * FACTOR, False, True
            if capped and load is not None:  # no more connections than the idle cores can carry
                carried, rest = self._carried(load, ours)
                if rest >= MACHINE_TARGET:  # other programs keep the cores busy: no telling, so double
                    next_limit, careful = self.limit * 2, True
                elif carried < self.limit * 1.5:
                    self._settle(self.limit, now)
                    return False
                elif carried < next_limit:
                    next_limit, careful = max(self.limit + 1, int(carried)), True
            self.limit = min(self.ceiling, next_limit)
            # A careful step (a few more connections, the cores filling up) must bring less and
            # is looked at longer: a small gain is then worth seeing through the noise.
            self._gain, self._window = (BUSY_GAIN, BUSY_WINDOW) if careful else (GAIN, WINDOW)
            self._raised, self._delivered, self._window_start, self._warm_until = now, set(), None, None
            return True

    def _carried(self, load: float, ours: float) -> tuple[float, float]:
        """How many connections the machine carries at ``MACHINE_TARGET`` of the cores that the
        rest of its work leaves, and that rest (the load that is not the connections' doing).
        What one connection adds to the load comes from the level before this one (which also
        catches a server on the same machine), and is at least this process's share per
        connection."""
        each = ours / self.limit
        if len(self._levels) >= 2 and self._levels[-2][2] is not None:
            _, before, before_load = self._levels[-2]
            each = max(each, (load - before_load) / (self.limit - before))
        each = max(each, 1e-4)
        rest = max(0.0, load - each * self.limit)
        return MACHINE_TARGET * (1.0 - rest) / each, rest

    def _open_window(self, now: float) -> None:
        self._window_start, self._cpu_start, self._bytes = now, time.process_time(), 0
        self._machine_start = machine_cpu()

    def _judge(self, elapsed: float) -> tuple[float | None, float, bool, bool]:
        """This window's machine load and this process's share of the machine's cores; whether
        this process used a core (``BUSY``); whether the machine's cores were all in use and a
        good part of that was ours (``OWN_SHARE``: other programs' work alone does not stop
        more connections from paying)."""
        load = self._machine_load()
        cores = (time.process_time() - self._cpu_start) / elapsed
        ours = cores / (os.cpu_count() or 1)
        full = load is not None and load >= MACHINE_BUSY and ours >= OWN_SHARE * load
        return load, ours, cores >= BUSY, full

    def _settle(self, limit: int, now: float) -> None:
        """Stay at ``limit``; if a level below it paid less, look again at this one once it has
        run a while (REVIEW_AFTER, then REVIEW_WINDOW): a short window right after a raise can
        flatter a level that the machine cannot keep up (its cores taken, the page cache's
        writeback catching up), and such a level only fills socket buffers."""
        self.settled, self.limit = True, limit
        below = [level for level in self._levels if level[1] < limit]
        self._review = below[-1] if below else None
        self._window_start, self._raised = None, now

    def _reviewing(self, now: float, count: int) -> None:
        if self._window_start is None:
            if now - self._raised >= REVIEW_AFTER:
                self._open_window(now)
            return
        self._bytes += count
        elapsed = now - self._window_start
        if elapsed < REVIEW_WINDOW:
            return
        rate = self._bytes / elapsed
        _, _, busy, full = self._judge(elapsed)
        below_rate, below_limit, _ = self._review
        self._review = None  # one look
        if (busy or full) and rate < below_rate * BUSY_GAIN:
            self.limit = below_limit  # the extra connections finish their pieces, then wait

    def _machine_load(self) -> float | None:
        """The share of the machine's cores in use during this window, if it can be read."""
        end = machine_cpu()
        if self._machine_start is None or end is None or end[1] <= self._machine_start[1]:
            return None
        return (end[0] - self._machine_start[0]) / (end[1] - self._machine_start[1])

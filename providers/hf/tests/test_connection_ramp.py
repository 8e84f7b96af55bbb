"""The pool's number of connections follows what each brings: more while more pay, then it
settles one step back from the first step that did not pay."""

import pytest

from imageworks_hf import connection_ramp
from imageworks_hf.connection_ramp import ConnectionRamp


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(connection_ramp.time, "monotonic", clock)
    monkeypatch.setattr(connection_ramp.time, "process_time", lambda: 0.0)  # idle, unless a test says
    return clock


def feed(ramp, clock, bytes_per_second_per_connection, per_connection_cap=None, link=None, seconds=3.0):
    """Blocks of 64 KiB arriving at the rate ``limit`` connections get, for ``seconds``."""
    steps = []
    end = clock.now + seconds
    while clock.now < end:
        rate = bytes_per_second_per_connection * ramp.limit
        if link is not None:
            rate = min(rate, link * (0.8 if ramp.limit > 1 else 1.0))  # streams that share a link lose a little
        clock.now += 65536 / rate
        if ramp.add(65536):
            steps.append(ramp.limit)
    return steps


def test_throttled_connections_multiply_up_to_the_ceiling(clock):
    ramp = ConnectionRamp(32)
    assert ramp.limit == 1
    assert feed(ramp, clock, 25e6) == [8, 32]
    assert ramp.limit == 32 and ramp.settled


def test_a_link_one_stream_fills_keeps_one_connection(clock):
    ramp = ConnectionRamp(32)
    feed(ramp, clock, 500e6, link=520e6)
    assert ramp.limit == 1 and ramp.settled  # 8 brought no gain worth having


def test_it_settles_at_the_last_level_that_paid(clock):
    ramp = ConnectionRamp(32)
    feed(ramp, clock, 100e6, link=420e6)  # 1 -> 8 pays (3.4x), 8 -> 32 brings nothing
    assert ramp.limit == 8 and ramp.settled


def test_the_ceiling_bounds_it_from_the_start(clock):
    ramp = ConnectionRamp(1)
    assert ramp.limit == 1 and ramp.settled and ramp.add(1 << 20) is False


class CpuClock:
    """The process's CPU seconds: ``cores`` of CPU for every second of the fake wall clock."""

    def __init__(self, clock, cores):
        self.clock, self.cores = clock, cores
        self.seen, self.spent = clock.now, 0.0

    def __call__(self):
        self.spent += (self.clock.now - self.seen) * self.cores
        self.seen = self.clock.now
        return self.spent


def test_a_cpu_bound_level_doubles_and_settles_where_the_cores_run_out(clock, monkeypatch):
    # Each connection keeps a core busy, and two cores are all there is: 1 -> 2 pays, 2 -> 4
    # brings nothing (a little less: more connections share the same cores).
    cpu = CpuClock(clock, 1.0)
    monkeypatch.setattr(connection_ramp.time, "process_time", cpu)
    ramp = ConnectionRamp(32)
    steps = []
    end = clock.now + 3.0
    while clock.now < end:
        cpu()  # the CPU spent so far was at the old level's rate
        cpu.cores = min(ramp.limit, 2)
        clock.now += 65536 / (400e6 * min(ramp.limit, 2) * (0.95 if ramp.limit > 2 else 1.0))
        if ramp.add(65536):
            steps.append(ramp.limit)
    assert steps == [2, 4]
    assert ramp.limit == 2 and ramp.settled


def test_throttled_connections_still_multiply_by_eight_while_the_cpu_idles(clock, monkeypatch):
    monkeypatch.setattr(connection_ramp.time, "process_time", CpuClock(clock, 0.1))
    ramp = ConnectionRamp(32)
    assert feed(ramp, clock, 25e6) == [8, 32]
    assert ramp.limit == 32 and ramp.settled

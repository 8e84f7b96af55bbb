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
    monkeypatch.setattr(connection_ramp, "machine_cpu", lambda: None)  # unknown, unless a test says
    monkeypatch.setattr(connection_ramp.os, "cpu_count", lambda: 2)
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


class MachineClock:
    """``/proc/stat``'s (busy, total) ticks for a 2-core machine whose load (a share of both
    cores) is ``load(limit)`` while the ramp is at ``limit`` connections."""

    def __init__(self, clock, ramp_limit, load):
        self.clock, self.ramp_limit, self.load = clock, ramp_limit, load
        self.seen, self.busy, self.total = clock.now, 0.0, 0.0

    def __call__(self):
        ticks = (self.clock.now - self.seen) * 100 * 2
        self.busy += ticks * self.load(self.ramp_limit())
        self.total += ticks
        self.seen = self.clock.now
        return self.busy, self.total


def machine(monkeypatch, clock, ramp, load, own_cores):
    """The machine's load and this process's CPU, both following the ramp's level."""
    monkeypatch.setattr(connection_ramp, "machine_cpu", MachineClock(clock, lambda: ramp.limit, load))
    cpu = CpuClock(clock, 0.0)

    def process_time():
        spent = cpu()
        cpu.cores = own_cores(ramp.limit)
        return spent

    monkeypatch.setattr(connection_ramp.time, "process_time", process_time)


def test_connections_grow_only_as_far_as_the_idle_cores_carry(clock, monkeypatch):
    # A server on the same two cores: each throttled connection adds 4% to the machine's load,
    # half of it ours. From 1 a step of 8 fits; at 8 (32%) the cores carry 17 at 70%; at 17
    # they carry no more than half as many again, so it stays.
    ramp = ConnectionRamp(32)
    machine(monkeypatch, clock, ramp, lambda n: min(1.0, 0.04 * n), lambda n: 0.04 * n)
    assert feed(ramp, clock, 25e6) == [8, 17]
    assert ramp.limit == 17 and ramp.settled


def test_a_level_that_keeps_a_core_busy_still_grows_only_as_far_as_the_cores_carry(clock, monkeypatch):
    # A throttled hub on the same two cores, each connection adding 4.5% to the load (a third of
    # it ours): at 15 this process keeps a core busy, but the cores carry no more than 15, so it
    # stays there instead of doubling to 30 (whose full socket buffers a kill would lose).
    ramp = ConnectionRamp(32)
    machine(monkeypatch, clock, ramp, lambda n: min(1.0, 0.045 * n), lambda n: 0.06 * n)
    assert feed(ramp, clock, 25e6) == [8, 15]
    assert ramp.limit == 15 and ramp.settled


def test_a_cpu_bound_download_doubles_until_the_cores_it_keeps_busy_are_full(clock, monkeypatch):
    # Each connection keeps a core busy (TLS, hashing, writing) and a server on the machine takes
    # a tenth of it: 1 -> 2 pays; at 2 the cores are full, half of it ours, so 4 is not tried.
    ramp = ConnectionRamp(32)
    machine(monkeypatch, clock, ramp, lambda n: min(1.0, 0.5 * n + 0.1), lambda n: min(2.0, 1.0 * n))
    assert feed(ramp, clock, 400e6) == [2]
    assert ramp.limit == 2 and ramp.settled


def test_a_build_on_one_core_leaves_the_other_to_the_connections(clock, monkeypatch):
    # Half the machine is taken by other work; each connection adds 2% (half of it ours): the
    # connections grow until they would use 70% of the other core (17 of them).
    ramp = ConnectionRamp(32)
    machine(monkeypatch, clock, ramp, lambda n: 0.5 + 0.02 * n, lambda n: 0.02 * n)
    assert feed(ramp, clock, 25e6) == [8, 17]
    assert ramp.limit == 17 and ramp.settled


def test_other_programs_keeping_the_cores_busy_do_not_stop_more_connections(clock, monkeypatch):
    # A build keeps both cores busy; our few connections use little of them: the count still
    # grows while it pays (by doubling: the idle cores cannot be counted on).
    ramp = ConnectionRamp(32)
    machine(monkeypatch, clock, ramp, lambda n: 1.0, lambda n: 0.005 * n)
    assert feed(ramp, clock, 25e6, seconds=5.0) == [2, 4, 8, 16, 32]
    assert ramp.limit == 32


def test_a_new_levels_first_burst_is_not_counted(clock):
    # The link gives 8 connections no more than 1 (100 MB/s), but as the level's window would
    # open, each of its connections hands over 4 MiB at once (what piled up in its socket buffer
    # while the level waited for its last handshake): that must not make 8 look like it paid.
    ramp = ConnectionRamp(32)
    raised_at, burst_done = {}, set()
    steps = []
    end = clock.now + 3.0
    while clock.now < end:
        raised_at.setdefault(ramp.limit, clock.now)
        if ramp.limit > 1 and ramp.limit not in burst_done and clock.now - raised_at[ramp.limit] > 0.5:
            burst_done.add(ramp.limit)
            for _ in range(ramp.limit * 64):
                ramp.add(65536)
        clock.now += 65536 / 100e6
        if ramp.add(65536):
            steps.append(ramp.limit)
    assert steps == [8]
    assert ramp.settled and ramp.limit == 1


def test_a_level_the_machine_cannot_keep_up_is_given_back(clock, monkeypatch):
    # 16 connections look good in their first window (420 MB/s against 8's 200), then the
    # machine falls behind (this process uses a core) and they bring 210 MB/s: the look once
    # settled gives the level back.
    ramp = ConnectionRamp(16)
    machine(monkeypatch, clock, ramp, lambda n: min(1.0, 0.04 * n), lambda n: 0.06 * n)
    raised_at = {}
    steps = []
    end = clock.now + 4.0
    while clock.now < end:
        raised_at.setdefault(ramp.limit, clock.now)
        rate = 25e6 * min(ramp.limit, 8)
        if ramp.limit == 16:
            rate = 420e6 if clock.now - raised_at[16] < 1.0 else 210e6
        clock.now += 65536 / rate
        if ramp.add(65536):
            steps.append(ramp.limit)
    assert steps == [8, 16]
    assert ramp.settled and ramp.limit == 8


def test_a_step_the_cores_cut_short_still_adds_a_connection(clock, monkeypatch):
    # One connection keeps 0.8 of a core busy (40% of the machine): the cores carry 1.75 at 70%,
    # so the next level is two connections, not one again.
    ramp = ConnectionRamp(32)
    machine(monkeypatch, clock, ramp, lambda n: min(1.0, 0.4 * n), lambda n: min(2.0, 0.8 * n))
    steps = feed(ramp, clock, 300e6)
    assert steps[:1] == [2]

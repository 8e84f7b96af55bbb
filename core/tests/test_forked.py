"""fork_map: the same answer as a plain loop, whichever process computed each part."""

import os
import sys
import threading
import time

import pytest

from imageworks_core.kit import fork_map

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux") or (os.cpu_count() or 1) < 2,
                                reason="fork_map forks on Linux with two cores")


def where(item: int) -> tuple[int, int]:
    return item * item, os.getpid()


def test_both_processes_take_items_each_once_and_the_order_is_kept(tmp_path):
    # fork_map forks only in a process with no other thread: a test before this one that left
    # a thread running (a server, a pool) shows here.
    assert threading.active_count() == 1, [t.name for t in threading.enumerate()]
    log = tmp_path / "computed"

    def slow(item: int) -> tuple[int, int]:
        time.sleep(0.002)  # long enough that the child, once forked, takes its share
        with open(log, "a") as handle:  # O_APPEND: both processes' lines land whole
            handle.write(f"{item}\n")
        return where(item)

    results = fork_map(slow, range(200), at_least=10)
    assert [value for value, _ in results] == [i * i for i in range(200)]
    assert sorted(int(line) for line in log.read_text().split()) == list(range(200))  # each once
    here = os.getpid()
    children = {pid for _, pid in results} - {here}
    assert len(children) == 1
    shares = [sum(1 for _, pid in results if pid == who) for who in (here, *children)]
    assert min(shares) >= 20, shares  # taken from one queue: neither process idles


def test_many_items_go_out_in_runs():
    # More indexes than a pipe holds are handed out in runs, not written ahead and blocked on.
    results = fork_map(where, range(100_000), at_least=10)
    assert [value for value, _ in results] == [i * i for i in range(100_000)]


def test_small_inputs_and_threaded_processes_stay_in_this_process():
    assert {pid for _, pid in fork_map(where, range(100), at_least=256)} == {os.getpid()}  # below at_least
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert {pid for _, pid in fork_map(where, range(1000), at_least=10)} == {os.getpid()}
    finally:
        stop.set()
        other.join()


def test_a_child_that_fails_costs_only_time():
    parent = os.getpid()

    def fails_in_child(item: int) -> int:
        if os.getpid() != parent:
            raise RuntimeError("child trouble")
        return item + 1

    assert fork_map(fails_in_child, range(600), at_least=10) == list(range(1, 601))


def test_an_error_here_stops_the_child_and_is_raised():
    def bad(item: int) -> int:
        if item == 3:
            raise ValueError("bad item")
        return item

    with pytest.raises(ValueError, match="bad item"):
        fork_map(bad, range(600), at_least=10)
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)  # no child left behind


def test_pack_and_unpack_carry_the_childs_share():
    parent = os.getpid()
    packed_in: set[int] = set()

    def pack(result: tuple[int, int]) -> str:
        packed_in.add(os.getpid())  # seen in the child's copy only
        return f"{result[0]}:{result[1]}"

    def unpack(text: str) -> tuple[int, int]:
        assert os.getpid() == parent
        value, pid = text.split(":")
        return int(value), -int(pid)

    def slow_where(item: int) -> tuple[int, int]:
        time.sleep(0.001)  # the child, once forked, takes some
        return where(item)

    results = fork_map(slow_where, range(600), at_least=10, pack=pack, unpack=unpack)
    assert [value for value, _ in results] == [i * i for i in range(600)]
    # Computed here: as it was. In the child: through pack and unpack.
    assert all(pid == parent or (pid < 0 and -pid != parent) for _, pid in results)
    assert any(pid < 0 for _, pid in results)
    assert not packed_in


def test_what_a_dying_child_took_is_computed_here(tmp_path):
    parent = os.getpid()
    log = tmp_path / "child"
    taken: list[int] = []

    def dies_after_five(item: int) -> int:
        time.sleep(0.001)
        if os.getpid() != parent:
            taken.append(item)
            with open(log, "a") as handle:
                handle.write(f"{item}\n")
            if len(taken) == 5:
                os._exit(3)  # killed mid-share: nothing handed back
        return item * 2

    assert fork_map(dies_after_five, range(400), at_least=10) == [i * 2 for i in range(400)]
    assert len(log.read_text().split()) == 5  # the child did take items, and they were redone here

"""fork_map: the same answer as a plain loop, whichever process computed each part."""

import os
import threading

import pytest

from imageworks_core import fork_map

pytestmark = pytest.mark.skipif(not hasattr(os, "fork") or (os.cpu_count() or 1) < 2, reason="needs fork and two cores")


def where(item: int) -> tuple[int, int]:
    return item * item, os.getpid()


def test_the_second_half_is_computed_by_a_child_and_the_order_kept():
    # fork_map forks only in a process with no other thread: a test before this one that left
    # a thread running (a server, a pool) shows here.
    assert threading.active_count() == 1, [t.name for t in threading.enumerate()]
    results = fork_map(where, range(1000), at_least=10)
    assert [value for value, _ in results] == [i * i for i in range(1000)]
    here = os.getpid()
    assert {pid for _, pid in results[:500]} == {here}
    children = {pid for _, pid in results[500:]}
    assert len(children) == 1 and here not in children


def test_small_inputs_and_threaded_processes_stay_in_this_process():
    assert {pid for _, pid in fork_map(where, range(100))} == {os.getpid()}  # below WORTH_FORKING
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

    results = fork_map(where, range(600), at_least=10, pack=pack, unpack=unpack)
    assert [value for value, _ in results] == [i * i for i in range(600)]
    assert all(pid == parent for _, pid in results[:300])  # computed here: never packed
    assert all(pid < 0 and -pid != parent for _, pid in results[300:])  # went through pack and unpack
    assert not packed_in

"""The download pool fits the open-file limit: raised toward the hard limit first, then capped."""

import subprocess
import sys

import pytest

resource = pytest.importorskip("resource")

PROBE = """
import resource, sys
soft, hard = int(sys.argv[1]), int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
from imageworks_hf.descriptors import PER_WORKER, open_descriptors, workers_within_limit
workers = workers_within_limit(128)
soft_after = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
print(workers, soft_after, open_descriptors() + workers * PER_WORKER <= soft_after)
"""


def probe(soft: int, hard: int) -> tuple[int, int, bool]:
    done = subprocess.run([sys.executable, "-c", PROBE, str(soft), str(hard)],
                          capture_output=True, text=True, timeout=60, check=True)
    workers, soft_after, fits = done.stdout.split()
    return int(workers), int(soft_after), fits == "True"


def _hard_limit() -> int:
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    return 1 << 20 if hard == resource.RLIM_INFINITY else hard


@pytest.mark.skipif(_hard_limit() < 2048, reason="needs a hard limit of at least 2,048 to raise to")
def test_a_low_soft_limit_is_raised_and_the_whole_pool_kept():
    workers, soft_after, fits = probe(256, 2048)
    assert workers == 128 and 256 < soft_after <= 2048 and fits


def test_a_low_hard_limit_shrinks_the_pool_to_what_fits():
    workers, soft_after, fits = probe(256, 256)
    assert soft_after == 256 and 1 <= workers < 128 and fits


def test_a_tiny_limit_still_leaves_one_worker():
    workers, _, _ = probe(40, 40)
    assert workers == 1

"""What every bench script shares: timing a whole command, printing a series of runs as its
median with the range (the machine is noisy: a median alone hides how much), and a loopback fake
hub with a scratch folder that both go away after the run."""

from __future__ import annotations

import contextlib
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

if TYPE_CHECKING:
    from imageworks_testing.fakehub import FakeHub


def timed(cmd: list[str], env: dict[str, str] | None = None) -> float:
    """Wall time of one whole process; its output is discarded, a failure raises."""
    started = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def spread(values: list[float], *, unit: str = "s", digits: int = 2, scale: float = 1.0) -> str:
    """``0.87s (min 0.81, max 0.95)``; ``scale=1000, unit=" ms"`` for milliseconds."""
    mid, low, high = (v * scale for v in (statistics.median(values), min(values), max(values)))
    return f"{mid:.{digits}f}{unit} (min {low:.{digits}f}, max {high:.{digits}f})"


@contextlib.contextmanager
def scratch_hub(prefix: str) -> Iterator[tuple[Path, FakeHub]]:
    """A scratch folder (under BENCH_DIR when set) and a started fake hub; both stopped and
    removed afterwards, whatever happened."""
    from imageworks_testing.fakehub import FakeHub

    root = Path(tempfile.mkdtemp(prefix=prefix, dir=os.environ.get("BENCH_DIR")))
    hub = FakeHub().start()
    try:
        yield root, hub
    finally:
        hub.stop()
        shutil.rmtree(root, ignore_errors=True)

"""What every bench script shares: timing a whole command, and printing a series of runs as its
median with the range (the machine is noisy: a median alone hides how much)."""

from __future__ import annotations

import statistics
import subprocess
import time


def timed(cmd: list[str], env: dict[str, str] | None = None) -> float:
    """Wall time of one whole process; its output is discarded, a failure raises."""
    started = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def spread(values: list[float], *, unit: str = "s", digits: int = 2, scale: float = 1.0) -> str:
    """``0.87s (min 0.81, max 0.95)``; ``scale=1000, unit=" ms"`` for milliseconds."""
    mid, low, high = (v * scale for v in (statistics.median(values), min(values), max(values)))
    return f"{mid:.{digits}f}{unit} (min {low:.{digits}f}, max {high:.{digits}f})"

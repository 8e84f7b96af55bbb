"""Garbage collection for work that builds many long-lived objects at once: the one place the
core changes how the cyclic collector runs (docs/architecture.md, "Performance notes").

A scan or a registry commit makes thousands of variants, entries and rows that live to the end
of the run, and hardly any reference cycles. With the default thresholds the collector walks all
of them again and again in full collections: a quarter of a 10,000-folder ``scan`` (0.5 of
2.1 s). Inside ``few_full_collections`` young collections still run; the old generation is
left alone until the block ends. It is scoped to such work (discovery and its commit), not to
whole commands: a download can run for hours.
"""

from __future__ import annotations

import contextlib
import gc
from typing import Iterator

THRESHOLDS = (50_000, 1000, 1000)


@contextlib.contextmanager
def few_full_collections() -> Iterator[None]:
    before = gc.get_threshold()
    gc.set_threshold(*(max(a, b) for a, b in zip(THRESHOLDS, before)))
    try:
        yield
    finally:
        gc.set_threshold(*before)


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """No cyclic collection at all inside the block (restored after, as it was): for a burst
    that builds containers none of which can form a cycle (parsing a registry layer, building
    ``list`` rows), where the collector would only walk them again and again."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()

"""Garbage collection for work that builds many long-lived objects at once: the one place the
core changes how the cyclic collector runs (docs/architecture.md, "Performance notes").

A scan or a registry commit makes thousands of variants, entries and rows that live to the end
of the run, and hardly any reference cycles. With the default thresholds the collector walks all
of them again and again in full collections: a quarter of a 10,000-folder ``scan`` (0.5 of
2.1 s). Inside ``few_full_collections`` young collections still run; the old generation is
left alone until the block ends. It is scoped to such work (discovery and its commit), not to
whole commands: a download can run for hours. In a CLI process, which ends with its command
(``process_ends_with_command``), the blocks go further: no collection inside, and what they
leave alive is frozen as they end.
"""

from __future__ import annotations

import contextlib
import gc
from typing import Iterator

THRESHOLDS = (50_000, 1000, 1000)
_ENDS_WITH_COMMAND = False


def process_ends_with_command() -> None:
    """Said by the CLI (``run_program``): this process ends, without teardown, when its command
    does. ``few_full_collections`` blocks then run with the collector off and freeze
    (``gc.freeze``) what they leave alive as they end: young collections there walk every one of
    a scan's variants, entries and rows once (6 collections, ~35 ms of a 10,000-folder scan)
    to find almost nothing, and those objects live to the exit anyway. The cost: a cycle made
    inside such a block, or among the objects alive at its end that later dies, is not freed
    before the process ends; memory never grows past what was alive at the freeze."""
    global _ENDS_WITH_COMMAND
    _ENDS_WITH_COMMAND = True
    # What start-up made (modules, classes, functions) lives to the exit: the collections of
    # the provider loading that follows need not walk it again (gc.freeze's documented use).
    gc.freeze()


@contextlib.contextmanager
def few_full_collections() -> Iterator[None]:
    if _ENDS_WITH_COMMAND:
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            yield
        finally:
            gc.freeze()  # nothing left for the restored collector to walk
            if was_enabled:
                gc.enable()
        return
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

"""Hostile-input tests: a fixed, derandomized hypothesis budget for CI, a long one on request.

``IMAGEWORKS_HOSTILE_EXAMPLES=5000 uv run pytest tests/hostile`` runs thousands of generated
cases per property, with fresh randomness each run (the budget is in ``strategies.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .strategies import LONG_RUN


def pytest_collection_modifyitems(items):
    """A long run takes as long as it takes: no per-test timeout for this folder then."""
    if LONG_RUN:
        for item in items:
            if item.path.is_relative_to(Path(__file__).parent):
                item.add_marker(pytest.mark.timeout(0))


@pytest.fixture
def hub(hub, monkeypatch):
    """The testing plugin's fake hub, with one retry: a hostile answer fails fast."""
    monkeypatch.setenv("IMAGEWORKS_RETRIES", "1")
    return hub

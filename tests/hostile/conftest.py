"""Hostile-input tests: a fixed, derandomized hypothesis budget for CI, a long one on request.

``IMAGEWORKS_HOSTILE_EXAMPLES=5000 uv run pytest tests/hostile`` (or ``bench/hostile.py``) runs
thousands of generated cases per test, with fresh randomness each run."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

from imageworks_testing.fakehub import FakeHub

_LONG = int(os.environ.get("IMAGEWORKS_HOSTILE_EXAMPLES", "0") or 0)
_SLOW_OK = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large]
# CI: the same examples every run (derandomized), few enough that the folder stays within ~2 min.
settings.register_profile("hostile-ci", derandomize=True, deadline=None, print_blob=True,
                          suppress_health_check=_SLOW_OK, database=None)
settings.register_profile("hostile-long", max_examples=_LONG or 5000, deadline=None, print_blob=True,
                          suppress_health_check=_SLOW_OK)
settings.load_profile("hostile-long" if _LONG else "hostile-ci")


def budget(ci: int) -> settings:
    """``ci`` examples in CI; the long run's count when asked for."""
    return settings(max_examples=_LONG or ci)


@pytest.fixture
def hub(sandbox, monkeypatch):
    from huggingface_hub import constants

    server = FakeHub().start()
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    monkeypatch.setattr(constants, "ENDPOINT", server.url)
    monkeypatch.setenv("HF_HUB_DISABLE_XET", "1")
    monkeypatch.setenv("IMAGEWORKS_RETRIES", "1")
    yield server
    server.stop()

import pytest


@pytest.fixture(autouse=True)
def real_aria2_unless_asked_not_to(monkeypatch):
    """Tests that do not say --no-aria2 mean the real aria2c: fail, never fall back silently
    (the ``hub`` fixture itself comes from the imageworks pytest plugin)."""
    monkeypatch.setenv("IMAGEWORKS_USE_ARIA2", "always")
    monkeypatch.setenv("IMAGEWORKS_RETRIES", "2")

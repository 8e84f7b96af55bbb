import pytest

from imageworks_testing.fakehub import FakeHub

CANARY = "hf_CANARY_5f3a9c1e7d2b4a60"


@pytest.fixture
def hub(sandbox, monkeypatch):
    from huggingface_hub import constants

    server = FakeHub(token=CANARY).start()
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    monkeypatch.setattr(constants, "ENDPOINT", server.url)
    monkeypatch.setenv("HF_HUB_DISABLE_XET", "1")
    # Tests that do not say --no-aria2 mean the real aria2c: fail, never fall back silently.
    monkeypatch.setenv("IMAGEWORKS_USE_ARIA2", "always")
    monkeypatch.setenv("IMAGEWORKS_RETRIES", "2")
    yield server
    server.stop()

import pytest

from imageworks_testing.fakehub import FakeHub


@pytest.fixture
def hub(sandbox, monkeypatch):
    from huggingface_hub import constants

    server = FakeHub(token="hf_canary_TOKEN_1234567890").start()
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    monkeypatch.setattr(constants, "ENDPOINT", server.url)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(sandbox.root / "hf_home" / "hub"))
    monkeypatch.setenv("HF_HUB_DISABLE_XET", "1")
    # Tests that do not say --no-aria2 mean the real aria2c: fail, never fall back silently.
    monkeypatch.setenv("IMAGEWORKS_USE_ARIA2", "always")
    monkeypatch.setenv("IMAGEWORKS_RETRIES", "3")
    yield server
    server.stop()

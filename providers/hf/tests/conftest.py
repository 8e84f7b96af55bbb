import pytest

from imageworks_hf.fakehub import FakeHub


@pytest.fixture
def hub(sandbox, monkeypatch):
    from huggingface_hub import constants

    server = FakeHub(token="hf_canary_TOKEN_1234567890").start()
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    monkeypatch.setattr(constants, "ENDPOINT", server.url)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(sandbox.root / "hf_home" / "hub"))
    monkeypatch.setenv("HF_HUB_DISABLE_XET", "1")
    monkeypatch.setenv("IMAGEWORKS_RETRIES", "3")
    yield server
    server.stop()

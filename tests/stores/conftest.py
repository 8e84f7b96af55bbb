import pytest

from imageworks_testing.fakehub import FakeHub


@pytest.fixture
def hub(sandbox, monkeypatch):
    server = FakeHub().start()
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    monkeypatch.setenv("HF_HUB_DISABLE_XET", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(sandbox.root / "hf_home" / "hub"))
    yield server
    server.stop()

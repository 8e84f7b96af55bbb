import pytest

from imageworks_testing.fakehub import FakeHub

TOKEN = "hf_canary_TOKEN_1234567890"


def _point_at(server: FakeHub, sandbox, monkeypatch) -> FakeHub:
    from huggingface_hub import constants

    server.start()
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    monkeypatch.setattr(constants, "ENDPOINT", server.url)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(sandbox.root / "hf_home" / "hub"))
    monkeypatch.setenv("HF_HUB_DISABLE_XET", "1")
    monkeypatch.setenv("IMAGEWORKS_RETRIES", "3")
    return server


@pytest.fixture
def hub(sandbox, monkeypatch):
    server = _point_at(FakeHub(token=TOKEN), sandbox, monkeypatch)
    # Tests that do not say --no-aria2 mean the real aria2c: fail, never fall back silently.
    monkeypatch.setenv("IMAGEWORKS_USE_ARIA2", "always")
    yield server
    server.stop()


@pytest.fixture
def tls_hub(sandbox, monkeypatch):
    """The fake hub over HTTPS, trusted the way a company CA is set up: through the environment
    only (REQUESTS_CA_BUNDLE, SSL_CERT_FILE and CURL_CA_BUNDLE all name its test CA)."""
    server = _point_at(FakeHub(token=TOKEN, tls=True), sandbox, monkeypatch)
    for name, value in server.ca_environ().items():
        monkeypatch.setenv(name, value)
    yield server
    server.stop()

"""olah (a real third-party Hugging Face mirror) in front of the loopback fake hub.

olah runs from its own environment (``.ci/run`` makes ``.ci/olah-venv``), found through
``$IMAGEWORKS_TEST_OLAH``, the known path, or PATH. Without it these tests skip, saying how to
install it; under ``CI=true`` they fail instead, so CI can never lose them quietly."""

import os
from pathlib import Path

import pytest

from imageworks_testing.fakehub import FakeHub, Faults
from imageworks_testing.mirror import (CA_VARIABLES, OLAH_ENV, OLAH_VERSION, Olah, close_client_connections,
                                       find_olah)

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_TTL_S = 600  # olah's own default for metadata-cache-ttl


@pytest.fixture(scope="session")
def olah_cli() -> str:
    found = find_olah(ROOT)
    if found is None:
        why = (f"olah is not installed, so the mirror tests (reliability #15) cannot run: "
               f"`uv venv .ci/olah-venv && uv pip install --python .ci/olah-venv olah=={OLAH_VERSION}` "
               f"(or set {OLAH_ENV} to an olah-cli)")
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"CI=true: {why}", pytrace=False)
        pytest.skip(f"SKIPPED LOUDLY: {why}")
    return found


@pytest.fixture(scope="module", params=["http", "https"])
def scheme(request) -> str:
    """The transport between the client and the mirror, and between the mirror and the hub:
    ``http`` is a LAN mirror over plain HTTP (its upstream too); ``https`` is a company mirror
    over TLS with a certificate from its own CA, whose upstream is the hub over TLS (another CA,
    which olah trusts through its own environment and the client never does)."""
    return request.param


@pytest.fixture(scope="module")
def _hub_and_mirror(olah_cli, scheme, tmp_path_factory):
    """One fake hub and one olah per transport for the module (olah takes ~2 s to start); each
    test uses its own repos, and the function fixtures below reset what a test may have changed."""
    tls = scheme == "https"
    hub = FakeHub(tls=tls).start()
    mirror = Olah(olah_cli, hub.url, tmp_path_factory.mktemp(f"olah-{scheme}"), tls=tls,
                  upstream_ca=hub.ca_bundle)
    try:
        mirror.start()
        yield hub, mirror
    finally:
        mirror.stop()
        hub.stop()


@pytest.fixture
def hub(_hub_and_mirror, sandbox, monkeypatch):
    server, _mirror = _hub_and_mirror
    server.faults = Faults()
    server.served.clear()
    server.requests.clear()
    monkeypatch.setenv("HF_HUB_DISABLE_XET", "1")
    monkeypatch.setenv("IMAGEWORKS_RETRIES", "2")
    return server


@pytest.fixture
def mirror(_hub_and_mirror, hub, monkeypatch):
    """olah, its upstream the fake hub; ``HF_ENDPOINT`` (and huggingface_hub's copy of it read at
    import) point at olah; over HTTPS the client trusts the mirror's CA through the environment
    only (``REQUESTS_CA_BUNDLE``, ``SSL_CERT_FILE``, ``CURL_CA_BUNDLE``), never the hub's. Running,
    and reusing metadata for 600 s (olah's default), whatever the test before did to it."""
    from huggingface_hub import constants

    _hub, server = _hub_and_mirror
    if server.process is None or server.process.poll() is not None or server.metadata_ttl_s != DEFAULT_TTL_S:
        server.metadata_ttl_s = DEFAULT_TTL_S
        server.restart()
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    monkeypatch.setattr(constants, "ENDPOINT", server.url)
    for name in CA_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    if server.tls:
        for name, value in server.ca_environ().items():
            monkeypatch.setenv(name, value)
    yield server
    close_client_connections()

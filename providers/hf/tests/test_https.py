"""Downloads over HTTPS from a hub whose certificate a private CA signed, trusted only through the
variables a company CA is set up with; and one clear error when it is not trusted."""

import hashlib
import ssl

import pytest

from imageworks_testing.fakehub import random_bytes
from imageworks_testing.plugin import run_process

from imageworks_hf import tls

BACKENDS = pytest.mark.parametrize("backend", ["--no-aria2", "--aria2"], ids=["python", "aria2c"])


@pytest.fixture
def tls_repo(tls_hub):
    # Above two 8 MiB pieces: the built-in downloader's pool fetches it in ranged pieces.
    data = random_bytes(17 << 20, seed=24)
    tls_hub.add_repo("o/secure", {"model.safetensors": data, "config.json": b"{}"})
    return data


def target(sandbox):
    return sandbox.root / "models" / "weights" / "o" / "secure"


@BACKENDS
def test_download_over_https_trusts_the_ca_from_the_environment(tls_hub, tls_repo, cli, sandbox, backend):
    assert tls_hub.url.startswith("https://127.0.0.1:")
    result = cli("download", "o/secure", "-y", backend)
    assert result.exit_code == 0, result.stderr
    got = (target(sandbox) / "model.safetensors").read_bytes()
    assert hashlib.sha256(got).digest() == hashlib.sha256(tls_repo).digest()
    assert tls_hub.served["model.safetensors"] >= len(tls_repo)
    resolved = [path for method, path, _ in tls_hub.requests if path.startswith("/cdn/")]
    assert resolved, "the file came from the redirect target, over TLS as well"


def test_https_bodies_are_read_by_the_socket_client(tls_hub, tls_repo, cli, sandbox, monkeypatch):
    from imageworks_hf import socket_http

    def refuse(self, buffer):
        raise AssertionError("an https body went through requests")

    monkeypatch.setattr(socket_http.RequestsAnswer, "blocks", refuse)
    monkeypatch.setenv("IMAGEWORKS_CONNECTIONS", "2")
    result = cli("download", "o/secure", "-y", "--no-aria2")
    assert result.exit_code == 0, result.stderr
    assert (target(sandbox) / "model.safetensors").read_bytes() == tls_repo
    pieces = [p for method, p, _ in tls_hub.requests if method == "GET" and p.startswith("/cdn/") and p.endswith(".safetensors")]
    assert len(pieces) == 3  # 17 MiB in 8 MiB pieces, on kept-alive TLS connections
    assert tls_hub.connections <= len(tls_hub.requests) - len(pieces) + 2


@BACKENDS
@pytest.mark.parametrize("variable", tls.CA_VARIABLES)
def test_any_one_ca_variable_is_enough(tls_hub, tls_repo, cli, sandbox, monkeypatch, backend, variable):
    """requests alone ignores SSL_CERT_FILE and huggingface_hub's client alone ignores the other
    two; aria2c reads none: each is told."""
    for name in tls.CA_VARIABLES:
        if name != variable:
            monkeypatch.delenv(name)
    result = cli("download", "o/secure", "-y", backend)
    assert result.exit_code == 0, result.stderr
    assert (target(sandbox) / "model.safetensors").stat().st_size == len(tls_repo)


@BACKENDS
def test_an_untrusted_certificate_is_one_clear_error(tls_hub, tls_repo, sandbox, backend):
    system = ssl.get_default_verify_paths().openssl_cafile  # a real bundle, without the test CA
    env = {name: system for name in tls.CA_VARIABLES}
    result = run_process("download", "o/secure", "-y", backend, env=env)
    assert result.exit_code == 1, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: the TLS certificate of {tls_hub.url.split('//')[1]} is not signed by a CA in "
                      f"the CA bundle {system}"], result.stderr
    assert "Traceback" not in result.stderr
    assert not (target(sandbox) / "model.safetensors").exists()


@BACKENDS
def test_the_downloaders_themselves_refuse_an_untrusted_certificate(tls_hub, tls_repo, sandbox, monkeypatch, backend):
    """Past a trusted listing (a mirror's files on another host, say), the transfer itself stops
    at once with the same error: no retry makes a certificate trusted."""
    from imageworks_core import DownloadError
    from imageworks_hf.transfer import FileJob, ProgressMeter

    repo = tls_hub.repos["o/secure"]
    url = f"{tls_hub.url}/cdn/o/secure/{repo.commit}/model.safetensors"
    dest = sandbox.root / "out" / "model.safetensors"
    job = FileJob("model.safetensors", url, dest, len(tls_repo), repo.files["model.safetensors"].sha256)
    monkeypatch.setenv("IMAGEWORKS_RETRIES", "5")
    for name in tls.CA_VARIABLES:
        monkeypatch.setenv(name, ssl.get_default_verify_paths().openssl_cafile)
    common = dict(headers={}, connections=4, concurrent=1, retries=5, timeout=30, meter=ProgressMeter("x", None, None))
    if backend == "--aria2":
        from imageworks_hf.aria2_downloader import Aria2Downloader as Downloader
    else:
        from imageworks_hf.python_downloader import PythonDownloader as Downloader
    with pytest.raises(DownloadError, match="is not signed by a CA in the CA bundle"):
        Downloader(**common).run([job])
    assert not dest.exists()


def test_aria2c_is_given_the_bundle(monkeypatch, tmp_path):
    bundle = tmp_path / "company-ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    for name in tls.CA_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert tls.aria2c_options() == []
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    assert tls.aria2c_options() == [f"--ca-certificate={bundle}"]
    monkeypatch.setenv("CURL_CA_BUNDLE", str(tmp_path / "other.pem"))
    assert tls.ca_bundle() == str(tmp_path / "other.pem")  # requests' order first, as requests reads them

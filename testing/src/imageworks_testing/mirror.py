"""olah, a third-party Hugging Face mirror, run in front of the loopback fake hub.

olah lives in its own environment (it pins its own dependencies; CI makes it with
``uv venv .ci/olah-venv && uv pip install --python .ci/olah-venv olah==0.5.4``), so it runs as a
program: :func:`find_olah` locates ``olah-cli``, :class:`Olah` writes its config, starts it on a
free loopback port in its own process group, waits (bounded) until it answers, and stops it.

The config points olah's upstream at the fake hub, over HTTP or HTTPS as the hub serves
(``hf-scheme``, ``hf-netloc`` and ``hf-lfs-netloc``: the hub serves its "CDN" itself), names
olah's own address for the URLs it hands out (``mirror-scheme``, ``mirror-netloc``), keeps olah's
cache of repositories in the test's folder (``repos-path``) and stays online (``offline =
false``: every miss goes upstream).
``metadata-cache-ttl`` is how long olah reuses a repo's metadata (branch -> commit, model info)
without asking upstream again: 600 s by default, so through olah ``outdated`` can lag the hub by
up to that long. Tests set it short.

``Olah(..., tls=True)`` serves HTTPS as a company runs it (``olah-cli --ssl-key KEY --ssl-cert
CERT``, ``mirror-scheme = "https"``): a throwaway CA (``trustme``), the mirror's own, signs a
certificate for 127.0.0.1 and localhost, made once and kept across restarts; ``ca_bundle`` is the
CA's PEM file and ``ca_environ()`` the variables a client trusts it through. ``upstream_ca`` is
the PEM of a CA olah must trust for an HTTPS upstream (``FakeHub(tls=True).ca_bundle``): olah's
httpx clients read ``SSL_CERT_FILE`` (httpx's ``trust_env``), so it is given in olah's own
environment, which never inherits the test's CA variables (a restart inside a test that set them
for the client would otherwise make olah trust the client's CA instead of the hub's).
"""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
from pathlib import Path
from urllib.parse import urlparse

OLAH_VERSION = "0.5.4"  # what .ci/run installs
OLAH_ENV = "IMAGEWORKS_TEST_OLAH"  # path of an olah-cli to use instead of the known places
# What a client (or olah's httpx) takes its CA from; the first three name a bundle file.
CA_VARIABLES = ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "CURL_CA_BUNDLE", "SSL_CERT_DIR")


def find_olah(repo_root: Path) -> str | None:
    """``$IMAGEWORKS_TEST_OLAH``, else ``<repo>/.ci/olah-venv/bin/olah-cli``, else ``olah-cli`` on PATH."""
    explicit = os.environ.get(OLAH_ENV)
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    known = repo_root / ".ci" / "olah-venv" / "bin" / "olah-cli"
    if os.access(known, os.X_OK):
        return str(known)
    return shutil.which("olah-cli")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def close_client_connections() -> None:
    """Close the connections huggingface_hub's shared client keeps alive to olah, as the end of a
    CLI process does. Commands run in the test's process leave them open; on SIGTERM olah
    (uvicorn) over TLS then waits for each idle client's side of the TLS shutdown, so stop()
    would SIGKILL it 10 s later. Over plain HTTP it closes them at once."""
    from huggingface_hub.utils import close_session

    close_session()


class Olah:
    """One olah process: ``start()`` (bounded wait), ``url``, ``kill()`` (SIGKILL, as a crash or
    a pulled plug), ``stop()`` (SIGTERM to its group, then SIGKILL), ``log()``. With ``tls``, it
    serves HTTPS with a certificate its own CA signed (``ca_bundle``, ``ca_environ()``)."""

    def __init__(self, executable: str, upstream: str, workdir: Path, *, metadata_ttl_s: int = 600,
                 tls: bool = False, upstream_ca: Path | None = None):
        self.executable = executable
        self.upstream = upstream
        self.workdir = workdir
        self.metadata_ttl_s = metadata_ttl_s
        self.tls = tls
        self.upstream_ca = upstream_ca
        self.ca_bundle: Path | None = None  # with tls: the PEM of the CA that signed olah's certificate
        self.port = 0
        self.process: subprocess.Popen | None = None

    @property
    def scheme(self) -> str:
        return "https" if self.tls else "http"

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def ca_environ(self) -> dict[str, str]:
        """The variables a company CA is set up with, all naming the mirror's CA (tls only)."""
        assert self.ca_bundle is not None, "the mirror serves plain HTTP"
        return {name: str(self.ca_bundle) for name in CA_VARIABLES[:3]}

    def _make_certificates(self) -> None:
        import trustme

        ca = trustme.CA(organization_name="imageworks test mirror CA")
        certificate = ca.issue_cert("127.0.0.1", "localhost")
        folder = self.workdir / "tls"
        folder.mkdir(parents=True, exist_ok=True)
        certificate.private_key_pem.write_to_path(str(folder / "mirror.key"))
        certificate.cert_chain_pems[0].write_to_path(str(folder / "mirror.crt"))
        self.ca_bundle = folder / "ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_bundle))

    def environ(self) -> dict[str, str]:
        """olah's environment: the test process's, without any CA variable, plus ``upstream_ca``
        under each (``SSL_CERT_FILE`` is the one its httpx reads)."""
        env = {k: v for k, v in os.environ.items() if k not in CA_VARIABLES}
        if self.upstream_ca is not None:
            env.update({name: str(self.upstream_ca) for name in CA_VARIABLES[:3]})
        return env

    def config(self) -> str:
        upstream = urlparse(self.upstream)
        own = f"127.0.0.1:{self.port}"
        return "\n".join([
            "[basic]",
            'host = "127.0.0.1"',
            f"port = {self.port}",
            f'repos-path = "{self.workdir / "repos"}"',
            f'hf-scheme = "{upstream.scheme}"',
            f'hf-netloc = "{upstream.netloc}"',
            f'hf-lfs-netloc = "{upstream.netloc}"',
            f'mirror-scheme = "{self.scheme}"',
            f'mirror-netloc = "{own}"',
            f'mirror-lfs-netloc = "{own}"',
            f"metadata-cache-ttl = {self.metadata_ttl_s}",
            "",
            "[accessibility]",
            "offline = false",
            "",
        ])

    def start(self, timeout_s: float = 60) -> "Olah":
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()  # a restart keeps its address
        config = self.workdir / "olah.toml"
        config.write_text(self.config())
        command = [self.executable, "--config", str(config), "--log-path", str(self.workdir / "logs")]
        if self.tls:
            if self.ca_bundle is None:
                self._make_certificates()
            folder = self.ca_bundle.parent
            command += ["--ssl-key", str(folder / "mirror.key"), "--ssl-cert", str(folder / "mirror.crt")]
        with open(self.workdir / "olah.out", "ab") as out:
            self.process = subprocess.Popen(
                command, env=self.environ(),
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, cwd=self.workdir,
                start_new_session=True)  # its own group: stop() reaches any worker it forks
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"olah exited with {self.process.returncode} at start:\n{self.log()}")
            if self._answers():
                return self
            time.sleep(0.1)
        self.stop()
        raise TimeoutError(f"olah did not answer within {timeout_s:g} s:\n{self.log()}")

    def _answers(self) -> bool:
        """Any HTTP answer (a 404 for a path olah has no route for) means it is serving; over TLS,
        with a certificate its CA signed."""
        if self.tls:
            context = ssl.create_default_context(cafile=str(self.ca_bundle))
            connection = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=2, context=context)
        else:
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
        try:
            connection.request("HEAD", "/imageworks-ready")
            connection.getresponse().read()
            return True
        except OSError:
            return False
        finally:
            connection.close()

    def _signal(self, sig: int) -> None:
        try:
            os.killpg(self.process.pid, sig)
        except ProcessLookupError:
            pass

    def kill(self) -> None:
        """Stop it at once, mid-answer (a crash, a pulled cable, a reboot)."""
        if self.process is not None and self.process.poll() is None:
            self._signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                self.process.wait(timeout=10)
        self.process = None

    def restart(self, timeout_s: float = 60) -> "Olah":
        """Start again, same address and cache folder."""
        self.stop()
        return self.start(timeout_s)

    def log(self, tail: int = 4000) -> str:
        try:
            return (self.workdir / "olah.out").read_text(errors="replace")[-tail:]
        except OSError:
            return ""

    def __enter__(self) -> "Olah":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

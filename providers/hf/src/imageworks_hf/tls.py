"""The CA bundle a user names (a company proxy or mirror with its own CA), honoured by every
client a download drives.

Each client reads a different variable on its own: requests reads ``REQUESTS_CA_BUNDLE`` and
``CURL_CA_BUNDLE``, huggingface_hub's httpx client ``SSL_CERT_FILE``, and Debian's aria2c none
of them. One rule here, in requests' order then OpenSSL's, is given to all three.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from imageworks_core import DownloadError

if TYPE_CHECKING:
    import ssl

CA_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE")


def ca_bundle() -> str | None:
    """The CA bundle (a PEM file, or a folder of hashed certificates) the environment names."""
    for name in CA_VARIABLES:
        value = os.environ.get(name)
        if value:
            return value
    return None


def requests_verify() -> str | bool:
    """requests' ``verify=``: the bundle, else its own default."""
    return ca_bundle() or True


def ssl_context() -> "ssl.SSLContext | None":
    """A context trusting the named bundle only, or None when none is named."""
    bundle = ca_bundle()
    if bundle is None:
        return None
    import ssl

    if os.path.isdir(bundle):
        return ssl.create_default_context(capath=bundle)
    return ssl.create_default_context(cafile=bundle)


_client_contexts: dict[str | None, "ssl.SSLContext"] = {}


def client_context() -> "ssl.SSLContext":
    """The context our own sockets use: the named bundle; else the system's CAs, as
    huggingface_hub's client uses (where a company CA is often installed); else, on a system
    without any, certifi's, as requests uses. Made once per bundle (an OpenSSL 3 context costs
    20-30 ms to make) and shared: wrapping sockets with it from several threads is safe."""
    bundle = ca_bundle()
    context = _client_contexts.get(bundle)
    if context is None:
        context = _client_contexts[bundle] = _new_client_context()
    return context


def _new_client_context() -> "ssl.SSLContext":
    context = ssl_context()
    if context is None:
        import ssl

        context = ssl.create_default_context()
        if not context.cert_store_stats().get("x509_ca"):
            import certifi

            context.load_verify_locations(certifi.where())
    return context


def aria2c_options() -> list[str]:
    """aria2c reads no CA variable: name the bundle on its command line."""
    bundle = ca_bundle()
    return [f"--ca-certificate={bundle}"] if bundle and os.path.isfile(bundle) else []


def untrusted(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) is a certificate the CA bundle does not vouch for."""
    import ssl

    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(current):
            return True
        pending += [e for e in (current.__cause__, current.__context__) if e is not None]
        pending += [a for a in getattr(current, "args", ()) if isinstance(a, BaseException)]
    return False


def untrusted_error(host: str) -> DownloadError:
    bundle = ca_bundle()
    trusted = f"the CA bundle {bundle}" if bundle else "the system's CA certificates"
    return DownloadError(f"the TLS certificate of {host} is not signed by a CA in {trusted}",
                         hint="behind a company proxy or mirror with its own CA, point REQUESTS_CA_BUNDLE "
                              "(or SSL_CERT_FILE) to a bundle that includes it")


_configured: list[str | None] = []  # the bundle huggingface_hub's shared client was made for


def configure_hub_client() -> None:
    """Give huggingface_hub's shared client the same bundle, and make it anew when the setting
    changed since it was made (its client reads only ``SSL_CERT_FILE``, once)."""
    bundle = ca_bundle()
    if _configured and _configured[0] == bundle:
        return
    import huggingface_hub

    try:
        from huggingface_hub.utils import _http
    except ImportError:  # another layout: its client reads SSL_CERT_FILE on its own
        _configured[:] = [bundle]
        return

    def make_client():
        base = _http.default_client_factory()  # the hub's own settings and hooks, our trust
        if bundle is None or bundle == os.environ.get("SSL_CERT_FILE"):
            return base  # what it reads itself
        hooks = base.event_hooks
        base.close()
        return type(base)(event_hooks=hooks, follow_redirects=True, timeout=None, verify=ssl_context())

    huggingface_hub.set_client_factory(make_client)  # also closes the client made before
    _configured[:] = [bundle]

"""Ranged GETs over HTTP/1.1 keep-alive sockets, plain or TLS, read with few calls per block.

Through requests, a body is read one TCP segment (or one TLS record) at a time, through four
layers of Python (urllib3, http.client, a buffered reader, the socket's file object), and each
read drops and retakes the GIL. Here a plain body is read with ``recv(MSG_WAITALL)`` on a
blocking socket, straight into a reused buffer: the kernel fills a whole block while the thread
sleeps outside the GIL. A TLS body is read record by record (OpenSSL returns at most one 16 KiB
record a call) straight into the same buffer, one C call each, no object made per read.

This covers only what it can do right, and says so by returning False or raising
``Unsupported`` so the caller goes through requests instead: ``http://`` and ``https://`` URLs
no proxy applies to, and bodies framed by ``Content-Length`` with no content coding.
Certificates are checked against the CA bundle the environment names (see ``tls``), else the
system's.
"""

from __future__ import annotations

import os
import socket
import ssl
import struct
import sys
import threading
import time
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

if TYPE_CHECKING:
    import requests

HEAD_LIMIT = 64 << 10
# A block read returns when the block is full or when nothing more has come for this long: on a
# slow connection a block is written (and its progress recorded) every FLUSH_AFTER at the
# latest, so a SIGKILL costs each connection what arrived in that time, not a whole block.
FLUSH_AFTER = 0.01
REDIRECTS = (301, 302, 303, 307, 308)
PORTS = {"http": 80, "https": 443}


class Unsupported(Exception):
    """An answer this client does not read (no length, chunked, coded): use requests."""


class SocketHttp:
    def __init__(self, *, timeout: float, connect_timeout: float = 10.0):
        self.timeout, self.connect_timeout = timeout, connect_timeout
        self._tls: ssl.SSLContext | None = None
        self._local = threading.local()
        self._lock = threading.Lock()
        self._live: set[socket.socket] = set()
        self._proxied: dict[str, bool] = {}
        self._closing = False

    def handles(self, url: str) -> bool:
        parts = urlsplit(url)
        if parts.scheme not in PORTS or not parts.hostname:
            return False
        proxied = self._proxied.get(parts.netloc)
        if proxied is None:
            proxied = _may_use_proxy() and _proxied_by_requests(url)
            self._proxied[parts.netloc] = proxied
        return not proxied

    def get(self, url: str, headers: dict[str, str], *, auth_host: str | None) -> "Answer":
        """GET ``url``, following redirects; ``Authorization`` goes only to ``auth_host``."""
        for _ in range(10):
            parts = urlsplit(url)
            sent = {k: v for k, v in headers.items() if k.lower() != "authorization" or parts.netloc == auth_host}
            answer = self._exchange(parts, sent)
            location = answer.header("location")
            if answer.status not in REDIRECTS or not location:
                answer.url = url
                return answer
            answer.close()
            url = urljoin(url, location)
            if not self.handles(url):
                raise Unsupported(url)
        raise ConnectionError(f"{url}: too many redirects")

    # -- connections
    def _exchange(self, parts, headers: dict[str, str]) -> "Answer":
        key = (parts.scheme, parts.hostname, parts.port or PORTS[parts.scheme])
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        lines = [f"GET {target} HTTP/1.1", f"Host: {parts.netloc.rpartition('@')[2]}",
                 "Accept: */*", "Accept-Encoding: identity"]
        lines += [f"{name}: {value}" for name, value in headers.items() if name.lower() not in ("host", "accept-encoding")]
        request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        pool = self._pool()
        sock = pool.pop(key, None)
        reused = sock is not None
        while True:
            if sock is None:
                sock = self._connect(key)
            try:
                self._send(sock, request, self.timeout)
                return Answer(self, key, sock, *self._read_head(sock))
            except (EOFError, ConnectionResetError, BrokenPipeError, ssl.SSLEOFError) as exc:
                self._drop(sock)
                sock = None
                if not reused:  # a fresh connection that fails is the server's answer
                    raise ConnectionError(f"{parts.netloc}: connection closed ({exc or 'no answer'})") from None
                reused = False  # a kept-alive connection the server had closed: one new try
            except BaseException:
                self._drop(sock)
                raise

    @staticmethod
    def _send(sock: socket.socket, request: bytes, timeout: float) -> None:
        # Network errors only, as ConnectionError or TimeoutError: any other OSError would be
        # taken for a disk error by the downloader.
        try:
            if isinstance(sock, ssl.SSLSocket):
                sock.settimeout(timeout)  # the send's own bound; reads go back to FLUSH_AFTER
                try:
                    sock.sendall(request)
                finally:
                    sock.settimeout(FLUSH_AFTER)
            else:
                sock.sendall(request)
        except BlockingIOError:
            raise TimeoutError("the server took no request within the timeout") from None
        except (ConnectionError, TimeoutError):
            raise
        except OSError as exc:
            raise ConnectionError(str(exc)) from None

    def _connect(self, key: tuple[str, str, int]) -> socket.socket:
        if self._closing:
            raise ConnectionError("stopping")
        scheme, host, port = key
        try:
            sock = socket.create_connection((host, port), timeout=self.connect_timeout)
        except socket.gaierror as exc:
            raise ConnectionError(f"{host}: {exc.strerror}") from None
        except TimeoutError:
            raise
        except OSError as exc:
            raise ConnectionError(f"{host}:{port}: {exc.strerror or exc}") from None
        if scheme == "https":
            sock = self._secure(sock, host)
        # Blocking mode with kernel timeouts: recv(MSG_WAITALL) then waits for a whole block,
        # and after FLUSH_AFTER returns what has come (or EAGAIN when nothing has; the read
        # timeout proper is counted in ``_receive``). A TLS socket waits in Python's own
        # timeout mode instead (OpenSSL would retry an EAGAIN forever), with the same effect.
        sock.settimeout(FLUSH_AFTER if isinstance(sock, ssl.SSLSocket) else None)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, _timeval(FLUSH_AFTER))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, _timeval(self.timeout))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._lock:
            if self._closing:
                sock.close()
                raise ConnectionError("stopping")
            self._live.add(sock)
        return sock

    def _secure(self, sock: socket.socket, host: str) -> ssl.SSLSocket:
        """The TLS handshake, within the connect timeout; a certificate the CA bundle does not
        vouch for raises ``ssl.SSLCertVerificationError`` (the caller stops, never retries)."""
        if self._tls is None:
            from .tls import client_context

            self._tls = client_context()
        try:
            return self._tls.wrap_socket(sock, server_hostname=host)
        except ssl.SSLCertVerificationError:
            sock.close()
            raise
        except (ssl.SSLError, OSError) as exc:
            sock.close()
            if isinstance(exc, TimeoutError):
                raise
            raise ConnectionError(f"{host}: TLS handshake failed ({exc})") from None

    def _read_head(self, sock: socket.socket) -> tuple[int, dict[str, str], bool, bytes]:
        data = b""
        while (end := data.find(b"\r\n\r\n")) < 0:
            if len(data) > HEAD_LIMIT:
                raise ConnectionError("the server's answer has no end of headers")
            chunk = self._receive(sock.recv, 65536)
            if not chunk:
                raise EOFError()
            data += chunk
        lines = data[:end].decode("latin-1").split("\r\n")
        version, _, rest = lines[0].partition(" ")
        code = rest.partition(" ")[0]
        if not version.startswith("HTTP/1.") or not code.isdigit():
            raise ConnectionError(f"not an HTTP answer: {lines[0][:80]!r}")
        fields: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            fields[name.strip().lower()] = value.strip()
        keep = version == "HTTP/1.1" and "close" not in fields.get("connection", "").lower()
        return int(code), fields, keep, data[end + 4:]

    def _receive(self, read, *args):
        """``read(*args)`` on a socket whose reads give up after FLUSH_AFTER: waits up to the
        read timeout for the first byte, and not at all once the download is stopping."""
        waited_since = None
        while True:
            try:
                return read(*args)
            except (BlockingIOError, TimeoutError):  # FLUSH_AFTER passed with nothing new
                if self._closing:
                    raise ConnectionError("stopping") from None
                now = time.monotonic()
                if waited_since is None:
                    waited_since = now
                elif now - waited_since > self.timeout:
                    raise TimeoutError("the server sent nothing within the read timeout") from None
            except ConnectionError:
                raise
            except ssl.SSLZeroReturnError:
                return 0  # the server ended TLS: the end of the stream
            except OSError as exc:  # a network error, never a disk one: the caller retries it
                raise ConnectionError(str(exc)) from None

    def _pool(self) -> dict[tuple[str, str, int], socket.socket]:
        pool = getattr(self._local, "pool", None)
        if pool is None:
            pool = self._local.pool = {}
        return pool

    def _keep(self, key: tuple[str, str, int], sock: socket.socket) -> None:
        old = self._pool().get(key)
        if old is not None:
            self._drop(old)
        self._pool()[key] = sock

    def _drop(self, sock: socket.socket) -> None:
        with self._lock:
            self._live.discard(sock)
        sock.close()

    def shutdown(self) -> None:
        """Wake every thread blocked in a read (they see the end of their stream)."""
        with self._lock:
            self._closing = True
            live = list(self._live)
        for sock in live:
            try:
                # The TCP socket's own shutdown: SSLSocket.shutdown would also drop its TLS
                # state under a thread still reading, which could then read raw bytes.
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self) -> None:
        self.shutdown()
        with self._lock:
            live, self._live = list(self._live), set()
        for sock in live:
            sock.close()


class Answer:
    """One answer: status and headers, then its body in blocks."""

    def __init__(self, client: SocketHttp, key, sock: socket.socket, status: int, fields: dict[str, str],
                 keep: bool, early: bytes):
        self.client, self.key, self.sock = client, key, sock
        self.status, self.fields, self.keep, self.early = status, fields, keep, early
        self.url = ""
        length = fields.get("content-length", "")
        self.left = int(length) if length.isdigit() else None
        self.framed = self.left is not None and "transfer-encoding" not in fields
        if not self.framed:
            self.keep = False

    def header(self, name: str) -> str | None:
        return self.fields.get(name.lower())

    def blocks(self, buffer: memoryview):
        """The body, as views into ``buffer`` (each valid until the next)."""
        coding = self.fields.get("content-encoding", "identity").lower()
        if not self.framed or coding not in ("", "identity"):
            raise Unsupported(self.url)
        sock = self.sock
        if self.early:
            early, self.early = self.early[: self.left], b""
            self.left -= len(early)
            yield memoryview(early)
        size = len(buffer)
        tls = isinstance(sock, ssl.SSLSocket)
        while self.left > 0:
            want = min(size, self.left)
            count = self._fill(sock, buffer, want) if tls else \
                self.client._receive(sock.recv_into, buffer, want, socket.MSG_WAITALL)
            if not count:
                self.keep = False
                return  # the connection ended early: the caller retries what is missing
            self.left -= count
            yield buffer[:count]

    def read(self) -> bytes:
        """The whole body (a small one: the caller checks ``left`` first)."""
        buffer = memoryview(bytearray(max(1, min(self.left or 0, 1 << 20))))
        return b"".join(bytes(block) for block in self.blocks(buffer))

    def _fill(self, sock: ssl.SSLSocket, buffer: memoryview, want: int) -> int:
        """Up to ``want`` bytes of TLS records into ``buffer``: until it is full, or FLUSH_AFTER
        passes with nothing new after the first byte (as MSG_WAITALL does). An error after some
        bytes ends the block early; the next call reports it, once these bytes are written."""
        filled = self.client._receive(sock.recv_into, buffer, want)
        try:
            while 0 < filled < want:
                count = sock.recv_into(buffer[filled:], want - filled)  # one record, one C read
                if not count:
                    break
                filled += count
        except OSError:  # a pause (a timeout), the end of TLS or a broken connection
            pass
        return filled

    def close(self) -> None:
        if self.sock is None:
            return
        sock, self.sock = self.sock, None
        # Whole once every byte of the body is read, or already here (a redirect's short body).
        finished = self.framed and self.left == len(self.early)
        if self.keep and finished and not self.client._closing:
            self.client._keep(self.key, sock)
        else:
            self.client._drop(sock)

    def __enter__(self) -> "Answer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class RequestsAnswer:
    """A requests response, read as the plain client's answers are."""

    def __init__(self, response: "requests.Response"):
        self.response = response
        self.status = response.status_code

    def header(self, name: str) -> str | None:
        return self.response.headers.get(name)

    def blocks(self, buffer: memoryview):
        """The body as views into ``buffer``. A plain body (no content coding) is read with
        ``readinto`` straight from the socket: no new 1 MiB object per block."""
        response = self.response
        raw = getattr(response.raw, "_fp", None)  # urllib3's http.client response
        coded = response.headers.get("Content-Encoding", "identity").lower() not in ("", "identity")
        if coded or not hasattr(raw, "readinto") or response.headers.get("Transfer-Encoding"):
            for block in response.iter_content(len(buffer)):
                yield memoryview(block)
            return
        while True:
            count = raw.readinto(buffer)
            if not count:
                return
            yield buffer[:count]

    def __enter__(self) -> "RequestsAnswer":
        return self

    def __exit__(self, *exc) -> None:
        self.response.close()


def _may_use_proxy() -> bool:
    """False when requests would certainly use no proxy: on Linux its proxies come from the
    environment alone (``urllib.request.getproxies``), and no ``*_proxy`` variable is set.
    Elsewhere (system proxy settings) or with one set, requests itself is asked."""
    return not sys.platform.startswith("linux") or any(name.lower().endswith("_proxy") for name in os.environ)


def _proxied_by_requests(url: str) -> bool:
    import requests.utils  # the same proxy rules (and no_proxy) requests would apply

    return bool(requests.utils.get_environ_proxies(url))


def _timeval(seconds: float) -> bytes:
    return struct.pack("ll", int(seconds), int((seconds % 1) * 1e6))

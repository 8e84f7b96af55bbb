"""A loopback fake of the Hugging Face Hub for tests and benchmarks.

It serves what ``huggingface_hub`` and our downloaders ask for: model info with siblings and LFS
sha256 (``/api/models/<repo>[/revision/<rev>]``), the recursive tree API
(``/api/models/<repo>/tree/<rev>``), ``POST /api/models/<repo>/paths-info/<rev>`` (what
``HfApi.get_paths_info`` and mirrors such as olah ask), and ``/<repo>/resolve/<rev>/<path>`` with HEAD, Range,
and an optional 302 redirect to a CDN-like path. Faults can be injected per test: throttling,
dropped connections, ignored Range, 429/503 with Retry-After, gated and private repos, tokens.
Bound to 127.0.0.1 only; ``stop()`` (or the context manager) shuts it down.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

import attrs


@attrs.define
class HubFile:
    path: str
    data: bytes | None = None
    disk: Path | None = None  # large files are served from disk
    sha256: str = ""
    size: int = 0
    lfs: bool = True

    def read(self, start: int, end: int) -> bytes:
        if self.data is not None:
            return self.data[start:end]
        with open(self.disk, "rb") as handle:
            handle.seek(start)
            return handle.read(end - start)


@attrs.define
class HubRepo:
    repo_id: str
    files: dict[str, HubFile]
    commit: str
    revisions: dict[str, str]  # branch/tag -> commit
    gated: bool = False
    private: bool = False
    granted: bool = True  # does the hub's valid token have access to this gated repo?
    history: dict[str, dict[str, HubFile]] = attrs.field(factory=dict)  # every commit -> its files

    def at(self, commit: str) -> "HubRepo":
        """The repo as it was at ``commit`` (old commits stay fetchable by their hash)."""
        return attrs.evolve(self, files=self.history.get(commit, self.files), commit=commit)


@attrs.define
class Faults:
    """Mutable per-test fault switches."""

    throttle_bps: int | None = None  # per connection
    drop_after_bytes: int | None = None  # close the connection after this many body bytes
    drops_left: int = 0
    ignore_range: bool = False
    busy_responses: int = 0  # answer 503 with Retry-After this many times first
    busy_status: int = 503
    redirect: bool = True  # resolve -> 302 -> /cdn/...
    cdn_host: str | None = "localhost"  # the redirect target's host: another host than the hub's
    corrupt_path: str | None = None  # flip a byte of this file's body
    stall_seconds: float = 0.0
    close_idle: bool = False  # close each connection after its answer without saying so
    unframed: bool = False  # file bodies without Content-Length, ended by closing the connection
    shifted_ranges: int = 0  # answer this many ranged requests from one byte later (and say so)
    no_file_metadata: bool = False  # model info without sizes and sha256 even when asked (olah 0.5.4 drops ?blobs)


class FakeHub:
    def __init__(self, token: str | None = None):
        self.repos: dict[str, HubRepo] = {}
        self.token = token  # when set, gated/private repos need it
        self.faults = Faults()
        self.served: dict[str, int] = {}  # path -> body bytes served
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.connections = 0  # accepted so far
        self._open: set = set()  # connections being served now
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- content
    def add_repo(self, repo_id: str, files: dict[str, bytes | Path], *, revisions: dict[str, str] | None = None,
                 gated: bool = False, private: bool = False, granted: bool = True,
                 lfs_min_size: int = 0) -> HubRepo:
        entries = {}
        for path, content in files.items():
            if isinstance(content, Path):
                digest = hashlib.sha256()
                with open(content, "rb") as handle:
                    for chunk in iter(lambda: handle.read(1 << 22), b""):
                        digest.update(chunk)
                entries[path] = HubFile(path, None, content, digest.hexdigest(), content.stat().st_size)
            else:
                entries[path] = HubFile(path, content, None, hashlib.sha256(content).hexdigest(), len(content),
                                        lfs=len(content) >= lfs_min_size and not path.endswith((".json", ".md", ".txt", ".jinja")))
        commit = hashlib.sha1(json.dumps(sorted((p, f.sha256) for p, f in entries.items())).encode()).hexdigest()
        # Adding a repo again is a new commit on main (a branch moves); earlier commits, and the
        # tags that point at them, stay fetchable.
        earlier = self.repos.get(repo_id)
        history = dict(earlier.history) if earlier else {}
        history[commit] = entries
        kept = {k: v for k, v in (earlier.revisions if earlier else {}).items() if k != "main"}
        repo = HubRepo(repo_id, entries, commit, {**kept, "main": commit, **(revisions or {})}, gated, private,
                       granted, history)
        self.repos[repo_id] = repo
        return repo

    # -- server
    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "FakeHub":
        hub = self

        class Handler(_Handler):
            pass

        Handler.hub = hub
        self._stopping.clear()
        self._server = _Server(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and end every connection still open (kept alive by a client, or in a
        stall or a throttle's pause), so that no handler thread outlives the hub."""
        if self._server is None:
            return
        self._stopping.set()
        self._server.shutdown()
        with self._lock:
            still_open = list(self._open)
        for connection in still_open:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        deadline = time.monotonic() + 10
        for thread in [t for t in threading.enumerate() if t.name.endswith("(process_request_thread)")]:
            if getattr(thread, "_imageworks_hub", None) is self:
                thread.join(max(0.0, deadline - time.monotonic()))
        self._server.server_close()
        self._server = None

    def __enter__(self) -> "FakeHub":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def count(self, path: str, size: int) -> None:
        with self._lock:
            self.served[path] = self.served.get(path, 0) + size


_API = re.compile(r"^/api/models/(?P<repo>[^/]+/[^/]+)(?:/revision/(?P<rev>[^/]+)|/tree/(?P<tree_rev>[^/]+)(?:/(?P<tree_path>.*))?)?$")
_PATHS_INFO = re.compile(r"^/api/models/(?P<repo>[^/]+/[^/]+)/paths-info/(?P<rev>[^/]+)$")
_RESOLVE = re.compile(r"^/(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<path>.+)$")
_CDN = re.compile(r"^/cdn/(?P<repo>[^/]+/[^/]+)/(?P<commit>[0-9a-f]{40})/(?P<path>.+)$")


class _Server(ThreadingHTTPServer):
    # The standard library listens with a backlog of 5: a client opening dozens of connections
    # at once (hf_transfer opens up to 100) has its SYNs dropped and waits 1-3 s to retry. Real
    # servers accept far more; so does this one.
    request_queue_size = 1024

    def handle_error(self, request, client_address) -> None:
        # A client killed or stopped mid-answer resets its connections: that is the tests'
        # business (they kill clients on purpose), not a traceback on stderr.
        import sys

        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    hub: FakeHub

    def setup(self) -> None:
        super().setup()
        threading.current_thread()._imageworks_hub = self.hub
        with self.hub._lock:
            self.hub.connections += 1
            self.hub._open.add(self.connection)

    def finish(self) -> None:
        with self.hub._lock:
            self.hub._open.discard(self.connection)
        super().finish()
    protocol_version = "HTTP/1.1"
    # As real servers and CDNs do. With Nagle on, the small write that ends a response waits for
    # the client's delayed ACK: 40 ms added to every API answer and every ranged piece.
    disable_nagle_algorithm = True

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None, *, head=False) -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head and body:
            self.wfile.write(body)

    def _json(self, status: int, doc: Any, headers: dict[str, str] | None = None, *, head=False) -> None:
        self._send(status, json.dumps(doc).encode(), {"Content-Type": "application/json", **(headers or {})},
                   head=head)

    def _error(self, status: int, code: str, message: str, head=False) -> None:
        self._send(status, json.dumps({"error": message}).encode(),
                   {"X-Error-Code": code, "X-Error-Message": message, "Content-Type": "application/json"}, head=head)

    def _repo(self, repo_id: str, rev: str | None, head=False) -> tuple[HubRepo, str] | None:
        hub = self.hub
        repo = hub.repos.get(repo_id)
        auth = self.headers.get("Authorization", "")
        authorised = hub.token is not None and auth == f"Bearer {hub.token}"
        if auth and hub.token is not None and not authorised:
            self._error(401, "InvalidCredentials", "Invalid credentials in Authorization header", head)
            return None
        if repo is None or (repo.private and not authorised):
            self._error(401 if not auth else 404, "RepoNotFound", "Repository not found", head)
            return None
        if repo.gated and (not authorised or not repo.granted):
            self._error(403 if auth else 401, "GatedRepo", "Access to model is restricted", head)
            return None
        rev = unquote(rev or "main")
        commit = repo.revisions.get(rev) or (rev if rev in repo.revisions.values() or rev in repo.history else None)
        if commit is None:
            self._error(404, "RevisionNotFound", f"Invalid rev id: {rev}", head)
            return None
        return repo.at(commit), commit

    def do_HEAD(self) -> None:
        self._dispatch(head=True)

    def do_GET(self) -> None:
        self._dispatch(head=False)
        if self.hub.faults.close_idle:
            self.close_connection = True  # as a server whose keep-alive timer ran out

    def do_POST(self) -> None:
        """``POST /api/models/<repo>/paths-info/<rev>`` (``HfApi.get_paths_info``, and what
        mirrors such as olah ask before serving a file): the tree items of the asked paths, form
        or JSON ``paths``; a path the revision lacks is left out, as the hub does."""
        url = urlparse(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        self.hub.requests.append((self.command, url.path, dict(self.headers)))
        match = _PATHS_INFO.match(url.path)
        if match is None:
            self._send(404, b"not found")
            return
        found = self._repo(match["repo"], match["rev"])
        if found is None:
            return
        repo, _commit = found
        if "json" in self.headers.get("Content-Type", ""):
            try:
                asked = json.loads(body or b"{}").get("paths", [])
            except (ValueError, AttributeError):
                self._error(400, "BadRequest", "paths must be a list of strings")
                return
        else:
            asked = parse_qs(body.decode("utf-8", "replace")).get("paths", [])
        if isinstance(asked, str):
            asked = [asked]
        items = {item["path"]: item for item in _tree(repo, "", recursive=True)}
        wanted = [p.strip("/") for p in dict.fromkeys(asked) if isinstance(p, str)]
        self._json(200, [items[p] for p in wanted if p in items])

    def _dispatch(self, head: bool) -> None:
        hub = self.hub
        url = urlparse(self.path)
        hub.requests.append((self.command, url.path, dict(self.headers)))
        if hub.faults.busy_responses > 0 and (url.path.startswith("/cdn/") or "/resolve/" in url.path):
            hub.faults.busy_responses -= 1
            self._send(hub.faults.busy_status, b"busy", {"Retry-After": "0"}, head=head)
            return
        match = _API.match(url.path)
        if match:
            self._api(match, parse_qs(url.query), head)
            return
        match = _RESOLVE.match(url.path)
        if match:
            found = self._repo(match["repo"], match["rev"], head)
            if found is None:
                return
            repo, commit = found
            path = unquote(match["path"])
            if path not in repo.files:
                self._error(404, "EntryNotFound", f"{path} does not exist", head)
                return
            if hub.faults.redirect:
                port = self.server.server_address[1]
                cdn = f"http://{hub.faults.cdn_host}:{port}" if hub.faults.cdn_host else ""
                self._send(302, b"", {"Location": f"{cdn}/cdn/{repo.repo_id}/{commit}/{match['path']}",
                                      "X-Repo-Commit": commit, "ETag": f'"{repo.files[path].sha256}"',
                                      "X-Linked-Size": str(repo.files[path].size),
                                      "X-Linked-ETag": f'"{repo.files[path].sha256}"'}, head=head)
                return
            self._file(repo, commit, path, head)
            return
        match = _CDN.match(url.path)
        if match:
            repo = hub.repos.get(match["repo"])
            repo = repo.at(match["commit"]) if repo is not None else None
            path = unquote(match["path"])
            if repo is None or path not in repo.files:
                self._send(404, b"not found", head=head)
                return
            self._file(repo, match["commit"], path, head)
            return
        self._send(404, b"not found", head=head)

    def _api(self, match: re.Match, query: dict[str, list[str]], head: bool = False) -> None:
        tree_rev = match["tree_rev"]
        found = self._repo(match["repo"], match["rev"] or tree_rev, head)
        if found is None:
            return
        repo, commit = found
        if tree_rev is not None:
            prefix = unquote(match["tree_path"] or "").strip("/")
            recursive = query.get("recursive", ["false"])[0].lower() in ("1", "true")
            self._json(200, _tree(repo, prefix, recursive), head=head)
            return
        siblings = []
        for f in repo.files.values():
            item: dict[str, Any] = {"rfilename": f.path}
            if query.get("blobs") and not self.hub.faults.no_file_metadata:
                item["size"] = f.size
                item["blobId"] = hashlib.sha1(f.sha256.encode()).hexdigest()
                if f.lfs:
                    item["lfs"] = {"sha256": f.sha256, "size": f.size, "pointerSize": 134}
            siblings.append(item)
        self._json(200, {"_id": "x", "id": repo.repo_id, "modelId": repo.repo_id, "sha": commit,
                         "private": repo.private, "gated": "manual" if repo.gated else False,
                         "disabled": False, "downloads": 0, "likes": 0, "tags": [], "siblings": siblings,
                         "lastModified": "2026-01-01T00:00:00.000Z", "createdAt": "2026-01-01T00:00:00.000Z"},
                   head=head)

    def _file(self, repo: HubRepo, commit: str, path: str, head: bool) -> None:
        hub = self.hub
        f = repo.files[path]
        start, end = 0, f.size
        status = 200
        range_header = self.headers.get("Range")
        if range_header and not hub.faults.ignore_range:
            m = re.match(r"bytes=(\d+)-(\d*)$", range_header)
            if m:
                start = int(m[1])
                end = min(f.size, int(m[2]) + 1) if m[2] else f.size
                if start >= f.size:
                    self._send(416, b"", {"Content-Range": f"bytes */{f.size}"}, head=head)
                    return
                status = 206
                if hub.faults.shifted_ranges > 0 and start + 1 < end and not head:
                    hub.faults.shifted_ranges -= 1
                    start += 1  # as a confused cache in between might; Content-Range tells
        self.send_response(status)
        if hub.faults.unframed and not head:
            self.close_connection = True  # HTTP/1.1 allows a body that ends with its connection
        else:
            self.send_header("Content-Length", str(end - start))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("ETag", f'"{f.sha256}"')
        self.send_header("X-Repo-Commit", commit)
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end - 1}/{f.size}")
        self.end_headers()
        if head:
            return
        if hub.faults.stall_seconds:
            hub._stopping.wait(hub.faults.stall_seconds)
        position = start
        sent = 0
        chunk = 256 * 1024
        began = time.monotonic()
        plain = f.disk is not None and hub.faults.corrupt_path != path and hub.faults.drops_left <= 0
        try:
            if plain:  # the fast path for benchmarks: sendfile from the page cache
                self.wfile.flush()
                with open(f.disk, "rb") as handle:
                    while position < end:
                        count = os.sendfile(self.connection.fileno(), handle.fileno(), position,
                                            min(1 << 20, end - position))
                        if count <= 0:
                            break
                        hub.count(path, count)
                        position += count
                        sent += count
                        if hub.faults.throttle_bps:
                            ahead = sent / hub.faults.throttle_bps - (time.monotonic() - began)
                            if ahead > 0:
                                hub._stopping.wait(ahead)
                return
            while position < end:
                piece = f.read(position, min(end, position + chunk))
                if hub.faults.corrupt_path == path and position == start:
                    piece = bytes([piece[0] ^ 0xFF]) + piece[1:]
                if hub.faults.drop_after_bytes is not None and hub.faults.drops_left > 0 \
                        and sent + len(piece) > hub.faults.drop_after_bytes:
                    keep = max(0, hub.faults.drop_after_bytes - sent)
                    self.wfile.write(piece[:keep])
                    hub.count(path, keep)
                    hub.faults.drops_left -= 1
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                self.wfile.write(piece)
                hub.count(path, len(piece))
                position += len(piece)
                sent += len(piece)
                if hub.faults.throttle_bps:
                    ahead = sent / hub.faults.throttle_bps - (time.monotonic() - began)
                    if ahead > 0:
                        hub._stopping.wait(ahead)
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True


def _tree(repo: HubRepo, prefix: str, recursive: bool) -> list[dict[str, Any]]:
    items: dict[str, dict[str, Any]] = {}
    for f in repo.files.values():
        if prefix and not f.path.startswith(prefix + "/"):
            continue
        rest = f.path[len(prefix) + 1:] if prefix else f.path
        parts = rest.split("/")
        for depth in range(1, len(parts)):
            folder = "/".join(([prefix] if prefix else []) + parts[:depth])
            if recursive or depth == 1:
                items.setdefault(folder, {"type": "directory", "oid": hashlib.sha1(folder.encode()).hexdigest(),
                                          "size": 0, "path": folder})
        if len(parts) == 1 or recursive:
            item: dict[str, Any] = {"type": "file", "oid": hashlib.sha1(f.sha256.encode()).hexdigest(),
                                    "size": f.size, "path": f.path}
            if f.lfs:
                item["lfs"] = {"oid": f.sha256, "size": f.size, "pointerSize": 134}
            items[f.path] = item
    return [items[k] for k in sorted(items)]


def random_bytes(size: int, seed: int = 0) -> bytes:
    """Deterministic incompressible bytes (sha256 counter mode is fast enough for tests)."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"{seed}:{counter}".encode()).digest() * 64
        counter += 1
    return bytes(out[:size])


def big_file(path: Path, size: int, seed: int = 0) -> Path:
    """A large file of pseudo-random bytes, written in chunks (for benchmarks)."""
    block = os.urandom(1 << 20) if seed == 0 else random_bytes(1 << 20, seed)
    with open(path, "wb") as handle:
        written = 0
        while written < size:
            piece = block[: min(len(block), size - written)]
            handle.write(piece)
            written += len(piece)
    return path

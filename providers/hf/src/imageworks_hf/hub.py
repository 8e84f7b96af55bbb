"""Hub access through ``huggingface_hub`` (so HF_ENDPOINT, HF_TOKEN/login, HF_HUB_OFFLINE and
proxies behave as users expect), with its errors turned into our one-line messages."""

from __future__ import annotations

import json
import os
import sys

import attrs

from imageworks_core import BadInputError, DownloadError, ImageworksError, NotFoundError, UnsafePathError

from . import tls
from .filenames import check_listing


@attrs.frozen
class RemoteFile:
    path: str
    size: int | None
    sha256: str | None  # LFS files only
    blob_id: str | None = None  # the tree's ``oid``: git's blob id (of the pointer, for LFS files)

    @property
    def is_lfs(self) -> bool:
        return self.sha256 is not None

    @property
    def etag(self) -> str | None:
        """The file's blob name in the Hugging Face cache: sha256 for LFS files, else the git blob id."""
        return self.sha256 if self.is_lfs else self.blob_id


@attrs.frozen
class RepoListing:
    repo_id: str
    revision: str
    commit: str
    files: dict[str, RemoteFile]
    gated: bool = False


def token() -> str | None:
    """HF_TOKEN or the huggingface_hub login; never stored, logged or put on a command line."""
    from huggingface_hub import get_token
    from imageworks_core.kit import add_secret

    value = get_token()
    add_secret(value)  # from now on redacted from every log line and message
    return value


def use_endpoint(settings) -> None:
    """Hand the ``hf_endpoint`` setting to huggingface_hub, which reads only the HF_ENDPOINT
    variable, once, at import. The variable itself wins (the setting resolves to it); a value
    from a settings file is put in the environment (for aria2c and child processes too) and,
    in a process that has imported huggingface_hub already (the GUI), into its constants."""
    value = getattr(settings, "hf_endpoint", None)
    if not value:
        return
    value = str(value).rstrip("/")
    os.environ["HF_ENDPOINT"] = value
    constants = sys.modules.get("huggingface_hub.constants")
    if constants is not None and constants.ENDPOINT != value:
        constants.ENDPOINT = value
        constants.HUGGINGFACE_CO_URL_TEMPLATE = value + "/{repo_id}/resolve/{revision}/{filename}"


def endpoint() -> str:
    from huggingface_hub import constants

    return constants.ENDPOINT.rstrip("/")


def translate(exc: Exception, repo_id: str, revision: str) -> Exception:
    from huggingface_hub import errors

    if isinstance(exc, ImageworksError):  # an answer our own checks refused: already one line
        return exc
    name = type(exc).__name__
    if tls.untrusted(exc):
        from urllib.parse import urlsplit

        return tls.untrusted_error(urlsplit(endpoint()).netloc)
    if isinstance(exc, errors.GatedRepoError):
        return DownloadError(f"{repo_id} is a gated repo and this token has no access",
                             hint=f"request access at https://huggingface.co/{repo_id} and set HF_TOKEN (or `hf auth login`)")
    if isinstance(exc, errors.RevisionNotFoundError):
        return NotFoundError(f"revision {revision!r} does not exist in {repo_id}", hint="check the branch, tag or commit")
    if isinstance(exc, errors.RepositoryNotFoundError):
        return NotFoundError(f"repo {repo_id} was not found (or is private and the token cannot see it)",
                             hint="check the id; for a private repo set HF_TOKEN")
    if isinstance(exc, errors.EntryNotFoundError):
        return NotFoundError(f"file not found in {repo_id}@{revision}: {exc}")
    if isinstance(exc, errors.OfflineModeIsEnabled):
        return DownloadError("HF_HUB_OFFLINE is set: the hub cannot be reached", hint="unset HF_HUB_OFFLINE to download")
    if isinstance(exc, errors.HfHubHTTPError):
        status = getattr(getattr(exc, "response", None), "status_code", "?")
        if status == 401:
            return DownloadError("the hub refused the token (401: invalid or expired)",
                                 hint="check HF_TOKEN or run `hf auth login` again")
        return DownloadError(f"the hub answered {status} for {repo_id}@{revision}; try again later")
    if name in ("ConnectError", "ConnectTimeout", "ReadTimeout", "TimeoutException", "NetworkError") or isinstance(exc, OSError):
        return DownloadError(f"cannot reach the hub at {endpoint()}: {type(exc).__name__}",
                             hint="check the network, HF_ENDPOINT and proxies")
    return DownloadError(f"hub request failed: {type(exc).__name__}: {exc}")


def _tree_files(api, repo_id: str, commit: str) -> dict[str, RemoteFile]:
    """The recursive tree at ``commit``: every file with its size and LFS sha256."""
    from huggingface_hub.hf_api import RepoFile

    files: dict[str, RemoteFile] = {}
    for item in api.list_repo_tree(repo_id, revision=commit, recursive=True):
        if isinstance(item, RepoFile):
            lfs = item.lfs
            sha = (lfs.sha256 if hasattr(lfs, "sha256") else (lfs or {}).get("sha256")) if lfs else None
            files[_name(item.path)] = RemoteFile(item.path, item.size, sha, item.blob_id)
    return files


def _sibling_files(info) -> dict[str, RemoteFile]:
    siblings = info.siblings or []
    if not isinstance(siblings, list):
        raise BadInputError(f"the hub returned a file list of the wrong shape for {info.id!r}; nothing was written")
    return {_name(s.rfilename): RemoteFile(s.rfilename, s.size, getattr(s.lfs, "sha256", None) if s.lfs else None,
                                           s.blob_id) for s in siblings}


def _name(path) -> str:
    """A listed file name, which must at least be text (the listing checks do the rest)."""
    if not isinstance(path, str):
        raise UnsafePathError(f"the hub listed a file name that is a {type(path).__name__}; nothing was written")
    return path


def _is_hex40(value) -> bool:
    return isinstance(value, str) and len(value) == 40 and all(c in "0123456789abcdef" for c in value)


def _checked(repo_id: str, revision: str, info, files: dict[str, RemoteFile]) -> RepoListing:
    """The listing once every name, size and digest and the commit passed the untrusted-input checks."""
    check_listing([(f.path, f.size, f.sha256) for f in files.values()])
    for f in files.values():  # a blob id names a file in the HF cache: 40 hex or nothing
        if f.blob_id is not None and not _is_hex40(f.blob_id):
            raise BadInputError(f"the hub returned an invalid blob id {f.blob_id!r} for {f.path!r}; nothing was written")
    commit = info.sha or revision
    if not _is_hex40(commit):
        raise BadInputError(f"the hub returned an invalid commit id {commit!r} for {repo_id}@{revision}")
    return RepoListing(repo_id, revision, commit, files, bool(info.gated))


def list_repo(repo_id: str, revision: str) -> RepoListing:
    """Model info (commit, gating) and the recursive tree (every file with size and LFS sha256)."""
    from huggingface_hub import HfApi

    tls.configure_hub_client()
    api = HfApi(token=token())
    try:
        info = api.model_info(repo_id, revision=revision, files_metadata=True)
        files = _tree_files(api, repo_id, info.sha or revision)
    except Exception as exc:  # noqa: BLE001 - mapped to a domain error
        raise translate(exc, repo_id, revision) from None
    for path, sibling in _sibling_files(info).items():  # a listing without the tree still works
        files.setdefault(path, sibling)
    return _checked(repo_id, revision, info, files)


def model_files(repo_id: str, revision: str) -> RepoListing:
    """One metadata request (model info with file metadata): the commit a revision points to now,
    and every file with its size and LFS sha256. ``outdated`` makes exactly one per repo.

    A mirror may drop the query that asks for file metadata (olah 0.5.4 forwards
    ``/revision/main`` without ``?blobs=true``): siblings then come without sizes, and the tree at
    that commit is asked too, or a changed weight file of the same name would go unnoticed."""
    from huggingface_hub import HfApi

    tls.configure_hub_client()
    api = HfApi(token=token())
    try:
        info = api.model_info(repo_id, revision=revision, files_metadata=True)
        files = _sibling_files(info)
        if info.sha and any(f.size is None for f in files.values()):
            files = _tree_files(api, repo_id, info.sha)
    except Exception as exc:  # noqa: BLE001 - mapped to a domain error
        raise translate(exc, repo_id, revision) from None
    return _checked(repo_id, revision, info, files)


SMALL_FILE_LIMIT = 4 << 20


def read_small_file(repo_id: str, commit: str, path: str) -> bytes | None:
    """A small text file (config.json) straight from the hub, for format detection; None when
    it cannot be had (the download itself then says why). Through the downloader's socket
    client where it applies (no proxy), else requests."""
    from urllib.parse import urlsplit

    from .socket_http import SocketHttp, Unsupported

    url = resolve_url(repo_id, commit, path)
    client = SocketHttp(timeout=30)
    try:
        if client.handles(url):
            with client.get(url, auth_headers(), auth_host=urlsplit(url).netloc) as answer:
                if answer.status != 200 or (answer.left or 0) > SMALL_FILE_LIMIT:
                    return None
                return answer.read()
    except Unsupported:
        pass  # an answer without a length (chunked, say): requests reads it
    except OSError:  # network and TLS errors: the download itself reports them
        return None
    finally:
        client.close()
    import requests

    try:
        response = requests.get(url, headers=auth_headers(), timeout=30, verify=tls.requests_verify())
        if response.status_code != 200 or len(response.content) > SMALL_FILE_LIMIT:
            return None
        return response.content
    except requests.RequestException:
        return None


def read_json(repo_id: str, commit: str, path: str) -> dict | None:
    data = read_small_file(repo_id, commit, path)
    try:
        doc = json.loads(data) if data else None
    except (ValueError, RecursionError):
        return None
    return doc if isinstance(doc, dict) else None


def resolve_url(repo_id: str, revision: str, path: str) -> str:
    from urllib.parse import quote

    return f"{endpoint()}/{repo_id}/resolve/{quote(revision, safe='')}/{quote(path)}"


def auth_headers() -> dict[str, str]:
    value = token()
    headers = {"User-Agent": "imageworks-model-manager"}
    if value:
        headers["Authorization"] = f"Bearer {value}"
    return headers

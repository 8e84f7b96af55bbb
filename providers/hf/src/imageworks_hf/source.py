"""The source forms ``download`` accepts, parsed and validated before any request is made."""

from __future__ import annotations

import re
from urllib.parse import unquote, urlparse

import attrs

from imageworks_core import BadInputError
from imageworks_core.kit import repo_id_problem, revision_problem

HF_HOSTS = {"huggingface.co", "www.huggingface.co", "hf.co"}


@attrs.frozen
class Source:
    repo_id: str | None
    revision: str = "main"
    file: str | None = None  # a single file in the repo (``.../resolve/rev/path``)
    url: str | None = None  # any other https:// URL of a single file

    @property
    def is_repo(self) -> bool:
        return self.repo_id is not None


def _check_repo(repo_id: str, original: str) -> str:
    if repo_id_problem(repo_id):
        raise BadInputError(f"invalid repo id {repo_id!r} in {original!r}: expected owner/name")
    return repo_id


def _check_revision(revision: str, original: str) -> str:
    if revision_problem(revision):
        raise BadInputError(f"invalid revision {revision!r} in {original!r}")
    return revision


def parse_source(text: str, endpoint: str | None = None) -> Source:
    """``owner/repo``, ``owner/repo@rev``, ``https://huggingface.co/owner/repo[/tree/rev]``,
    ``.../resolve/rev/path`` (that file only), or any other ``https://`` URL of one file."""
    original = text
    text = text.strip()
    if text.startswith(("http://", "https://")):
        url = urlparse(text)
        hosts = set(HF_HOSTS)
        if endpoint:
            hosts.add(urlparse(endpoint).netloc)
        if url.netloc not in hosts:
            if url.scheme != "https" and not (endpoint and url.netloc == urlparse(endpoint).netloc):
                raise BadInputError(f"refusing plain-http URL {text!r}: use https://")
            if not url.path or url.path.endswith("/"):
                raise BadInputError(f"{text!r} does not name a file")
            return Source(None, "main", None, text)
        parts = [unquote(p) for p in url.path.strip("/").split("/") if p]
        if parts and parts[0] == "models":
            parts = parts[1:]
        if len(parts) < 2:
            raise BadInputError(f"{text!r} does not name a repo (expected https://huggingface.co/owner/repo)")
        repo_id = _check_repo(f"{parts[0]}/{parts[1]}", original)
        rest = parts[2:]
        if not rest:
            return Source(repo_id)
        if rest[0] == "tree" and len(rest) >= 2:
            return Source(repo_id, _check_revision("/".join(rest[1:]), original))
        if rest[0] in ("resolve", "blob") and len(rest) >= 3:
            return Source(repo_id, _check_revision(rest[1], original), "/".join(rest[2:]))
        raise BadInputError(f"cannot read {text!r}: expected /tree/<rev> or /resolve/<rev>/<file>")
    repo_id, _, revision = text.partition("@")
    if "@" in text and not revision:
        raise BadInputError(f"empty revision in {original!r}")
    return Source(_check_repo(repo_id, original), _check_revision(revision or "main", original))

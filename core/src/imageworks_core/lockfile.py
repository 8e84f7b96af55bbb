"""Reading a lock file. It comes from git, from a colleague: untrusted input, checked whole
(shape, commits, safe relative paths, digests, sizes, duplicates) with the rules hub metadata is
checked by, and each source by its provider (``updates.check_sources``), before ``sync`` makes its
first request."""

from __future__ import annotations

import re
from typing import Any

from .entry_shape import name_problem
from .errors import BadInputError
from .hub_names import HEX40, HEX64, revision_problem, size_problem, unsafe_path_reason

LOCK_VERSION = 1
_PROVIDER = re.compile(r"^[a-z][a-z0-9_-]{0,63}\Z")
_TEXT_FIELDS = ("format", "quantization", "backend", "location")


def read_lock(path: str) -> list[dict[str, Any]]:
    """The lock file's models, each checked; BadInputError naming the first problem otherwise."""
    import tomllib

    try:
        with open(path, "rb") as handle:
            doc = tomllib.load(handle)
    except FileNotFoundError:
        raise BadInputError(f"lock file {path} does not exist") from None
    except OSError as exc:
        raise BadInputError(f"lock file {path} cannot be read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise BadInputError(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise BadInputError(f"{path}: {exc}") from None
    except RecursionError:
        raise BadInputError(f"{path}: nested too deeply") from None
    return check_lock(doc, str(path))


def split_source(source: str) -> tuple[str, str]:
    """A lock file's ``<provider>:<source>`` -> (provider, the provider's own source); the
    provider checks its part (``sync``'s ``check_sources``)."""
    provider, _, rest = source.partition(":")
    return provider, rest


def check_lock(doc: dict[str, Any], path: str) -> list[dict[str, Any]]:
    if doc.get("version") != LOCK_VERSION or not isinstance(doc.get("model", []), list):
        raise BadInputError(f"{path}: not an imageworks lock file of version {LOCK_VERSION}")
    models = doc.get("model", [])
    names: set[str] = set()
    for i, model in enumerate(models):
        where = f"{path}: $.model[{i}]"
        problem = _model_problem(model)
        if problem:
            raise BadInputError(f"{where}{problem}", hint="a lock file is written by `imageworks-download lock`")
        if model["name"] in names:
            raise BadInputError(f"{where}.name: {model['name']!r} is locked twice")
        names.add(model["name"])
    return models


def _model_problem(model: Any) -> str | None:
    """What is wrong with one ``[[model]]`` (``.field: reason``), or None."""
    if not isinstance(model, dict):
        return " must be a table"
    for key in ("name", "source", "commit", "files"):
        if key not in model:
            return f".{key} is missing"
    for key in ("name", "source", "commit", "revision", *_TEXT_FIELDS):
        if key in model and not isinstance(model[key], str):
            return f".{key} must be a string, not {type(model[key]).__name__}"
    if problem := name_problem(model["name"]):
        return f".name: {problem}"
    provider, rest = split_source(model["source"])
    if not _PROVIDER.match(provider) or not rest or any(ord(c) < 32 for c in rest):
        return f".source {model['source']!r} is not PROVIDER:SOURCE"
    if "revision" in model and (problem := revision_problem(model["revision"])):
        return f".revision: {problem}"
    if not HEX40.match(model["commit"]):
        return f".commit {model['commit']!r} is not a 40-hex commit"
    roles = model.get("roles", [])
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        return ".roles must be a list of strings"
    return _files_problem(model["files"])


def _files_problem(files: Any) -> str | None:
    if not isinstance(files, list) or not files:
        return ".files must be a non-empty list of tables"
    seen: dict[str, str] = {}
    for j, f in enumerate(files):
        where = f".files[{j}]"
        if not isinstance(f, dict):
            return f"{where} must be a table"
        path, size, sha = f.get("path"), f.get("size"), f.get("sha256")
        if not isinstance(path, str):
            return f"{where}.path must be a string"
        if reason := unsafe_path_reason(path):
            return f"{where}.path {path!r} is unsafe ({reason})"
        if problem := size_problem(size):
            return f"{where}.size: {problem}"
        if not isinstance(sha, str) or not HEX64.match(sha):
            return f"{where}.sha256 {sha!r} is not 64 lowercase hex digits"
        folded = path.casefold()  # a case-insensitive disk would hold one file for both
        if folded in seen:
            return f"{where}.path {path!r} is listed twice" + ("" if seen[folded] == path else f" (as {seen[folded]!r})")
        seen[folded] = path
    return None

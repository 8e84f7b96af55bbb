"""What a hub name may be: repo ids, revisions, file paths, digests and sizes. Names from a
hub listing, a lock file or a person are untrusted input (reliability.md #7): one set of rules
for all of them, checked before anything is fetched or written."""

from __future__ import annotations

import re

_REPO_PART = r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9_])?"
REPO_ID = re.compile(rf"^{_REPO_PART}/{_REPO_PART}$")
HEX40 = re.compile(r"^[0-9a-f]{40}\Z")
HEX64 = re.compile(r"^[0-9a-f]{64}\Z")
MAX_FILE_SIZE = 1 << 44  # 16 TiB: no model file is larger; a claim beyond it is a lie
MAX_COMPONENT = 255
_DRIVE = re.compile(r"^[A-Za-z]:")


def repo_id_problem(repo_id: str) -> str | None:
    if not REPO_ID.match(repo_id) or ".." in repo_id or "--" in repo_id:
        return f"invalid repo id {repo_id!r}: expected owner/name"
    return None


def revision_problem(revision: str) -> str | None:
    if not revision or len(revision) > 200 or ".." in revision or revision.startswith("/") or \
            any(c in revision for c in "\0\n\r \\~^:?*["):
        return f"invalid revision {revision!r}"
    return None


def unsafe_path_reason(path: str) -> str | None:
    """Why a relative file path from outside could escape its folder or confuse a file system."""
    if not path:
        return "empty name"
    if any(c in path for c in "\0\n\r"):
        return "control character in name"
    if "\\" in path:
        return "backslash in name"
    if path.startswith("/") or _DRIVE.match(path) or path.startswith("//"):
        return "absolute path"
    parts = path.split("/")
    if any(part in ("", ".", "..") for part in parts):
        return "'.', '..' or empty path component"
    if parts[0] in (".git", ".imageworks-partial") or ".git" in parts:
        return "reserved folder"
    if any(len(part.encode("utf-8", "surrogatepass")) > MAX_COMPONENT for part in parts):
        return "path component too long"
    return None


def size_problem(size: object) -> str | None:
    if not isinstance(size, int) or isinstance(size, bool) or not 0 <= size < MAX_FILE_SIZE:
        return f"impossible size {size!r}"
    return None

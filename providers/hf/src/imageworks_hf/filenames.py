"""Hub file names are untrusted input (docs/reliability.md #7): refuse anything that could escape
the target folder or confuse a file system, before anything is written."""

from __future__ import annotations

import re

from imageworks_core import UnsafePathError

_DRIVE = re.compile(r"^[A-Za-z]:")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
MAX_COMPONENT = 255


def unsafe_reason(path: str) -> str | None:
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
    if any(len(part.encode("utf-8")) > MAX_COMPONENT for part in parts):
        return "path component too long"
    return None


def check_listing(files: list[tuple[str, int | None, str | None]]) -> None:
    """(path, size, sha256) of every listed file: names, sizes, digests and case twins."""
    seen: dict[str, str] = {}
    for path, size, sha in files:
        reason = unsafe_reason(path)
        if reason:
            raise UnsafePathError(f"the hub listed an unsafe file name {path!r} ({reason}); nothing was written")
        if size is not None and (not isinstance(size, int) or size < 0 or size > 1 << 44):
            raise UnsafePathError(f"the hub listed an impossible size {size!r} for {path!r}; nothing was written")
        if sha is not None and not _HEX64.match(sha):
            raise UnsafePathError(f"the hub listed an invalid sha256 {sha!r} for {path!r}; nothing was written")
        folded = path.casefold()
        if folded in seen and seen[folded] != path:
            raise UnsafePathError(f"the hub listed {seen[folded]!r} and {path!r}, which clash on a "
                                  f"case-insensitive disk; nothing was written")
        seen[folded] = path

"""Hub file names are untrusted input (docs/reliability.md #7): refuse anything that could escape
the target folder or confuse a file system, before anything is written."""

from __future__ import annotations

import re

from imageworks_core import UnsafePathError
from imageworks_core.kit import size_problem
from imageworks_core.kit import unsafe_path_reason as unsafe_reason  # the core's rules: lock files share them

_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def check_listing(files: list[tuple[str, int | None, str | None]]) -> None:
    """(path, size, sha256) of every listed file: names, sizes, digests and case twins."""
    seen: dict[str, str] = {}
    for path, size, sha in files:
        reason = unsafe_reason(path) if isinstance(path, str) else f"a {type(path).__name__}, not a name"
        if reason:
            raise UnsafePathError(f"the hub listed an unsafe file name {path!r} ({reason}); nothing was written")
        if size is not None and size_problem(size):
            raise UnsafePathError(f"the hub listed an impossible size {size!r} for {path!r}; nothing was written")
        if sha is not None and not (isinstance(sha, str) and _HEX64.match(sha)):
            raise UnsafePathError(f"the hub listed an invalid sha256 {sha!r} for {path!r}; nothing was written")
        folded = path.casefold()
        if folded in seen and seen[folded] != path:
            raise UnsafePathError(f"the hub listed {seen[folded]!r} and {path!r}, which clash on a "
                                  f"case-insensitive disk; nothing was written")
        seen[folded] = path

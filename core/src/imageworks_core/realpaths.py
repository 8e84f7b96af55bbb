"""``os.path.realpath`` for the thousands of paths one discovery run names, at one ``lstat``
each instead of one per path component.

Inside ``remembered_real_dirs()`` the real path of every folder resolved is remembered, so a
path's real form is its parent's (known) plus its own name, once an ``lstat`` shows the name is
not a link. A discovery run looks at a tree it takes as still; outside such a run nothing is
remembered, so a long-lived process (the GUI) sees links that change between runs.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import stat
from typing import Iterator

_real_dirs: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar("real_dirs", default=None)


@contextlib.contextmanager
def remembered_real_dirs() -> Iterator[None]:
    token = _real_dirs.set({}) if _real_dirs.get() is None else None
    try:
        yield
    finally:
        if token is not None:
            _real_dirs.reset(token)


def real_path(path: str | os.PathLike) -> str:
    """``os.path.realpath(path)``, with the parent folders' answers remembered in a run."""
    known = _real_dirs.get()
    if known is None:
        return os.path.realpath(path)
    found = known.get(path)  # type: ignore[call-overload] - keys are normalised: a hit needs no abspath
    if found is not None:
        return found
    return _resolve(os.path.abspath(path), known)


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """Are ``a`` and ``b`` one file (one inode: hard links, or links to it)? False if either is missing."""
    try:
        sa, sb = os.stat(a), os.stat(b)
    except OSError:
        return False
    return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)


def not_a_link(parent: str, name: str) -> None:
    """Tell the run that ``parent/name`` is no symbolic link (a directory listing said so: a
    walker knows this for free from ``DirEntry``), so that its real path is its parent's plus
    ``name`` without an ``lstat``. Only once the parent's real path is known; outside a run,
    nothing."""
    known = _real_dirs.get()
    if known is None:
        return
    real_parent = known.get(parent)
    if real_parent is not None:
        # Concatenation, not os.path.join: this runs for every folder of a scan.
        known[parent + name if parent.endswith(os.sep) else parent + os.sep + name] = (
            real_parent + name if real_parent.endswith(os.sep) else real_parent + os.sep + name)


def _resolve(path: str, known: dict[str, str]) -> str:
    found = known.get(path)
    if found is not None:
        return found
    parent, name = os.path.split(path)
    if not name:  # the root
        return path
    try:
        is_link = stat.S_ISLNK(os.lstat(path).st_mode)
    except (OSError, ValueError):  # missing: realpath's own answer for what is not there
        return os.path.realpath(path)
    real = os.path.realpath(path) if is_link else os.path.join(_resolve(parent, known), name)
    known[path] = real
    return real

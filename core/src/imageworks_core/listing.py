"""Folder listings that one bad link cannot cut short.

``os.DirEntry.is_file()`` and ``is_dir()`` follow a link and raise where it cannot be followed
(a link to itself: ELOOP; a target behind a folder this user may not enter: EACCES), where
``os.path.isfile`` answers False. Asked inside a listing's comprehension, that error ends the
listing: everything the folder held after the link was lost with it (a link loop at the top of
a Hugging Face cache hid every repo, and made ``cleanup`` fail)."""

from __future__ import annotations

import os


def is_file_entry(entry: os.DirEntry) -> bool:
    """``entry.is_file()``, links followed; False for a link that cannot be followed."""
    try:
        return entry.is_file()
    except OSError:
        return False


def is_dir_entry(entry: os.DirEntry) -> bool:
    """``entry.is_dir()``, links followed; False for a link that cannot be followed."""
    try:
        return entry.is_dir()
    except OSError:
        return False


def file_names(folder: str | os.PathLike) -> list[str]:
    """The names of a folder's files (links to files count), sorted. Raises OSError only when
    the folder itself cannot be listed."""
    with os.scandir(folder) as entries:
        return sorted(entry.name for entry in entries if is_file_entry(entry))

"""Domain errors. The CLI turns them into one-line messages and exit codes, once, at the boundary."""

from __future__ import annotations


class ImageworksError(Exception):
    """Base of every error the tools report to a person. ``exit_code`` follows the CLI contract."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class BadInputError(ImageworksError):
    """Bad usage or bad input: a malformed id, an unreadable file, a path outside the roots."""

    exit_code = 2


class RegistryFormatError(BadInputError):
    """A layer file that cannot be parsed or validated. It is never overwritten in that state."""


class LockTimeoutError(ImageworksError):
    """Another process held the registry lock for longer than ``lock_timeout_s``."""


class NotFoundError(ImageworksError):
    """A name, repo, revision or file that does not exist."""


class DownloadError(ImageworksError):
    """A fetch that failed: network, access, verification or disk."""


class VerificationError(DownloadError):
    """A file whose content does not match the hash it should have."""


class UnsafePathError(BadInputError):
    """A path that would leave the configured roots, or a hostile file name from a hub."""


class Interrupted(ImageworksError):
    exit_code = 130

"""Structured JSON-lines log at ``<log_dir>/model_downloader.log``; the CLI and GUI write the same
records. Secrets are scrubbed here, once, so no caller can leak them."""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from typing import Any

LOG_NAME = "model_downloader.log"
_SECRET_KEYS = re.compile(r"token|authorization|password|secret|cookie", re.I)
_BEARER = re.compile(r"(Bearer\s+)[A-Za-z0-9._~+/=-]+")


def debug_enabled() -> bool:
    return os.environ.get("IMAGEWORKS_DEBUG", "") not in ("", "0", "false")


# Secret values known to this process, never written anywhere: providers add the tokens they use
# (add_secret), and settings declared ``SettingSpec(secret=True)`` add their values when resolved.
_secrets: set[str] = set()


def add_secret(value: str | None) -> None:
    """Make a secret value (a token) known, so that ``redact`` hides it from then on."""
    if value and len(value) >= 4:
        _secrets.add(value)


def secret_values() -> list[str]:
    """Known secrets, longest first (a secret containing another is hidden whole)."""
    return sorted(_secrets, key=len, reverse=True)


def redact(value: Any) -> Any:
    if isinstance(value, str):
        for secret in secret_values():
            value = value.replace(secret, "***")
        return _BEARER.sub(r"\1***", value)
    if isinstance(value, dict):
        return {k: ("***" if _SECRET_KEYS.search(str(k)) and v else redact(v)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    return value


class EventLog:
    """Appends one JSON object per line. A log that cannot be written never fails a command."""

    def __init__(self, log_dir: str | Path | None, command: str):
        self.path = Path(log_dir) / LOG_NAME if log_dir else None
        self.command = command

    def event(self, event: str, level: str = "info", **fields: Any) -> None:
        if self.path is None or (level == "debug" and not debug_enabled()):
            return
        record = {
            "ts": dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": level,
            "event": event,
            "command": self.command,
            **redact(fields),
        }
        from .jsonio import dumps_line

        line = dumps_line(record) + "\n"  # any path, a name that is not UTF-8 included
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # O_APPEND: concurrent writers' lines do not interleave (each write is one line).
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            try:
                os.write(fd, line.encode("utf-8"))
            finally:
                os.close(fd)
        except OSError:
            pass

    def debug(self, event: str, **fields: Any) -> None:
        self.event(event, "debug", **fields)

    def warning(self, event: str, **fields: Any) -> None:
        self.event(event, "warning", **fields)

    def error(self, event: str, **fields: Any) -> None:
        self.event(event, "error", **fields)

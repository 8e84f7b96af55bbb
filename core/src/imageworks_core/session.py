"""A working session: registry directory, settings, registry, log and plugins, built once per
CLI command or GUI action. The CLI and the GUI both go through this."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import dataclasses

from .eventlog import EventLog
from .registry.store import Registry, locate_registry_dir
from .settings import Settings, load_settings

if TYPE_CHECKING:  # imported when a hook context is made: read-only commands never need them
    from .hook_types import Context, Progress


@dataclasses.dataclass
class Session:
    registry_dir: Path
    settings: Settings
    registry: Registry
    log: EventLog
    registry_reason: str = ""  # why this registry directory (``config path``)

    @classmethod
    def open(
        cls,
        registry_dir: str | Path | None = None,
        *,
        command: str = "",
        overrides: dict[str, Any] | None = None,
    ) -> "Session":
        directory, reason = locate_registry_dir(registry_dir)
        settings = load_settings(directory, overrides)
        log = EventLog(settings.log_dir, command)

        def notice(message: str) -> None:
            log.warning("registry_notice", message=message)
            sys.stderr.write(f"warning: {message}\n")

        registry = Registry(
            directory, lock_timeout=settings.lock_timeout_s, backups_keep=settings.backups_keep, on_notice=notice
        )
        return cls(directory, settings, registry, log, reason)

    @property
    def plugins(self):
        from .plugins import get_plugins

        return get_plugins()

    def context(
        self,
        *,
        on_warning: Callable[[str, str], None] | None = None,
        on_progress: "Callable[[Progress], None] | None" = None,
        **typed: Any,
    ) -> "Context":
        """A hook context; ``typed`` sets the Context's typed fields (``ask_quant``,
        ``content_hash``, ``shared_files``)."""
        from .hook_types import Context

        def warn(item: str, reason: str) -> None:
            self.log.warning("skipped", item=item, reason=reason)
            if on_warning:
                on_warning(item, reason)

        return Context(self.settings, self.registry, on_warning=warn, on_progress=on_progress, **typed)

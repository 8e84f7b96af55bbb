"""Registry maintenance that goes through the hooks: verify, normalize, remove, prune, purge."""

from __future__ import annotations

import attrs

from .registry.store import utc_now
from .session import Session

PLACEHOLDER_PREFIX = "model-ollama-gguf"


def deprecate_placeholders(session: Session, *, dry_run: bool = False) -> list[str]:
    """Mark ``model-ollama-gguf*`` entries (from earlier versions) deprecated; it sticks, since
    re-imports keep an entry's ``deprecated`` flag."""
    names = []
    with session.registry.transaction(dry_run=dry_run) as tx:
        for name, entry in list(tx.discovered.items()):
            if name.startswith(PLACEHOLDER_PREFIX) and not entry.deprecated:
                tx.put(attrs.evolve(entry, deprecated=True, updated_at=utc_now()))
                names.append(name)
    if names and not dry_run:
        session.log.event("deprecated_placeholders", names=names)
    return names

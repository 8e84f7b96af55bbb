"""Running providers' discovery and merging what they find into the discovered layer."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterable

import attrs

from .gc_policy import few_full_collections
from .realpaths import remembered_real_dirs
from .registry.register import Change, register_variants
from .registry.store import utc_now
from .session import Session
from .hook_types import DiscoverRequest, Variant


@attrs.frozen
class DiscoveryReport:
    changes: tuple[Change, ...]
    warnings: tuple[tuple[str, str], ...]
    gone: tuple[str, ...]  # entries whose source no longer holds them
    dry_run: bool

    def count(self, action: str) -> int:
        return sum(1 for c in self.changes if c.action == action)


def collect_variants(session: Session, providers: Iterable[str], request: DiscoverRequest | None = None, *,
                     backend: str | None = None, location_label: str | None = None,
                     on_warning: Callable[[str, str], None] | None = None) -> tuple[list[Variant], list[tuple[str, str]]]:
    """Ask ``providers`` (and only them) for the variants their sources hold."""
    from .errors import ImageworksError

    providers = list(providers)
    request = request or DiscoverRequest()
    ctx = session.context(on_warning=on_warning)
    plugins = session.plugins
    for info in plugins.failed:
        if info.name in providers:
            raise ImageworksError(f"provider {info.name} failed to load: {info.error}",
                                  hint="reinstall it, or see `imageworks-download plugins`")
    missing = [p for p in providers if not plugins.manager.has_plugin(p)]
    if missing:
        # A command for a provider that is not installed did nothing: that is a failure, not a
        # warning behind exit 0.
        dist = ", ".join(f"imageworks-{name.replace('_', '-')}" for name in missing)
        raise ImageworksError(f"provider {', '.join(missing)} is not installed",
                              hint=f"install {dist} (see `imageworks-download plugins`)")
    variants: list[Variant] = []
    with remembered_real_dirs(), few_full_collections():
        answers = plugins.only("imageworks_discover", providers)(request=request, ctx=ctx)
    # Answers come in the providers' precedence order (plugins.py): of two providers seeing the
    # same files, the one asked first registers them, so a provider that knows more about a layout
    # declares a lower IMAGEWORKS_PRECEDENCE.
    for found in answers:
        for variant in found or ():
            variants.append(_apply_overrides(variant, backend, location_label))
    return variants, list(ctx.warnings)


def _apply_overrides(variant: Variant, backend: str | None, location_label: str | None) -> Variant:
    changes: dict[str, Any] = {}
    if backend:
        changes["backend"] = backend
    if location_label:
        changes["download_location"] = location_label
    return attrs.evolve(variant, **changes) if changes else variant


def discover(
    session: Session,
    providers: Iterable[str],
    request: DiscoverRequest | None = None,
    *,
    backend: str | None = None,
    location_label: str | None = None,
    dry_run: bool = False,
    update_existing: bool = True,
    reconcile: Callable[[Any], bool] | None = None,
    on_warning: Callable[[str, str], None] | None = None,
) -> DiscoveryReport:
    """Discover with ``providers`` and register the variants.

    ``reconcile`` selects entries that this run should have seen (a whole Ollama store, a whole
    LM Studio folder, a scanned base); those it did not see get ``metadata.missing_since`` and
    are reported, instead of lingering silently.
    """
    request = attrs.evolve(request or DiscoverRequest(), dry_run=dry_run)
    variants, warnings = collect_variants(session, providers, request, backend=backend,
                                          location_label=location_label, on_warning=on_warning)
    gone: list[str] = []
    with few_full_collections(), session.registry.transaction(dry_run=dry_run) as tx, remembered_real_dirs():
        changes = register_variants(tx, variants, update_existing=update_existing)
        if reconcile is not None:
            seen = {v.identity for v in variants}
            now = utc_now()
            for entry in list(tx.discovered.values()):
                if entry.identity in seen or not reconcile(entry):
                    continue
                gone.append(entry.name)
                if "missing_since" not in entry.metadata:
                    tx.put(attrs.evolve(entry, metadata={**entry.metadata, "missing_since": now}, updated_at=now))
    report = DiscoveryReport(tuple(changes), tuple(warnings), tuple(gone), dry_run)
    if not dry_run:
        session.log.event(
            "discovered", providers=list(providers), added=report.count("added"),
            updated=report.count("updated"), unchanged=report.count("unchanged"),
            skipped=len(warnings), gone=gone,
        )
    return report


def under(path: str | None, roots: Iterable[Path]) -> bool:
    if not path:
        return False
    target = Path(path)
    return any(target == root or root in target.parents for root in roots)

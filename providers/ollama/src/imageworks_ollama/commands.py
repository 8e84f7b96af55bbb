"""The ollama provider's commands: ``import-ollama``, ``restore-ollama`` and
``backfill-ollama-paths`` (imageworks-download), ``rebuild-ollama`` (imageworks-loader)."""

from __future__ import annotations

from pathlib import Path

import click

from imageworks_core import DiscoverRequest
from imageworks_core.kit import (collect_variants, discover, dry_run_option, location_label_of, print_report,
                                 register_variants, report_options, session_from, warn_printer)

from . import maintenance
from .maintenance import NAME, backfill_ollama_paths, restore_ollama


def import_ollama(ctx, dry_run, backend, location, deprecate_placeholders, store, host, command="import-ollama",
                  details=False, as_json=False):
    overrides = {"ollama_models": store, "ollama_host": host}
    session = session_from(ctx, command, overrides)
    report = discover(session, [NAME], DiscoverRequest(), backend=backend if backend != NAME else None,
                      location_label=location_label_of(session, location), dry_run=dry_run,
                      reconcile=lambda e: e.source_provider == NAME, on_warning=warn_printer)
    print_report(report, f"Ollama store {session.settings.ollama_models}", details=details, as_json=as_json)
    if deprecate_placeholders:
        names = maintenance.deprecate_placeholders(session, dry_run=dry_run)
        for name in names:
            click.echo(f"{'would deprecate' if dry_run else 'deprecated'} placeholder {name}", err=as_json)


def ollama_options(func):
    for option in reversed([
        dry_run_option,
        click.option("--backend", default="ollama", show_default=True),
        click.option("--location", default=None),
        click.option("--deprecate-placeholders", is_flag=True, help="Deprecate model-ollama-gguf* entries."),
        click.option("--store", default=None, type=click.Path(file_okay=False), help="Ollama models directory."),
        click.option("--host", default=None, help="Ollama server URL for optional enrichment."),
        report_options,
    ]):
        func = option(func)
    return func


@click.command("import-ollama")
@ollama_options
@click.pass_context
def import_ollama_command(ctx, dry_run, backend, location, deprecate_placeholders, store, host, details, as_json):
    """Register the Ollama store's models (Strategy A names)."""
    import_ollama(ctx, dry_run, backend, location, deprecate_placeholders, store, host,
                  details=details, as_json=as_json)


@click.command("rebuild-ollama")
@click.option("--location", default=None)
@dry_run_option
@click.pass_context
def rebuild_ollama_command(ctx, location, dry_run):
    """Drop the discovered Ollama entries and import the store again (curated ones stay)."""
    session = session_from(ctx, "rebuild-ollama")
    variants, warnings = collect_variants(session, [NAME], DiscoverRequest(),
                                          location_label=location_label_of(session, location), on_warning=warn_printer)
    seen = {v.identity for v in variants}
    with session.registry.transaction(backup=True, dry_run=dry_run) as tx:
        # Entries still in the store are re-imported in place (same identity, same name); the
        # rest are dropped. Curated entries are in the other layer and stay.
        dropped = [n for n, e in list(tx.discovered.items())
                   if (e.source_provider == "ollama" or e.backend == "ollama") and e.identity not in seen]
        for name in dropped:
            tx.delete(name)
        register_variants(tx, variants)
    click.echo(f"{'would drop' if dry_run else 'dropped'} {len(dropped)} discovered Ollama entries; "
               f"{'would import' if dry_run else 'imported'} {len(variants)} from {session.settings.ollama_models}; "
               f"{len(warnings)} skipped")
    for saved in tx.backups:
        click.echo(f"backup: {saved}")
    if not dry_run:
        session.log.event("rebuild_ollama", dropped=len(dropped), imported=len(variants))


@click.command("restore-ollama")
@click.option("--backup", "backup_file", type=click.Path(dir_okay=False), default=None,
              help="Backup file (default: the newest discovered-layer backup).")
@dry_run_option
@click.option("--include-deprecated", is_flag=True)
@click.pass_context
def restore_ollama_command(ctx, backup_file, dry_run, include_deprecated):
    """Bring back Ollama entries from a backup that are missing now."""
    session = session_from(ctx, "restore-ollama")
    used, names, backups = restore_ollama(session, Path(backup_file) if backup_file else None, dry_run=dry_run,
                                          include_deprecated=include_deprecated)
    click.echo(f"from {used}:")
    for name in names:
        click.echo(f"  {'would restore' if dry_run else 'restored'} {name}")
    click.echo(f"{len(names)} entr{'y' if len(names) == 1 else 'ies'} {'would be ' if dry_run else ''}restored")
    for path in backups:
        click.echo(f"backup: {path}")


@click.command("backfill-ollama-paths")
@dry_run_option
@click.pass_context
def backfill_ollama_paths_command(ctx, dry_run):
    """Fill download_path/download_files of Ollama entries from the store."""
    session = session_from(ctx, "backfill-ollama-paths")
    names = backfill_ollama_paths(session, dry_run=dry_run)
    for name in names:
        click.echo(f"{'would fill' if dry_run else 'filled'} {name}")
    click.echo(f"{len(names)} entr{'y' if len(names) == 1 else 'ies'} {'would be ' if dry_run else ''}filled")

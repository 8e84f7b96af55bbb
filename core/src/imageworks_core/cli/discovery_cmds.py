"""Commands that find models already on disk: scan, import-ollama, import-lmstudio, and the
loader's discover-all, ingest-local-hf, rebuild-ollama."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .base import dry_run_option, emit_json, print_table, session_from, warn_printer


# Above this many rows a rich table costs more than the scan that found them (measured: ~0.5 ms
# a row); compact tab-separated lines cost microseconds.
TABLE_ROWS_MAX = 200


def report_options(func):
    func = click.option("--json", "as_json", is_flag=True, help="The report as one JSON document on stdout.")(func)
    return click.option("--details", is_flag=True, help="Also list unchanged and already registered entries.")(func)


def print_report(report, title: str, *, details: bool = False, as_json: bool = False) -> None:
    """The summary and the changes, at a cost small next to the work that found them: added and
    updated rows (all rows with ``--details``) as a table at a terminal, compact tab-separated
    lines when piped or long, one JSON document with ``--json``."""
    from ..inventory import human_bytes

    changes = report.changes if details or as_json else [c for c in report.changes if c.action in ("added", "updated")]
    summary = {action: report.count(action) for action in ("added", "updated", "unchanged", "skipped")}
    if as_json:
        emit_json({
            "dry_run": report.dry_run, "summary": {**summary, "warnings": len(report.warnings), "gone": len(report.gone)},
            "changes": [{"action": c.action, "name": c.name, "format": c.variant.download_format,
                         "quantization": c.variant.quantization, "backend": c.variant.backend,
                         "size_bytes": c.entry.download_size_bytes if c.entry else None,
                         "path": c.variant.download_path, "reason": c.reason} for c in changes],
            "warnings": [{"item": item, "reason": reason} for item, reason in report.warnings],
            "gone": list(report.gone),
        })
        return
    planned = {"added": "would add", "updated": "would update"}
    rows = [[planned.get(c.action, c.action) if report.dry_run else c.action,
             c.name, c.variant.download_format, c.variant.quantization, c.variant.backend,
             human_bytes(c.entry.download_size_bytes if c.entry else None), c.variant.download_path]
            for c in changes]
    if rows and sys.stdout.isatty() and len(rows) <= TABLE_ROWS_MAX:
        print_table(title, ["action", "name", "format", "quant", "backend", "size", "path"], rows)
    elif rows:
        sys.stdout.write("".join("\t".join("" if cell is None else str(cell) for cell in row) + "\n" for row in rows))
    verb = "would be " if report.dry_run else ""
    text = (f"{summary['added']} {verb}added, {summary['updated']} {verb}updated, "
            f"{summary['unchanged']} unchanged, {summary['skipped']} already registered, "
            f"{len(report.warnings)} skipped with warnings")
    click.echo(text + (" (dry run: nothing written)" if report.dry_run else ""))
    if report.gone:
        sys.stderr.write("".join(
            f"warning: {name} is no longer in its source (marked missing_since; `remove --purge {name}` to drop it)\n"
            for name in report.gone))


def _location_label(session, location: str | None) -> str | None:
    if not location:
        return None
    label, _ = session.settings.location_dir(location)
    return label


@click.command("scan")
@click.option("--base", "bases", multiple=True, type=click.Path(file_okay=False),
              help="Directory to scan (repeatable; default: the linux_wsl location).")
@dry_run_option
@click.option("--update-existing", is_flag=True, help="Refresh entries already registered.")
@click.option("--include-testing", is_flag=True, help="Also placeholder/test folders.")
@click.option("--format", "fallback_format", default=None, help="Format to use when detection finds none.")
@click.option("--backend", default=None)
@click.option("--location", default=None)
@report_options
@click.pass_context
def scan_command(ctx, bases, dry_run, update_existing, include_testing, fallback_format, backend, location,
                 details, as_json):
    """Register model folders and GGUF files found under DIR."""
    from ..discovery import discover, under
    from ..errors import BadInputError

    session = session_from(ctx, "scan")
    base_paths = [Path(b).expanduser().absolute() for b in bases] or [Path(session.settings.locations["linux_wsl"])]
    for base in base_paths:
        if not base.is_dir():
            raise BadInputError(f"scan base {base} is not a directory")
    options = {"bases": [str(b) for b in base_paths], "include_testing": include_testing, "dry_run": dry_run,
               "fallback_format": fallback_format, "backend": backend,
               "location_label": _location_label(session, location)}
    report = discover(session, ["local_scan"], options, dry_run=dry_run, update_existing=update_existing,
                      reconcile=lambda e: e.source_provider == "local_scan" and under(e.download_path, base_paths),
                      on_warning=warn_printer)
    print_report(report, "scan", details=details, as_json=as_json)


def import_ollama(ctx, dry_run, backend, location, deprecate_placeholders, store, host, command="import-ollama",
                  details=False, as_json=False):
    from ..discovery import discover

    overrides = {"ollama_models": store, "ollama_host": host}
    session = session_from(ctx, command, overrides)
    options = {"backend": backend if backend != "ollama" else None,
               "location_label": _location_label(session, location)}
    report = discover(session, ["ollama"], options, dry_run=dry_run,
                      reconcile=lambda e: e.source_provider == "ollama", on_warning=warn_printer)
    print_report(report, f"Ollama store {session.settings.ollama_models}", details=details, as_json=as_json)
    if deprecate_placeholders:
        from ..maintenance import deprecate_placeholders as deprecate

        names = deprecate(session, dry_run=dry_run)
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


@click.command("import-lmstudio")
@dry_run_option
@click.option("--root", "roots", multiple=True, type=click.Path(file_okay=False),
              help="LM Studio models folder (repeatable; default: found from LM Studio's settings).")
@click.option("--location", default=None)
@report_options
@click.pass_context
def import_lmstudio_command(ctx, dry_run, roots, location, details, as_json):
    """Register LM Studio's downloaded models."""
    from ..discovery import discover, under

    overrides = {"lmstudio_roots": ",".join(str(Path(r).absolute()) for r in roots) or None}
    session = session_from(ctx, "import-lmstudio", overrides)
    root_paths = [Path(r) for r in session.settings.lmstudio_roots]
    if not root_paths:
        from ..discovery import DiscoveryReport

        message = ("LM Studio was not found (no ~/.lmstudio, pointer file or legacy folder); nothing to import. "
                   "Use --root DIR to name its models folder.")
        click.echo(message, err=as_json)
        if as_json:
            print_report(DiscoveryReport((), (("LM Studio", "not found"),), (), dry_run), "", as_json=True)
        return
    report = discover(session, ["lmstudio"], {"location_label": _location_label(session, location)},
                      dry_run=dry_run, on_warning=warn_printer,
                      reconcile=lambda e: e.source_provider == "lmstudio" and under(e.download_path, root_paths))
    print_report(report, "LM Studio " + ", ".join(map(str, root_paths)), details=details, as_json=as_json)


@click.command("discover-all")
@click.option("--hf-root", "hf_roots", multiple=True, type=click.Path(file_okay=False),
              help="Folder of owner/repo downloads to ingest (repeatable).")
@click.option("--skip-ollama", is_flag=True)
@click.option("--skip-lmstudio", is_flag=True)
@dry_run_option
@report_options
@click.pass_context
def discover_all_command(ctx, hf_roots, skip_ollama, skip_lmstudio, dry_run, details, as_json):
    """Run every installed provider's discovery and merge the results."""
    from ..discovery import discover

    session = session_from(ctx, "discover-all")
    skipped = {"ollama"} if skip_ollama else set()
    skipped |= {"lmstudio"} if skip_lmstudio else set()
    names = [name for name, _plugin in session.plugins.manager.list_name_plugin() if name and name not in skipped]
    roots = [str(Path(r).absolute()) for r in hf_roots] or [session.settings.locations["linux_wsl"]]
    options = {"hf_roots": roots, "bases": [], "include_hf_cache": True}
    report = discover(session, names, options, dry_run=dry_run, on_warning=warn_printer)
    print_report(report, "discover-all: " + ", ".join(names), details=details, as_json=as_json)


@click.command("ingest-local-hf")
@click.option("--root", "roots", multiple=True, type=click.Path(file_okay=False),
              help="Folder of owner/repo downloads or a Hugging Face cache (repeatable; default: the "
                   "linux_wsl location and the Hugging Face cache).")
@dry_run_option
@click.option("--backend", default=None)
@click.option("--location", default=None)
@report_options
@click.pass_context
def ingest_local_hf_command(ctx, roots, dry_run, backend, location, details, as_json):
    """Register owner/repo folders and Hugging Face cache repos (models--owner--repo)."""
    from ..discovery import discover

    session = session_from(ctx, "ingest-local-hf")
    root_list = [str(Path(r).expanduser().absolute()) for r in roots]
    options = {"hf_roots": root_list or [session.settings.locations["linux_wsl"]],
               "include_hf_cache": not root_list, "backend": backend,
               "location_label": _location_label(session, location)}
    report = discover(session, ["hf"], options, dry_run=dry_run, on_warning=warn_printer)
    print_report(report, "ingest-local-hf", details=details, as_json=as_json)


@click.command("rebuild-ollama")
@click.option("--location", default=None)
@dry_run_option
@click.pass_context
def rebuild_ollama_command(ctx, location, dry_run):
    """Drop the discovered Ollama entries and import the store again (curated ones stay)."""
    from ..discovery import collect_variants
    from ..register import register_variants

    session = session_from(ctx, "rebuild-ollama")
    variants, warnings = collect_variants(session, ["ollama"],
                                          {"location_label": _location_label(session, location)}, warn_printer)
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

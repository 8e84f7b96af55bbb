"""``imageworks-download scan``: local_scan's command."""

from __future__ import annotations

from pathlib import Path

import click

from imageworks_core import BadInputError, DiscoverRequest
from imageworks_core.kit import (discover, dry_run_option, location_label_of, print_report, report_options,
                                 session_from, under, warn_printer)

from .plugin import NAME


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
    session = session_from(ctx, "scan")
    base_paths = [Path(b).expanduser().absolute() for b in bases] or [Path(session.settings.locations[session.settings.default_location])]
    for base in base_paths:
        if not base.is_dir():
            raise BadInputError(f"scan base {base} is not a directory")
    request = DiscoverRequest(roots=tuple(str(b) for b in base_paths), include_testing=include_testing,
                              fallback_format=fallback_format)
    report = discover(session, [NAME], request, backend=backend, location_label=location_label_of(session, location),
                      dry_run=dry_run, update_existing=update_existing, on_warning=warn_printer,
                      reconcile=lambda e: e.source_provider == NAME and under(e.download_path, base_paths))
    print_report(report, "scan", details=details, as_json=as_json)

"""``imageworks-download import-lmstudio``: lmstudio's command."""

from __future__ import annotations

from pathlib import Path

import click

from imageworks_core import DiscoverRequest
from imageworks_core.kit import (discover, DiscoveryReport, dry_run_option, location_label_of, print_report,
                                 report_options, session_from, under, warn_printer)

from .plugin import NAME


@click.command("import-lmstudio")
@dry_run_option
@click.option("--root", "roots", multiple=True, type=click.Path(file_okay=False),
              help="LM Studio models folder (repeatable; default: found from LM Studio's settings).")
@click.option("--location", default=None)
@report_options
@click.pass_context
def import_lmstudio_command(ctx, dry_run, roots, location, details, as_json):
    """Register LM Studio's downloaded models."""
    overrides = {"lmstudio_roots": ",".join(str(Path(r).absolute()) for r in roots) or None}
    session = session_from(ctx, "import-lmstudio", overrides)
    root_paths = [Path(r) for r in session.settings.lmstudio_roots]
    if not root_paths:
        message = ("LM Studio was not found (no ~/.lmstudio, pointer file or legacy folder); nothing to import. "
                   "Use --root DIR to name its models folder.")
        click.echo(message, err=as_json)
        if as_json:
            print_report(DiscoveryReport((), (("LM Studio", "not found"),), (), dry_run), "", as_json=True)
        return
    report = discover(session, [NAME], DiscoverRequest(), location_label=location_label_of(session, location),
                      dry_run=dry_run, on_warning=warn_printer,
                      reconcile=lambda e: e.source_provider == NAME and under(e.download_path, root_paths))
    print_report(report, "LM Studio " + ", ".join(map(str, root_paths)), details=details, as_json=as_json)

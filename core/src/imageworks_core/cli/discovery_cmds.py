"""``imageworks-loader discover-all``: every installed provider's discovery at once."""

from __future__ import annotations

from pathlib import Path

import click

from .base import dry_run_option, session_from, warn_printer
from .reports import print_report, report_options


@click.command("discover-all")
@click.option("--root", "roots", multiple=True, type=click.Path(file_okay=False),
              help="Folder to look in (repeatable): providers that read folders of models look there "
                   "instead of their default places.")
@click.option("--hf-root", "hf_roots", multiple=True, type=click.Path(file_okay=False), hidden=True,
              help="Earlier name of --root.")
@click.option("--skip", "skip", multiple=True, help="Provider not to ask (repeatable), e.g. --skip ollama.")
@click.option("--skip-ollama", is_flag=True, hidden=True, help="Earlier form of --skip ollama.")
@click.option("--skip-lmstudio", is_flag=True, hidden=True, help="Earlier form of --skip lmstudio.")
@dry_run_option
@report_options
@click.pass_context
def discover_all_command(ctx, roots, hf_roots, skip, skip_ollama, skip_lmstudio, dry_run, details, as_json):
    """Run every installed provider's discovery and merge the results."""
    from ..discovery import discover
    from ..hook_types import DiscoverRequest

    session = session_from(ctx, "discover-all")
    # The runbook's --skip-ollama / --skip-lmstudio keep working as spellings of --skip NAME.
    skipped = set(skip) | {flag for flag, on in (("ollama", skip_ollama), ("lmstudio", skip_lmstudio)) if on}
    names = [name for name in session.plugins.providers if name not in skipped]
    request = DiscoverRequest(roots=tuple(str(Path(r).absolute()) for r in (*roots, *hf_roots)), include_caches=True)
    report = discover(session, names, request, dry_run=dry_run, on_warning=warn_printer)
    print_report(report, "discover-all: " + ", ".join(names), details=details, as_json=as_json)

"""``imageworks-loader discover-all``: every installed provider's discovery at once."""

from __future__ import annotations

import re
from pathlib import Path

import click

from .base import dry_run_option, session_from, warn_printer
from .reports import print_report, report_options

# Earlier versions' spellings, for any provider NAME: --skip-NAME is --skip NAME, and
# --NAME-root DIR is --root DIR.
_SKIP_FLAG = re.compile(r"^--skip-(\w+)$")
_ROOT_FLAG = re.compile(r"^--\w+-root(=.*)?$")


class _EarlierSpellings(click.Command):
    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        rewritten: list[str] = []
        for arg in args:
            if arg == "--":
                rewritten += args[len(rewritten):]
                break
            skip = _SKIP_FLAG.match(arg)
            root = _ROOT_FLAG.match(arg)
            if skip:
                rewritten += ["--skip", skip.group(1)]
            elif root:
                rewritten.append("--root" + (root.group(1) or ""))
            else:
                rewritten.append(arg)
        return super().parse_args(ctx, rewritten)


@click.command("discover-all", cls=_EarlierSpellings)
@click.option("--root", "roots", multiple=True, type=click.Path(file_okay=False),
              help="Folder to look in (repeatable): providers that read folders of models look there "
                   "instead of their default places. (--NAME-root is an earlier spelling.)")
@click.option("--skip", "skip", multiple=True,
              help="Provider not to ask (repeatable; see `plugins`). (--skip-NAME is an earlier spelling.)")
@dry_run_option
@report_options
@click.pass_context
def discover_all_command(ctx, roots, skip, dry_run, details, as_json):
    """Run every installed provider's discovery and merge the results."""
    from ..discovery import discover
    from ..hook_types import DiscoverRequest

    session = session_from(ctx, "discover-all")
    names = [name for name in session.plugins.providers if name not in set(skip)]
    request = DiscoverRequest(roots=tuple(str(Path(r).absolute()) for r in roots), include_caches=True)
    report = discover(session, names, request, dry_run=dry_run, on_warning=warn_printer)
    print_report(report, "discover-all: " + ", ".join(names), details=details, as_json=as_json)

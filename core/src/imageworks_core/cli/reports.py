"""What discovery commands share, core's and providers' alike: the report of a discovery run
(a table, compact lines or JSON), its options, and location labels from ``--location``."""

from __future__ import annotations

import sys

import click

from .base import emit_json, print_table


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
    from ..gc_policy import few_full_collections

    # The run left its variants and entries in the collector's middle generation; with the
    # default thresholds back, the rows made here would have it walk them all again (measured:
    # 55 ms of a 10,000-model scan's report).
    with few_full_collections():
        _print_report(report, title, details=details, as_json=as_json)


def _print_report(report, title: str, *, details: bool, as_json: bool) -> None:
    from ..units import human_bytes

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
    if changes and sys.stdout.isatty() and len(changes) <= TABLE_ROWS_MAX:
        rows = [[planned.get(c.action, c.action) if report.dry_run else c.action,
                 c.name, c.variant.download_format, c.variant.quantization, c.variant.backend,
                 human_bytes(c.entry.download_size_bytes if c.entry else None), c.variant.download_path]
                for c in changes]
        print_table(title, ["action", "name", "format", "quant", "backend", "size", "path"], rows)
    elif changes:
        # The same cells as the table's, tab-separated, one f-string a line (10,000 lines for a
        # first scan of 10,000 folders): every cell is a string or None (written as nothing).
        lines = []
        for c in changes:
            v = c.variant
            action = planned.get(c.action, c.action) if report.dry_run else c.action
            fmt, quant, backend, path = v.download_format, v.quantization, v.backend, v.download_path
            lines.append(f"{'' if action is None else action}\t{'' if c.name is None else c.name}\t"
                         f"{'' if fmt is None else fmt}\t{'' if quant is None else quant}\t"
                         f"{'' if backend is None else backend}\t"
                         f"{human_bytes(c.entry.download_size_bytes if c.entry else None)}\t"
                         f"{'' if path is None else path}\n")
        sys.stdout.write("".join(lines))
    verb = "would be " if report.dry_run else ""
    text = (f"{summary['added']} {verb}added, {summary['updated']} {verb}updated, "
            f"{summary['unchanged']} unchanged, {summary['skipped']} already registered, "
            f"{len(report.warnings)} skipped with warnings")
    click.echo(text + (" (dry run: nothing written)" if report.dry_run else ""))
    if report.gone:
        sys.stderr.write("".join(
            f"warning: {name} is no longer in its source (marked missing_since; `remove --purge {name}` to drop it)\n"
            for name in report.gone))


def location_label_of(session, location: str | None) -> str | None:
    """The label of a ``--location`` value (a configured label, or a directory: ``custom``)."""
    if not location:
        return None
    label, _ = session.settings.location_dir(location)
    return label

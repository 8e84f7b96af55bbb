"""The widgets every tab uses: the exact command line, running it in-process, its outcome drawn
from its ``--json`` document, and the confirmation destructive actions need."""

from __future__ import annotations

import streamlit as st

from .actions import CommandResult, run, shell_text

DOWNLOAD = "imageworks-download"
LOADER = "imageworks-loader"


def show_command(argv: list[str]) -> None:
    st.code(shell_text(argv), language="bash")


def run_and_show(argv: list[str], *, key: str, label: str, disabled: bool = False,
                 structured: bool = False) -> CommandResult | None:
    """Show the exact command, run it in-process on a click, show the outcome. ``structured``
    commands run with ``--json`` and their result is drawn as tables from that JSON: the same
    data a script gets, not the terminal's text."""
    if structured:
        argv = [*argv, "--json"]
    show_command(argv)
    if not st.button(label, key=key, disabled=disabled, type="primary"):
        return None
    with st.spinner("Running…"):
        result = run(argv)
    if result.ok:
        st.success(f"Done (exit status {result.exit_code}).")
    elif result.exit_code == 1:
        st.warning("The command ran and found problems (exit status 1).")
    else:
        st.error(f"The command failed (exit status {result.exit_code}).")
    shown = structured and show_structured(result.stdout)
    if result.stdout.strip() and not shown:
        st.code(result.stdout, language="text")
    if result.stderr.strip():
        st.code(result.stderr, language="text")
    return result


def _table(rows: list[dict]) -> None:
    # Small results as an HTML table (searchable text), large ones in the interactive grid.
    if len(rows) <= 200:
        st.table(rows)
    else:
        st.dataframe(rows, hide_index=True, width="stretch")


def show_structured(stdout: str) -> bool:
    """Draw a command's ``--json`` document; False when it is not one."""
    import json

    try:
        doc = json.loads(stdout)
    except ValueError:
        return False
    if isinstance(doc, dict) and "changes" in doc and "summary" in doc:  # a discovery report
        summary = doc["summary"]
        st.write(f"{summary['added']} added, {summary['updated']} updated, {summary['unchanged']} unchanged, "
                 f"{summary['skipped']} already registered, {summary['warnings']} skipped with warnings"
                 + (" (dry run: nothing written)" if doc.get("dry_run") else ""))
        if doc["changes"]:
            _table([{k: c[k] for k in ("action", "name", "format", "quantization", "backend", "size_bytes", "path")}
                    for c in doc["changes"]])
        if doc.get("warnings"):
            _table(doc["warnings"])
        return True
    if isinstance(doc, list) and doc and isinstance(doc[0], dict) and {"name", "ok", "problems"} <= set(doc[0]):
        bad = sum(1 for r in doc if not r["ok"])
        st.write(f"{len(doc)} checked, {bad} invalid")
        _table([{"": "✓" if r["ok"] else "✗", "name": r["name"], "problems": "; ".join(r["problems"])} for r in doc])
        return True
    if isinstance(doc, list) and doc and isinstance(doc[0], dict):
        _table(doc)
        return True
    st.json(doc)
    return True


def confirm_gate(dry_run: bool, key: str, what: str) -> bool:
    """Destructive actions need an explicit confirmation when they are not a dry run."""
    if dry_run:
        return True
    return st.checkbox(f"I understand: {what}", key=f"{key}-confirm")

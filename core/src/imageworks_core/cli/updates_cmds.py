"""Staying current and reproducible: outdated, update, lock, sync."""

from __future__ import annotations

import sys

import click

from .base import dry_run_option, emit_json, json_option, print_table, session_from


def _check_json(c) -> dict:
    return {"name": c.name, "repo": c.repo, "revision": c.revision, "commit": c.commit,
            "latest_commit": c.latest_commit, "outdated": c.outdated,
            "changed": [{"path": f.path, "change": f.change, "bytes": f.bytes} for f in c.changed],
            "download_bytes": c.download_bytes, **({"note": c.note} if c.note else {})}


@click.command("outdated")
@click.argument("names", nargs=-1)
@json_option
@click.pass_context
def outdated_command(ctx, names, as_json):
    """Hub entries whose branch or tag has moved on: changed files and what an update fetches."""
    from ..units import human_bytes
    from ..updates import check_updates, select

    session = session_from(ctx, "outdated")
    checks = check_updates(session, select(session, names))
    if as_json:
        emit_json([_check_json(c) for c in checks])
        return
    if not checks:
        click.echo("No hub entries to check.")
        return
    rows = [[c.name, f"{c.repo}@{c.revision}", (c.commit or "?")[:7], (c.latest_commit or "?")[:7],
             "yes" if c.outdated else "no" if c.outdated is False else "?",
             ", ".join(f"{f.change} {f.path}" for f in c.changed[:4]) + (" …" if len(c.changed) > 4 else "")
             or (c.note or ""), human_bytes(c.download_bytes) if c.outdated else ""]
            for c in checks]
    print_table("outdated", ["name", "source", "commit", "latest", "outdated", "changes", "to fetch"], rows)
    count = sum(1 for c in checks if c.outdated)
    click.echo(f"{count} of {len(checks)} outdated" + ("; `update NAME` (or --all) brings them up to date" if count else ""))


@click.command("update")
@click.argument("names", nargs=-1)
@click.option("--all", "everything", is_flag=True, help="Every outdated hub entry.")
@dry_run_option
@click.pass_context
def update_command(ctx, names, everything, dry_run):
    """Bring outdated hub entries to the hub's current commit (unchanged files reused locally)."""
    from ..errors import BadInputError
    from ..units import human_bytes
    from ..updates import check_updates, select, update_entries

    if not names and not everything:
        raise BadInputError("name the entries to update, or --all")
    session = session_from(ctx, "update")
    checks = check_updates(session, select(session, names))
    done = update_entries(session, checks, dry_run=dry_run)
    for name, what, fetched in done:
        click.echo(f"{name}: {what} ({human_bytes(fetched)} {'to fetch' if dry_run else 'fetched'})")
    if not done:
        click.echo("Nothing to update: every checked entry is at its revision's current commit.")


@click.command("lock")
@click.argument("names", nargs=-1)
@click.option("--role", default=None, help="Only entries with this role.")
@click.option("-o", "output", default="imageworks.lock", show_default=True, type=click.Path(dir_okay=False))
@click.pass_context
def lock_command(ctx, names, role, output):
    """Write a lock file (TOML) that rebuilds these models, byte for byte, on another machine."""
    import tomli_w

    from ..registry.layers import atomic_write
    from ..updates import lock_document, select
    from pathlib import Path

    session = session_from(ctx, "lock")
    entries = [e for e in select(session, names) if role is None or role in e.roles]
    doc, warnings = lock_document(session, entries)
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)
    path = Path(output).absolute()
    atomic_write(path, tomli_w.dumps(doc).encode("utf-8"))
    session.log.event("lock", file=str(path), models=[m["name"] for m in doc["model"]])
    click.echo(f"locked {len(doc['model'])} models in {path}")


@click.command("sync")
@click.argument("lock_file", type=click.Path(dir_okay=False))
@click.option("--location", default=None, help="Where models that must be fetched go (label or directory).")
@dry_run_option
@json_option
@click.pass_context
def sync_command(ctx, lock_file, location, dry_run, as_json):
    """Make this machine hold exactly the lock file's models (fetched by commit, verified)."""
    from ..units import human_bytes
    from ..lockfile import read_lock
    from ..updates import check_sources, sync

    models = read_lock(lock_file)
    session = session_from(ctx, "sync")
    check_sources(session, models, lock_file)
    report = sync(session, models, location=location, dry_run=dry_run)
    if as_json:
        emit_json(report)
    else:
        print_table(f"sync {lock_file}", ["name", "action", "fetched", "problem"],
                    [[r["name"], r["action"], human_bytes(r["bytes_fetched"]), r.get("problem", "")] for r in report])
    if any(r["action"] == "failed" for r in report):
        sys.exit(1)

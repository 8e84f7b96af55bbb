"""Commands that check and clean the registry: verify, normalize-formats, remove, prune-*,
purge-*, reset-discovered."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .base import confirm_or_refuse, dry_run_option, emit_json, json_option, print_table, session_from

no_backup_option = click.option("--no-backup", is_flag=True, help="Skip the backup of the layers changed.")


def _backups(paths) -> None:
    for path in paths:
        click.echo(f"backup: {path}")


@click.command("verify")
@click.argument("names", nargs=-1)
@click.option("--fix-missing", is_flag=True, help="Mark entries whose files are gone (clears download_path).")
@click.option("--hash", "content_hash", is_flag=True, help="Compare content hashes (sha256), not only sizes.")
@json_option
@click.pass_context
def verify_command(ctx, names, fix_missing, content_hash, as_json):
    """Check every file of every (or the named) installed entry."""
    session = session_from(ctx, "verify")
    view, hashing = session.registry.load(), None
    if content_hash and all(n in view.rows for n in names):  # unknown names: verify says so
        from ..hashing import start_hashing

        # Before importing the rest: the files hash on one core while the entries and the
        # providers load on the other.
        hashing = start_hashing(session.registry.directory, view, list(names))
    from ..maintenance import verify

    results = verify(session, names, content_hash=content_hash, fix_missing=fix_missing, view=view,
                     hashing=hashing)
    if as_json:
        emit_json([{"name": r.name, "ok": r.ok, "problems": list(r.problems)} for r in results])
    else:
        # One write for all rows: 10,000 entries print in milliseconds, not seconds.
        lines = [f"{'✓' if r.ok else '✗'} {r.name}" + ("" if r.ok else ": " + "; ".join(r.problems))
                 + (" (marked missing)" if r.fixed else "") + "\n" for r in results]
        click.echo("".join(lines), nl=False)
        bad = sum(1 for r in results if not r.ok)
        click.echo(f"{len(results)} checked, {bad} invalid" + (" (content hashed)" if content_hash else ""))
    if any(not r.ok for r in results):
        sys.exit(1)


@click.command("normalize-formats")
@click.option("--dry-run/--apply", "dry_run", default=True, help="Show the diff (default) or write it.")
@click.option("--rebuild", is_flag=True, help="Also size, directory checksum and file list.")
@click.option("--prune-missing", is_flag=True, help="Remove entries whose files are gone.")
@no_backup_option
@click.pass_context
def normalize_command(ctx, dry_run, rebuild, prune_missing, no_backup):
    """Re-detect format and quant and show (or apply) the differences."""
    from ..maintenance import normalize

    session = session_from(ctx, "normalize-formats")
    rows, backups = normalize(session, apply=not dry_run, rebuild=rebuild, prune_missing=prune_missing,
                              backup=not no_backup)
    table = [[r.name, r.action, "; ".join(f"{k}: {old} → {new}" for k, (old, new) in r.changes.items())] for r in rows]
    if table:
        print_table("normalize-formats" + (" (dry run)" if dry_run else ""), ["name", "action", "changes"], table)
    changed = sum(1 for r in rows if r.action != "shadowed")
    click.echo(f"{changed} entr{'y' if changed == 1 else 'ies'} {'would change' if dry_run else 'changed'}"
               + ("; re-run with --apply to write" if dry_run and changed else ""))
    _backups(backups)


@click.command("remove")
@click.argument("name")
@click.option("--delete-files", is_flag=True, help="Also delete the files (safely, via the provider).")
@click.option("--purge", is_flag=True, help="Delete the entry instead of keeping it without files.")
@click.option("--force", is_flag=True, help="Do not ask for confirmation.")
@click.option("--include-curated", is_flag=True, help="Allow changing the curated layer.")
@dry_run_option
@no_backup_option
@click.pass_context
def remove_command(ctx, name, delete_files, purge, force, include_curated, dry_run, no_backup):
    """Remove a variant: clear its download fields (default), --purge the entry, --delete-files."""
    from ..maintenance import execute_remove, plan_remove

    session = session_from(ctx, "remove")
    plan = plan_remove(session, name, purge=purge, delete_files=delete_files, include_curated=include_curated)
    action = "delete the entry" if purge else "clear its download fields (entry kept)"
    click.echo(f"{name} [{plan.layer}]: will {action}")
    for path in plan.files:
        click.echo(f"  delete {path}")
    for path in plan.shared:
        click.echo(f"  keep   {path} (another entry uses it)")
    if dry_run:
        click.echo("dry run: nothing changed")
        return
    confirm_or_refuse(f"Remove {name}?", force)
    removed, backups = execute_remove(session, plan, include_curated=include_curated, backup=not no_backup)
    if removed is not None:
        click.echo(f"deleted {len(removed.deleted)} file(s), kept {len(removed.kept)} shared")
    click.echo(f"{'purged' if purge else 'updated'} {name}")
    _backups(backups)


def _delete_and_report(session, title: str, names: list[str], *, dry_run: bool, no_backup: bool, event: str,
                       curated: list[str] = (), kept: list[str] = (), why: dict[str, str] | None = None) -> None:
    """The shared end of the prune/purge/reset commands: the table (with the entries ``kept``
    and ``why`` each goes, when given), the deletion (with its backup) or the dry run, and
    where the backups went."""
    from ..maintenance import delete_discovered

    shown = sorted(set(names) | set(curated))
    if shown:
        action = "would delete" if dry_run else "deleted"
        rows = [[n, "keep"] for n in kept] + [[n, action] for n in shown]
        if why is not None:
            rows = [row + [why.get(row[0], "")] for row in rows]
        print_table(title, ["name", "action"] + (["why"] if why is not None else []), rows)
    click.echo(f"{len(shown)} entr{'y' if len(shown) == 1 else 'ies'} {'would be ' if dry_run else ''}deleted"
               + (" (dry run: nothing written)" if dry_run else ""))
    _backups(delete_discovered(session, names, curated=curated, dry_run=dry_run, backup=not no_backup, event=event))


@click.command("prune-duplicates")
@dry_run_option
@click.option("--backend", default=None)
@no_backup_option
@click.pass_context
def prune_duplicates_command(ctx, dry_run, backend, no_backup):
    """Entries with the same content (same files or digests): keep the best-described one."""
    from ..maintenance import duplicate_groups

    session = session_from(ctx, "prune-duplicates")
    groups = duplicate_groups(session, backend)
    why = {e.name: f"duplicate of {keep.name}" for keep, drop in groups for e in drop}
    _delete_and_report(session, "prune-duplicates", list(why), dry_run=dry_run, no_backup=no_backup,
                       event="prune_duplicates", kept=[keep.name for keep, _ in groups], why=why)


@click.command("prune-deprecated")
@click.option("--placeholders-only", is_flag=True, help="Only entries their provider calls placeholders.")
@dry_run_option
@no_backup_option
@click.pass_context
def prune_deprecated_command(ctx, placeholders_only, dry_run, no_backup):
    """Delete deprecated entries from the discovered layer."""
    session = session_from(ctx, "prune-deprecated")
    names = [e.name for e in session.registry.read("discovered").entries if e.deprecated and (
        not placeholders_only or session.plugins.for_entry("imageworks_is_placeholder", e)(entry=e))]
    _delete_and_report(session, "prune-deprecated", names, dry_run=dry_run, no_backup=no_backup,
                       event="prune_deprecated")


@click.command("purge-logical-only")
@dry_run_option
@click.option("--include-curated", is_flag=True)
@no_backup_option
@click.pass_context
def purge_logical_only_command(ctx, dry_run, include_curated, no_backup):
    """Delete entries with no download_path."""

    session = session_from(ctx, "purge-logical-only")
    view = session.registry.load()
    discovered = [e.name for e in session.registry.read("discovered").entries if not e.download_path
                  and view.layer_of(e.name) == "discovered"]
    curated = [e.name for e in view.entries if e.is_logical and view.layer_of(e.name) != "discovered"] if include_curated else []
    if include_curated:
        discovered += [n for n in curated if view.layer_of(n) == "both"]
    _delete_and_report(session, "purge-logical-only", discovered, curated=curated, dry_run=dry_run,
                       no_backup=no_backup, event="purge_logical_only")


@click.command("reset-discovered")
@click.option("--backend", required=True, help="Backend whose discovered entries to drop, or 'all'.")
@dry_run_option
@no_backup_option
@click.pass_context
def reset_discovered_command(ctx, backend, dry_run, no_backup):
    """Empty the discovered layer for a backend (curated entries stay)."""

    session = session_from(ctx, "reset-discovered")
    names = [e.name for e in session.registry.read("discovered").entries if backend == "all" or e.backend == backend]
    _delete_and_report(session, f"reset-discovered --backend {backend}", names, dry_run=dry_run,
                       no_backup=no_backup, event="reset_discovered")


@click.command("purge-imported")
@click.option("--providers", default="all", show_default=True,
              help="all, or a comma list of provider names (see `plugins`).")
@click.option("--apply", is_flag=True, help="Write (default: show what would go).")
@no_backup_option
@click.pass_context
def purge_imported_command(ctx, providers, apply, no_backup):
    """Remove discovered entries of those providers (dry by default)."""

    session = session_from(ctx, "purge-imported")
    wanted = None if providers.strip() == "all" else {p.strip() for p in providers.split(",") if p.strip()}
    names = [e.name for e in session.registry.read("discovered").entries
             if e.source_provider and (wanted is None or e.source_provider in wanted)]
    _delete_and_report(session, f"purge-imported --providers {providers}", names, dry_run=not apply,
                       no_backup=no_backup, event="purge_imported")


@click.command("cleanup")
@click.option("--apply", is_flag=True, help="Delete (default: show what would go and why).")
@click.option("--older-than", default="1h", show_default=True,
              help="Leave anything changed more recently than this (30m, 1h, 7d, 0).")
@json_option
@click.pass_context
def cleanup_command(ctx, apply, older_than, as_json):
    """Reclaim the disk: partial downloads and orphans of every store, by store, with bytes."""
    from ..cleanup import apply_cleanup, group_by_store, parse_duration, plan_cleanup
    from ..units import human_bytes

    seconds = parse_duration(older_than)
    session = session_from(ctx, "cleanup")
    plan = plan_cleanup(session, seconds)
    freed = apply_cleanup(session, plan) if apply and plan.items else 0
    if as_json:
        emit_json({"items": [{"kind": i.kind, "path": i.path, "bytes": i.bytes, "reason": i.reason, "store": i.store}
                             for i in plan.items],
                   "reclaimable_bytes": plan.reclaimable_bytes, "freed_bytes": freed,
                   "kept": [{"path": p, "reason": r} for p, r in plan.skipped]})
        return
    if not plan.items:
        click.echo(f"Nothing to reclaim (older than {older_than}).")
    for store, items in group_by_store(plan.items).items():
        rows = [[i.kind, human_bytes(i.bytes), i.path, i.reason] for i in items]
        print_table(f"{store}: {human_bytes(sum(i.bytes for i in items))}", ["kind", "bytes", "path", "reason"], rows)
    if apply:
        click.echo(f"freed {human_bytes(freed)} ({freed} bytes) in {len(plan.items)} items")
    elif plan.items:
        click.echo(f"{len(plan.items)} items, {human_bytes(plan.reclaimable_bytes)} ({plan.reclaimable_bytes} bytes) "
                   f"reclaimable; run again with --apply to delete them")
    for path, reason in plan.skipped:
        click.echo(f"kept {path}: {reason}", err=True)


def _dupes_json(report) -> dict:
    return {"groups": [{"sha256": g.sha256, "size": g.size, "reclaimable_bytes": g.reclaimable_bytes,
                        "copies": [{"path": c.path, "entry": c.entry, "provider": c.provider, "inode": list(c.inode)}
                                   for c in g.copies]} for g in report.groups],
            "reclaimable_bytes": report.reclaimable_bytes, "hashed_files": report.hashed_files}


@click.command("dupes")
@json_option
@click.pass_context
def dupes_command(ctx, as_json):
    """Identical files held by more than one entry or store, and what a dedupe would free."""
    from ..sharing import find_dupes
    from ..units import human_bytes

    session = session_from(ctx, "dupes")
    report = find_dupes(session)
    if as_json:
        emit_json(_dupes_json(report))
        return
    if not report.groups:
        click.echo("No identical files across entries.")
        return
    for group in report.groups:
        rows = [[c.path, c.entry, c.provider, f"{c.inode[0]}:{c.inode[1]}"] for c in group.copies]
        print_table(f"{group.sha256[:16]}… {human_bytes(group.size)}: {human_bytes(group.reclaimable_bytes)} reclaimable",
                    ["path", "entry", "provider", "inode"], rows)
    click.echo(f"{len(report.groups)} groups; a dedupe frees {human_bytes(report.reclaimable_bytes)} "
               f"({report.reclaimable_bytes} bytes); {report.hashed_files} files hashed")


@click.command("dedupe")
@click.option("--apply", is_flag=True, help="Replace duplicates by hard links (default: show the plan).")
@json_option
@click.pass_context
def dedupe_command(ctx, apply, as_json):
    """Replace identical copies by hard links to one of them (same filesystem, inside the roots)."""
    from ..sharing import apply_dedupe, find_dupes, plan_dedupe
    from ..units import human_bytes

    session = session_from(ctx, "dedupe")
    report = find_dupes(session)
    steps, skipped = plan_dedupe(report, session.settings.roots())
    freed = apply_dedupe(session, steps) if apply and steps else 0
    planned = sum(s.size for s in steps)
    if as_json:
        emit_json({"links": [{"keep": s.keep, "replace": s.replace, "bytes": s.size, "sha256": s.sha256} for s in steps],
                   "skipped": [{"path": p, "reason": r} for p, r in skipped],
                   "reclaimable_bytes": planned, "freed_bytes": freed})
        return
    if steps:
        print_table("dedupe" + ("" if apply else " (dry run)"), ["keep", "link in place of", "size"],
                    [[s.keep, s.replace, human_bytes(s.size)] for s in steps])
    for path, reason in skipped:
        click.echo(f"kept {path}: {reason}", err=True)
    if apply:
        click.echo(f"freed {human_bytes(freed)} ({freed} bytes) with {len(steps)} hard links")
    else:
        click.echo(f"{len(steps)} hard links would free {human_bytes(planned)} ({planned} bytes); "
                   "run again with --apply")


@click.command("link")
@click.argument("name")
@click.option("--to", "target", required=True, help="A provider that links models in (see `plugins`), or a directory.")
@click.option("--as", "model_name", default=None, help="The model's name in the target tool (its own syntax).")
@click.option("--symlink", is_flag=True, help="A symbolic link instead of a hard link.")
@click.option("--copy", is_flag=True, help="Copy (verified) when hard links cannot work (another filesystem).")
@dry_run_option
@click.pass_context
def link_command(ctx, name, target, model_name, symlink, copy, dry_run):
    """Make a registered model usable by another tool with 0 bytes copied (GGUF; any hub copy for hf-cache)."""
    from ..errors import BadInputError
    from ..linking import link

    if symlink and copy:
        raise BadInputError("--symlink and --copy exclude each other")
    session = session_from(ctx, "link")
    done = link(session, name, target, mode="symlink" if symlink else "copy" if copy else "hard",
                model_name=model_name, dry_run=dry_run)
    verb = "would link" if dry_run else ("already linked" if done.result.already else "linked")
    for path in done.result.paths:
        click.echo(f"{verb} {path}")
    for note in done.result.notes:
        click.echo(note, err=True)
    if done.result.served_model_id:
        click.echo(f"{done.result.served_model_id} is now in {target}" if not dry_run else
                   f"it would be {done.result.served_model_id} in {target}")
    if done.name:
        click.echo(f"registered as {done.name} (linked_from {name})")

"""Read-only commands: list, list-roles, stats, config, plugins; and migrate-registry."""

from __future__ import annotations

import click

from .base import dry_run_option, emit_json, json_option, print_table, session_from


@click.command("list")
@click.option("--details", is_flag=True, help="More columns: path, files, served id, roles, provider.")
@json_option
@click.option("--backend", default=None)
@click.option("--format", "download_format", default=None)
@click.option("--quant", default=None)
@click.option("--location", default=None)
@click.option("--role", default=None)
@click.option("--show-deprecated", is_flag=True)
@click.option("--include-logical", is_flag=True, help="Also entries with no download_path.")
@click.option("--include-testing", is_flag=True)
@click.pass_context
def list_command(ctx, details, as_json, backend, download_format, quant, location, role,
                 show_deprecated, include_logical, include_testing):
    """List registered model variants."""
    from ..gc_policy import paused

    # Rows without cycles: the cyclic GC would only cost time (paused, not disabled for good:
    # the GUI runs this command in its own long-lived process).
    with paused():
        _list(ctx, details, as_json, backend, download_format, quant, location, role, show_deprecated,
              include_logical, include_testing)


def _list(ctx, details, as_json, backend, download_format, quant, location, role, show_deprecated,
          include_logical, include_testing) -> None:
    from ..inventory import ListFilter, as_json as rows_json, is_installed, select
    from ..units import human_bytes

    session = session_from(ctx, "list")
    view = session.registry.load()
    flt = ListFilter(backend, download_format, quant, location, role, show_deprecated,
                     include_logical, include_testing)
    names = select(view, flt)
    if as_json:
        emit_json(rows_json(view, names))
        return
    entries = [view.get(name) for name in names]
    if not entries:
        click.echo("No entries match." if len(view) else
                   f"The registry at {session.registry_dir} is empty: try `discover-all`, "
                   "or a provider's import or download command.")
        return
    columns = ["name", "format", "quant", "backend", "location", "size", "installed", "layer"]
    if details:
        columns += ["provider", "served id", "roles", "files", "path"]
    rows = []
    for e in entries:
        row = [e.name, e.download_format, e.quantization, e.backend, e.download_location,
               human_bytes(e.download_size_bytes), "✓" if is_installed(e) else "✗", view.layer_of(e.name)]
        if details:
            row += [e.source_provider, e.served_model_id, ",".join(e.roles), len(e.download_files), e.download_path]
        rows.append(row)
    print_table(f"{len(entries)} of {len(view)} entries", columns, rows)


@click.command("list-roles")
@click.option("--show-capabilities", is_flag=True)
@json_option
@click.pass_context
def list_roles_command(ctx, show_capabilities, as_json):
    """One row per (role, entry) with its priority."""
    from ..inventory import roles

    rows = roles(session_from(ctx, "list-roles").registry.load())
    if as_json:
        emit_json(rows)
        return
    if not rows:
        click.echo("No entry has a role. Roles are set in the curated layer (model_registry.curated.json).")
        return
    columns = ["role", "name", "priority", "backend"] + (["capabilities"] if show_capabilities else [])
    table = [[r["role"], r["name"], r["priority"], r["backend"]] + ([",".join(r["capabilities"])] if show_capabilities else [])
             for r in rows]
    print_table(None, columns, table)


@click.command("stats")
@json_option
@click.pass_context
def stats_command(ctx, as_json):
    """Totals and disk use by backend, format, quantisation, location and provider."""
    from ..inventory import stats
    from ..units import human_bytes

    data = stats(session_from(ctx, "stats").registry.load())
    if as_json:
        emit_json(data)
        return
    click.echo(f"entries: {data['entries']} (installed {data['installed']}, logical-only "
               f"{data['logical_only']}, deprecated {data['deprecated']})")
    click.echo(f"disk: {human_bytes(data['disk_bytes'])} (each file counted once)")
    for group in ("by_backend", "by_format", "by_quantization", "by_location", "by_provider"):
        rows = [[key, v["count"], human_bytes(v["bytes"])] for key, v in data[group].items()]
        print_table(group.replace("_", " "), ["value", "entries", "size"], rows)


@click.group("config", invoke_without_command=True)
@json_option
@click.pass_context
def config_group(ctx, as_json):
    """Effective settings and where each value came from."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(config_show, as_json=as_json)


@config_group.command("show")
@json_option
@click.pass_context
def config_show(ctx, as_json):
    """Show every setting with its source."""
    session = session_from(ctx, "config")
    settings = session.settings
    if as_json:
        emit_json({k: {"value": v, "source": settings.sources[k]} for k, v in settings.values.items()})
        return
    rows = []
    for key, value in settings.values.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k}={v}" for k, v in value.items())
        elif isinstance(value, list):
            value = ", ".join(value)
        rows.append([key, value, settings.sources[key]])
    print_table(f"settings (registry: {session.registry_dir})", ["key", "value", "source"], rows)


@config_group.command("path")
@click.pass_context
def config_path(ctx):
    """Print the registry directory (and why it is the one used), the settings files, the
    cache folder and the log file."""
    from ..cachedir import registry_cache_dir
    from ..settings import PROJECT_FILE, user_config_path

    session = session_from(ctx, "config")
    click.echo(f"registry_dir: {session.registry_dir}")
    click.echo(f"registry_dir_from: {session.registry_reason}")
    click.echo(f"cache_dir: {registry_cache_dir(session.registry_dir)}")
    click.echo(f"project_file: {session.registry_dir / PROJECT_FILE}")
    click.echo(f"user_file: {user_config_path()}")
    click.echo(f"log_file: {session.log.path}")


@config_group.command("set")
@click.argument("key")
@click.argument("value")
@click.pass_context
def config_set(ctx, key, value):
    """Write KEY = VALUE to the project file (imageworks.toml in the registry directory)."""
    from ..settings import set_project_value

    session = session_from(ctx, "config")
    path = set_project_value(session.registry_dir, key, value)
    session.log.event("config_set", key=key, file=str(path))
    click.echo(f"set {key} in {path}")


@click.command("plugins")
@json_option
def plugins_command(as_json):
    """Installed providers: name, distribution, version, hooks."""
    from ..plugins import get_plugins

    plugins = get_plugins()
    rows = [{"name": i.name, "distribution": i.distribution, "version": i.version,
             "hooks": list(i.hooks), **({"error": i.error} if i.error else {})} for i in plugins.infos]
    if as_json:
        emit_json(rows)
        return
    if not rows:
        click.echo("No providers loaded (check IMAGEWORKS_LOAD_PLUGINS).")
    else:
        print_table(None, ["name", "distribution", "version", "hooks"],
                    [[r["name"], r["distribution"], r["version"],
                      r.get("error") and f"FAILED: {r['error']}" or ", ".join(h.removeprefix("imageworks_") for h in r["hooks"])]
                     for r in rows])
    for info in plugins.failed:
        click.echo(f"warning: provider {info.name} failed to load: {info.error}", err=True)


@click.command("migrate-registry")
@dry_run_option
@click.pass_context
def migrate_registry_command(ctx, dry_run):
    """Rewrite both layers in the current file shape (schema_version 1, fields in order)."""
    session = session_from(ctx, "migrate-registry")
    with session.registry.transaction(backup=True, dry_run=dry_run) as tx:
        tx.rewrite_curated()
        changed = tx.changed_layers()
        legacy = [k for k, layer in (("curated", tx.curated_layer), ("discovered", tx.discovered_layer)) if layer.legacy]
    if not changed:
        click.echo("Both layers are already in the current shape; nothing to do.")
        return
    for kind in changed:
        note = " (bare list of an earlier version)" if kind in legacy else ""
        click.echo(f"{'would rewrite' if dry_run else 'rewrote'} {session.registry.layer_path(kind)}{note}")
    for saved in tx.backups:
        click.echo(f"backup: {saved}")
    if not dry_run:
        session.log.event("migrate_registry", layers=list(changed))

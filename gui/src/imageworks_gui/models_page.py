"""The 🎯 Models page: four tabs in parity with the CLI. Each action shows the exact command line
it runs, then runs the same click command in-process (or, for downloads, the same core function
with a live progress bar) and shows the result in plain words."""

from __future__ import annotations

import streamlit as st

from imageworks_core import ImageworksError
from .actions import CommandResult, command_line, run, shell_text

DOWNLOAD = "imageworks-download"
LOADER = "imageworks-loader"


def render() -> None:
    st.set_page_config(page_title="ImageWorks · Models", page_icon="🎯", layout="wide")
    st.title("🎯 Models")
    from imageworks_core import Session
    from imageworks_core.kit import find_registry_dir

    default_dir = str(find_registry_dir())
    registry_dir = st.sidebar.text_input("Registry directory", value=default_dir, key="registry_dir")
    st.sidebar.caption("Every action below shows its CLI command; copy it to run the same thing in a terminal.")
    try:
        session = Session.open(registry_dir, command="gui")
        view = session.registry.load()
    except ImageworksError as exc:
        st.error(f"The registry cannot be read: {exc.message}")
        if exc.hint:
            st.info(exc.hint)
        return
    explicit = registry_dir if registry_dir != default_dir else None
    st.session_state["registry_explicit"] = explicit
    browse, acquire, maintain, advanced = st.tabs(
        ["📚 Browse & Manage", "📥 Download & Import", "🔧 Registry Maintenance", "⚙️ Advanced Operations"])
    with browse:
        browse_tab(session, view)
    with acquire:
        download_import_tab(session, explicit)
    with maintain:
        maintenance_tab(session, explicit)
    with advanced:
        advanced_tab(session, view, explicit)


# ------------------------------------------------------------------------------------ helpers
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


# ----------------------------------------------------------------------------- browse & manage
def browse_tab(session, view) -> None:
    from imageworks_core.kit import human_bytes, ListFilter, entry_rows, registry_stats, select_entries

    if not len(view):
        st.info(
            f"The registry at `{session.registry_dir}` is empty. Get started in **📥 Download & Import**: "
            "download a model from the hub, scan a folder of weights, or import your Ollama store or LM Studio folder.")
        return
    rows_all = list(view.rows.values())

    def values(field: str) -> list[str]:
        return sorted({str(r.get(field)) for r in rows_all if r.get(field)})

    cols = st.columns(5)
    backend = cols[0].selectbox("Backend", ["(any)"] + values("backend"), key="f-backend")
    fmt = cols[1].selectbox("Format", ["(any)"] + values("download_format"), key="f-format")
    quant = cols[2].selectbox("Quant", ["(any)"] + values("quantization"), key="f-quant")
    location = cols[3].selectbox("Location", ["(any)"] + values("download_location"), key="f-location")
    roles = sorted({role for r in rows_all for role in r.get("roles", ())})
    role = cols[4].selectbox("Role", ["(any)"] + roles, key="f-role")
    flags = st.columns(3)
    show_deprecated = flags[0].checkbox("Show deprecated", key="f-deprecated")
    include_logical = flags[1].checkbox("Include logical-only", key="f-logical")
    include_testing = flags[2].checkbox("Include testing", key="f-testing")
    pick = lambda v: None if v == "(any)" else v  # noqa: E731
    flt = ListFilter(pick(backend), pick(fmt), pick(quant), pick(location), pick(role), show_deprecated,
                     include_logical, include_testing)
    args = ["list"] + [a for flag, v in (("--backend", backend), ("--format", fmt), ("--quant", quant),
                                          ("--location", location), ("--role", role)) if pick(v) for a in (flag, v)]
    args += [f for f, on in (("--show-deprecated", show_deprecated), ("--include-logical", include_logical),
                             ("--include-testing", include_testing)) if on]
    show_command(command_line(DOWNLOAD, args, None))
    rows = entry_rows(view, select_entries(view, flt))
    table = [{"name": r["name"], "format": r["download_format"], "quant": r["quantization"], "backend": r["backend"],
              "location": r["download_location"], "size": human_bytes(r["download_size_bytes"]),
              "installed": "✓" if r["installed"] else "✗", "layer": r["layer"], "roles": ", ".join(r["roles"])}
             for r in rows]
    outdated = st.session_state.get("outdated", {})
    for row in table:
        if row["name"] in outdated:
            row["updates"] = outdated[row["name"]]
    st.caption(f"{len(table)} of {len(view)} entries")
    st.dataframe(table, width="stretch", hide_index=True)
    updates_panel(session, view)
    st.subheader("Statistics")
    data = registry_stats(view)
    metrics = st.columns(4)
    metrics[0].metric("Entries", data["entries"])
    metrics[1].metric("Installed", data["installed"])
    metrics[2].metric("Disk use", human_bytes(data["disk_bytes"]))
    metrics[3].metric("Deprecated", data["deprecated"])
    groups = st.columns(3)
    for column, key, title in ((groups[0], "by_backend", "By backend"), (groups[1], "by_format", "By format"),
                               (groups[2], "by_location", "By location")):
        column.markdown(f"**{title}**")
        column.dataframe([{"value": k, "entries": v["count"], "size": human_bytes(v["bytes"])}
                          for k, v in data[key].items()], hide_index=True, width="stretch")
    show_command(command_line(DOWNLOAD, ["stats"], None))
    inventory_extras(session, view)


def inventory_extras(session, view) -> None:
    """list-roles, config and plugins: the rest of the read-only commands."""
    from imageworks_core.kit import role_rows

    with st.expander("Roles (list-roles)"):
        show_command(command_line(DOWNLOAD, ["list-roles", "--show-capabilities"], None))
        rows = role_rows(view)
        if rows:
            st.dataframe([{**r, "capabilities": ", ".join(r["capabilities"])} for r in rows], hide_index=True,
                         width="stretch")
        else:
            st.caption("No entry has a role yet: roles are set in model_registry.curated.json.")
    with st.expander("Settings (config show)"):
        show_command(command_line(DOWNLOAD, ["config", "show"], None))
        st.dataframe([{"key": k, "value": str(v), "source": session.settings.sources[k]}
                      for k, v in session.settings.values.items()], hide_index=True, width="stretch")
    with st.expander("Providers (plugins)"):
        show_command(command_line(DOWNLOAD, ["plugins"], None))
        st.dataframe([{"name": i.name, "distribution": i.distribution, "version": i.version,
                       "hooks": ", ".join(h.removeprefix("imageworks_") for h in i.hooks),
                       "status": f"failed: {i.error}" if i.error else "loaded"}
                      for i in session.plugins.infos], hide_index=True, width="stretch")


# --------------------------------------------------------------------------- provider panels
class PanelKit:
    """What a provider's panel gets: the session, and helpers that keep it a twin of the CLI."""

    def __init__(self, session, registry_dir: str | None):
        self.session = session
        self.registry_dir = registry_dir

    def command(self, program: str, args: list[str]) -> list[str]:
        return command_line(program, args, self.registry_dir)

    def run_and_show(self, program: str, args: list[str], *, key: str, label: str, disabled: bool = False,
                     structured: bool = False):
        return run_and_show(self.command(program, args), key=key, label=label, disabled=disabled,
                            structured=structured)

    def show_command(self, program: str, args: list[str]) -> None:
        show_command(self.command(program, args))

    def confirm_gate(self, dry_run: bool, key: str, what: str) -> bool:
        return confirm_gate(dry_run, key, what)


def provider_panels(session, tab: str):
    panels = [panel for found in session.plugins.hook.imageworks_gui_panels() for panel in (found or ())
              if panel.tab == tab]
    return sorted(panels, key=lambda p: (p.order, p.title))


def render_panels(session, registry_dir, tab: str) -> None:
    """One sub-tab per installed provider panel for ``tab``."""
    panels = provider_panels(session, tab)
    if not panels:
        st.info("No installed provider adds anything here.")
        return
    kit = PanelKit(session, registry_dir)
    for container, panel in zip(st.tabs([p.title for p in panels]), panels):
        with container:
            panel.render(kit)


def download_import_tab(session, registry_dir) -> None:
    render_panels(session, registry_dir, "acquire")


# -------------------------------------------------------------------------------- maintenance
def maintenance_tab(session, registry_dir) -> None:
    reclaim, normalize, purge, cleanup, rediscover, providers = st.tabs(
        ["🧹 Reclaim space", "🔄 Normalize", "🗑️ Purge", "🔨 Cleanup", "🔁 Rediscover", "🧩 Providers"])
    with reclaim:
        reclaim_tab(session, registry_dir)
    with rediscover:
        rediscover_tab(session, registry_dir)
    with providers:
        render_panels(session, registry_dir, "maintenance")
    with normalize:
        cols = st.columns(3)
        rebuild = cols[0].checkbox("Rebuild (size, checksum, files)", key="norm-rebuild")
        prune = cols[1].checkbox("Prune missing", key="norm-prune")
        apply = cols[2].checkbox("Apply (off = dry run)", key="norm-apply")
        args = ["normalize-formats"] + (["--rebuild"] if rebuild else []) + (["--prune-missing"] if prune else [])
        args += ["--apply"] if apply else ["--dry-run"]
        ok = confirm_gate(not apply, "norm", "this rewrites the discovered layer (a backup is made first)")
        run_and_show(command_line(DOWNLOAD, args, registry_dir), key="norm-run", label="Normalize", disabled=not ok)
    with purge:
        action = st.radio("Action", ["purge-logical-only", "prune-deprecated", "purge-imported"], key="purge-action",
                          horizontal=True)
        dry = st.checkbox("Dry run", value=True, key="purge-dry")
        program = DOWNLOAD
        if action == "purge-logical-only":
            args = [action] + (["--include-curated"] if st.checkbox("Include curated", key="purge-curated") else [])
            args += ["--dry-run"] if dry else []
        elif action == "prune-deprecated":
            args = [action] + (["--placeholders-only"] if st.checkbox("Placeholders only", key="purge-ph") else [])
            args += ["--dry-run"] if dry else []
        else:
            program = LOADER
            providers = st.multiselect("Providers", session.plugins.providers, key="purge-providers")
            args = [action, "--providers", ",".join(providers) or "all"] + ([] if dry else ["--apply"])
        ok = confirm_gate(dry, "purge", "entries will be deleted from the registry (a backup is made first)")
        run_and_show(command_line(program, args, registry_dir), key="purge-run", label="Run", disabled=not ok)
    with cleanup:
        action = st.radio("Action", ["prune-duplicates", "reset-discovered"],
                          key="cleanup-action", horizontal=True)
        dry = st.checkbox("Dry run", value=True, key="cleanup-dry")
        args = [action]
        if action == "reset-discovered":
            args += ["--backend", st.text_input("Backend (or all)", value="ollama", key="cleanup-backend")]
        args += ["--dry-run"] if dry else []
        ok = confirm_gate(dry, "cleanup", "the discovered layer will change (a backup is made first)")
        run_and_show(command_line(DOWNLOAD, args, registry_dir), key="cleanup-run", label="Run", disabled=not ok)


def reclaim_tab(session, registry_dir) -> None:
    """The twin of `cleanup`: the plan as a table with sizes, a confirmation, then the freed total."""
    import json

    from imageworks_core.kit import human_bytes

    older = st.text_input("Leave anything newer than (--older-than)", value="1h", key="reclaim-older")
    plan_argv = command_line(DOWNLOAD, ["cleanup", "--older-than", older, "--json"], registry_dir)
    show_command(plan_argv)
    result = run(plan_argv)
    if not result.ok:
        st.error(result.stderr.strip() or f"cleanup failed (exit status {result.exit_code})")
        return
    plan = json.loads(result.stdout)
    if not plan["items"]:
        st.info("Nothing to reclaim: no partial downloads or orphans older than that in any store.")
        return
    st.metric("Reclaimable", human_bytes(plan["reclaimable_bytes"]))
    st.dataframe([{"store": i["store"], "kind": i["kind"], "size": human_bytes(i["bytes"]), "bytes": i["bytes"],
                   "path": i["path"], "reason": i["reason"]} for i in plan["items"]], hide_index=True, width="stretch")
    ok = confirm_gate(False, "reclaim", f"{len(plan['items'])} items ({human_bytes(plan['reclaimable_bytes'])}) "
                                        "will be deleted from disk")
    apply_argv = command_line(DOWNLOAD, ["cleanup", "--older-than", older, "--apply", "--json"], registry_dir)
    show_command(apply_argv)
    if st.button("Reclaim", key="reclaim-run", type="primary", disabled=not ok):
        done = run(apply_argv)
        if done.ok:
            st.success(f"Freed {human_bytes(json.loads(done.stdout)['freed_bytes'])}.")
        else:
            st.error(done.stderr.strip())


def rediscover_tab(session, registry_dir) -> None:
    """The loader's generic commands: every provider's discovery at once, the file-shape migration.
    Providers' own rediscovery commands are in their panels (🧩 Providers)."""
    action = st.radio("Action", ["discover-all", "migrate-registry"], key="redisc-action", horizontal=True)
    dry = st.checkbox("Dry run", value=True, key="redisc-dry")
    args = [action]
    if action == "discover-all":
        root = st.text_input("Folder to look in (--root, optional)", key="redisc-hfroot")
        args += (["--root", root] if root else [])
        for name in st.multiselect("Skip providers", session.plugins.providers, key="redisc-skip"):
            args += ["--skip", name]
    args += ["--dry-run"] if dry else []
    ok = confirm_gate(dry, "redisc", "the discovered layer will be rewritten (a backup is made first where it drops entries)")
    run_and_show(command_line(LOADER, args, registry_dir), key="redisc-run", label="Run", disabled=not ok,
                 structured=action == "discover-all")


# -------------------------------------------------------------------------- advanced operations
def updates_panel(session, view) -> None:
    """Twins of `outdated` and `update`: mark entries whose branch moved on, and update them."""
    import json

    cols = st.columns([1, 3])
    argv = command_line(DOWNLOAD, ["outdated", "--json"], st.session_state.get("registry_explicit"))
    if cols[0].button("Check for updates", key="outdated-run"):
        result = run(argv)
        if not result.ok:
            st.error(result.stderr.strip())
            return
        checks = json.loads(result.stdout)
        st.session_state["outdated"] = {c["name"]: (f"⬆ {c['latest_commit'][:7]}" if c["outdated"] else "up to date")
                                        for c in checks if c["outdated"] is not None}
        st.rerun()
    cols[1].caption(shell_text(argv))
    stale = [name for name, mark in st.session_state.get("outdated", {}).items() if mark.startswith("⬆")]
    if stale:
        chosen = st.multiselect("Outdated entries to update", stale, default=stale, key="update-names")
        ok = confirm_gate(False, "update", "changed files will be fetched and each entry switched to the new commit")
        if run_and_show(command_line(DOWNLOAD, ["update", *chosen], st.session_state.get("registry_explicit")),
                        key="update-run", label="Update", disabled=not ok or not chosen):
            st.session_state.pop("outdated", None)


def lock_sync_tab(session, view, registry_dir) -> None:
    """Twins of `lock` and `sync`: a lock file of the chosen entries, and rebuilding from one."""
    names = [e.name for e in view.entries if (e.source or {}).get("commit")]
    chosen = st.multiselect("Entries to lock (none = every hub entry)", names, key="lock-names")
    output = st.text_input("Lock file", value="imageworks.lock", key="lock-output")
    run_and_show(command_line(DOWNLOAD, ["lock", *chosen, "-o", output], registry_dir), key="lock-run", label="Lock")
    st.divider()
    lock_file = st.text_input("Lock file to sync", value="imageworks.lock", key="sync-file")
    location = st.text_input("Location for models to fetch (optional)", key="sync-location")
    dry = st.checkbox("Dry run", value=True, key="sync-dry")
    args = ["sync", lock_file] + (["--location", location] if location else []) + (["--dry-run"] if dry else [])
    run_and_show(command_line(DOWNLOAD, args, registry_dir), key="sync-run", label="Sync", structured=True)


def share_tab(session, view, registry_dir) -> None:
    """Twins of `dupes`, `dedupe --apply` and `link`: one copy of every weight."""
    import json

    from imageworks_core.kit import human_bytes

    dupes_argv = command_line(DOWNLOAD, ["dupes", "--json"], registry_dir)
    show_command(dupes_argv)
    if st.button("Find identical files", key="dupes-run"):
        result = run(dupes_argv)
        if not result.ok:
            st.error(result.stderr.strip())
        else:
            report = json.loads(result.stdout)
            st.metric("A dedupe frees", human_bytes(report["reclaimable_bytes"]))
            rows = [{"sha256": g["sha256"][:16], "size": human_bytes(g["size"]), "path": c["path"], "entry": c["entry"],
                     "provider": c["provider"]} for g in report["groups"] for c in g["copies"]]
            if rows:
                st.table(rows)
            else:
                st.info("No identical files across entries.")
    ok = confirm_gate(False, "dedupe", "identical copies will be replaced by hard links to one of them")
    run_and_show(command_line(DOWNLOAD, ["dedupe", "--apply"], registry_dir), key="dedupe-run", label="Dedupe",
                 disabled=not ok, structured=True)
    st.divider()
    gguf = [e.name for e in view.entries if e.download_format == "gguf" and e.download_path]
    if not gguf:
        st.info("No GGUF model to link yet.")
        return
    cols = st.columns(3)
    name = cols[0].selectbox("GGUF model", gguf, key="link-name")
    target = cols[1].selectbox("Into", ["ollama", "lmstudio", "a folder…"], key="link-target")
    folder = cols[2].text_input("Folder", key="link-folder") if target == "a folder…" else ""
    mode = st.radio("How", ["hard link (0 bytes)", "symlink", "copy (verified)"], key="link-mode", horizontal=True)
    as_name = st.text_input("Name in Ollama (MODEL[:TAG], optional)", key="link-as") if target == "ollama" else ""
    args = ["link", name, "--to", folder if target == "a folder…" else target]
    args += ["--symlink"] if mode == "symlink" else ["--copy"] if mode.startswith("copy") else []
    args += ["--as", as_name] if as_name else []
    run_and_show(command_line(DOWNLOAD, args, registry_dir), key="link-run", label="Link",
                 disabled=target == "a folder…" and not folder)


def advanced_tab(session, view, registry_dir) -> None:
    verify, remove, share, lock = st.tabs(["✅ Verify", "🗑️ Remove", "🔗 Share", "🔒 Lock & Sync"])
    with share:
        share_tab(session, view, registry_dir)
    with lock:
        lock_sync_tab(session, view, registry_dir)
    names = [e.name for e in view.entries]
    with verify:
        chosen = st.multiselect("Entries (none = every installed entry)", names, key="verify-names")
        cols = st.columns(2)
        content = cols[0].checkbox("Compare content hashes (--hash)", key="verify-hash")
        fix = cols[1].checkbox("Auto-fix: mark entries whose files are gone (--fix-missing)", key="verify-fix")
        args = ["verify", *chosen] + (["--hash"] if content else []) + (["--fix-missing"] if fix else [])
        run_and_show(command_line(DOWNLOAD, args, registry_dir), key="verify-run", label="Verify", structured=True)
    with remove:
        if not names:
            st.info("Nothing to remove: the registry is empty.")
            return
        name = st.selectbox("Entry", names, key="remove-name")
        mode = st.radio("Mode", ["metadata only (keep the entry, clear its download fields)",
                                 "files (also delete its files)", "purge (delete files and the entry)"],
                        key="remove-mode")
        curated = st.checkbox("Include curated", key="remove-curated")
        dry = st.checkbox("Dry run", value=True, key="remove-dry")
        args = ["remove", name]
        if mode.startswith("files"):
            args.append("--delete-files")
        elif mode.startswith("purge"):
            args += ["--purge", "--delete-files"]
        args += (["--include-curated"] if curated else []) + (["--dry-run"] if dry else ["--force"])
        ok = confirm_gate(dry, "remove", f"{name} will be removed" + (" and its files deleted" if "--delete-files" in args else ""))
        run_and_show(command_line(DOWNLOAD, args, registry_dir), key="remove-run", label="Remove", disabled=not ok)


"""The 🎯 Models page: four tabs in parity with the CLI. Each action shows the exact command line
it runs, then runs the same click command in-process (or, for downloads, the same core function
with a live progress bar) and shows the result in plain words."""

from __future__ import annotations

import streamlit as st
from imageworks_core import ImageworksError

from .actions import command_line, run
from .browse import browse_tab
from .share import share_tab
from .widgets import DOWNLOAD, LOADER, confirm_gate, run_and_show, show_command


def render() -> None:
    st.set_page_config(page_title="ImageWorks · Models", page_icon="🎯", layout="wide")
    st.title("🎯 Models")
    from imageworks_core import Session
    from imageworks_core.registry.store import find_registry_dir

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

    from imageworks_core import human_bytes

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


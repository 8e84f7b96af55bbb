"""The 🎯 Models page: four tabs in parity with the CLI. Each action shows the exact command line
it runs, then runs the same click command in-process (or, for downloads, the same core function
with a live progress bar) and shows the result in plain words."""

from __future__ import annotations

import streamlit as st

from ..errors import ImageworksError
from .actions import CommandResult, command_line, run, shell_text

DOWNLOAD = "imageworks-download"
LOADER = "imageworks-loader"


def render() -> None:
    st.set_page_config(page_title="ImageWorks · Models", page_icon="🎯", layout="wide")
    st.title("🎯 Models")
    from ..registry.store import find_registry_dir
    from ..session import Session

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


def run_and_show(argv: list[str], *, key: str, label: str, disabled: bool = False) -> CommandResult | None:
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
    if result.stdout.strip():
        st.code(result.stdout, language="text")
    if result.stderr.strip():
        st.code(result.stderr, language="text")
    return result


def confirm_gate(dry_run: bool, key: str, what: str) -> bool:
    """Destructive actions need an explicit confirmation when they are not a dry run."""
    if dry_run:
        return True
    return st.checkbox(f"I understand: {what}", key=f"{key}-confirm")


# ----------------------------------------------------------------------------- browse & manage
def browse_tab(session, view) -> None:
    from ..inventory import ListFilter, as_json, human_bytes, select, stats

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
    rows = as_json(view, select(view, flt))
    table = [{"name": r["name"], "format": r["download_format"], "quant": r["quantization"], "backend": r["backend"],
              "location": r["download_location"], "size": human_bytes(r["download_size_bytes"]),
              "installed": "✓" if r["installed"] else "✗", "layer": r["layer"], "roles": ", ".join(r["roles"])}
             for r in rows]
    st.caption(f"{len(table)} of {len(view)} entries")
    st.dataframe(table, use_container_width=True, hide_index=True)
    st.subheader("Statistics")
    data = stats(view)
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
                          for k, v in data[key].items()], hide_index=True, use_container_width=True)
    show_command(command_line(DOWNLOAD, ["stats"], None))
    inventory_extras(session, view)


def inventory_extras(session, view) -> None:
    """list-roles, config and plugins: the rest of the read-only commands."""
    from ..inventory import roles

    with st.expander("Roles (list-roles)"):
        show_command(command_line(DOWNLOAD, ["list-roles", "--show-capabilities"], None))
        rows = roles(view)
        if rows:
            st.dataframe([{**r, "capabilities": ", ".join(r["capabilities"])} for r in rows], hide_index=True,
                         use_container_width=True)
        else:
            st.caption("No entry has a role yet: roles are set in model_registry.curated.json.")
    with st.expander("Settings (config show)"):
        show_command(command_line(DOWNLOAD, ["config", "show"], None))
        st.dataframe([{"key": k, "value": str(v), "source": session.settings.sources[k]}
                      for k, v in session.settings.values.items()], hide_index=True, use_container_width=True)
    with st.expander("Providers (plugins)"):
        show_command(command_line(DOWNLOAD, ["plugins"], None))
        st.dataframe([{"name": i.name, "distribution": i.distribution, "version": i.version,
                       "hooks": ", ".join(h.removeprefix("imageworks_") for h in i.hooks),
                       "status": f"failed: {i.error}" if i.error else "loaded"}
                      for i in session.plugins.infos], hide_index=True, use_container_width=True)


# --------------------------------------------------------------------------- download & import
def download_import_tab(session, registry_dir) -> None:
    download, scan, ollama, lmstudio = st.tabs(["🌐 Download", "📁 Scan", "🦙 Import Ollama", "🖥️ Import LM Studio"])
    with download:
        download_form(session, registry_dir)
    with scan:
        base = st.text_input("Base directory", value=session.settings.locations.get("linux_wsl", ""), key="scan-base")
        cols = st.columns(4)
        dry = cols[0].checkbox("Dry run", value=True, key="scan-dry")
        update = cols[1].checkbox("Update existing", key="scan-update")
        testing = cols[2].checkbox("Include testing", key="scan-testing")
        fallback = cols[3].selectbox("Fallback format", ["", "safetensors", "gguf", "pytorch", "onnx", "awq", "gptq"],
                                     key="scan-format")
        args = ["scan", "--base", base] + (["--dry-run"] if dry else []) + (["--update-existing"] if update else [])
        args += (["--include-testing"] if testing else []) + (["--format", fallback] if fallback else [])
        run_and_show(command_line(DOWNLOAD, args, registry_dir), key="scan-run", label="Scan",
                     disabled=not base)
    with ollama:
        cols = st.columns(3)
        dry = cols[0].checkbox("Dry run", value=True, key="ollama-dry")
        deprecate = cols[1].checkbox("Deprecate placeholders", key="ollama-deprecate")
        store = cols[2].text_input("Store", value=session.settings.ollama_models, key="ollama-store")
        backend = st.text_input("Backend", value="ollama", key="ollama-backend")
        location = st.text_input("Location label (optional)", value="", key="ollama-location")
        args = ["import-ollama"] + (["--dry-run"] if dry else []) + (["--deprecate-placeholders"] if deprecate else [])
        args += (["--store", store] if store and store != session.settings.ollama_models else [])
        args += (["--backend", backend] if backend and backend != "ollama" else [])
        args += (["--location", location] if location else [])
        run_and_show(command_line(DOWNLOAD, args, registry_dir), key="ollama-run", label="Import Ollama")
    with lmstudio:
        roots = ", ".join(session.settings.lmstudio_roots) or "(LM Studio not found)"
        st.caption(f"LM Studio models folders: {roots}")
        root = st.text_input("Models folder (optional override)", value="", key="lms-root")
        dry = st.checkbox("Dry run", value=True, key="lms-dry")
        args = ["import-lmstudio"] + (["--dry-run"] if dry else []) + (["--root", root] if root else [])
        run_and_show(command_line(DOWNLOAD, args, registry_dir), key="lms-run", label="Import LM Studio")


def download_form(session, registry_dir) -> None:
    from ..acquire import acquire
    from ..inventory import human_bytes
    from ..types import DownloadRequest

    cols = st.columns([3, 1])
    model = cols[0].text_input("Model (owner/repo, Hugging Face URL or https:// file URL)", key="dl-model")
    branch = cols[1].text_input("Branch / revision", value="main", key="dl-branch")
    cols = st.columns(3)
    formats = cols[0].text_input("Format preference (e.g. awq,safetensors)", key="dl-formats")
    quant = cols[1].text_input("GGUF quant (e.g. q4_k_m)", key="dl-quant")
    locations = list(session.settings.locations)
    location = cols[2].selectbox("Location", locations + ["custom path…"], key="dl-location")
    custom = st.text_input("Custom directory", key="dl-custom") if location == "custom path…" else ""
    weights = st.text_input("Only these weight files (comma list, optional)", key="dl-weights")
    support = st.text_input("Support repo (optional)", key="dl-support")
    flags = st.columns(5)
    optional = flags[0].checkbox("Include optional files", key="dl-optional")
    force = flags[1].checkbox("Force", key="dl-force")
    no_aria2 = flags[2].checkbox("No aria2", key="dl-noaria2")
    dry = flags[3].checkbox("Dry run", key="dl-dry")
    backend = flags[4].text_input("Backend (optional)", key="dl-backend")
    source = f"{model}@{branch}" if model and branch and branch != "main" and not model.startswith("http") else model
    where = custom if location == "custom path…" else location
    args = ["download", source or "OWNER/REPO", "--non-interactive"]
    for flag, value in (("--format", formats), ("--quant", quant), ("--location", where), ("--weights", weights),
                        ("--support-repo", support), ("--backend", backend)):
        if value:
            args += [flag, value]
    args += [f for f, on in (("--include-optional", optional), ("--force", force), ("--no-aria2", no_aria2),
                             ("--dry-run", dry)) if on]
    argv = command_line(DOWNLOAD, args, registry_dir)
    show_command(argv)
    if not st.button("Download", key="dl-run", type="primary", disabled=not model):
        return
    bar = st.progress(0.0, text="Starting…")

    def on_progress(p) -> None:
        fraction = min(1.0, p.done_bytes / p.total_bytes) if p.total_bytes else 0.0
        eta = f", ETA {p.eta_s:.0f}s" if p.eta_s else ""
        bar.progress(fraction, text=f"{human_bytes(p.done_bytes)} of {human_bytes(p.total_bytes)} · "
                                    f"{human_bytes(int(p.speed_bps or 0))}/s{eta}")

    split = lambda v: tuple(x.strip() for x in v.split(",") if x.strip())  # noqa: E731
    request = DownloadRequest(source=source, formats=split(formats), quant=quant.lower() or None,
                              location=where or None, weights=split(weights), support_repo=support or None,
                              include_optional=optional, non_interactive=True, force=force,
                              use_aria2=False if no_aria2 else None, backend=backend or None, dry_run=dry)
    try:
        done = acquire(session, request, on_progress=on_progress)
    except ImageworksError as exc:
        bar.empty()
        st.error(exc.message)
        if exc.hint:
            st.info(exc.hint)
        return
    bar.progress(1.0, text="Finished")
    result = done.result
    if result.dry_run:
        st.info(f"Dry run: {len(result.files)} files would go to {result.target_dir}; nothing was written.")
        st.dataframe([{"file": f.path, "size": human_bytes(f.size), "action": "present" if f.present else "download"}
                      for f in result.files], hide_index=True)
        return
    entry = done.change.entry if done.change else None
    st.success(f"✅ {done.change.name if done.change else ''} — {result.target_dir}")
    if entry:
        st.json({"location": entry.download_location, "format": entry.download_format, "quant": entry.quantization,
                 "files": len(entry.download_files), "size": human_bytes(entry.download_size_bytes),
                 "chat_template": entry.chat_template.source if entry.chat_template else "none",
                 "seconds": round(result.seconds, 1), "already_present": result.already_present})


# -------------------------------------------------------------------------------- maintenance
def maintenance_tab(session, registry_dir) -> None:
    normalize, purge, cleanup, restore, rediscover = st.tabs(
        ["🔄 Normalize", "🗑️ Purge", "🔨 Cleanup", "♻️ Restore", "🔁 Rediscover"])
    with rediscover:
        rediscover_tab(session, registry_dir)
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
            providers = st.multiselect("Providers", ["hf", "ollama", "lmstudio", "local_scan"], key="purge-providers")
            args = [action, "--providers", ",".join(providers) or "all"] + ([] if dry else ["--apply"])
        ok = confirm_gate(dry, "purge", "entries will be deleted from the registry (a backup is made first)")
        run_and_show(command_line(program, args, registry_dir), key="purge-run", label="Run", disabled=not ok)
    with cleanup:
        action = st.radio("Action", ["prune-duplicates", "reset-discovered", "backfill-ollama-paths"],
                          key="cleanup-action", horizontal=True)
        dry = st.checkbox("Dry run", value=True, key="cleanup-dry")
        args = [action]
        if action == "reset-discovered":
            args += ["--backend", st.text_input("Backend (or all)", value="ollama", key="cleanup-backend")]
        args += ["--dry-run"] if dry else []
        ok = confirm_gate(dry, "cleanup", "the discovered layer will change (a backup is made first)")
        run_and_show(command_line(DOWNLOAD, args, registry_dir), key="cleanup-run", label="Run", disabled=not ok)
    with restore:
        backups = [str(p) for p in reversed(session.registry.backups("discovered"))]
        if not backups:
            st.info("No discovered-layer backups yet: destructive commands make them before they write.")
        choice = st.selectbox("Backup", ["(newest)"] + backups, key="restore-backup")
        dry = st.checkbox("Dry run", value=True, key="restore-dry")
        deprecated = st.checkbox("Include deprecated", key="restore-deprecated")
        args = ["restore-ollama"] + ([] if choice == "(newest)" else ["--backup", choice])
        args += (["--dry-run"] if dry else []) + (["--include-deprecated"] if deprecated else [])
        run_and_show(command_line(DOWNLOAD, args, registry_dir), key="restore-run", label="Restore",
                     disabled=not backups)


def rediscover_tab(session, registry_dir) -> None:
    """The loader's commands: rediscovery from scratch and the file-shape migration."""
    action = st.radio("Action", ["discover-all", "ingest-local-hf", "rebuild-ollama", "migrate-registry"],
                      key="redisc-action", horizontal=True)
    dry = st.checkbox("Dry run", value=True, key="redisc-dry")
    args = [action]
    if action == "discover-all":
        root = st.text_input("Folder of owner/repo downloads (--hf-root)", key="redisc-hfroot")
        cols = st.columns(2)
        args += (["--hf-root", root] if root else [])
        args += ["--skip-ollama"] if cols[0].checkbox("Skip Ollama", key="redisc-skip-ollama") else []
        args += ["--skip-lmstudio"] if cols[1].checkbox("Skip LM Studio", key="redisc-skip-lms") else []
    elif action == "ingest-local-hf":
        root = st.text_input("Root (default: linux_wsl and the Hugging Face cache)", key="redisc-root")
        args += ["--root", root] if root else []
    elif action == "rebuild-ollama":
        location = st.text_input("Location label (optional)", key="redisc-location")
        args += ["--location", location] if location else []
    args += ["--dry-run"] if dry else []
    ok = confirm_gate(dry, "redisc", "the discovered layer will be rewritten (a backup is made first where it drops entries)")
    run_and_show(command_line(LOADER, args, registry_dir), key="redisc-run", label="Run", disabled=not ok)


# -------------------------------------------------------------------------- advanced operations
def advanced_tab(session, view, registry_dir) -> None:
    verify, remove = st.tabs(["✅ Verify", "🗑️ Remove"])
    names = [e.name for e in view.entries]
    with verify:
        chosen = st.multiselect("Entries (none = every installed entry)", names, key="verify-names")
        cols = st.columns(2)
        content = cols[0].checkbox("Compare content hashes (--hash)", key="verify-hash")
        fix = cols[1].checkbox("Auto-fix: mark entries whose files are gone (--fix-missing)", key="verify-fix")
        args = ["verify", *chosen] + (["--hash"] if content else []) + (["--fix-missing"] if fix else [])
        run_and_show(command_line(DOWNLOAD, args, registry_dir), key="verify-run", label="Verify")
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


"""ollama's GUI panels: the twins of `import-ollama`, `restore-ollama`, `rebuild-ollama` and
`backfill-ollama-paths`."""

from __future__ import annotations

from imageworks_core import GuiPanel

DOWNLOAD, LOADER = "imageworks-download", "imageworks-loader"


def import_panel(kit) -> None:
    import streamlit as st

    store_now = kit.session.settings.ollama_models
    cols = st.columns(3)
    dry = cols[0].checkbox("Dry run", value=True, key="ollama-dry")
    deprecate = cols[1].checkbox("Deprecate placeholders", key="ollama-deprecate")
    store = cols[2].text_input("Store", value=store_now, key="ollama-store")
    backend = st.text_input("Backend", value="ollama", key="ollama-backend")
    location = st.text_input("Location label (optional)", value="", key="ollama-location")
    args = ["import-ollama"] + (["--dry-run"] if dry else []) + (["--deprecate-placeholders"] if deprecate else [])
    args += (["--store", store] if store and store != store_now else [])
    args += (["--backend", backend] if backend and backend != "ollama" else [])
    args += (["--location", location] if location else [])
    kit.run_and_show(DOWNLOAD, args, key="ollama-run", label="Import Ollama", structured=True)


def maintenance_panel(kit) -> None:
    import streamlit as st

    action = st.radio("Action", ["restore-ollama", "rebuild-ollama", "backfill-ollama-paths"], key="ollama-maint",
                      horizontal=True)
    dry = st.checkbox("Dry run", value=True, key="ollama-maint-dry")
    program, args = DOWNLOAD, [action]
    if action == "restore-ollama":
        backups = [str(p) for p in reversed(kit.session.registry.backups("discovered"))]
        if not backups:
            st.info("No discovered-layer backups yet: destructive commands make them before they write.")
        choice = st.selectbox("Backup", ["(newest)"] + backups, key="restore-backup")
        args += [] if choice == "(newest)" else ["--backup", choice]
        args += ["--include-deprecated"] if st.checkbox("Include deprecated", key="restore-deprecated") else []
    elif action == "rebuild-ollama":
        program = LOADER
        location = st.text_input("Location label (optional)", key="redisc-location")
        args += ["--location", location] if location else []
    args += ["--dry-run"] if dry else []
    ok = kit.confirm_gate(dry, "ollama-maint", "the discovered layer will change (a backup is made first)")
    kit.run_and_show(program, args, key="ollama-maint-run", label="Run", disabled=not ok)


PANELS = [GuiPanel("acquire", "🦙 Import Ollama", import_panel, order=30),
          GuiPanel("maintenance", "🦙 Ollama", maintenance_panel, order=30)]

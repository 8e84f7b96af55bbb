"""lmstudio's GUI panel: the twin of `import-lmstudio`."""

from __future__ import annotations

from imageworks_core import GuiPanel

DOWNLOAD = "imageworks-download"


def import_panel(kit) -> None:
    import streamlit as st

    roots = ", ".join(kit.session.settings.lmstudio_roots) or "(LM Studio not found)"
    st.caption(f"LM Studio models folders: {roots}")
    root = st.text_input("Models folder (optional override)", value="", key="lms-root")
    dry = st.checkbox("Dry run", value=True, key="lms-dry")
    args = ["import-lmstudio"] + (["--dry-run"] if dry else []) + (["--root", root] if root else [])
    kit.run_and_show(DOWNLOAD, args, key="lms-run", label="Import LM Studio", structured=True)


PANELS = [GuiPanel("acquire", "🖥️ Import LM Studio", import_panel, order=40)]

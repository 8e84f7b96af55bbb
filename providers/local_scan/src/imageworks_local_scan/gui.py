"""local_scan's GUI panel: the twin of `scan`."""

from __future__ import annotations

from imageworks_core import GuiPanel

DOWNLOAD = "imageworks-download"


def scan_panel(kit) -> None:
    import streamlit as st

    base = st.text_input("Base directory", value=kit.session.settings.locations.get(kit.session.settings.default_location, ""), key="scan-base")
    cols = st.columns(4)
    dry = cols[0].checkbox("Dry run", value=True, key="scan-dry")
    update = cols[1].checkbox("Update existing", key="scan-update")
    testing = cols[2].checkbox("Include testing", key="scan-testing")
    fallback = cols[3].selectbox("Fallback format", ["", "safetensors", "gguf", "pytorch", "onnx", "awq", "gptq"],
                                 key="scan-format")
    args = ["scan", "--base", base] + (["--dry-run"] if dry else []) + (["--update-existing"] if update else [])
    args += (["--include-testing"] if testing else []) + (["--format", fallback] if fallback else [])
    kit.run_and_show(DOWNLOAD, args, key="scan-run", label="Scan", disabled=not base, structured=True)


PANELS = [GuiPanel("acquire", "📁 Scan", scan_panel, order=20)]

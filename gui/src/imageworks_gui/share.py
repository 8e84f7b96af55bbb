"""🔗 Share: the twins of `dupes`, `dedupe --apply` and `link`: one copy of every weight, visible to
every tool."""

from __future__ import annotations

import streamlit as st

from .actions import command_line, run
from .widgets import DOWNLOAD, confirm_gate, run_and_show, show_command


def share_tab(session, view, registry_dir) -> None:
    """Twins of `dupes`, `dedupe --apply` and `link`: one copy of every weight."""
    import json

    from imageworks_core import human_bytes

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

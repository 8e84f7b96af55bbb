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
    link_panel(session, view, registry_dir)


TARGETS = {"hf-cache": "🤗 Hugging Face cache", "ollama": "🦙 Ollama", "lmstudio": "🖥️ LM Studio",
           "a folder…": "📁 a folder…"}
HF_CACHE_NOTE = ("Every file becomes a hard link in `models--owner--name/blobs/`, with the snapshot links and the "
                 "`refs/` huggingface_hub writes: transformers, sentence-transformers, vLLM and llama.cpp `-hf` "
                 "then load it by repo id, offline, with 0 bytes copied.")


def link_targets(entry, providers) -> list[str]:
    """Where `link` can place ``entry``: a GGUF into Ollama, LM Studio or a folder; any hub copy
    (not only GGUF) into the Hugging Face cache, unless it already is one."""
    out = []
    if (entry.source or {}).get("repo_id") and entry.download_location != "hf_cache" and "hf" in providers:
        out.append("hf-cache")
    if entry.download_format == "gguf":
        out += [t for t in ("ollama", "lmstudio") if t in providers] + ["a folder…"]
    return out


def link_panel(session, view, registry_dir) -> None:
    """The twin of `link NAME --to TARGET`."""
    providers = session.plugins.providers
    choices = {e.name: link_targets(e, providers) for e in view.entries if e.download_path}
    names = [name for name, targets in choices.items() if targets]
    if not names:
        st.info("Nothing to link yet: a GGUF model or a model downloaded from the hub can be linked.")
        return
    cols = st.columns(3)
    name = cols[0].selectbox("Model (GGUF, or any hub download)", names, key="link-name")
    target = cols[1].selectbox("Into", choices[name], key="link-target", format_func=TARGETS.get)
    folder = cols[2].text_input("Folder", key="link-folder") if target == "a folder…" else ""
    modes = ["hard link (0 bytes)", "copy (verified)"] if target == "hf-cache" else [
        "hard link (0 bytes)", "symlink", "copy (verified)"]  # a blob is never a symlink to our file
    mode = st.radio("How", modes, key="link-mode", horizontal=True)
    if target == "hf-cache":
        st.caption(HF_CACHE_NOTE)
    as_name = st.text_input("Name in Ollama (MODEL[:TAG], optional)", key="link-as") if target == "ollama" else ""
    args = ["link", name, "--to", folder if target == "a folder…" else target]
    args += ["--symlink"] if mode == "symlink" else ["--copy"] if mode.startswith("copy") else []
    args += ["--as", as_name] if as_name else []
    run_and_show(command_line(DOWNLOAD, args, registry_dir), key="link-run", label="Link",
                 disabled=target == "a folder…" and not folder)

"""hf's GUI panels: the twins of `download` (with a live progress bar) and `ingest-local-hf`."""

from __future__ import annotations

from imageworks_core import GuiPanel

from .cache_ingest import CACHE_LABEL as HF_CACHE  # also `download --location hf_cache`

DOWNLOAD, LOADER = "imageworks-download", "imageworks-loader"


def location_name(label: str) -> str:
    return "hf_cache (🤗 Hugging Face cache)" if label == HF_CACHE else label


def download_panel(kit) -> None:
    import streamlit as st

    session = kit.session
    from imageworks_core import DownloadRequest, ImageworksError, acquire, human_bytes

    cols = st.columns([3, 1])
    model = cols[0].text_input("Model (owner/repo, Hugging Face URL or https:// file URL)", key="dl-model")
    branch = cols[1].text_input("Branch / revision", value="main", key="dl-branch")
    cols = st.columns(3)
    formats = cols[0].text_input("Format preference (e.g. awq,safetensors)", key="dl-formats")
    quant = cols[1].text_input("GGUF quant (e.g. q4_k_m)", key="dl-quant")
    locations = list(session.settings.locations)
    locations += [HF_CACHE] if HF_CACHE not in locations else []
    location = cols[2].selectbox("Location", locations + ["custom path…"], key="dl-location", format_func=location_name)
    custom = st.text_input("Custom directory", key="dl-custom") if location == "custom path…" else ""
    if location == HF_CACHE:
        st.caption("Straight into the Hugging Face cache layout: transformers, sentence-transformers, vLLM and "
                   "llama.cpp `-hf` find it by repo id the moment it is done, offline, with no second copy.")
    weights = st.text_input("Only these weight files (comma list, optional)", key="dl-weights")
    support = st.text_input("Support repo (optional)", key="dl-support")
    flags = st.columns(5)
    optional = flags[0].checkbox("Include optional files", key="dl-optional")
    force = flags[1].checkbox("Force", key="dl-force")
    aria2 = flags[2].checkbox("Use aria2c", key="dl-aria2")
    dry = flags[3].checkbox("Dry run", key="dl-dry")
    backend = flags[4].text_input("Backend (optional)", key="dl-backend")
    source = f"{model}@{branch}" if model and branch and branch != "main" and not model.startswith("http") else model
    where = custom if location == "custom path…" else location
    args = ["download", source or "OWNER/REPO", "--non-interactive"]
    for flag, value in (("--format", formats), ("--quant", quant), ("--location", where), ("--weights", weights),
                        ("--support-repo", support), ("--backend", backend)):
        if value:
            args += [flag, value]
    args += [f for f, on in (("--include-optional", optional), ("--force", force), ("--aria2", aria2),
                             ("--dry-run", dry)) if on]
    kit.show_command(DOWNLOAD, args)
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
                              use_aria2=True if aria2 else None, backend=backend or None, dry_run=dry)
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


def ingest_panel(kit) -> None:
    import streamlit as st

    root = st.text_input("Root (default: linux_wsl and the Hugging Face cache)", key="ingest-root")
    dry = st.checkbox("Dry run", value=True, key="ingest-dry")
    args = ["ingest-local-hf"] + (["--root", root] if root else []) + (["--dry-run"] if dry else [])
    ok = kit.confirm_gate(dry, "ingest", "entries will be added to the discovered layer")
    kit.run_and_show(LOADER, args, key="ingest-run", label="Ingest", disabled=not ok, structured=True)


PANELS = [GuiPanel("acquire", "🌐 Download", download_panel, order=10),
          GuiPanel("maintenance", "🤗 Hugging Face", ingest_panel, order=10)]

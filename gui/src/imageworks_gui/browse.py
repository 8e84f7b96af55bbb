"""📚 Browse & Manage: the twin of `list` and `stats`, where each model is visible, the disk view,
and the read-only commands (`list-roles`, `config show`, `plugins`), `outdated` and `update`."""

from __future__ import annotations

import streamlit as st

from . import disk_view
from .actions import command_line, run, shell_text
from .widgets import DOWNLOAD, confirm_gate, run_and_show, show_command


def browse_tab(session, view) -> None:
    from imageworks_core import human_bytes
    from imageworks_core.inventory import ListFilter, as_json, select, stats, visibility

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
    where = visibility(view.entries)
    table = [{"name": r["name"], "format": r["download_format"], "quant": r["quantization"], "backend": r["backend"],
              "location": r["download_location"], "size": human_bytes(r["download_size_bytes"]),
              "installed": "✓" if r["installed"] else "✗", "visible in": visible_in(where.get(r["name"], ())),
              "layer": r["layer"], "roles": ", ".join(r["roles"])}
             for r in rows]
    outdated = st.session_state.get("outdated", {})
    for row in table:
        if row["name"] in outdated:
            row["updates"] = outdated[row["name"]]
    st.caption(f"{len(table)} of {len(view)} entries")
    st.dataframe(table, width="stretch", hide_index=True)
    copies_panel(view, where, [r["name"] for r in rows])
    updates_panel(session, view)
    st.subheader("Statistics")
    data = stats(view)
    metrics = st.columns(4)
    metrics[0].metric("Entries", data["entries"])
    metrics[1].metric("Installed", data["installed"])
    metrics[2].metric("Logical only", data["logical_only"])
    metrics[3].metric("Deprecated", data["deprecated"])
    show_command(command_line(DOWNLOAD, ["stats"], None))
    disk_view.render(session, st.session_state.get("registry_explicit"), data)
    with st.expander("Entries and bytes by backend, format and location"):
        groups = st.columns(3)
        for column, key, title in ((groups[0], "by_backend", "By backend"), (groups[1], "by_format", "By format"),
                                   (groups[2], "by_location", "By location")):
            column.markdown(f"**{title}**")
            column.dataframe([{"value": k, "entries": v["count"], "size": human_bytes(v["bytes"])}
                              for k, v in data[key].items()], hide_index=True, width="stretch")
    inventory_extras(session, view)


def tool_of(place) -> str:
    """Which tool finds a copy where it is: the HF cache (by repo id), Ollama, LM Studio, or a folder
    (by path)."""
    if place.location == "hf_cache":
        return "🤗 HF cache"
    if "ollama" in (place.provider, place.backend):
        return "🦙 Ollama"
    if "lmstudio" in (place.provider, place.backend):
        return "🖥️ LM Studio"
    return f"📁 {place.location or 'folder'}"


def visible_in(places) -> str:
    return " · ".join(dict.fromkeys(tool_of(p) for p in places)) or "—"


def copies_panel(view, where, names: list[str]) -> None:
    """Per entry: every registered copy of its model, the tool that finds each, and how."""
    shared = [n for n in names if len(where.get(n, ())) > 1]
    with st.expander(f"🔭 Where each model is visible ({len(shared)} with copies in more than one place)"):
        if not names:
            st.caption("No entry matches the filters.")
            return
        name = st.selectbox("Entry", names, index=names.index(shared[0]) if shared else 0, key="where-name")
        places = where.get(name, ())
        if not places:
            st.warning("Its files are not there: no tool can use this entry until it is downloaded again.")
            return
        st.table([{"tool": tool_of(p), "entry": p.name, "how a tool finds it": how_to_use(view.get(p.name), p),
                   "path": p.path} for p in places])
        entry = view.get(name)
        if (entry.source or {}).get("repo_id") and not any(p.location == "hf_cache" for p in places):
            st.caption("Not in the Hugging Face cache yet: **⚙️ Advanced Operations → 🔗 Share** places it there "
                       "with 0 bytes copied, for transformers, vLLM, sentence-transformers and llama.cpp `-hf`.")


def how_to_use(entry, place) -> str:
    repo = (entry.source or {}).get("repo_id") if entry else None
    if place.location == "hf_cache" and repo:
        if entry.download_format == "gguf":
            return f"llama-server -hf {repo}" + (f":{entry.quantization.upper()}" if entry.quantization else "")
        return f'from_pretrained("{repo}") · vllm serve {repo}'
    if entry is not None and entry.served_model_id and "ollama" in (place.provider, place.backend):
        return f"ollama run {entry.served_model_id}"
    if "lmstudio" in (place.provider, place.backend):
        return "LM Studio's model list"
    return "by path"


def inventory_extras(session, view) -> None:
    """list-roles, config and plugins: the rest of the read-only commands."""
    from imageworks_core.inventory import roles

    with st.expander("Roles (list-roles)"):
        show_command(command_line(DOWNLOAD, ["list-roles", "--show-capabilities"], None))
        rows = roles(view)
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

"""The disk as a picture: bytes by store and by location, and what `dedupe` and `cleanup` would
free. The figures are the core's ``disk_usage`` (``stats`` and the dry-run plans of those two
commands); this module names the stores as people do and draws them."""

from __future__ import annotations

import attrs

# Store (provider) names as people say them; an unknown provider keeps its own name.
STORE_NAMES = {"hf": "Hugging Face downloads", "ollama": "Ollama", "lmstudio": "LM Studio",
               "local_scan": "Scanned folders", "none": "Unknown"}


def store_name(provider: str | None) -> str:
    return STORE_NAMES.get(provider or "none", provider or "Unknown")


def location_name(label: str | None) -> str:
    """``stats`` groups entries without a location label (a tool's own store) under "none"."""
    return "(no label: a tool's store)" if label in (None, "none") else label


@attrs.frozen
class DiskRows:
    """The chart rows of a ``DiskUsage``, with the names people use."""

    by_store: tuple[dict, ...]  # {"store", "bytes", "entries"}
    by_location: tuple[dict, ...]  # {"location", "bytes", "entries"}
    reclaim: tuple[dict, ...]  # {"command", "store", "bytes"}


def disk_rows(usage) -> DiskRows:
    return DiskRows(
        tuple({"store": store_name(k), "bytes": v["bytes"], "entries": v["count"]} for k, v in usage.by_provider.items()),
        tuple({"location": location_name(k), "bytes": v["bytes"], "entries": v["count"]}
              for k, v in usage.by_location.items()),
        tuple([{"command": "dedupe", "store": store_name(k), "bytes": n} for k, n in (usage.dedupe or {}).items()]
              + [{"command": "cleanup", "store": store, "bytes": n} for store, n in usage.cleanup.items()]))


# ------------------------------------------------------------------------------------ drawing
UNITS = (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10))
COMMAND_COLOURS = {"dedupe": "#f58518", "cleanup": "#54a24b"}


def _unit(largest: int) -> tuple[str, int]:
    """The unit the axis counts in: the one human_bytes would print for the largest bar."""
    return next(((name, size) for name, size in UNITS if largest >= size), ("bytes", 1))


def _bars(rows, category: str, title: str, *, colour_by: str | None = None):
    """Horizontal bars of ``rows``' bytes, in the unit of the largest; each labelled with its size
    (stacked by ``colour_by`` when given, the sizes then in the tooltip)."""
    import altair as alt
    import pandas as pd
    from imageworks_core import human_bytes

    frame = pd.DataFrame(list(rows))
    unit, scale = _unit(int(frame.groupby(category)["bytes"].sum().max()))
    frame["size"] = frame["bytes"].map(human_bytes)
    frame[unit] = frame["bytes"] / scale
    order = list(frame.groupby(category)["bytes"].sum().sort_values(ascending=False, kind="stable").index)
    base = alt.Chart(frame, title=title).encode(
        y=alt.Y(f"{category}:N", sort=order, title=None, axis=alt.Axis(labelLimit=360)),
        x=alt.X(f"sum({unit}):Q", title=unit),
        tooltip=[f"{category}:N", "size:N"] + ([f"{colour_by}:N"] if colour_by else ["entries:Q"]))
    labels = base.mark_text(align="left", dx=4).encode(text="size:N")
    if colour_by:
        colours = alt.Scale(domain=list(COMMAND_COLOURS), range=list(COMMAND_COLOURS.values()))
        bars = base.mark_bar().encode(
            color=alt.Color(f"{colour_by}:N", scale=colours, legend=alt.Legend(orient="bottom", title=None)))
        totals = frame.groupby(category, as_index=False)[["bytes", unit]].sum()
        totals["size"] = totals["bytes"].map(human_bytes)
        labels = alt.Chart(totals).mark_text(align="left", dx=4).encode(
            y=alt.Y(f"{category}:N", sort=order), x=f"{unit}:Q", text="size:N")
    else:
        bars = base.mark_bar(cornerRadiusEnd=3, color="#4c78a8")
    return (bars + labels).properties(height=alt.Step(28))


def render(session, registry_dir: str | None, stats_data: dict | None = None) -> None:
    import streamlit as st
    from imageworks_core import ImageworksError, human_bytes
    from imageworks_core.inventory import disk_usage

    from .actions import command_line, shell_text

    st.subheader("💽 Disk")
    older = st.session_state.get("reclaim-older", "1h")
    measured_key = f"disk-dedupe-measured:{session.registry_dir}"
    try:
        usage = disk_usage(session, older_than=older, with_dedupe=bool(st.session_state.get(measured_key)),
                           stats_data=stats_data)
    except ImageworksError as exc:
        st.error(exc.message)
        return
    view = disk_rows(usage)
    metrics = st.columns(3)
    metrics[0].metric("On disk (each file once)", human_bytes(usage.disk_bytes))
    if usage.dedupe_bytes is None:
        if metrics[1].button("Measure what dedupe frees", key="disk-dedupe",
                             help="Reads files of equal size whose hash is not known yet, once (cached)."):
            st.session_state[measured_key] = True
            st.rerun()
    else:
        metrics[1].metric("A dedupe would free", human_bytes(usage.dedupe_bytes))
    metrics[2].metric("A cleanup would free", human_bytes(usage.cleanup_bytes))
    charts = st.columns(2)
    if view.by_store:
        charts[0].altair_chart(_bars(view.by_store, "store", "Bytes by store (a shared file counts in each)"),
                               width="stretch")
    if view.by_location:
        charts[1].altair_chart(_bars(view.by_location, "location", "Bytes by location"), width="stretch")
    if view.reclaim:
        st.altair_chart(_bars(view.reclaim, "store", "What each command would free", colour_by="command"),
                        width="stretch")
    else:
        st.caption(f"Nothing to free: no leftovers older than {older}"
                   + ("; what a dedupe frees is not measured yet." if usage.dedupe_bytes is None
                      else " and no duplicate files."))
    argv = [command_line("imageworks-download", args, registry_dir)
            for args in (["stats"], ["dedupe"], ["cleanup", "--older-than", older])]
    st.caption("The same figures in a terminal: " + " · ".join(f"`{shell_text(a)}`" for a in argv))

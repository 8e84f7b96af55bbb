"""The disk as a picture: bytes by store and by location, and what `dedupe` and `cleanup` would
free. The figures come from the functions those commands use for their dry runs (``stats``, the
dedupe plan, the cleanup plan); this module only arranges them for charts."""

from __future__ import annotations

from collections import defaultdict

import attrs

# Store (provider) names as people say them; an unknown provider keeps its own name.
STORE_NAMES = {"hf": "Hugging Face downloads", "ollama": "Ollama", "lmstudio": "LM Studio",
               "local_scan": "Scanned folders", "none": "Unknown"}


@attrs.frozen
class DiskView:
    disk_bytes: int  # registered files, each counted once
    by_store: tuple[dict, ...]  # {"store", "bytes", "entries"}: a file shared by two stores counts in both
    by_location: tuple[dict, ...]  # {"location", "bytes", "entries"}
    reclaim: tuple[dict, ...]  # {"command", "store", "bytes"}: what each command would free, where
    dedupe_bytes: int | None  # None: not measured
    cleanup_bytes: int


def store_name(provider: str | None) -> str:
    return STORE_NAMES.get(provider or "none", provider or "Unknown")


def location_name(label: str | None) -> str:
    """``stats`` groups entries without a location label (a tool's own store) under "none"."""
    return "(no label: a tool's store)" if label in (None, "none") else label


def disk_view(session, *, older_than_s: float = 3600.0, with_dedupe: bool = True,
              stats_data: dict | None = None) -> DiskView:
    """The registry's bytes and the dry runs of `dedupe` and `cleanup --older-than` on it.
    ``with_dedupe`` False leaves the dedupe plan out (it may hash files of equal size once);
    ``stats_data``: `stats` of the registry when the caller has it already."""
    from imageworks_core.cleanup import group_by_store, plan_cleanup
    from imageworks_core.inventory import stats

    data = stats_data if stats_data is not None else stats(session.registry.load())
    by_store = tuple({"store": store_name(k), "bytes": v["bytes"], "entries": v["count"]}
                     for k, v in data["by_provider"].items())
    by_location = tuple({"location": location_name(k), "bytes": v["bytes"], "entries": v["count"]}
                        for k, v in data["by_location"].items())
    reclaim: list[dict] = []
    dedupe_bytes = None
    if with_dedupe:
        from imageworks_core.sharing import find_dupes, plan_dedupe

        report = find_dupes(session)
        steps, _skipped = plan_dedupe(report)
        provider_of = {c.path: c.provider for g in report.groups for c in g.copies}
        freed: dict[str, int] = defaultdict(int)
        for step in steps:  # the replaced copy's store is the one that gets its bytes back
            freed[store_name(provider_of.get(step.replace))] += step.size
        reclaim += [{"command": "dedupe", "store": store, "bytes": n} for store, n in sorted(freed.items())]
        dedupe_bytes = sum(s.size for s in steps)
    plan = plan_cleanup(session, older_than_s)
    reclaim += [{"command": "cleanup", "store": store, "bytes": sum(i.bytes for i in items)}
                for store, items in group_by_store(plan.items).items()]
    return DiskView(data["disk_bytes"], by_store, by_location, tuple(reclaim), dedupe_bytes,
                    plan.reclaimable_bytes)


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
    from imageworks_core.cleanup import parse_duration

    from .actions import command_line, shell_text

    st.subheader("💽 Disk")
    older = st.session_state.get("reclaim-older", "1h")
    measured_key = f"disk-dedupe-measured:{session.registry_dir}"
    try:
        view = disk_view(session, older_than_s=parse_duration(older),
                         with_dedupe=bool(st.session_state.get(measured_key)), stats_data=stats_data)
    except ImageworksError as exc:
        st.error(exc.message)
        return
    metrics = st.columns(3)
    metrics[0].metric("On disk (each file once)", human_bytes(view.disk_bytes))
    if view.dedupe_bytes is None:
        if metrics[1].button("Measure what dedupe frees", key="disk-dedupe",
                             help="Reads files of equal size whose hash is not known yet, once (cached)."):
            st.session_state[measured_key] = True
            st.rerun()
    else:
        metrics[1].metric("A dedupe would free", human_bytes(view.dedupe_bytes))
    metrics[2].metric("A cleanup would free", human_bytes(view.cleanup_bytes))
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
                   + ("; what a dedupe frees is not measured yet." if view.dedupe_bytes is None
                      else " and no duplicate files."))
    argv = [command_line("imageworks-download", args, registry_dir)
            for args in (["stats"], ["dedupe"], ["cleanup", "--older-than", older])]
    st.caption("The same figures in a terminal: " + " · ".join(f"`{shell_text(a)}`" for a in argv))

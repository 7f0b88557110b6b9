"""Demo step: patrol dosage from the synthetic city's GPS pings.

Cleans the imported pings (every set-aside fix keeps its reason), measures visits and minutes per
device, team, hot spot and local day, stores the visits for the later stages, and reports what a
coordinator sees for one day, the delivery against the plan, abstraction, unknown coverage and the
never-together breaches, checked against the breaches the synthetic city planted.

Puts ``visits`` (one row per visit and local day) and ``dosage`` (the daily panel: local_day,
area_id, team, visits, devices, officer_minutes, patrol_minutes) in ``ctx.results``.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import pandas as pd

from ..report.html import Section, esc, fig_to_img, table_html
from ..store.areas import load_areas
from ..store.devices import list_devices
from ..store.pings import load_pings
from ..store.visits import save_visits
from ..track.cleaning import clean_pings, device_start_dates
from ..track.compliance import abstraction, compliance
from ..track.dosage import DosageParams, compute_dosage, daily_dosage
from ..track.separation import breaches
from ..track.summary import daily_summary

if TYPE_CHECKING:
    from .context import DemoContext


def _ensure_pings(ctx: DemoContext) -> pd.DataFrame:
    """Stored pings; if the demo store has none yet, import the city's through the repository."""
    pings = load_pings(ctx.store, with_flags=True)
    if len(pings):
        return pings
    from ..store.devices import ensure_devices
    from ..store.pings import insert_pings

    cp = ctx.city.pings
    with ctx.store.engine.begin() as conn:
        ensure_devices(conn, dict(zip(cp["device_id"], cp["team"], strict=True)))
        insert_pings(conn, cp, source="synthetic city")
    return load_pings(ctx.store, with_flags=True)


def _chart(panel: pd.DataFrame) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    d = panel.groupby(["local_day", "team"])["patrol_minutes"].sum().unstack(fill_value=0)
    fig, ax = plt.subplots(figsize=(9, 3))
    d.plot(kind="bar", ax=ax, width=0.8, color={"outreach": "#1d4e89", "police": "#8a4b00"})
    ax.set_ylabel("patrol-minutes in hot spots")
    ax.set_xlabel("")
    ax.set_xticklabels([str(x)[5:] for x in d.index], rotation=90, fontsize=7)
    return fig_to_img(fig, "patrol-minutes per day by team")


def run(ctx: DemoContext) -> list[Section]:
    store, city = ctx.store, ctx.city
    tz = getattr(ctx.settings, "timezone", "Europe/London")
    params = DosageParams(tz=tz)
    hs = load_areas(store, "hotspot")
    # the trial's seven hot spots (the target step may have stored detected ones beside them)
    trial = hs[hs["name"].isin(set(city.hotspots["name"]))].drop_duplicates("name", keep="first")
    hs = (trial if len(trial) else hs).reset_index(drop=True)
    names = dict(zip(hs["area_id"].astype(int), hs["name"], strict=True))
    by_name = {n: a for a, n in names.items()}
    amap = {
        int(a): by_name[n]
        for a, n in zip(city.hotspots["area_id"], city.hotspots["name"], strict=True)
        if n in by_name
    }

    pings = _ensure_pings(ctx)
    cleaned = clean_pings(pings, device_since=device_start_dates(list_devices(store)), tz=tz)
    res = compute_dosage(cleaned, hs, params)
    cl = cleaned.attrs.get("cleaning", {})
    run_id = save_visits(store, res.visits, params=params.as_dict(), stats=res.stats)
    visits = res.visits
    panel = daily_dosage(visits)
    ctx.results["visits"] = visits
    ctx.results["dosage"] = panel

    days = set(city.tracked_days)
    plan = city.plan.copy()
    plan["area_id"] = plan["area_id"].map(amap)
    plan = plan.dropna(subset=["area_id"])
    plan = plan[pd.to_datetime(plan["date"]).dt.date.isin(days)]
    comp = compliance(plan, visits, res.tracked, tz=tz)
    ab = abstraction(comp, by=["team"]) if (comp["team"] == "police").any() else None
    br = breaches(visits)

    planted = city.planted_breaches.copy()
    planted["area_id"] = planted["area_id"].map(amap)
    planted_keys = {
        (pd.Timestamp(d).date(), int(a)) for d, a in zip(planted.date, planted.area_id, strict=True)
    }
    found_keys = {(d, int(a)) for d, a in zip(br.local_day, br.area_id, strict=True)}
    hit = len(planted_keys & found_keys)

    if planted_keys:
        day: dt.date = min(planted_keys)[0]
    else:  # the busiest day
        per_day = panel.groupby("local_day")["patrol_minutes"].sum()
        day = pd.Timestamp(str(per_day.idxmax())).date()
    s = daily_summary(res, day, names=names, plan=plan, areas=hs)
    ctx.results["dosage_day"] = s

    totals = (
        panel.groupby(["area_id", "team"])[["visits", "officer_minutes", "patrol_minutes"]]
        .sum()
        .reset_index()
    )
    totals.insert(1, "name", totals["area_id"].map(names))
    status = comp.pivot_table(
        index="team", columns="status", values="area_id", aggfunc="size", fill_value=0
    )
    cov = comp.groupby("team")[
        [
            "planned_minutes",
            "delivered_minutes",
            "present_minutes",
            "absent_minutes",
            "unknown_minutes",
        ]
    ].sum()
    unknown_in_hs = float(res.unknown["minutes"].sum()) if len(res.unknown) else 0.0

    flags = ", ".join(f"{k} {v}" for k, v in cl.get("flags", {}).items()) or "none"
    day_tbl = s.by_hotspot
    parts = [
        f"<p>{len(pings):,} pings from {pings['device_id'].nunique()} devices over "
        f"{len(days)} days. Cleaning set aside: {esc(flags)} (each flagged with its reason; "
        f"{cl.get('out_of_order', 0)} arrived out of order and were sorted). Rules: buffer "
        f"{params.buffer_m:g} m, longest silence inside a visit {params.max_gap_s / 60:g} min, "
        f"shortest visit {params.min_visit_s / 60:g} min ({res.stats['short_runs_dropped']} "
        f"shorter passes dropped). Stored as dosage run {run_id}.</p>",
        f"<h3>Coordinator summary for {day}</h3>",
        table_html(day_tbl),
    ]
    if s.compliance is not None:
        sc = s.compliance[
            [
                "team",
                "area_id",
                "start",
                "end",
                "planned_minutes",
                "delivered_minutes",
                "late_minutes",
                "status",
            ]
        ].copy()
        sc.insert(2, "name", sc["area_id"].map(names))
        parts += ["<p>Against the plan:</p>", table_html(sc)]
    parts += [
        "<p>Breaches that day:</p>",
        table_html(s.breaches) if len(s.breaches) else "<p>none</p>",
        "<h3>All tracked days</h3>",
        _chart(panel),
        table_html(totals),
        "<p>Delivery against the plan (slots by status) and coverage of planned windows: "
        "<em>unknown</em> means no tracker of the team was reporting; <em>absent</em> means "
        "trackers reported from elsewhere.</p>",
        table_html(status.reset_index()),
        table_html(cov.reset_index()),
    ]
    if ab is not None:
        parts += ["<p>Police abstraction (planned minutes not delivered):</p>", table_html(ab)]
    brt = br.copy()
    brt.insert(2, "name", brt["area_id"].map(names))
    parts += [
        f"<p>Never-together breaches: {len(br)} found; the synthetic city planted "
        f"{len(planted_keys)}, of which {hit} were found.</p>",
        table_html(brt) if len(brt) else "",
    ]
    missed = int((comp["status"][comp["team"] == "police"] == "missed").sum())
    summary = [
        f"dosage: {len(visits)} visits, {panel['patrol_minutes'].sum():,.0f} patrol-minutes "
        f"({panel['officer_minutes'].sum():,.0f} officer-minutes) over {len(days)} days",
        f"cleaning: {cl.get('kept', len(pings)):,} of {len(pings):,} pings kept ({flags})",
        f"plan: police {missed} "
        f"missed, {float(ab['abstracted_minutes'].sum()) if ab is not None else 0:,.0f} minutes abstracted; "
        f"{unknown_in_hs:,.0f} minutes unknown (trackers silent inside hot spots)",
        f"breaches: {len(br)} found, {hit} of {len(planted_keys)} planted",
        *s.lines,
    ]
    return [Section("Track: patrol dosage", "".join(parts), summary, {"run_id": run_id})]

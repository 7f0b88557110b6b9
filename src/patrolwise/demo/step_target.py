"""Demo step: hot spots found in the synthetic city's before period, and what they tell us.

Runs Gi* (harm-weighted) and kernel density over the before period's crimes, selects seven micro
hot spots and checks them against the seven the city planted; then the concentration of crime
and harm, the peak hours of the planted hot spots, the stability of the top cells between the
two halves of the before period, and how well the found hot spots forecast the trial period
(hit rate, PAI, PEI). Read-only on the store; puts ``target`` in ``ctx.results``.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import pandas as pd
import shapely

from ..report.html import Section, esc, fig_to_img, table_html
from ..store.areas import load_areas
from ..store.crimes import load_crimes
from ..target import (
    concentration_curve,
    concentration_table,
    find_surface,
    forecast_accuracy,
    peak_grid,
    peak_hours,
    peak_summary,
    select_crimes,
    select_hotspots,
    stability,
)
from ..target.maps import plot_surface

if TYPE_CHECKING:
    from .context import DemoContext


def _crimes(ctx: DemoContext, start: dt.date, end: dt.date) -> tuple[pd.DataFrame, str]:
    """The store's crimes when they carry harm (the real import), else the city's own table."""
    stored = load_crimes(ctx.store, start=start, end=end, mappable_only=True)
    if len(stored) and pd.to_numeric(stored["harm"], errors="coerce").notna().any():
        return select_crimes(stored, start=start, end=end), "store"
    return select_crimes(ctx.city.crimes, start=start, end=end), "synthetic city table"


def run(ctx: DemoContext) -> list[Section]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    city = ctx.city
    tz = ctx.settings.timezone
    before, source = _crimes(ctx, *city.before)
    notes: list[str] = []
    gi = find_surface(before, method="gistar", weight="harm", crs=ctx.settings.crs, notes=notes)
    hs = select_hotspots(gi, 7)
    planted = city.hotspots
    hit = [bool(shapely.intersects(g, planted.geometry.to_numpy()).any()) for g in hs.geometry]
    kd = find_surface(before, method="kde", weight="harm", grid=gi.grid, crs=ctx.settings.crs)
    by_count = select_hotspots(find_surface(before, method="gistar", weight="count",
                                            grid=gi.grid, crs=ctx.settings.crs), 7)  # fmt: skip
    hit_count = sum(
        bool(shapely.intersects(g, planted.geometry.to_numpy()).any()) for g in by_count.geometry
    )

    # map: KDE and Gi* side by side, zoomed on the centre
    xmin, ymin, xmax, ymax = planted.total_bounds
    pad = 400.0
    bounds = (xmin - pad, ymin - pad, xmax + pad, ymax + pad)
    fig, axes = plt.subplots(1, 2, figsize=(12, 5.6))
    plot_surface(kd, axes[0], hotspots=hs, reference=planted, bounds=bounds,
                 title=f"kernel density of harm (quartic, {kd.params['bandwidth']:.0f} m)")  # fmt: skip
    plot_surface(gi, axes[1], hotspots=hs, reference=planted, bounds=bounds,
                 title="Gi* on harm: hot (red), found hot spots (black), planted (blue dashes)")  # fmt: skip
    map_img = fig_to_img(fig, "hot spot map")
    ctx.out.mkdir(parents=True, exist_ok=True)

    conc = concentration_table(gi.table["count"], gi.table["harm"])
    curve = concentration_curve(gi.table["count"], gi.table["harm"])
    fig, ax = plt.subplots(figsize=(5, 3.4))
    ax.plot(curve["place_share"] * 100, curve["crime_share"] * 100, label="crimes")
    ax.plot(curve["place_share"] * 100, curve["harm_share"] * 100, label="harm")
    ax.set_xlim(0, 20)
    ax.set_xlabel("% of places (cells), busiest first")
    ax.set_ylabel("% of the total")
    ax.legend()
    curve_img = fig_to_img(fig, "concentration curve")

    # peak hours of the seven planted hot spots (crimes with a time of day)
    areas = load_areas(ctx.store, "hotspot")
    if areas.empty:
        areas = planted.assign(name=planted["name"])
    timed = (
        before
        if before["occurred_at"].notna().any()
        else select_crimes(city.crimes, start=city.before[0], end=city.before[1])
    )
    pk_notes: list[str] = []
    long = peak_hours(timed, areas, tz=tz, notes=pk_notes)
    summ = peak_summary(long)
    grid_all = peak_grid(long, "all")

    # stability: first vs second half of the before period, on the same grid
    mid = city.before[0] + (city.before[1] - city.before[0]) / 2
    h1 = find_surface(select_crimes(before, end=mid), method="count", weight="harm", grid=gi.grid)
    h2 = find_surface(select_crimes(before, start=mid + dt.timedelta(days=1)), method="count",
                      weight="harm", grid=gi.grid)  # fmt: skip
    stab = stability(h1.table["value"], h2.table["value"], top=20)

    during, _ = _crimes(ctx, *city.during)
    acc = forecast_accuracy(hs, during, gi.grid) if gi.grid is not None else {}

    ctx.results["target"] = {
        "hotspots": hs,
        "surface": gi,
        "recovered": int(sum(hit)),
        "concentration": conc,
        "accuracy": acc,
    }
    hs_tab = pd.DataFrame(hs.drop(columns=["geometry", "unit_ids"])).assign(
        planted=["yes" if h else "no" for h in hit]
    )
    conc_show = conc.assign(crime_share=conc.crime_share * 100, harm_share=conc.harm_share * 100)
    acc_tab = pd.DataFrame([{"measure": k, "value": v} for k, v in acc.items()])
    body = (
        f"<p>Before period {city.before[0]} to {city.before[1]}: {len(before):,} crimes "
        f"(from the {esc(source)}). {esc('; '.join(notes))}.</p>"
        f"<p><b>{sum(hit)} of 7</b> hot spots found by Gi* on harm overlap the seven planted "
        f"ones (by count instead of harm: {hit_count} of 7).</p>{map_img}"
        f"<h3>Hot spots found</h3>{table_html(hs_tab)}"
        f"<h3>Concentration (share of the total in the top % of {len(gi.table):,} cells)</h3>"
        f"{table_html(conc_show, floatfmt='{:,.1f}')}{curve_img}"
        f"<h3>Peak hours (local time) of the stored hot spots</h3>{table_html(summ)}"
        f"<p class=note>{esc(' '.join(pk_notes))}</p>"
        f"<h4>All crimes by weekday and hour</h4>{table_html(grid_all.reset_index(names='day'))}"
        f"<h3>Stability of the top 20 cells (first vs second half of the before period)</h3>"
        f"{table_html(pd.DataFrame([stab]), floatfmt='{:,.3f}')}"
        f"<h3>Forecast accuracy on the trial period ({city.during[0]} to {city.during[1]})</h3>"
        f"{table_html(acc_tab, floatfmt='{:,.3f}')}"
    )
    top1 = conc.iloc[0]
    summary = [
        f"target: {sum(hit)}/7 planted hot spots recovered by Gi* on harm "
        f"({hit_count}/7 on counts)",
        f"target: top {top1.top_pct:g}% of cells ({int(top1.places)}) hold "
        f"{top1.crime_share:.0%} of crimes and {top1.harm_share:.0%} of harm",
    ]
    if acc:
        summary.append(
            f"target: on the trial period hit rate {acc['hit_rate']:.1%}, PAI {acc['pai']:.1f}, "
            f"PEI {acc['pei']:.2f}"
        )
    return [Section("Target: micro hot spots", body, summary, {"recovered": int(sum(hit))})]

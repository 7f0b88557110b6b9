"""Printable briefing sheet per shift (HTML and PDF).

Regular briefing improved patrol quality in Leicester, so each shift gets one page per hot spot
with what a patroller needs at the door: the route and times, a map of the place (drawn from
its own geometry, no map tiles, so it prints offline), incidents there in the last 28 days
(type, harm, local time of day) and how yesterday's plan was delivered (minutes and breaches).
"""

from __future__ import annotations

import datetime as dt
import functools
import html
import io
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..timeutil import dated_days, local_clock, to_local

LOOKBACK_DAYS = 28
#: minutes short of plan before a visit counts as a breach
SHORT_TOLERANCE = 5.0


@dataclass
class Briefing:
    """One shift's briefing: the HTML page, the PDF bytes and the tables behind them."""

    html: str
    pdf: bytes
    route: pd.DataFrame
    incidents: pd.DataFrame
    yesterday: pd.DataFrame | None
    maps: dict[int, bytes] = field(default_factory=dict)


def incidents_near(
    hotspots: gpd.GeoDataFrame,
    crimes: pd.DataFrame,
    day: dt.date,
    tz: str = "Europe/London",
    days: int = LOOKBACK_DAYS,
) -> pd.DataFrame:
    """Crimes inside each hot spot in the ``days`` local days before ``day``: type, harm, time.

    A crime known only to its date (a window within one local day) is listed on that day with a
    blank time; month-precision crimes (police.uk) have no day and are left out."""
    cols = ["area_id", "date", "time_of_day", "type", "harm", "x", "y"]
    if crimes is None or crimes.empty:
        return pd.DataFrame(columns=cols)
    c = crimes[crimes["x"].notna()].reset_index(drop=True)
    if "occurred_at" not in c.columns:
        c["occurred_at"] = pd.NaT
    # the local day of a crime's time, or of a window within one local day (an extract's date
    # without a time), as load_crimes and the evaluation read it; month precision has no day
    day_of = dated_days(c, tz)
    c = c[day_of.notna()].copy()
    if c.empty:
        return pd.DataFrame(columns=cols)
    c["date"] = day_of[c.index].dt.date.to_numpy()
    lo = day - dt.timedelta(days=days)
    c = c[(c["date"] >= lo) & (c["date"] < day)]
    out = []
    for a, geom in zip(hotspots["area_id"], hotspots.geometry, strict=True):
        inside = shapely.contains_xy(geom, c["x"].to_numpy(float), c["y"].to_numpy(float))
        sub = c[inside]
        if sub.empty:
            continue
        typ = sub["offence"].fillna(sub["category"]) if "offence" in sub else sub["category"]
        out.append(
            pd.DataFrame(
                {
                    "area_id": int(a),
                    "date": sub["date"].to_numpy(),
                    # a crime known only to its date has no time of day: blank
                    "time_of_day": to_local(sub["occurred_at"], tz)
                    .dt.strftime("%H:%M")
                    .fillna("")
                    .to_numpy(),
                    "type": typ.fillna("unknown").astype(str).to_numpy(),
                    "harm": pd.to_numeric(sub.get("harm"), errors="coerce").to_numpy(),
                    "x": sub["x"].to_numpy(),
                    "y": sub["y"].to_numpy(),
                }
            )
        )
    if not out:
        return pd.DataFrame(columns=cols)
    return pd.concat(out).sort_values(["area_id", "date"], ascending=[True, False])[cols]


def yesterday_delivery(
    planned: pd.DataFrame, delivered: pd.DataFrame | None, team: str
) -> pd.DataFrame | None:
    """Planned vs delivered minutes per hot spot for the previous day; None without GPS data.

    ``delivered`` follows the visits contract (team, area_id, minutes), already cut to that day.
    A hot spot is 'missed' with no minutes and 'short' more than 5 minutes under plan.
    """
    if delivered is None:
        return None
    mins = (pd.to_datetime(planned["end"]) - pd.to_datetime(planned["start"])).dt.total_seconds()
    plan_m = planned.assign(planned=mins / 60).groupby("area_id")["planned"].sum()
    d = delivered[delivered["team"] == team] if "team" in delivered else delivered
    got = d.groupby("area_id")["minutes"].sum() if len(d) else pd.Series(dtype=float)
    t = pd.DataFrame({"planned": plan_m}).join(got.rename("delivered"), how="outer").fillna(0.0)
    t["breach"] = np.where(
        (t["planned"] > 0) & (t["delivered"] <= 0),
        "missed",
        np.where(t["delivered"] < t["planned"] - SHORT_TOLERANCE, "short", ""),
    )
    return t.reset_index().rename(columns={"index": "area_id"})


def hotspot_map_png(
    geom: shapely.Geometry, incidents: pd.DataFrame, title: str, size: float = 3.2
) -> bytes:
    """A small map of one hot spot (its outline and recent incidents sized by harm) as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(size, size))
    for part in shapely.get_parts(geom):
        if isinstance(part, shapely.Polygon):
            xs, ys = part.exterior.xy
            ax.fill(xs, ys, facecolor="#dbe7f5", edgecolor="#1d4e89", linewidth=1.5)
    if len(incidents):
        harm = pd.to_numeric(incidents["harm"], errors="coerce").fillna(1.0).to_numpy(float)
        s = 12 + 60 * np.sqrt(harm / max(float(harm.max()), 1.0))
        ax.scatter(incidents["x"], incidents["y"], s=s, c="#b2182b", alpha=0.7, zorder=3)
    minx, miny, maxx, maxy = geom.bounds
    pad = max(maxx - minx, maxy - miny) * 0.15 + 10
    ax.set_xlim(minx - pad, maxx + pad)
    ax.set_ylim(miny - pad, maxy + pad)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    # parse_math off: a name with two "$" is a name, not TeX maths (which can fail to parse)
    ax.set_title(title, fontsize=9, parse_math=False)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return buf.getvalue()


def _line(pdf: object, h: float, text: str) -> None:
    """One full-width line of text, then a new line (fpdf2's new_x/new_y API)."""
    pdf.cell(0, h, text, new_x="LMARGIN", new_y="NEXT")  # type: ignore[attr-defined]


def _fmt_harm(v: object) -> str:
    try:
        f = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ""
    return "" if np.isnan(f) else f"{f:g}"


#: the briefing's PDF typeface: DejaVu Sans, which matplotlib (a dependency, for the maps) ships,
#: so Polish, Lithuanian, Romanian, Greek or Cyrillic names and typographic dashes and quotes
#: print as written; the PDF core fonts knew Latin-1 only and printed "?" for them
PDF_FONT = "DejaVu"


@functools.cache
def _font_files() -> tuple[Path, Path, frozenset[int]]:
    """Regular and bold DejaVu Sans, and the characters they draw."""
    import matplotlib
    from fontTools.ttLib import TTFont

    d = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    regular, bold = d / "DejaVuSans.ttf", d / "DejaVuSans-Bold.ttf"
    with TTFont(regular, lazy=True) as f:
        drawn = frozenset(f.getBestCmap())
    return regular, bold, drawn


def _printable(text: object) -> str:
    """``text`` with each character the typeface cannot draw (Indic and CJK scripts, emoji) as
    "?", said plainly rather than left blank; the HTML briefing shows every character."""
    drawn = _font_files()[2]
    t = str(text)
    return "".join(c if ord(c) in drawn or c in "\n\t" else "?" for c in t)


def shift_heading(day: dt.date, route: pd.DataFrame, tz: str = "Europe/London") -> str:
    """The shift's day as a heading: "Saturday 25 October 2025", or for a shift that runs past
    midnight (an overnight window) "night of Saturday 25 October to Sunday 26 October 2025", so
    a visit at 00:17 is not read as the first day's small hours."""
    if len(route):
        # a visit ending at midnight exactly does not run into the next day
        last = pd.concat([route["start"], pd.to_datetime(route["end"]) - pd.Timedelta(seconds=1)])
        end_day = max(to_local(last, tz).dt.date)
        if end_day > day:
            first = f"{day:%A %d %B}" if end_day.year == day.year else f"{day:%A %d %B %Y}"
            return f"night of {first} to {end_day:%A %d %B %Y}"
    return f"{day:%A %d %B %Y}"


def build_briefing(
    day: dt.date,
    team: str,
    route: pd.DataFrame,
    hotspots: gpd.GeoDataFrame,
    crimes: pd.DataFrame | None,
    *,
    yesterday_planned: pd.DataFrame | None = None,
    yesterday_delivered: pd.DataFrame | None = None,
    tz: str = "Europe/London",
) -> Briefing:
    """The briefing for ``team`` on local ``day`` from that day's planned ``route``."""
    import base64

    from fpdf import FPDF

    r = route.sort_values("order").reset_index(drop=True)
    r = r.assign(
        start_local=local_clock(r["start"], "%H:%M", tz).to_numpy(),
        end_local=local_clock(r["end"], "%H:%M", tz).to_numpy(),
    )
    hs = hotspots.set_index("area_id")
    inc = incidents_near(
        hotspots[hotspots["area_id"].isin(r["area_id"])],
        crimes if crimes is not None else pd.DataFrame(),
        day,
        tz,
    )
    yest = None
    # why there is no table for yesterday: nothing planned, or no GPS data to compare with
    no_yest = "no GPS data for yesterday: delivered minutes unknown"
    if yesterday_planned is not None and len(yesterday_planned):
        yest = yesterday_delivery(yesterday_planned, yesterday_delivered, team)
    else:
        no_yest = "no visits were planned yesterday"
    maps: dict[int, bytes] = {}
    for a in r["area_id"].unique():
        a = int(a)
        maps[a] = hotspot_map_png(
            # the map's title in the same typeface (matplotlib's default): "?" for what it lacks
            hs.loc[a, "geometry"],
            inc[inc["area_id"] == a],
            _printable(hs.loc[a, "name"]),
        )

    when = shift_heading(day, r, tz)
    e = html.escape
    parts = [
        f"<h1>{e(team.capitalize())} patrol briefing, {e(when)}</h1>",
        "<h2>Route</h2><table class=tbl><tr><th>#</th><th>Hot spot</th><th>From</th><th>To</th></tr>",
    ]
    for v in r.itertuples():
        parts.append(
            f"<tr><td>{v.order}</td><td>{e(str(v.name))}</td><td>{v.start_local}</td>"
            f"<td>{v.end_local}</td></tr>"
        )
    parts.append("</table><h2>Yesterday</h2>")
    if yest is None:
        parts.append(f"<p>{no_yest}</p>")
    else:
        n_b = int((yest["breach"] != "").sum())
        parts.append(
            f"<p>planned {yest['planned'].sum():.0f} min, delivered "
            f"{yest['delivered'].sum():.0f} min, {n_b} breach(es)</p><table class=tbl>"
            "<tr><th>Hot spot</th><th>Planned</th><th>Delivered</th><th>Breach</th></tr>"
        )
        for y in yest.itertuples():
            nm = hs.loc[y.area_id, "name"] if y.area_id in hs.index else y.area_id
            parts.append(
                f"<tr><td>{e(str(nm))}</td><td>{y.planned:.0f}</td><td>{y.delivered:.0f}</td>"
                f"<td>{e(str(y.breach))}</td></tr>"
            )
        parts.append("</table>")
    for a, png in maps.items():
        sub = inc[inc["area_id"] == a]
        b64 = base64.b64encode(png).decode("ascii")
        parts.append(
            f"<h2>{e(str(hs.loc[a, 'name']))}</h2>"
            f'<img alt="map of {e(str(hs.loc[a, "name"]))}" src="data:image/png;base64,{b64}">'
            f"<p>{len(sub)} incident(s) in the last {LOOKBACK_DAYS} days</p>"
        )
        if len(sub):
            parts.append(
                "<table class=tbl><tr><th>Date</th><th>Time</th><th>Type</th><th>Harm</th></tr>"
            )
            for c in sub.itertuples():
                harm = _fmt_harm(c.harm)
                parts.append(
                    f"<tr><td>{c.date}</td><td>{c.time_of_day}</td><td>{e(str(c.type))}</td>"
                    f"<td>{harm}</td></tr>"
                )
            parts.append("</table>")
    page = (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>Briefing {day} {e(team)}</title><style>body{{font-family:sans-serif}}"
        "table{border-collapse:collapse}td,th{border-bottom:1px solid #ccc;padding:2px 8px}"
        "@media print{h2{page-break-before:auto}}</style></head><body>"
        + "".join(parts)
        + "</body></html>"
    )

    pdf = FPDF(format="A4")
    regular, bold, _ = _font_files()
    pdf.add_font(PDF_FONT, "", str(regular))
    pdf.add_font(PDF_FONT, "B", str(bold))
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    pdf.set_font(PDF_FONT, "B", 15)
    _line(pdf, 9, _printable(f"{team.capitalize()} patrol briefing, {when}"))
    pdf.set_font(PDF_FONT, "B", 12)
    _line(pdf, 8, "Route")
    pdf.set_font(PDF_FONT, "", 10)
    for v in r.itertuples():
        _line(pdf, 6, _printable(f"{v.order}. {v.start_local}-{v.end_local}  {v.name}"))
    pdf.set_font(PDF_FONT, "B", 12)
    _line(pdf, 8, "Yesterday")
    pdf.set_font(PDF_FONT, "", 10)
    if yest is None:
        _line(pdf, 6, no_yest)
    else:
        for y in yest.itertuples():
            nm = hs.loc[y.area_id, "name"] if y.area_id in hs.index else y.area_id
            _line(
                pdf,
                6,
                _printable(
                    f"{nm!s}: planned {y.planned:.0f} min, delivered {y.delivered:.0f} min {y.breach!s}"
                ),
            )
    for a, png in maps.items():
        sub = inc[inc["area_id"] == a]
        pdf.add_page()
        pdf.set_font(PDF_FONT, "B", 12)
        _line(pdf, 8, _printable(str(hs.loc[a, "name"])))
        pdf.image(io.BytesIO(png), w=80)
        pdf.set_font(PDF_FONT, "", 9)
        _line(pdf, 6, f"{len(sub)} incident(s) in the last {LOOKBACK_DAYS} days")
        for c in sub.head(40).itertuples():
            harm = "harm " + _fmt_harm(c.harm)
            _line(pdf, 5, _printable(f"{c.date} {c.time_of_day}  {c.type}  {harm}"))
    pdf_bytes = bytes(pdf.output())
    return Briefing(html=page, pdf=pdf_bytes, route=r, incidents=inc, yesterday=yest, maps=maps)

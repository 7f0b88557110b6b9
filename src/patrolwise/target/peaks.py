"""When hot spots burn: crimes and harm by local hour and weekday, per hot spot and overall.

Hours are local wall-clock hours (Europe/London by default, DST-correct) of ``occurred_at``
(naive UTC). Rows known only to the month (all police.uk data) carry no hour: they are left out
and counted in the notes, never guessed.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..errors import InputError
from ..timeutil import to_local

WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
OVERALL = "all"


def area_labels(areas: gpd.GeoDataFrame) -> pd.Series:
    """One distinct label per area: its name, or ``"name (area ID)"`` when the name is repeated
    or is ``"all"``. Hot spots found for two periods are both called HS1 (a new start date), and
    keyed by name alone their crimes were summed into one row; ``"all"`` is the overall row."""
    names = areas["name"].astype(str).reset_index(drop=True)
    ids = (
        areas["area_id"].astype(str).to_numpy()
        if "area_id" in areas.columns
        else np.arange(1, len(areas) + 1).astype(str)
    )
    clash = names.duplicated(keep=False) | (names == OVERALL)
    return names.where(~clash, names + " (area " + pd.Series(ids) + ")")


def crimes_in_areas(crimes: pd.DataFrame, areas: gpd.GeoDataFrame) -> pd.DataFrame:
    """(crime row position, area label) pairs for crimes inside each area (projected CRS)."""
    pts = shapely.points(crimes["x"].to_numpy(float), crimes["y"].to_numpy(float))
    geoms = np.asarray(areas.geometry.to_numpy())
    ci, ai = shapely.STRtree(geoms).query(pts, predicate="intersects")
    return pd.DataFrame({"row": ci, "area": area_labels(areas).to_numpy()[ai]})


def peak_hours(
    crimes: pd.DataFrame,
    areas: gpd.GeoDataFrame | None = None,
    *,
    tz: str = "Europe/London",
    notes: list[str] | None = None,
) -> pd.DataFrame:
    """Long table ``area, weekday (0 = Monday), hour, count, harm`` with every weekday-hour
    present (zeros included); ``area`` is a hot spot's label (:func:`area_labels`: its name,
    with its id when the name is not unique) or ``"all"`` for every crime given."""
    if "occurred_at" not in crimes.columns:
        raise InputError("crimes table has no 'occurred_at' column: peak hours need times")
    t = pd.to_datetime(crimes["occurred_at"])
    timed = t.notna().to_numpy()
    if notes is not None and (~timed).any():
        dated = (
            crimes["occurred_from"].notna().to_numpy() & ~timed
            if "occurred_from" in crimes.columns
            else np.zeros(len(crimes), dtype=bool)
        )
        n_date, n_month = int(dated.sum()), int((~timed & ~dated).sum())
        if n_date:
            notes.append(
                f"{int((~timed).sum()):,} of {len(crimes):,} crimes have no time of day "
                f"({n_date:,} only a date, {n_month:,} only a month) and are left out of the "
                "peak-hours tables"
            )
        else:
            notes.append(
                f"{n_month:,} of {len(crimes):,} crimes have only a month and are left out of "
                "the peak-hours tables"
            )
    harm = (
        pd.to_numeric(crimes["harm"], errors="coerce").fillna(0.0).to_numpy(float)
        if "harm" in crimes.columns
        else np.zeros(len(crimes))
    )
    local = to_local(t[timed].reset_index(drop=True), tz)
    base = pd.DataFrame(
        {
            "row": np.flatnonzero(timed),
            "weekday": local.dt.day_of_week.to_numpy(),
            "hour": local.dt.hour.to_numpy(),
        }
    )
    base["harm"] = harm[base["row"].to_numpy()]
    parts = [base.assign(area=OVERALL)]
    if areas is not None and len(areas):
        pairs = crimes_in_areas(crimes.iloc[np.flatnonzero(timed)], areas)
        pairs["row"] = np.flatnonzero(timed)[pairs["row"].to_numpy()]
        parts.append(base.merge(pairs, on="row"))
    allrows = pd.concat(parts, ignore_index=True)
    names = [OVERALL] + ([] if areas is None else list(area_labels(areas)))
    full = pd.MultiIndex.from_product(
        [names, range(7), range(24)], names=["area", "weekday", "hour"]
    )
    g = allrows.groupby(["area", "weekday", "hour"]).agg(
        count=("row", "size"), harm=("harm", "sum")
    )
    out = g.reindex(full, fill_value=0).reset_index()
    out["count"] = out["count"].astype(np.int64)
    return out


def peak_grid(long: pd.DataFrame, area: str = OVERALL, value: str = "count") -> pd.DataFrame:
    """A 7 x 24 table (weekdays Mon-Sun by hours 0-23) of one area's counts or harm."""
    sub = long[long["area"] == area]
    if sub.empty:
        raise InputError(f"no area {area!r} in the peak-hours table")
    grid = sub.pivot(index="weekday", columns="hour", values=value)
    grid.index = [WEEKDAYS[i] for i in grid.index]
    return grid


def peak_summary(long: pd.DataFrame, window: int = 6) -> pd.DataFrame:
    """Per area: crimes with a time, harm, busiest hour and weekday, and the ``window``-hour
    daily window (wrapping midnight) holding the most crimes, with its share."""
    if not 1 <= int(window) <= 24 or window != int(window):
        raise InputError(
            f"the busiest-window length must be whole hours from 1 to 24 hours, not {window}"
        )
    window = int(window)
    rows = []
    for area, sub in long.groupby("area", sort=False):
        by_hour = sub.groupby("hour")["count"].sum().reindex(range(24), fill_value=0).to_numpy()
        by_day = sub.groupby("weekday")["count"].sum().reindex(range(7), fill_value=0).to_numpy()
        total = int(by_hour.sum())
        roll = np.array([by_hour[(np.arange(window) + s) % 24].sum() for s in range(24)])
        s = int(roll.argmax())
        rows.append(
            {
                "area": area,
                "crimes_with_time": total,
                "harm": float(sub["harm"].sum()),
                "peak_hour": int(by_hour.argmax()) if total else None,
                "peak_weekday": WEEKDAYS[int(by_day.argmax())] if total else None,
                "peak_window": f"{s:02d}-{(s + window) % 24:02d}" if total else None,
                "window_share": float(roll[s] / total) if total else float("nan"),
            }
        )
    return pd.DataFrame(rows)

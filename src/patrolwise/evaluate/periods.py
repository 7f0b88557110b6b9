"""Periods, time units and placing crimes in hot spots: the bookkeeping every evaluation shares.

Police.uk data say only the month of a crime, so a period is then a set of whole months and
exposure is the number of days in them; dated data are grouped into weeks from the period start.
Unequal period lengths are always compared as rates per day.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from ..errors import InputError


@dataclass(frozen=True)
class Period:
    """Inclusive local dates."""

    name: str
    start: dt.date
    end: dt.date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise InputError(
                f"{self.name} period ends ({self.end}) before it starts ({self.start})"
            )

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @classmethod
    def parse(cls, name: str, text: str) -> Period:
        """'2023-02-01:2024-01-09' or '2022-03:2023-01' (whole months)."""
        try:
            a, b = text.split(":")
            start = dt.date.fromisoformat(a + "-01") if len(a) == 7 else dt.date.fromisoformat(a)
            if len(b) == 7:
                first = dt.date.fromisoformat(b + "-01")
                end = (pd.Timestamp(first) + pd.offsets.MonthEnd(0)).date()
            else:
                end = dt.date.fromisoformat(b)
        except ValueError as exc:
            raise InputError(
                f"--{name} {text!r} is not START:END such as 2023-02-01:2024-01-09 or 2022-03:2023-01"
            ) from exc
        return cls(name, start, end)

    def to_dict(self) -> dict[str, object]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "days": self.days}


def check_periods(before: Period, during: Period) -> list[str]:
    """Refuse overlapping periods and a during period ahead of the before period (swapped
    options, whose load from the before start to the during end finds nothing); say so when
    lengths differ (compared as rates per day)."""
    if not (before.end < during.start or during.end < before.start):
        raise InputError(
            f"the before period ({before.start}..{before.end}) overlaps the during period "
            f"({during.start}..{during.end}): choose periods that do not share days"
        )
    if during.end < before.start:
        raise InputError(
            f"the during period ({during.start}..{during.end}) comes before the before period "
            f"({before.start}..{before.end}): swap --before and --during"
        )
    notes = []
    if before.days != during.days:
        notes.append(
            f"periods differ in length ({before.days} days before, {during.days} during): "
            "compared as crimes (and harm) per day"
        )
    return notes


def is_month_precision(crimes: pd.DataFrame) -> bool:
    """True when crimes carry a month but no usable date (police.uk): neither a time nor a
    window (a force extract's date with no time is the window of its local day)."""
    for col in ("occurred_at", "occurred_from"):
        if col in crimes.columns and crimes[col].notna().any():
            return False
    return True


def whole_months(p: Period) -> list[str]:
    """The months lying wholly inside the period (YYYY-MM)."""
    months = pd.period_range(p.start, p.end, freq="M")
    keep = [str(m) for m in months if m.start_time.date() >= p.start and m.end_time.date() <= p.end]
    if not keep:
        raise InputError(
            f"the {p.name} period {p.start}..{p.end} holds no whole month, and these crimes are "
            "known only to the month (police.uk): give periods of whole months, e.g. 2022-03:2023-01"
        )
    return keep


def snap_months(p: Period) -> Period:
    """The whole months inside a period, as a period (month-precision data)."""
    months = whole_months(p)
    first = pd.Timestamp(months[0] + "-01")
    last = pd.Timestamp(months[-1] + "-01") + pd.offsets.MonthEnd(0)
    return Period(p.name, first.date(), last.date())


def in_areas(
    crimes: pd.DataFrame, areas: gpd.GeoDataFrame, days: pd.Series | None = None
) -> pd.Series:
    """area_id of the area containing each crime (NaN outside; first area if several).

    ``days`` (each crime's day, aligned with ``crimes``): of several areas holding a crime, one
    active on its day (``active_from``/``active_to``) comes first, so a crime where a redrawn
    hot spot overlaps the one it replaced counts for whichever of the two was active that day.
    """
    out = pd.Series(np.nan, index=crimes.index)
    ok = crimes["x"].notna() & crimes["y"].notna()
    if not ok.any() or areas.empty:
        return out
    pts = gpd.GeoDataFrame(
        {"_row": np.flatnonzero(ok.to_numpy())},
        geometry=gpd.points_from_xy(crimes.loc[ok, "x"], crimes.loc[ok, "y"]),
        crs=areas.crs,
    )
    j = gpd.sjoin(pts, areas[["area_id", "geometry"]], how="inner", predicate="intersects")
    keys = ["area_id"]
    spans = [c for c in ("active_from", "active_to") if c in areas.columns]
    if days is not None and spans and j["_row"].duplicated().any():
        span = areas.set_index("area_id")
        on = pd.to_datetime(days.to_numpy()[j["_row"].to_numpy()])
        idle = np.zeros(len(j), dtype=bool)
        for col, before in (("active_from", True), ("active_to", False)):
            if col in spans:
                edge = pd.to_datetime(span[col].reindex(j["area_id"]).to_numpy())
                idle |= np.asarray((on < edge) if before else (on > edge), dtype=bool)
        j = j.assign(_idle=idle)
        keys = ["_idle", "area_id"]
    j = j.sort_values(keys).drop_duplicates("_row")
    vals = out.to_numpy().copy()
    vals[j["_row"].to_numpy()] = j["area_id"].to_numpy(dtype=float)
    return pd.Series(vals, index=crimes.index)


def check_no_overlap(hotspots: gpd.GeoDataFrame, others: gpd.GeoDataFrame, what: str) -> None:
    """Comparison areas must not share ground with hot spots (they would count the same crimes)."""
    if others.empty:
        return
    j = gpd.sjoin(
        others[["name", "geometry"]].rename(columns={"name": "other"}),
        hotspots[["name", "geometry"]],
        how="inner",
        predicate="intersects",
    )
    for _, r in j.iterrows():
        a = others.loc[others["name"] == r["other"], "geometry"].iloc[0]
        b = hotspots.loc[hotspots["name"] == r["name"], "geometry"].iloc[0]
        if a.intersection(b).area > 1e-6:
            raise InputError(
                f"{what} {r['other']!r} overlaps hot spot {r['name']!r}: the same crimes would "
                f"count on both sides of the comparison; redraw {what}s clear of the hot spots"
            )

"""Choosing the crimes a hot spot analysis runs on: dates, time of day, weekdays, offences.

Times are naive UTC in the crimes table; hours and weekdays are local (Europe/London by default),
so "14-20" means 14:00-20:00 on the clock on the wall in winter and in summer alike.
police.uk data carry only the month: a time-of-day or weekday filter cannot apply to them, so it
is skipped with a note rather than silently dropping every crime.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..errors import InputError
from ..timeutil import local_days, parse_window, to_local

DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def parse_hours(text: str) -> tuple[float, float]:
    """'14-20' or '14:30-20:00' -> (14.0, 20.0) local hours; '22-04' is an overnight window."""
    try:
        a, b = text.replace(" ", "").split("-")
    except ValueError as exc:
        raise InputError(f"--hours {text!r} is not like 14-20 or 22:00-04:00") from exc

    def hours(s: str) -> float:
        t = parse_window(f"{s}-24") if s not in ("24", "24:00") else None
        if t is None:
            return 24.0
        return t[0].hour + t[0].minute / 60

    try:
        start, end = hours(a), hours(b)
    except InputError as exc:
        raise InputError(f"--hours {text!r} is not like 14-20 or 22:00-04:00") from exc
    if start == end:
        raise InputError(f"--hours {text!r} is an empty window")
    return start, end


def parse_weekdays(text: str) -> list[int]:
    """'Mon-Fri', 'fri,sat', 'Fri-Sun', 'sat-mon' -> weekday numbers (Monday = 0)."""
    out: set[int] = set()
    for part in text.lower().replace(" ", "").split(","):
        if not part:
            continue
        ends = part.split("-")
        try:
            idx = [DAYS.index(e[:3]) for e in ends]
        except ValueError as exc:
            raise InputError(
                f"--weekdays {text!r}: {part!r} is not a day like Mon or a range like Fri-Sun"
            ) from exc
        if len(idx) == 1:
            out.add(idx[0])
        elif len(idx) == 2:
            d = idx[0]
            out.add(d)
            while d != idx[1]:
                d = (d + 1) % 7
                out.add(d)
        else:
            raise InputError(f"--weekdays {text!r}: {part!r} is not a range like Fri-Sun")
    if not out:
        raise InputError(f"--weekdays {text!r} names no day")
    return sorted(out)


def _local_day(df: pd.DataFrame, has_t: pd.Series, tz: str) -> pd.Series:
    """Local calendar day (datetime.date) of each crime that has one: the day of its time, or of
    a window within one local day (a force extract's date with no time); NaN for the rest
    (longer windows, police.uk months), which are never given a day."""
    out = pd.Series(np.nan, index=df.index, dtype=object)
    if has_t.any():
        out[has_t] = local_days(df.loc[has_t, "occurred_at"].to_numpy(), tz).to_numpy()
    if {"occurred_from", "occurred_to"} <= set(df.columns):
        win = ~has_t & df["occurred_from"].notna() & df["occurred_to"].notna()
        if win.any():
            w = df[win]
            lo = pd.to_datetime(w["occurred_from"])
            last = pd.to_datetime(w["occurred_to"]) - pd.Timedelta(milliseconds=1)
            last = last.where(last >= lo, lo)  # a day's window ends at the next midnight
            d0 = local_days(lo.to_numpy(), tz).to_numpy()
            d1 = local_days(last.to_numpy(), tz).to_numpy()
            one = d0 == d1
            out[w.index[one]] = d0[one]
    return out


def overnight(hours: str | None) -> bool:
    """Does the ``--hours`` window run past midnight ('22-04')?"""
    if not hours:
        return False
    a, b = parse_hours(hours)
    return a > b


def night_days(
    df: pd.DataFrame, has_t: pd.Series, day: pd.Series, end_hour: float, tz: str
) -> pd.Series:
    """``day`` (each crime's local day) with the crimes timed before ``end_hour`` on the local
    clock moved to the day before: for an overnight window ending then, the night they belong to.

    An overnight window belongs to the evening it starts, as patrol windows do: 'Fri 22-04' is
    Friday night, and its small hours are Saturday's clock: by their own clock day they fell
    outside '--weekdays Fri' and outside an ``--end`` on that Friday. The local clock decides,
    so a night across a clock change is one night.
    """
    local = to_local(df.loc[has_t, "occurred_at"], tz)
    small = (local.dt.hour + local.dt.minute / 60 < end_hour).to_numpy()
    idx = local.index[small]
    out = day.copy()
    out[idx] = [d - dt.timedelta(days=1) for d in day[idx]]
    return out


def select_crimes(
    crimes: pd.DataFrame,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    hours: str | None = None,
    weekdays: str | None = None,
    categories: Sequence[str] | None = None,
    offences: Sequence[str] | None = None,
    tz: str = "Europe/London",
    notes: list[str] | None = None,
) -> pd.DataFrame:
    """The crimes matching every filter (a new frame; the input is not changed).

    ``categories`` match police.uk crime types exactly (case-insensitive); ``offences`` match
    any part of the offence description or category (case-insensitive). With an overnight
    ``hours`` window ('22-04') ``weekdays``, ``start`` and ``end`` name nights, as the plan's
    dates do: 01:00 on a Saturday is Friday night, kept by ``weekdays='Fri'`` and by an ``end``
    on that Friday, and left out by a ``start`` on the Saturday (:func:`night_days`).
    """
    if notes is None:
        notes = []
    for col in ("x", "y"):
        if col not in crimes.columns:
            raise InputError(f"crimes table has no {col!r} column (projected metres are needed)")
    df = crimes
    n0 = len(df)
    has_t = (
        df["occurred_at"].notna()
        if "occurred_at" in df.columns
        else pd.Series(False, index=df.index)
    )
    day = _local_day(df, has_t, tz)
    if hours:
        a, b = parse_hours(hours)
        if a > b and has_t.any():
            day = night_days(df, has_t, day, b, tz)
    if start is not None or end is not None:
        keep = pd.Series(True, index=df.index)
        has_d = day.notna()
        if has_d.any():
            d = day[has_d]
            ok = pd.Series(True, index=d.index)
            if start is not None:
                ok &= d >= start
            if end is not None:
                ok &= d <= end
            keep[has_d] = ok.to_numpy()
        if "month" in df.columns and (~has_d).any():
            m = df.loc[~has_d, "month"].astype(str)
            ok = pd.Series(True, index=m.index)
            if start is not None:
                ok &= m >= f"{start:%Y-%m}"
            if end is not None:
                ok &= m <= f"{end:%Y-%m}"
            keep[~has_d] = ok.to_numpy()
        df = df[keep]
        has_t, day = has_t[keep], day[keep]
    if categories:
        want = {c.lower() for c in categories}
        df = df[df["category"].astype(str).str.lower().isin(want)]
        has_t, day = has_t[df.index], day[df.index]
    if offences:
        text = df.get("offence", pd.Series("", index=df.index)).fillna("").astype(str) + " | "
        text = text + df.get("category", pd.Series("", index=df.index)).fillna("").astype(str)
        low = text.str.lower()
        hit = np.zeros(len(df), dtype=bool)
        for o in offences:
            hit |= low.str.contains(o.lower(), regex=False).to_numpy()
        df = df[hit]
        has_t, day = has_t[df.index], day[df.index]
    if hours or weekdays:
        what = " and ".join(w for w, v in (("--hours", hours), ("--weekdays", weekdays)) if v)
        # hours need a time of day; weekdays only a day (a date-only crime has one)
        need = has_t if hours else day.notna()
        if not need.any():
            known = (
                "a date but no time of day"
                if day.notna().any()
                else "only a month (police.uk data), not a time of day or a date"
            )
            notes.append(f"{what} skipped: the selected crimes carry {known}")
        else:
            n_out = int((~need).sum())
            ok = pd.Series(True, index=df.index[need.to_numpy()])
            if hours:
                local = to_local(df.loc[has_t, "occurred_at"], tz)
                hh = local.dt.hour + local.dt.minute / 60
                ok &= (hh >= a) & (hh < b) if a < b else (hh >= a) | (hh < b)
            if weekdays:
                # the day of the night for the small hours of an overnight window (night_days)
                wd = pd.to_datetime(day[need]).dt.day_of_week
                ok &= wd.isin(parse_weekdays(weekdays))
            keep = pd.Series(False, index=df.index)
            keep[ok.index] = ok.to_numpy()
            if n_out:
                notes.append(
                    f"{what}: {n_out:,} crimes with only a "
                    f"{'date or a month' if hours else 'month'} were left out (their "
                    f"{'time of day' if hours else 'day'} is unknown)"
                )
            df = df[keep]
    if len(df) == 0:
        raise InputError(
            f"no crimes match the selection (0 of {n0:,}): widen the dates, hours, weekdays, "
            "categories or offences, or import crimes first (`patrolwise import crimes FILE`)"
        )
    return df.copy()

"""Time: stored in UTC, shown and reasoned about in the force's local zone (DST included).

A patrol window "14:00-20:00" is a local wall-clock window; on the last Sundays of March and
October its UTC bounds move, so windows are always built per local day, never by adding offsets.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from .errors import InputError

UTC = dt.UTC

#: the first and last instants patrolwise reads a time as: a day inside pandas' nanosecond
#: times (1677-09-21 00:12 to 2262-04-11 23:47), so a zone's offset never takes one outside
TIME_FIRST = pd.Timestamp("1677-09-22")
TIME_LAST = pd.Timestamp("2262-04-10")


def clamp_ns(t: pd.Series) -> pd.Series:
    """Naive times of any unit as ``datetime64[ns]``, those outside :data:`TIME_FIRST` ..
    :data:`TIME_LAST` moved to that end (NaT stays NaT).

    A time past 2262 (a device clock gone wrong) made the conversion to nanoseconds raise
    pandas' OutOfBoundsDatetime, which ended a track import or a dosage run in a traceback
    (numpy's own conversion silently wraps round: 2604 became 2019). Clamped, the time is still
    after any plausible fix, so the future-time checks reject or flag it for what it is.
    """
    if t.dtype == "datetime64[ns]":
        return t
    a = t.to_numpy()
    if a.dtype.kind != "M":
        return t.astype("datetime64[ns]")  # empty, or objects pandas converts
    lo, hi = (x.to_datetime64().astype(a.dtype) for x in (TIME_FIRST, TIME_LAST))
    early, late = a < lo, a > hi  # NaT is neither
    if early.any() or late.any():
        a = np.where(early, lo, np.where(late, hi, a))
    return pd.Series(a.astype("datetime64[ns]"), index=t.index, name=t.name)


def zone(name: str = "Europe/London") -> ZoneInfo:
    return ZoneInfo(name)


def local_today(tz: str | None = None) -> dt.date:
    """Today's date in the force's zone (default: the configured one), not the server's: a
    server on UTC is still on yesterday for the first hour of a British summer day."""
    if tz is None:
        from .config import get_settings

        tz = get_settings().timezone
    return dt.datetime.now(zone(tz)).date()


def parse_window(text: str, overnight: bool = False) -> tuple[dt.time, dt.time]:
    """'14:00-20:00' or '14-20' -> (time(14), time(20)). End may be 24 / 24:00 (midnight).

    ``overnight``: an end before the start is the next morning ('22:00-02:00', the night-time
    economy's peak), as :func:`local_window_utc` reads it; otherwise such a window is refused.
    """
    try:
        a, b = text.replace(" ", "").split("-")

        def one(s: str) -> dt.time:
            if ":" not in s:
                s = f"{int(s):02d}:00"
            hh, mm = (int(p) for p in s.split(":"))
            if hh == 24 and mm == 0:
                return dt.time(23, 59, 59, 999999)
            return dt.time(hh, mm)

        start, end = one(a), one(b)
    except (ValueError, TypeError) as exc:
        raise InputError(f"time window {text!r} is not like 14:00-20:00") from exc
    if start == dt.time(23, 59, 59, 999999):
        raise InputError(
            f"time window {text!r} cannot start at 24:00: a window from midnight starts at 00:00"
        )
    if end == start:
        raise InputError(f"time window {text!r} is empty: it ends when it starts")
    if end < start and not overnight:
        raise InputError(
            f"time window {text!r} must end later the same day it starts "
            "(cross-midnight windows are not supported here)"
        )
    return start, end


def crosses_midnight(start: dt.time, end: dt.time) -> bool:
    """Does the local window ``start``-``end`` end the next morning?"""
    return end <= start


def local_window_utc(day: dt.date, start: dt.time, end: dt.time, tz: str = "Europe/London"):
    """UTC (aware) bounds of a local wall-clock window starting on a local day; an end at or
    before the start is on the next day (an overnight window: 22:00-02:00 is four hours, five
    on the night the clocks go back and three on the night they go forward)."""
    z = zone(tz)
    a = dt.datetime.combine(day, start, tzinfo=z).astimezone(UTC)
    end_day = day + dt.timedelta(days=1) if crosses_midnight(start, end) else day
    b = dt.datetime.combine(end_day, end, tzinfo=z).astimezone(UTC)
    return a, b


def to_utc_naive(ts: pd.Series | pd.DatetimeIndex, tz: str = "Europe/London") -> pd.Series:
    """Parsed timestamps to naive UTC. Naive input is taken as local time in ``tz``.

    Ambiguous local times (the repeated hour in October) are taken as the first (BST) occurrence
    and non-existent ones (the skipped hour in March) shifted forward, as a diary would.
    """
    s = pd.Series(ts)
    if not isinstance(s.dtype, pd.DatetimeTZDtype):
        s = s.dt.tz_localize(tz, ambiguous=np.ones(len(s), dtype=bool), nonexistent="shift_forward")
    return s.dt.tz_convert("UTC").dt.tz_localize(None)


def local_days(t_utc: np.ndarray | pd.Series, tz: str = "Europe/London") -> pd.Series:
    """Local calendar day for each naive-UTC timestamp."""
    s = pd.Series(pd.to_datetime(t_utc))
    return s.dt.tz_localize("UTC").dt.tz_convert(tz).dt.date


def to_local(t_utc: pd.Series, tz: str = "Europe/London") -> pd.Series:
    """Naive UTC to aware local time, for display."""
    return pd.Series(pd.to_datetime(t_utc)).dt.tz_localize("UTC").dt.tz_convert(tz)


def local_clock(t_utc: pd.Series, fmt: str = "%H:%M", tz: str = "Europe/London") -> pd.Series:
    """Local wall-clock text for naive-UTC times, with the zone's abbreviation added where the
    wall clock alone is ambiguous: in the hour repeated when the clocks go back, 01:20 happens
    twice, so a staff sheet says "01:50 BST" and "01:20 GMT" (a visit would otherwise read as
    ending before it starts); every other time stays as ``fmt`` gives it."""
    local = to_local(t_utc, tz)
    text = local.dt.strftime(fmt)
    wall = local.dt.tz_localize(None)
    again = wall.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
    amb = (again.isna() & local.notna()).to_numpy()
    if amb.any():
        text = text.where(~amb, text + " " + local.dt.strftime("%Z"))
    return text


def crime_days(crimes: pd.DataFrame, tz: str = "Europe/London") -> pd.Series:
    """Local calendar day (datetime64, midnight) of each dated crime."""
    if crimes.empty:
        return pd.Series([], dtype="datetime64[ns]")
    d = local_days(crimes["occurred_at"].to_numpy(), tz)
    return pd.to_datetime(pd.Series(d.to_numpy(), index=crimes.index))


def dated_days(crimes: pd.DataFrame, tz: str = "Europe/London") -> pd.Series:
    """Local calendar day (datetime64, midnight) of each crime that has one: the day of its time,
    or for a crime known only to a window within one local day (an extract giving a date and no
    time), that day; NaT for the rest (a window across days, month precision), which a daily
    series cannot place and must leave out, saying how many."""
    if crimes.empty:
        return pd.Series([], dtype="datetime64[ns]")
    out = pd.Series(pd.NaT, index=crimes.index, dtype="datetime64[ns]")
    if "occurred_at" in crimes.columns:
        has = crimes["occurred_at"].notna()
        if has.any():
            out[has] = crime_days(crimes[has], tz)
    if {"occurred_from", "occurred_to"} <= set(crimes.columns):
        win = out.isna() & crimes["occurred_from"].notna() & crimes["occurred_to"].notna()
        if win.any():
            w = crimes[win]
            d0 = pd.to_datetime(pd.Series(local_days(w["occurred_from"].to_numpy(), tz).to_numpy()))
            # the window's last instant: a day's window ends at the next midnight
            last = pd.to_datetime(w["occurred_to"]) - pd.Timedelta(milliseconds=1)
            last = last.where(last >= pd.to_datetime(w["occurred_from"]), w["occurred_from"])
            d1 = pd.to_datetime(pd.Series(local_days(last.to_numpy(), tz).to_numpy()))
            one = (d0 == d1).to_numpy()
            out[w.index[one]] = d0[one].to_numpy()
    return out

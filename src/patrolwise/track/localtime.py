"""Local calendar days of UTC instants, by a table of a time zone's UTC offsets.

Why a table: the dosage engine asks for the local day of hundreds of thousands of run ends per
chunk, and of every visit when it splits them at midnight. pandas converts time zones well but
pays its set-up cost on every call and many nanoseconds per value; a zone's offset changes only
a few times a year, so one ``np.searchsorted`` into the few offset changes of the data's time
range, then an integer division, gives the same days for a fraction of the cost.

The table is built from pandas itself (the reference the engine has always used), so the answers
are pandas' answers: offsets are sampled every 15 minutes over each UTC calendar year the data
touch, and each change between two samples is narrowed to its exact millisecond by bisection.
This assumes a zone never changes its offset and changes it back within 15 minutes, which no
zone in the tz database does. Years are cached per zone, so a process builds each once.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd
from numpy.typing import NDArray

DAY_MS = 86_400_000
#: sampling step of the offset search: shorter than any offset's lifetime in the tz database
_STEP_MS = 900_000
#: UTC years the table covers; outside them (never in tracking data) pandas converts directly
_YEARS = (1700, 2200)


def _pandas_offsets(t_ms: NDArray[np.int64], tz: str) -> NDArray[np.int64]:
    """UTC offset (local minus UTC, in ms) at each instant, by pandas' own conversion."""
    idx = pd.DatetimeIndex(np.asarray(t_ms, dtype=np.int64).astype("datetime64[ms]"))
    local = idx.tz_localize("UTC").tz_convert(tz).tz_localize(None)
    out = local.to_numpy().astype("datetime64[ms]").astype(np.int64) - t_ms
    return np.asarray(out, dtype=np.int64)


@lru_cache(maxsize=1024)
def _year_table(tz: str, year: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """``(starts, offsets)``: from ``starts[i]`` (UTC ms) the offset is ``offsets[i]``, over UTC
    year ``year``; ``starts[0]`` is the year's first instant."""
    lo = int(np.datetime64(f"{year:04d}-01-01", "ms").astype(np.int64))
    hi = int(np.datetime64(f"{year + 1:04d}-01-01", "ms").astype(np.int64))
    grid = np.arange(lo, hi + 1, _STEP_MS, dtype=np.int64)
    if grid[-1] != hi:
        grid = np.append(grid, hi)
    off = _pandas_offsets(grid, tz)
    starts = [np.array([lo], dtype=np.int64)]
    offs = [off[:1]]
    # every step whose two ends differ holds at least one change: bisect to the first
    # millisecond of the new offset, and look again after it if the step's end differs still
    i = np.flatnonzero(off[1:] != off[:-1])
    a, b, oa, ob = grid[i], grid[i + 1], off[i], off[i + 1]
    while len(a):
        x, y = a.copy(), b.copy()
        while True:
            wide = y - x > 1
            if not wide.any():
                break
            mid = np.where(wide, (x + y) // 2, x)
            om = _pandas_offsets(mid, tz)
            old = wide & (om == oa)
            x = np.where(old, mid, x)
            y = np.where(wide & ~old, mid, y)
        oy = _pandas_offsets(y, tz)
        starts.append(y)
        offs.append(oy)
        more = oy != ob  # a second change in the same step
        a, b, oa, ob = y[more], b[more], oy[more], ob[more]
    s = np.concatenate(starts)
    o = np.concatenate(offs)
    order = np.argsort(s, kind="stable")
    s, o = s[order], o[order]
    keep = np.ones(len(s), dtype=bool)
    keep[1:] = o[1:] != o[:-1]
    s, o = s[keep], o[keep]
    # cached and shared by every caller and thread: a write into them must fail, not leak
    s.flags.writeable = False
    o.flags.writeable = False
    return s, o


def offset_table(
    tz: str, lo_ms: int, hi_ms: int
) -> tuple[NDArray[np.int64], NDArray[np.int64]] | None:
    """``(starts, offsets)`` covering UTC ``[lo_ms, hi_ms]`` (``starts[0] <= lo_ms``), or None if
    the range is outside the years the table serves."""
    y0 = int(np.datetime64(int(lo_ms), "ms").astype("datetime64[Y]").astype(np.int64)) + 1970
    y1 = int(np.datetime64(int(hi_ms), "ms").astype("datetime64[Y]").astype(np.int64)) + 1970
    if y0 < _YEARS[0] or y1 >= _YEARS[1]:
        return None
    parts = [_year_table(tz, y) for y in range(y0, y1 + 1)]
    if len(parts) == 1:
        return parts[0]
    s = np.concatenate([p[0] for p in parts])
    o = np.concatenate([p[1] for p in parts])
    keep = np.ones(len(s), dtype=bool)
    keep[1:] = o[1:] != o[:-1]
    return s[keep], o[keep]


def utc_offsets_ms(
    t_ms: NDArray[np.int64], tz: str, table: tuple[NDArray, NDArray] | None = None
) -> NDArray[np.int64]:
    """UTC offset (local minus UTC, ms) at each UTC millisecond instant."""
    t = np.asarray(t_ms, dtype=np.int64)
    if len(t) == 0:
        return np.zeros(0, dtype=np.int64)
    if table is None:
        table = offset_table(tz, int(t.min()), int(t.max()))
        if table is None:
            return _pandas_offsets(t, tz)
    starts, offs = table
    if len(offs) == 1:
        return np.full(len(t), offs[0], dtype=np.int64)
    return offs[np.searchsorted(starts, t, side="right") - 1]


def local_days(
    t_ms: NDArray[np.int64], tz: str, table: tuple[NDArray, NDArray] | None = None
) -> NDArray[np.int64]:
    """Local calendar day (days since 1970-01-01 in ``tz``) of each UTC millisecond instant.

    ``table`` (from :func:`offset_table`, covering the instants) saves looking it up again.
    Floor division, as numpy's datetime64 casts round, so instants before 1970 are right too.
    """
    t = np.asarray(t_ms, dtype=np.int64)
    return (t + utc_offsets_ms(t, tz, table)) // DAY_MS


def _pandas_midnights(days: NDArray[np.int64], tz: str) -> NDArray[np.int64]:
    idx = pd.DatetimeIndex(np.asarray(days, dtype="datetime64[D]").astype("datetime64[ms]"))
    utc = idx.tz_localize(tz, nonexistent="shift_forward", ambiguous=True).tz_convert("UTC")
    return np.asarray(utc.tz_localize(None).to_numpy().astype("datetime64[ms]").astype(np.int64))


def local_midnights(days: NDArray[np.int64], tz: str) -> NDArray[np.int64]:
    """UTC milliseconds of the start (local midnight) of each local day number.

    A midnight that happened once is found in the offset table. The rare midnights that happened
    twice or never (zones whose clocks change at midnight) are left to pandas with the rules the
    engine has always used, ``ambiguous=True`` and ``nonexistent="shift_forward"`` (which moves
    to the next whole local hour, not to the instant of the change).
    """
    d = np.asarray(days, dtype=np.int64)
    if len(d) == 0:
        return np.zeros(0, dtype=np.int64)
    wall = d * DAY_MS
    table = offset_table(tz, int(wall.min()) - 2 * DAY_MS, int(wall.max()) + 2 * DAY_MS)
    if table is None:
        return _pandas_midnights(d, tz)
    starts, offs = table
    if len(offs) == 1:
        return wall - offs[0]
    # the last offset period that has begun, on the wall clock, by this midnight
    wall_start = starts + offs
    if (np.diff(wall_start) <= 0).any():  # periods shorter than their offset change
        return _pandas_midnights(d, tz)
    i = np.searchsorted(wall_start, wall, side="right") - 1
    if (i < 0).any():
        return _pandas_midnights(d, tz)
    last = len(offs) - 1
    u = wall - offs[i]
    # a midnight that happened twice (the clocks went back at starts[i] and it also happened
    # before the change) or never (they jump forward at starts[i + 1] over it): pandas decides
    again = (i >= 1) & (wall < starts[i] + offs[np.maximum(i - 1, 0)])
    skipped = (i < last) & (u >= starts[np.minimum(i + 1, last)])
    odd = np.flatnonzero(again | skipped)
    if len(odd):
        u[odd] = _pandas_midnights(d[odd], tz)
    return u

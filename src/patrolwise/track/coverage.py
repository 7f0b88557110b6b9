"""Coverage of planned patrol windows: present, absent, or unknown.

A coordinator must tell a patrol that left (the tracker kept reporting from elsewhere: *absent*)
from a phone that stopped reporting (*unknown*: we cannot say). For each window of a team at a
hot spot:

- ``present``: minutes with at least one of the team's devices in a visit to that hot spot;
- ``unknown``: minutes when none of the team's devices was reporting (no fixes, or a silence
  longer than ``max_gap``);
- ``absent``: the rest: the team was being tracked, and it was elsewhere.

They add up to the window's length. Visits lie inside tracked spans by construction, so present
never exceeds tracked time.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .dosage import MIN_MS, split_by_local_day, union_minutes


def _ms(s: pd.Series) -> np.ndarray:
    return np.asarray(pd.to_datetime(s).to_numpy().astype("datetime64[ms]").astype(np.int64))


def overlap_minutes(
    windows: pd.DataFrame,
    intervals: pd.DataFrame,
    keys: list[str],
    tz: str = "Europe/London",
) -> np.ndarray:
    """Minutes of each window (keys + start, end) covered by ``intervals`` (keys + start, end).

    Intervals must not overlap one another within a key (pass unions). Both are cut at local
    midnight and joined on keys and local day, so a year of data never makes a cross product.
    """
    if windows.empty:
        return np.zeros(0)
    if intervals.empty:
        return np.zeros(len(windows))
    w0, w1 = _ms(windows["start"]), _ms(windows["end"])
    wr, wd, ws, we = split_by_local_day(w0, w1, tz)
    wparts = windows[keys].iloc[wr].reset_index(drop=True)
    wparts["_w"] = wr
    wparts["_day"] = wd
    wparts["_ws"] = ws
    wparts["_we"] = we
    i0, i1 = _ms(intervals["start"]), _ms(intervals["end"])
    ir, idd, is_, ie = split_by_local_day(i0, i1, tz)
    iparts = intervals[keys].iloc[ir].reset_index(drop=True)
    iparts["_day"] = idd
    iparts["_is"] = is_
    iparts["_ie"] = ie
    m = wparts.merge(iparts, on=[*keys, "_day"])
    ov = np.minimum(m["_we"], m["_ie"]) - np.maximum(m["_ws"], m["_is"])
    m = m.assign(_ov=np.maximum(ov, 0))
    tot = m.groupby("_w")["_ov"].sum()
    out = np.zeros(len(windows))
    out[tot.index.to_numpy()] = tot.to_numpy() / MIN_MS
    return out


def window_coverage(
    windows: pd.DataFrame,
    visits: pd.DataFrame,
    tracked: pd.DataFrame,
    tz: str = "Europe/London",
) -> pd.DataFrame:
    """Windows (team, area_id, start, end, ...) with present, absent and unknown minutes."""
    out = windows.copy().reset_index(drop=True)
    length = (_ms(out["end"]) - _ms(out["start"])) / MIN_MS
    pres = union_minutes(visits, ["team", "area_id"]) if len(visits) else visits
    trk = union_minutes(tracked, ["team"]) if len(tracked) else tracked
    present = overlap_minutes(out, pres, ["team", "area_id"], tz) if len(pres) else 0.0 * length
    known = overlap_minutes(out, trk, ["team"], tz) if len(trk) else 0.0 * length
    known = np.maximum(known, present)
    out["present_minutes"] = present
    out["absent_minutes"] = known - present
    out["unknown_minutes"] = length - known
    return out

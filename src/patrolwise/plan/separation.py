"""Never together: police and outreach patrol the same hot spots but must be seen apart.

The public should see two separate services, so a police plan made after the outreach plan keeps
every police visit at least ``gap`` minutes away from any outreach visit at the same hot spot.
``conflicts`` checks two plans (stored or fresh) and lists every pair that breaks the rule.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..errors import InputError

#: default minutes between a police and an outreach visit at the same hot spot
DEFAULT_GAP_MINUTES = 30.0

CONFLICT_COLUMNS = [
    "area_id",
    "start_a",
    "end_a",
    "team_a",
    "start_b",
    "end_b",
    "team_b",
    "gap_minutes",
]


def check_gap(gap_minutes: float) -> float:
    """The gap as a float, refusing NaN, infinity and negatives: NaN compares False with every
    distance, so it would switch the rule off silently, and a negative gap allows overlaps."""
    g = float(gap_minutes)
    if not math.isfinite(g) or g < 0:
        raise InputError(
            f"gap between the teams must be a number of minutes, 0 or more; got {gap_minutes}"
        )
    return g


def merge_intervals(iv: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Sorted, disjoint union of intervals (so a single left-to-right pass can skip them)."""
    out: list[tuple[float, float]] = []
    for a, b in sorted(iv):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def earliest_fit(t: float, duration: float, blocked: list[tuple[float, float]]) -> float:
    """The earliest start >= t of a visit of ``duration`` that overlaps no blocked interval.

    ``blocked`` must be merged (sorted, disjoint); touching an interval's end is allowed.
    """
    s = t
    for a, b in blocked:
        if s < b and s + duration > a:
            s = b
    return s


def conflicts(a: pd.DataFrame, b: pd.DataFrame, gap_minutes: float = 0.0) -> pd.DataFrame:
    """Pairs of visits at the same hot spot from plans ``a`` and ``b`` closer than ``gap_minutes``.

    Both frames need ``area_id, start, end`` (naive UTC); ``gap_minutes`` is the actual distance
    in time between the two visits (negative when they overlap).
    """
    gap_minutes = check_gap(gap_minutes)
    cols = ["area_id", "start", "end"]
    for name, f in (("first", a), ("second", b)):
        missing = [c for c in cols if c not in f.columns]
        if missing:
            raise InputError(f"{name} plan lacks columns {missing}")
    left = a.assign(team=a.get("team", "a"))[[*cols, "team"]]
    right = b.assign(team=b.get("team", "b"))[[*cols, "team"]]
    m = left.merge(right, on="area_id", suffixes=("_a", "_b"))
    if m.empty:
        return pd.DataFrame(columns=CONFLICT_COLUMNS)
    sa = m["start_a"].to_numpy("datetime64[ns]")
    ea = m["end_a"].to_numpy("datetime64[ns]")
    sb = m["start_b"].to_numpy("datetime64[ns]")
    eb = m["end_b"].to_numpy("datetime64[ns]")
    # distance between intervals: positive gap if disjoint, negative overlap otherwise
    latest_start = np.maximum(sa, sb)
    earliest_end = np.minimum(ea, eb)
    gap = (latest_start - earliest_end) / np.timedelta64(1, "m")
    m["gap_minutes"] = gap.astype(float)
    bad = m[m["gap_minutes"] < gap_minutes - 1e-9]
    return bad[CONFLICT_COLUMNS].sort_values(["start_a", "area_id"]).reset_index(drop=True)

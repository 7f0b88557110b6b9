"""Randomised patrol days for a fair test: which hot spot-days get a patrol, drawn by lot.

Blocked by weekday: within each block (a weekday, and a hot spot when the unit is the hot
spot-day) exactly floor(p*n) or ceil(p*n) of the n days are patrol days, the fraction settled by a
seeded coin, so Fridays cannot end up mostly untreated by chance, and the expected share is
exactly p. The same seed always gives the same schedule, so the evaluator can rebuild it.

A hot spot retired and replaced mid-trial hands its drawn days to its successor
(:func:`hand_over_to_successors`): from the successor's first active day it takes the days drawn
for its predecessor, same block and same arm, so the trial stays balanced and nothing is redrawn.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError

UNITS = ("hotspot-day", "day")
#: the hot spot a drawn day was drawn for: its own id, or for a day handed over to a successor,
#: the predecessor's (the evaluation blocks the day with that hot spot's other days)
DRAWN_FOR = "drawn_for"
COLUMNS = ["area_id", "date", "weekday", "patrol", "seed", "p", "unit"]
#: seeds are stored in a signed 64-bit column and numpy takes only non-negative ones
MAX_SEED = 2**63 - 1


def check_seed(seed: int | None) -> int:
    """``seed`` as an int in 0..MAX_SEED, or a fresh random 32-bit one when None."""
    if seed is None:
        return secrets.randbits(32)
    s = int(seed)
    if not 0 <= s <= MAX_SEED:
        raise InputError(f"seed must be a whole number from 0 to {MAX_SEED}, got {seed}")
    return s


def randomise_days(
    area_ids: list[int] | np.ndarray,
    start: dt.date,
    end: dt.date,
    p: float,
    *,
    seed: int | None = None,
    unit: str = "hotspot-day",
    active: Mapping[int, tuple[dt.date | None, dt.date | None]] | None = None,
) -> pd.DataFrame:
    """Patrol (True) or not for every hot spot and local day from ``start`` to ``end``.

    ``unit='day'`` draws once per day for all hot spots together (simpler to run, less power);
    ``'hotspot-day'`` draws each hot spot separately (the Southend and Thames Valley design).
    ``active``: a hot spot's first and last active day (None: open), e.g. one retired mid-period;
    it is drawn only on those days, blocked over them. A hot spot active throughout draws as it
    would without.
    """
    if not 0.0 < p < 1.0:
        raise InputError(f"--randomise P must be between 0 and 1 (exclusive), got {p}")
    if unit not in UNITS:
        raise InputError(f"randomisation unit {unit!r} is not one of {', '.join(UNITS)}")
    if end < start:
        raise InputError(f"randomisation ends ({end}) before it starts ({start})")
    ids = np.asarray(sorted({int(a) for a in area_ids}), dtype=np.int64)
    if len(ids) == 0:
        raise InputError("no hot spots to randomise")
    seed = check_seed(seed)
    rng = np.random.default_rng(seed)
    days = pd.date_range(start, end, freq="D")
    n_units = len(ids) if unit == "hotspot-day" else 1
    unit_ids = np.repeat(np.arange(n_units), len(days))
    day_idx = np.tile(np.arange(len(days)), n_units)
    if unit == "hotspot-day" and active:
        keep = _active_mask(ids[unit_ids], days.date[day_idx], active)
        unit_ids, day_idx = unit_ids[keep], day_idx[keep]
    weekday = np.asarray(days.day_of_week)[day_idx]
    block = unit_ids * 7 + weekday
    n_blocks = n_units * 7
    size = np.bincount(block, minlength=n_blocks)
    # per block: floor(p n) patrol days, plus one more with probability frac(p n)
    want = np.floor(p * size + rng.random(n_blocks)).astype(int)
    key = rng.random(len(block))
    order = np.lexsort((key, block))
    rank = np.empty(len(block), dtype=int)
    starts = np.concatenate([[0], np.cumsum(size)[:-1]])
    rank[order] = np.arange(len(block)) - np.repeat(starts, size)
    patrol_unit = rank < want[block]
    frame = pd.DataFrame(
        {"unit_i": unit_ids, "date": days.date[day_idx], "patrol": patrol_unit, "weekday": weekday}
    )
    if unit == "hotspot-day":
        frame["area_id"] = ids[frame["unit_i"].to_numpy()]
    else:
        frame = frame.merge(pd.DataFrame({"area_id": ids}), how="cross")
        if active:
            keep = _active_mask(frame["area_id"].to_numpy(), frame["date"].to_numpy(), active)
            frame = frame[keep]
    frame["seed"] = seed
    frame["p"] = float(p)
    frame["unit"] = unit
    return frame[COLUMNS].sort_values(["date", "area_id"]).reset_index(drop=True)


def _active_mask(
    area_ids: np.ndarray,
    dates: np.ndarray,
    active: Mapping[int, tuple[dt.date | None, dt.date | None]],
) -> np.ndarray:
    """Which (hot spot, day) pairs fall in the hot spot's active period."""
    out = np.ones(len(area_ids), dtype=bool)
    for a, (lo, hi) in active.items():
        mine = area_ids == int(a)
        if lo is not None:
            out &= ~mine | (dates >= lo)
        if hi is not None:
            out &= ~mine | (dates <= hi)
    return out


def balance_by_weekday(assignment: pd.DataFrame) -> pd.DataFrame:
    """Patrol and control days per weekday: the check that blocking did its job."""
    a = assignment.assign(weekday=pd.to_datetime(assignment["date"]).dt.day_name())
    t = a.groupby("weekday")["patrol"].agg(patrol="sum", days="count").astype(int)
    t["control"] = t["days"] - t["patrol"]
    names = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
    return t.reindex([n for n in names if n in t.index]).reset_index()


def hand_over_to_successors(assignment: pd.DataFrame, areas: pd.DataFrame) -> pd.DataFrame:
    """``assignment`` with each replaced hot spot's drawn days after its last active day handed
    to its successor, for the days the successor is active and has no draw of its own.

    An assignment drawn before a hot spot was replaced holds no days for the successor, and the
    predecessor's days run on past its retirement. The evaluator's rule: the successor inherits
    its predecessor's randomised days from its active date on, same block (the predecessor's
    hot spot and weekday) and same arm, so the trial stays balanced and nothing is redrawn. A day
    follows the chain of successors (a successor itself replaced passes the day on) to the one
    active on it; a day no successor is active on (a gap between the two) stays where it was.

    ``areas``: area_id, active_from, active_to, replaced_by for the stored hot spots (every one,
    not only those in the period: a predecessor retired before it still hands its days over).
    The result has a :data:`DRAWN_FOR` column (the hot spot each day was drawn for: its own id,
    or the predecessor's for a handed-over day); a handed-over day is moved, not copied, so
    each drawn day counts once. Without replacements it is ``assignment`` plus that column.
    """
    out = assignment.copy()
    if DRAWN_FOR not in out.columns:
        out[DRAWN_FOR] = out["area_id"].astype("int64")
    if out.empty or "replaced_by" not in areas.columns:
        return out.reset_index(drop=True)

    def day(x: Any) -> dt.date | None:
        return None if x is None or pd.isna(x) else pd.Timestamp(x).date()

    spans = {
        int(a): (day(f), day(t))
        for a, f, t in zip(areas["area_id"], areas["active_from"], areas["active_to"], strict=True)
    }
    succ = {
        int(a): int(b)
        for a, b in zip(areas["area_id"], areas["replaced_by"], strict=True)
        if b is not None and not pd.isna(b)
    }
    if not succ:
        return out.reset_index(drop=True)
    dates = pd.to_datetime(out["date"]).dt.date.to_numpy()
    ids = out["area_id"].astype("int64").to_numpy()

    def active(a: int, on: np.ndarray) -> np.ndarray:
        lo, hi = spans.get(a, (None, None))
        m = np.ones(len(on), dtype=bool)
        if lo is not None:
            m &= on >= lo
        if hi is not None:
            m &= on <= hi
        return m

    target = ids.copy()
    for a, first in succ.items():
        rows = np.flatnonzero((ids == a) & ~active(a, dates))
        seen = {a}
        b: int | None = first
        while b is not None and b not in seen and len(rows):
            seen.add(b)
            here = active(b, dates[rows])
            target[rows[here]] = b
            rows = rows[~here]
            b = succ.get(b)
    moved = target != ids
    if moved.any():
        # a successor's own draw on a day (an assignment drawn after it existed) stands
        own = set(zip(ids.tolist(), dates.tolist(), strict=True))
        clash = np.array(
            [(int(t), d) in own for t, d in zip(target[moved], dates[moved], strict=True)]
        )
        keep = np.flatnonzero(moved)[clash]
        target[keep] = ids[keep]
    out["area_id"] = target
    return out.sort_values(["date", "area_id"]).reset_index(drop=True)


def handed_over(assignment: pd.DataFrame) -> pd.DataFrame:
    """The handed-over days of ``assignment`` (from :func:`hand_over_to_successors`), one row per
    successor and predecessor: area_id, drawn_for, first, last, days, patrol, seed."""
    cols = ["area_id", DRAWN_FOR, "first", "last", "days", "patrol", "seed"]
    if DRAWN_FOR not in assignment.columns:
        return pd.DataFrame(columns=cols)
    h = assignment[assignment["area_id"] != assignment[DRAWN_FOR]]
    if h.empty:
        return pd.DataFrame(columns=cols)
    h = h.assign(date=pd.to_datetime(h["date"]).dt.date)
    if "seed" not in h.columns:  # an evaluator's CSV of area_id, date, patrol
        h = h.assign(seed=None)
    t = (
        h.groupby(["area_id", DRAWN_FOR])
        .agg(
            first=("date", "min"),
            last=("date", "max"),
            days=("date", "size"),
            patrol=("patrol", "sum"),
            seed=("seed", "first"),
        )
        .reset_index()
    )
    t["patrol"] = t["patrol"].astype(int)
    return t[cols]

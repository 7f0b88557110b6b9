"""Randomised patrol days for a fair test: which hot spot-days get a patrol, drawn by lot.

Blocked by weekday: within each block (a weekday, and a hot spot when the unit is the hot
spot-day) exactly floor(p*n) or ceil(p*n) of the n days are patrol days, the fraction settled by a
seeded coin, so Fridays cannot end up mostly untreated by chance, and the expected share is
exactly p. The same seed always gives the same schedule, so the evaluator can rebuild it.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..errors import InputError

UNITS = ("hotspot-day", "day")
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

"""Delivered against planned: minutes, visits, late, short, missed, and police abstraction.

The plan is a table of patrol slots ``team, area_id, date, start, end`` (naive UTC, ``date`` the
local day). For each slot we measure the team's *patrol-minutes* (the union of its visits, so two
officers together count once) within the slot widened by ``grace_min`` either side (default 15:
patrols walk between hot spots, so a 15-minute patrol that starts 8 minutes late is delivered,
though late), capped at the planned minutes; the visits that overlap it and the first arrival.

Status, in order of precedence:

- ``missed``: no minutes delivered in the slot;
- ``short``: fewer than ``short_fraction`` of the planned minutes (default 90%: a 40-minute patrol
  cut below 36 minutes);
- ``late``: the first arrival came more than ``late_after_min`` minutes after the slot started
  (default 10, a walk from the previous hot spot);
- ``delivered`` otherwise.

Abstraction is the planned police minutes not delivered: officers pulled away to arrests and
emergencies. Outreach shortfalls are reported too but are not called abstraction.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from ..errors import InputError
from .coverage import overlap_minutes, window_coverage
from .dosage import MIN_MS, union_minutes

PLAN_COLUMNS = ["team", "area_id", "date", "start", "end"]


def _ms(s: pd.Series) -> np.ndarray:
    return np.asarray(pd.to_datetime(s).to_numpy().astype("datetime64[ms]").astype(np.int64))


def compliance(
    plan: pd.DataFrame,
    visits: pd.DataFrame,
    tracked: pd.DataFrame | None = None,
    *,
    late_after_min: float = 10.0,
    short_fraction: float = 0.9,
    grace_min: float = 15.0,
    tz: str = "Europe/London",
) -> pd.DataFrame:
    """One row per planned slot: planned and delivered minutes, visits, first arrival, status.

    With ``tracked`` spans, adds present / absent / unknown coverage of each slot.
    """
    missing = [c for c in PLAN_COLUMNS if c not in plan.columns]
    if missing:
        raise InputError(f"the plan needs columns {', '.join(missing)}")
    if not 0 < short_fraction <= 1:
        raise InputError(f"short_fraction must be in (0, 1], got {short_fraction}")
    out = plan.copy().reset_index(drop=True)
    out["area_id"] = out["area_id"].astype(np.int64)
    s, e = _ms(out["start"]), _ms(out["end"])
    if (e <= s).any():
        row = int(np.flatnonzero(e <= s)[0])
        raise InputError(f"plan row {row}: end is not after start")
    out["planned_minutes"] = (e - s) / MIN_MS
    keys = ["team", "area_id"]
    grace = int(grace_min * MIN_MS)
    wide = out[keys].assign(
        start=(s - grace).astype("datetime64[ms]"), end=(e + grace).astype("datetime64[ms]")
    )
    s, e = s - grace, e + grace
    if len(visits):
        blocks = union_minutes(visits, keys)
        got = overlap_minutes(wide, blocks, keys, tz)
        out["delivered_minutes"] = np.minimum(got, out["planned_minutes"].to_numpy())
        # visits overlapping each slot, and the first moment of presence inside it
        v = visits[[*keys, "start", "end", "visit_id", "device_id"]].copy()
        v["area_id"] = v["area_id"].astype(np.int64)
        slots = out[keys].copy()
        slots["_slot"] = np.arange(len(out))
        slots["_s"], slots["_e"] = s, e
        m = slots.merge(v, on=keys)
        vs, ve = _ms(m["start"]), _ms(m["end"])
        m = m[(vs < m["_e"].to_numpy()) & (ve > m["_s"].to_numpy())].copy()
        m["_arr"] = np.maximum(_ms(m["start"]), m["_s"].to_numpy())
        g = m.groupby("_slot")
        nv = m.drop_duplicates(["_slot", "device_id", "visit_id"]).groupby("_slot").size()
        out["visits"] = 0
        out.loc[nv.index, "visits"] = nv.to_numpy()
        first = g["_arr"].min()
        arr = np.full(len(out), np.iinfo(np.int64).min)
        arr[first.index.to_numpy()] = first.to_numpy()
        out["first_arrival"] = pd.Series(arr.astype("datetime64[ms]")).where(
            arr != np.iinfo(np.int64).min
        )
        late_by = np.where(arr != np.iinfo(np.int64).min, (arr - s - grace) / MIN_MS, np.nan)
    else:
        out["delivered_minutes"] = 0.0
        out["visits"] = 0
        out["first_arrival"] = pd.NaT
        late_by = np.full(len(out), np.nan)
    # minutes after the slot's start of the first arrival (0 if on time or early)
    out["late_minutes"] = np.where(np.isnan(late_by), np.nan, np.maximum(late_by, 0.0))
    out["shortfall_minutes"] = out["planned_minutes"] - out["delivered_minutes"]
    status = np.full(len(out), "delivered", dtype=object)
    status[late_by > late_after_min] = "late"
    dm = out["delivered_minutes"].to_numpy()
    status[dm < short_fraction * out["planned_minutes"].to_numpy()] = "short"
    status[dm <= 0] = "missed"
    out["status"] = status
    out["abstracted_minutes"] = np.where(out["team"] == "police", out["shortfall_minutes"], 0.0)
    if tracked is not None:
        cov = window_coverage(out[[*keys, "start", "end"]], visits, tracked, tz)
        for c in ("present_minutes", "absent_minutes", "unknown_minutes"):
            out[c] = cov[c].to_numpy()
    return out


def to_successors(plan: pd.DataFrame, areas: pd.DataFrame) -> pd.DataFrame:
    """The plan with each slot's hot spot replaced by its successor when it was retired before
    the slot's day (``areas``: ``area_id``, ``active_to``, ``replaced_by``).

    A plan made before ``hotspots replace`` names the old polygon; dosage counts visits only at
    hot spots active on the day (:func:`patrolwise.track.dosage.on_active_days`), so without
    this a patrol delivered at the redrawn hot spot was reported missed.
    """
    need = {"area_id", "active_to", "replaced_by"}
    if plan.empty or not need <= set(areas.columns):
        return plan
    a = areas.drop_duplicates("area_id")
    ids = a["area_id"].astype(np.int64).tolist()
    succ = {k: int(v) for k, v in zip(ids, a["replaced_by"], strict=True) if pd.notna(v)}
    end = {
        k: pd.Timestamp(v).date() for k, v in zip(ids, a["active_to"], strict=True) if pd.notna(v)
    }

    def current(area: int, day: dt.date) -> int:
        for _ in range(len(succ) + 1):  # a chain of redraws, never a loop
            if not (area in end and day > end[area]) or area not in succ:
                return area
            area = succ[area]
        return area

    days = pd.to_datetime(plan["date"]).dt.date
    pairs = {(int(x), d) for x, d in zip(plan["area_id"], days, strict=True)}
    now = {k: current(*k) for k in pairs}
    out = plan.copy()
    out["area_id"] = [now[(int(x), d)] for x, d in zip(plan["area_id"], days, strict=True)]
    return out


def abstraction(comp: pd.DataFrame, by: list[str] | None = None) -> pd.DataFrame:
    """Planned police minutes not delivered, summed by ``by`` (default: local day)."""
    by = by or ["date"]
    pol = comp[comp["team"] == "police"]
    return (
        pol.groupby(by)
        .agg(
            planned_minutes=("planned_minutes", "sum"),
            delivered_minutes=("delivered_minutes", "sum"),
            abstracted_minutes=("abstracted_minutes", "sum"),
            slots=("status", "size"),
            missed=("status", lambda s: int((s == "missed").sum())),
            short=("status", lambda s: int((s == "short").sum())),
        )
        .reset_index()
    )

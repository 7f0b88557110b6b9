"""Costs: what delivered presence cost, team against team, and per crime or harm prevented.

Rates have effective dates, so a pay rise in April costs the visits after it and not before.
A rate is per minute, per hour or per shift (with the shift's minutes) plus an overhead share,
reduced to pounds per minute of presence. Only GPS-verified minutes (the track stage's visits)
are costed. Cost per crime prevented carries the effect estimate's interval; when that interval
includes no effect, the cost per crime prevented has no upper bound and the report says so.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from .estimates import Estimate, _clean

UNITS = ("minute", "hour", "shift")
RATE_COLUMNS = [
    "team",
    "unit",
    "amount",
    "shift_minutes",
    "overhead",
    "effective_from",
    "effective_to",
]


@dataclass(frozen=True)
class Rate:
    team: str
    unit: str
    amount: float
    effective_from: dt.date
    shift_minutes: float | None = None
    overhead: float = 0.0
    effective_to: dt.date | None = None

    def __post_init__(self) -> None:
        check_rate(self.unit, self.amount, self.shift_minutes, self.overhead, self.team)

    @property
    def per_minute(self) -> float:
        return per_minute(self.unit, self.amount, self.shift_minutes, self.overhead)


def check_rate(
    unit: str, amount: float, shift_minutes: float | None, overhead: float, team: str = ""
) -> None:
    if unit not in UNITS:
        raise InputError(f"rate unit {unit!r} for team {team!r} is not one of {', '.join(UNITS)}")
    if not (amount >= 0 and math.isfinite(amount)):
        raise InputError(f"rate amount for team {team!r} must be a number >= 0, got {amount}")
    if unit == "shift" and not (shift_minutes and shift_minutes > 0):
        raise InputError(
            f"a per-shift rate for team {team!r} needs the shift length in minutes (--shift-minutes)"
        )
    if not (0 <= overhead < 10):
        raise InputError(
            f"overhead for team {team!r} is a share such as 0.15 for 15%, got {overhead}"
        )


def per_minute(
    unit: str, amount: float, shift_minutes: float | None = None, overhead: float = 0.0
) -> float:
    """Pounds per minute of presence, overhead included."""
    base = {"minute": amount, "hour": amount / 60.0, "shift": amount / (shift_minutes or 1.0)}[unit]
    return base * (1.0 + overhead)


def rates_frame(rates: list[Rate] | pd.DataFrame) -> pd.DataFrame:
    """Rates as a frame with ``per_minute``; overlapping periods for one team are refused."""
    if isinstance(rates, pd.DataFrame):
        df = rates.copy()
        for c in ("shift_minutes", "effective_to"):
            if c not in df.columns:
                df[c] = None
        if "overhead" not in df.columns:
            df["overhead"] = 0.0
    else:
        df = pd.DataFrame([r.__dict__ for r in rates], columns=RATE_COLUMNS)
    if df.empty:
        raise InputError(
            "no rates: add one per team with `patrolwise rates add TEAM AMOUNT --per minute --from DATE`"
        )
    df["overhead"] = df["overhead"].fillna(0.0).astype(float)
    df["per_minute"] = [
        per_minute(u, float(a), None if s is None or pd.isna(s) else float(s), float(o))
        for u, a, s, o in zip(
            df["unit"], df["amount"], df["shift_minutes"], df["overhead"], strict=True
        )
    ]
    df["effective_from"] = pd.to_datetime(df["effective_from"])
    df["effective_to"] = pd.to_datetime(df["effective_to"])
    df = df.sort_values(["team", "effective_from"]).reset_index(drop=True)
    for team, g in df.groupby("team"):
        open_ = g["effective_to"].isna().to_numpy()[:-1]
        ends = g["effective_to"].to_numpy()[:-1]
        starts = g["effective_from"].to_numpy()[1:]
        if (open_ | (starts <= ends)).any():
            raise InputError(
                f"rates for team {team!r} overlap in time: end one before the next starts"
            )
    return df


def rate_on(rates: pd.DataFrame, team: str, day: dt.date) -> float:
    """Pounds per minute for a team on a day."""
    t = pd.Timestamp(day)
    g = rates[
        (rates["team"] == team)
        & (rates["effective_from"] <= t)
        & (rates["effective_to"].isna() | (rates["effective_to"] >= t))
    ]
    if g.empty:
        raise InputError(f"no rate for team {team!r} on {day}: add one with `patrolwise rates add`")
    return float(g["per_minute"].iloc[-1])


def visit_costs(visits: pd.DataFrame, rates: list[Rate] | pd.DataFrame) -> pd.DataFrame:
    """Each visit with the rate in force on its local day and its cost (vectorised as-of join)."""
    need = {"team", "area_id", "minutes"}
    missing = need - set(visits.columns)
    if missing:
        raise InputError(f"visits are missing column(s) {sorted(missing)}")
    r = rates_frame(rates)
    v = visits.copy()
    mins = pd.to_numeric(v["minutes"], errors="coerce").to_numpy(float)
    bad_m = ~(np.isfinite(mins) & (mins >= 0))
    if bad_m.any():
        i = int(np.flatnonzero(bad_m)[0])
        raise InputError(
            f"{int(bad_m.sum())} visit(s) have minutes that are missing, negative or infinite "
            f"(first: row {i + 1} (team {v['team'].iloc[i]!r}, hot spot {v['area_id'].iloc[i]}) "
            f"minutes {v['minutes'].iloc[i]!r}): cost only GPS-verified minutes >= 0; rerun the "
            "dosage for those days"
        )
    day_col = "local_day" if "local_day" in v.columns else ("date" if "date" in v.columns else None)
    if day_col is None:
        if "start" not in v.columns:
            raise InputError("visits need a local_day, date or start column")
        from ..timeutil import local_days

        v["_day"] = pd.to_datetime(local_days(v["start"]).to_numpy())
    else:
        v["_day"] = pd.to_datetime(v[day_col])
    v["_row"] = np.arange(len(v))
    v = v.sort_values("_day")
    m = pd.merge_asof(
        v,
        r[["team", "effective_from", "effective_to", "per_minute"]].sort_values("effective_from"),
        left_on="_day",
        right_on="effective_from",
        by="team",
        direction="backward",
    )
    bad = m["per_minute"].isna() | (m["effective_to"].notna() & (m["_day"] > m["effective_to"]))
    if bad.any():
        first = m[bad].iloc[0]
        raise InputError(
            f"{int(bad.sum())} visits have no rate in force (first: team {first['team']!r} on "
            f"{first['_day']:%Y-%m-%d}): add a rate covering that date with `patrolwise rates add`"
        )
    m["cost"] = m["minutes"].astype(float) * m["per_minute"]
    m["month"] = m["_day"].dt.strftime("%Y-%m")
    return (
        m.sort_values("_row")
        .drop(columns=["_row", "effective_from", "effective_to"])
        .reset_index(drop=True)
    )


def cost_table(visits: pd.DataFrame, rates: list[Rate] | pd.DataFrame) -> pd.DataFrame:
    """Minutes and cost per team, hot spot and month, plus the average cost per minute."""
    c = visit_costs(visits, rates)
    t = c.groupby(["team", "area_id", "month"], as_index=False)[["minutes", "cost"]].sum()
    t["per_minute"] = t["cost"] / t["minutes"].where(t["minutes"] > 0)
    return t


def team_summary(visits: pd.DataFrame, rates: list[Rate] | pd.DataFrame) -> pd.DataFrame:
    """Minutes, cost and cost per minute per team."""
    c = visit_costs(visits, rates)
    t = c.groupby("team", as_index=False)[["minutes", "cost"]].sum()
    t["per_minute"] = t["cost"] / t["minutes"].where(t["minutes"] > 0)
    t["visits"] = c.groupby("team").size().reindex(t["team"]).to_numpy()
    return t


def relative_saving(cost_a: float, cost_b: float) -> float:
    """How much cheaper a is than b, as a share: 1 - a/b (2.28 against 3.38 -> 0.325)."""
    if cost_b <= 0:
        raise InputError("the reference cost must be positive")
    return 1.0 - cost_a / cost_b


def saving_statement(summary: pd.DataFrame, team: str, against: str) -> str | None:
    """One line comparing two teams' cost per minute (from :func:`team_summary`); None when
    either team has no visits. A team with visits but no minutes has no cost per minute, and the
    line says so instead of printing NaN."""
    pm = dict(zip(summary["team"], summary["per_minute"], strict=True))
    if team not in pm or against not in pm:
        return None
    a, b = float(pm[team]), float(pm[against])
    empty = [t for t, v in ((team, a), (against, b)) if not math.isfinite(v)]
    if empty:
        return (
            f"{' and '.join(empty)} {'has' if len(empty) == 1 else 'have'} no GPS-verified "
            "minutes in this period: no cost per minute to compare"
        )
    if b <= 0:
        return f"{against} costs nothing a minute at the stored rates: no saving to state"
    s = relative_saving(a, b)
    return (
        f"{team} at £{a:.2f} a minute is {100 * abs(s):.1f}% "
        f"{'cheaper' if s > 0 else 'dearer'} than {against} at £{b:.2f}"
    )


def cost_per_prevented(cost: float, observed_treated: float, effect: Estimate) -> dict[str, Any]:
    """Cost per crime (or unit of harm) prevented on patrol days, with the effect's interval.

    Prevented = observed on patrol days x (1/IRR - 1): what would have happened without patrol,
    minus what did. The interval's bounds give the bounds; if the interval includes no effect,
    the upper bound of the cost is unbounded (None) and ``bounded`` is False.
    """

    def prevented(r: float) -> float:
        return observed_treated * (1.0 / r - 1.0) if r > 0 else math.inf

    p_mid, p_hi, p_lo = prevented(effect.ratio), prevented(effect.lo), prevented(effect.hi)
    bounded = p_lo > 0
    out = {
        "outcome": effect.outcome,
        "cost": cost,
        "observed_on_patrol_days": observed_treated,
        "prevented": p_mid,
        "prevented_ci": [p_lo, p_hi],
        "cost_per_prevented": cost / p_mid if p_mid > 0 else None,
        "cost_per_prevented_ci": [
            cost / p_hi if p_hi > 0 else None,
            cost / p_lo if bounded else None,
        ],
        "bounded": bounded,
        "from_estimate": effect.name,
    }
    if not bounded:
        out["note"] = (
            "the effect's interval includes no reduction, so the cost per "
            f"{'crime' if effect.outcome == 'crimes' else 'unit of harm'} prevented has no upper bound"
        )
    return _clean(out)


def per_prevented_from_effects(
    effects: dict[str, Any], visits: pd.DataFrame, rates: list[Rate] | pd.DataFrame, team: str
) -> list[dict[str, Any]]:
    """Cost per crime (and unit of harm) prevented for each primary patrol-day estimate of a
    patrol_days result (its JSON), with costs and crimes over the same hot spots and days.

    Only the visits to the hot spots behind the estimate (``hotspots``) are costed: a hot spot
    the estimate left out (no patrol days, patrolled every day, no crimes, untracked, or not a
    hot spot of the trial at all) prevents no crime in it, so its visits are left out of the cost
    too, and ``hotspots_left_out`` names each with why and what its visits cost. GPS tracking
    often covers only part of a trial: the visits are costed inside the estimate's period, and
    the crimes observed on patrol days are summed over the days those visits span
    (``on_patrol_days_by_day``), never the whole trial against part of its cost.
    """
    c = visit_costs(visits, rates)
    c = c[c["team"] == team]
    out: list[dict[str, Any]] = []
    for e in effects.get("estimates", []):
        name = str(e.get("name", ""))
        if not name.endswith("(intention to treat)") and "as delivered" not in name:
            continue
        if "cluster" in name or "negative binomial" in name:
            continue
        extra = e.get("extra") or {}
        by_day = extra.get("on_patrol_days_by_day")
        hotspots = extra.get("hotspots")
        if by_day is None or hotspots is None:
            what = "day-by-day counts" if by_day is None else "list of the hot spots behind it"
            raise InputError(
                f"the effects file has no {what} for {name!r}: rerun "
                "`patrolwise evaluate patrol-days` with this version and cost against its output"
            )
        per = e.get("period") or {}
        start = pd.Timestamp(str(per["start"])) if per.get("start") else None
        end = pd.Timestamp(str(per["end"])) if per.get("end") else None
        inside = c
        if start is not None and end is not None:
            inside = c[(c["_day"] >= start) & (c["_day"] <= end)]
        if inside.empty:
            raise InputError(
                f"no {team} visits inside the period of {name!r} "
                f"({per.get('start')}..{per.get('end')}): nothing to cost against it"
            )
        used = set(hotspots)
        in_est = inside["area_id"].isin(used).to_numpy()
        left = _left_out(inside[~in_est], extra.get("hotspots_left_out") or [])
        inside = inside[in_est]
        if inside.empty:
            raise InputError(
                f"no {team} visits inside the period of {name!r} to the hot spots behind it "
                f"({', '.join(str(a) for a in sorted(used))}): nothing to cost against it"
            )
        first, last = inside["_day"].min(), inside["_day"].max()
        days = pd.to_datetime(pd.Series(list(by_day.keys()), dtype=object))
        vals = np.asarray(list(by_day.values()), dtype=float)
        span = ((days >= first) & (days <= last)).to_numpy()
        lo, hi = e.get("lo"), e.get("hi")
        est = Estimate(
            name=name,
            outcome=str(e["outcome"]),
            method=str(e.get("method", "")),
            ratio=float(e["ratio"]),
            lo=0.0 if lo is None else float(lo),  # a null bound in JSON is 0 or unbounded
            hi=math.inf if hi is None else float(hi),
            p=e.get("p"),
        )
        res = cost_per_prevented(float(inside["cost"].sum()), float(vals[span].sum()), est)
        res["costed_days"] = [f"{first:%Y-%m-%d}", f"{last:%Y-%m-%d}"]
        res["hotspots"] = sorted(used)
        res["hotspots_left_out"] = left
        if left:
            res["left_out_note"] = left_out_statement(left)
        out.append(res)
    return out


def _left_out(visits: pd.DataFrame, listed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Hot spots left out of an estimate, each with its reason and the visits (minutes, cost)
    left out of the cost with it: those the estimate lists, and any other visited hot spot."""
    g = visits.groupby("area_id").agg(
        visits=("cost", "size"), minutes=("minutes", "sum"), cost=("cost", "sum")
    )
    rows = []
    seen = set()
    for h in listed:
        a = h.get("area_id")
        seen.add(a)
        rows.append({**h, **_visit_totals(g, a)})
    for a in g.index:
        if a not in seen:
            rows.append(
                {
                    "area_id": a,
                    "name": str(a),
                    "reason": "not a hot spot of the estimate (not active in the trial)",
                    **_visit_totals(g, a),
                }
            )
    out: list[dict[str, Any]] = _clean(rows)
    return out


def _visit_totals(g: pd.DataFrame, area_id: Any) -> dict[str, Any]:
    if area_id not in g.index:
        return {"visits": 0, "minutes": 0.0, "cost": 0.0}
    r = g.loc[area_id]
    return {"visits": int(r["visits"]), "minutes": float(r["minutes"]), "cost": float(r["cost"])}


def left_out_statement(left: list[dict[str, Any]]) -> str:
    """One line naming the hot spots left out of both the cost and the crimes prevented."""
    parts = [
        f"{h['name']} ({h['reason']}; {h['visits']} visit(s), {h['minutes']:,.0f} min, "
        f"£{h['cost']:,.0f})"
        for h in left
    ]
    return "left out of both the cost and the crimes prevented: " + "; ".join(parts)

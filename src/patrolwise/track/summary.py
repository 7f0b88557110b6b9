"""The hot spot coordinator's morning summary of one day.

Minutes each hot spot got from each team (patrol-minutes: at least one member present; and
officer-minutes: summed over staff), in how many visits, minutes of unknown coverage (trackers
silent inside a hot spot), delivery against the plan, and every never-together breach. The same
tables feed the CLI (Rich) and the HTML report, so the two never disagree.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd

from .compliance import compliance
from .dosage import DosageResult, daily_dosage, union_minutes
from .separation import breaches


@dataclass
class DailySummary:
    day: dt.date
    by_hotspot: pd.DataFrame  # area_id, name, team, visits, devices, patrol/officer/unknown minutes
    compliance: pd.DataFrame | None
    breaches: pd.DataFrame
    lines: list[str] = field(default_factory=list)


def daily_summary(
    result: DosageResult,
    day: dt.date,
    *,
    names: dict[int, str] | None = None,
    plan: pd.DataFrame | None = None,
    areas: pd.DataFrame | None = None,
    distance_m: float = 0.0,
) -> DailySummary:
    """Summarise one local day of a dosage result (optionally against the plan)."""
    names = names or {}
    v = result.visits[result.visits["local_day"] == day]
    panel = daily_dosage(v)
    unk = result.unknown[result.unknown["local_day"] == day]
    if len(unk):
        um = union_minutes(unk, ["area_id", "team"])
        uk = um.groupby(["area_id", "team"], as_index=False).agg(unknown_minutes=("minutes", "sum"))
        panel = panel.merge(uk, on=["area_id", "team"], how="outer")
    else:
        panel = panel.assign(unknown_minutes=0.0)
    for c in ("visits", "devices"):
        panel[c] = panel[c].fillna(0).astype(int)
    for c in ("officer_minutes", "patrol_minutes", "unknown_minutes"):
        panel[c] = panel[c].astype(float).fillna(0.0)
    panel["name"] = panel["area_id"].map(lambda a: names.get(int(a), str(a)))
    by = panel[
        [
            "area_id",
            "name",
            "team",
            "visits",
            "devices",
            "patrol_minutes",
            "officer_minutes",
            "unknown_minutes",
        ]
    ]
    by = by.sort_values(["area_id", "team"]).reset_index(drop=True)
    comp = None
    if plan is not None:
        p = plan[pd.to_datetime(plan["date"]).dt.date == day]
        if len(p):
            comp = compliance(p, result.visits, result.tracked, tz=result.params.tz)
    b = breaches(v, areas=areas, distance_m=distance_m)
    lines = [
        f"{day}: "
        + ", ".join(
            f"{team} {g['patrol_minutes'].sum():.0f} patrol-min in {int(g['visits'].sum())} visits"
            for team, g in by.groupby("team")
        )
        if len(by)
        else f"{day}: no visits to hot spots"
    ]
    if comp is not None:
        counts = comp["status"].value_counts().to_dict()
        lines.append(
            "plan: "
            + ", ".join(
                f"{k} {counts[k]}" for k in ("delivered", "late", "short", "missed") if k in counts
            )
            + f"; police minutes abstracted {comp['abstracted_minutes'].sum():.0f}"
        )
    lines.append(
        f"never-together breaches: {len(b)}"
        + (f" ({b['overlap_minutes'].sum():.0f} min overlap)" if len(b) else "")
    )
    return DailySummary(day, by, comp, b, lines)

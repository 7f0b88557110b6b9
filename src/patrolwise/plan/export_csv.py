"""CSV exports: the plan for staff rotas and the randomised assignment for the evaluator.

Plans carry both local wall-clock times (what staff read) and naive UTC (what the store and the
tracker compare against); assignments carry the seed, p and unit so anyone can re-draw them.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..timeutil import local_clock

PLAN_COLUMNS = [
    "team",
    "date",
    "order",
    "area_id",
    "name",
    "start_local",
    "end_local",
    "start_utc",
    "end_utc",
    "minutes",
]
ASSIGNMENT_COLUMNS = ["area_id", "date", "weekday", "patrol", "seed", "p", "unit"]
#: first characters that make a spreadsheet read a cell as a formula (OWASP CSV injection)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def defuse_formulas(col: pd.Series) -> pd.Series:
    """Text cells that a spreadsheet would run as a formula, prefixed with ' to stay text."""
    s = col.astype(str)
    return s.where(~s.str.startswith(FORMULA_START), "'" + s)


def plan_table(visits: pd.DataFrame, tz: str = "Europe/London") -> pd.DataFrame:
    """Visits as a flat table with local and UTC times."""
    v = visits.reset_index(drop=True)
    out = pd.DataFrame(
        {
            "team": v["team"],
            "date": pd.to_datetime(v["date"]).dt.strftime("%Y-%m-%d"),
            "order": v["order"].astype(int),
            "area_id": v["area_id"].astype(int),
            "name": v["name"] if "name" in v else v["area_id"].astype(str),
            "start_local": local_clock(v["start"], "%Y-%m-%d %H:%M", tz),
            "end_local": local_clock(v["end"], "%Y-%m-%d %H:%M", tz),
            "start_utc": pd.to_datetime(v["start"]).dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "end_utc": pd.to_datetime(v["end"]).dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "minutes": (
                (pd.to_datetime(v["end"]) - pd.to_datetime(v["start"])).dt.total_seconds() / 60
            ).round(1),
        }
    )
    return out[PLAN_COLUMNS]


def plan_csv_text(visits: pd.DataFrame, tz: str = "Europe/London") -> str:
    """The plan CSV as text, spreadsheet formulas in its free-text columns defused."""
    t = plan_table(visits, tz)
    # the free-text columns (hot spot names come from whoever drew the areas)
    for c in ("team", "name"):
        t[c] = defuse_formulas(t[c])
    return t.to_csv(index=False)


def write_plan_csv(visits: pd.DataFrame, path: str | Path, tz: str = "Europe/London") -> Path:
    p = Path(path)
    p.write_text(plan_csv_text(visits, tz), encoding="utf-8")
    return p


def assignment_table(assignment: pd.DataFrame) -> pd.DataFrame:
    """The randomised schedule in the evaluator's layout (one row per hot spot-day)."""
    a = assignment.copy()
    a["date"] = pd.to_datetime(a["date"]).dt.strftime("%Y-%m-%d")
    if "weekday" not in a:
        a["weekday"] = pd.to_datetime(a["date"]).dt.day_of_week
    a["patrol"] = a["patrol"].astype(bool).astype(int)
    return a[ASSIGNMENT_COLUMNS].sort_values(["date", "area_id"]).reset_index(drop=True)


def write_assignment_csv(assignment: pd.DataFrame, path: str | Path) -> Path:
    p = Path(path)
    assignment_table(assignment).to_csv(p, index=False)
    return p

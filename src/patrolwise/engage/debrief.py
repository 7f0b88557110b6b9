"""Shift debriefs: what happened, what got in the way, what to change, beside the shift's dosage.

Leicester found regular debriefing, alongside the GPS data, was crucial to better patrols; a
debrief that shows planned against delivered minutes turns "the tracker died" or "police were
already there" into a plan change rather than an unexplained shortfall.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from ..errors import InputError
from .crypto import encrypt_optional
from .log import MAX_STAFF, check_length

PROBLEMS = (
    "unsafe_area",
    "police_presence",
    "tracker_failure",
    "staff_shortage",
    "weather",
    "abstraction",
    "other",
)


@dataclass
class DebriefInput:
    team: str
    date: dt.date
    staff: str
    summary: str = ""
    problems: list[str] = field(default_factory=list)
    suggestions: str | None = None
    plan_id: int | None = None


def normalise_problem(p: str) -> str:
    n = p.strip().lower().replace(" ", "_").replace("-", "_")
    if n not in PROBLEMS:
        raise InputError(f"problem {p!r} is not one of {', '.join(PROBLEMS)}")
    return n


def prepare_debrief(
    d: DebriefInput,
    planned_minutes: float | None,
    delivered_minutes: float | None,
    key: str | None = None,
) -> dict[str, Any]:
    """A storable debrief with the shift's minutes attached and its free text encrypted.

    Summaries and suggestions name people and places ("moved Kofi on from the bus station"), so
    they are stored as tokens like engagement notes; problems are a fixed vocabulary and stay clear.
    """
    if d.team not in ("outreach", "police"):
        raise InputError(f"team {d.team!r} must be outreach or police")
    if not d.staff.strip():
        raise InputError("debrief needs the staff member giving it")
    check_length(d.staff, MAX_STAFF, "staff")
    return {
        "team": d.team,
        "date": d.date,
        "staff": d.staff.strip(),
        "plan_id": d.plan_id,
        "summary_encrypted": encrypt_optional(d.summary, key),
        "problems": sorted({normalise_problem(p) for p in d.problems}),
        "suggestions_encrypted": encrypt_optional(d.suggestions, key),
        "planned_minutes": planned_minutes,
        "delivered_minutes": delivered_minutes,
    }

"""Plans repository: stored schedules, their visits, and randomised patrol-day assignments."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from ..errors import InputError
from ..plan.randomise import check_seed
from .db import ASSIGNMENTS_LOCK, Store, take_write_turn, utcnow
from .models import Area
from .models.planning import Assignment, Plan, PlanVisit

VISIT_COLUMNS = ["plan_id", "team", "area_id", "name", "date", "start", "end", "order"]


def save_plan(
    store: Store,
    team: str,
    seed: int,
    params: dict[str, Any],
    visits: pd.DataFrame,
    *,
    assignment: pd.DataFrame | None = None,
) -> int:
    """Store a plan and its visits in one transaction; returns the plan id.

    ``assignment``: the randomised patrol days the plan was drawn from, stored in the same
    transaction (as :func:`save_assignment`), so a plan that fails leaves no randomisation.
    """
    recs_a = _assignment_records(assignment) if assignment is not None else None
    with store.session() as s, s.begin():
        if recs_a is not None:
            take_write_turn(s.connection(), ASSIGNMENTS_LOCK)
            _write_assignment(s, *recs_a)
        plan = Plan(team=team, seed=int(seed), params=params, created_at=utcnow())
        s.add(plan)
        s.flush()
        recs = [
            {
                "plan_id": plan.id,
                "team": str(r["team"]),
                "area_id": int(r["area_id"]),
                "date": pd.Timestamp(r["date"]).date(),
                "start": pd.Timestamp(r["start"]).to_pydatetime(),
                "end": pd.Timestamp(r["end"]).to_pydatetime(),
                "order": int(r["order"]),
            }
            for r in visits.to_dict("records")
        ]
        if recs:
            s.execute(insert(PlanVisit), recs)
        return plan.id


#: plan ids are 64-bit integers on every back end; anything outside cannot be bound (SQLite
#: raises OverflowError) and cannot be a plan
_ID_MIN, _ID_MAX = -(2**63), 2**63 - 1


def get_plan(store: Store, plan_id: int) -> dict[str, Any]:
    """A plan's metadata (team, seed, params, created_at, visit count)."""
    if not _ID_MIN <= plan_id <= _ID_MAX:
        raise InputError(f"no plan with id {plan_id}: see `patrolwise plan list`")
    with store.session() as s:
        p = s.get(Plan, plan_id)
        if p is None:
            raise InputError(f"no plan with id {plan_id}: see `patrolwise plan list`")
        n = s.scalar(select(func.count()).where(PlanVisit.plan_id == plan_id))
        return {
            "id": p.id,
            "team": p.team,
            "seed": p.seed,
            "params": p.params or {},
            "created_at": p.created_at,
            "visits": int(n or 0),
        }


def load_plan_visits(
    store: Store,
    plan_id: int | None = None,
    *,
    team: str | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> pd.DataFrame:
    """Planned visits (naive UTC start/end, local ``date``) with the hot spot name."""
    q = select(
        PlanVisit.plan_id,
        PlanVisit.team,
        PlanVisit.area_id,
        Area.name,
        PlanVisit.date,
        PlanVisit.start,
        PlanVisit.end,
        PlanVisit.order,
    ).join(Area, Area.id == PlanVisit.area_id)
    if plan_id is not None:
        q = q.where(PlanVisit.plan_id == plan_id)
    if team is not None:
        q = q.where(PlanVisit.team == team)
    if start is not None:
        q = q.where(PlanVisit.date >= start)
    if end is not None:
        q = q.where(PlanVisit.date <= end)
    q = q.order_by(PlanVisit.plan_id, PlanVisit.date, PlanVisit.order)
    with store.engine.connect() as c:
        df = pd.DataFrame(c.execute(q).all(), columns=VISIT_COLUMNS)
    df["start"] = pd.to_datetime(df["start"])
    df["end"] = pd.to_datetime(df["end"])
    return df


def list_plans(store: Store) -> pd.DataFrame:
    q = (
        select(
            Plan.id,
            Plan.team,
            Plan.seed,
            Plan.created_at,
            func.min(PlanVisit.date),
            func.max(PlanVisit.date),
            func.count(PlanVisit.id),
        )
        .outerjoin(PlanVisit, PlanVisit.plan_id == Plan.id)
        .group_by(Plan.id, Plan.team, Plan.seed, Plan.created_at)
        .order_by(Plan.id)
    )
    with store.engine.connect() as c:
        rows = c.execute(q).all()
    return pd.DataFrame(
        rows, columns=["id", "team", "seed", "created_at", "first_day", "last_day", "visits"]
    )


def save_assignment(store: Store, assignment: pd.DataFrame) -> int:
    """Store a randomised assignment (area_id, date, patrol, seed, p, unit); the same draw again
    is idempotent, a different draw under a stored seed is refused.

    Returns the number of hot spot-days stored.
    """
    seed, recs = _assignment_records(assignment)
    with store.session() as s, s.begin():
        take_write_turn(s.connection(), ASSIGNMENTS_LOCK)
        _write_assignment(s, seed, recs)
    return len(recs)


def _assignment_records(assignment: pd.DataFrame) -> tuple[int, list[dict[str, Any]]]:
    need = {"area_id", "date", "patrol", "seed", "p", "unit"}
    missing = need - set(assignment.columns)
    if missing:
        raise InputError(f"assignment lacks columns {sorted(missing)}")
    seeds = assignment["seed"].unique()
    if len(seeds) != 1:
        raise InputError("an assignment must come from one seed")
    now = utcnow()
    recs = [
        {
            "seed": int(r["seed"]),
            "p": float(r["p"]),
            "unit": str(r["unit"]),
            "area_id": int(r["area_id"]),
            "date": pd.Timestamp(r["date"]).date(),
            "patrol": bool(r["patrol"]),
            "created_at": now,
        }
        for r in assignment.to_dict("records")
    ]
    return int(seeds[0]), recs


def _write_assignment(s: Session, seed: int, recs: list[dict[str, Any]]) -> None:
    """Store the assignment under ``seed`` (inside the caller's transaction, which has taken its
    write turn: two saves of one seed at once both found it free and the second failed on the
    unique constraint instead of being held to the first's draw).

    The same draw again replaces itself (idempotent); a different one under a stored seed is
    refused, since replacing it would delete the earlier trial's record the evaluation reads.
    """
    old = s.execute(
        select(
            Assignment.area_id, Assignment.date, Assignment.patrol, Assignment.p, Assignment.unit
        ).where(Assignment.seed == seed)
    ).all()
    if old:

        def key(r: Any) -> tuple[Any, ...]:
            return (int(r[0]), r[1], bool(r[2]), round(float(r[3]), 12), str(r[4]))

        new = {key((r["area_id"], r["date"], r["patrol"], r["p"], r["unit"])) for r in recs}
        if {key(r) for r in old} != new:
            first, last = min(r[1] for r in old), max(r[1] for r in old)
            raise InputError(
                f"seed {seed} already holds a different randomisation ({len(old)} hot spot-days, "
                f"{first} to {last}, p {old[0][3]:g}, unit {old[0][4]}); draw this one with "
                "another seed, or leave --seed out for a fresh one"
            )
    s.execute(delete(Assignment).where(Assignment.seed == seed))
    if recs:
        s.execute(insert(Assignment), recs)


def load_assignment(store: Store, seed: int | None = None) -> pd.DataFrame:
    """A stored assignment (the newest when ``seed`` is None): area_id, date, weekday, patrol, seed, p, unit."""
    cols = ["area_id", "date", "patrol", "seed", "p", "unit"]
    with store.session() as s:
        if seed is None:
            seed = s.scalar(select(Assignment.seed).order_by(Assignment.id.desc()).limit(1))
            if seed is None:
                raise InputError("no randomised assignment stored: run `patrolwise plan randomise`")
        q = (
            select(
                Assignment.area_id,
                Assignment.date,
                Assignment.patrol,
                Assignment.seed,
                Assignment.p,
                Assignment.unit,
            )
            .where(Assignment.seed == check_seed(seed))
            .order_by(Assignment.date, Assignment.area_id)
        )
        rows = s.execute(q).all()
    if not rows:
        raise InputError(f"no assignment stored with seed {seed}")
    df = pd.DataFrame(rows, columns=cols)
    df["patrol"] = df["patrol"].astype(bool)
    df["weekday"] = pd.to_datetime(df["date"]).dt.day_of_week
    return df[["area_id", "date", "weekday", "patrol", "seed", "p", "unit"]]


def load_delivered(
    store: Store, day: dt.date, *, until: dt.datetime | None = None
) -> pd.DataFrame | None:
    """Delivered visits (team, area_id, start, minutes) on local ``day`` from the dosage stage;
    None when no dosage run covers that day (no GPS data), as opposed to an empty frame (GPS
    data, but nobody was in a hot spot).

    ``until`` (naive UTC): an overnight shift's end the next morning; the visits of the next
    local day that start before it are that night's too."""
    from .models.dosage import DosageRun
    from .visits import load_visits

    with store.session() as s:
        covered = s.scalar(
            select(func.count()).where(DosageRun.date_from <= day, DosageRun.date_to >= day)
        )
    if not covered:
        return None
    if until is None:
        v = load_visits(store, day, day)
    else:
        v = load_visits(store, day, day + dt.timedelta(days=1))
        v = v[(v["local_day"] == day) | (v["start"] < pd.Timestamp(until))]
    return v[["team", "area_id", "start", "minutes"]].reset_index(drop=True)

"""Rates repository (team costs with effective dates) and saved evaluation results."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
from sqlalchemy import select

from ..errors import InputError
from ..evaluate.cost import RATE_COLUMNS, check_rate, rates_frame
from .db import Store, utcnow
from .devices import check_team
from .models.evaluation import EvaluationResult, TeamRate


def add_rate(
    store: Store,
    team: str,
    amount: float,
    *,
    unit: str = "minute",
    effective_from: dt.date,
    effective_to: dt.date | None = None,
    shift_minutes: float | None = None,
    overhead: float = 0.0,
    note: str | None = None,
) -> int:
    """Store a rate; refuses one whose dates overlap another rate of the same team.

    A team's open-ended rate (no end date) is closed the day before a later open-ended rate
    starts, so entering this year's rate does not require editing last year's. A rate for a
    while (with an end) does not close it: that would leave the team with no rate after its end,
    so it overlaps the open rate and is refused.
    """
    # the teams are those of devices and visits: 'Outreach' or 'polce' was stored as a team of
    # its own, never used by a cost, and the real team's open rate was left unclosed, so a
    # new rate silently never took effect
    team = check_team(team)
    check_rate(unit, amount, shift_minutes, overhead, team)
    if effective_to is not None and effective_to < effective_from:
        raise InputError(
            f"rate for {team!r} ends ({effective_to}) before it starts ({effective_from})"
        )
    with store.session() as s, s.begin():
        rows = s.scalars(select(TeamRate).where(TeamRate.team == team)).all()
        for r in rows:
            if (
                effective_to is None
                and r.effective_to is None
                and r.effective_from < effective_from
            ):
                r.effective_to = effective_from - dt.timedelta(days=1)
        new_end = effective_to or dt.date.max
        for r in rows:
            r_end = r.effective_to or dt.date.max
            if r.effective_from <= new_end and effective_from <= r_end:
                how = (
                    ": for a rate for a while, add it open-ended from its first day, then the "
                    "earlier rate again from the day it resumes"
                    if r.effective_to is None and effective_to is not None
                    else ""
                )
                raise InputError(
                    f"team {team!r} already has a rate from {r.effective_from} to "
                    f"{r.effective_to or 'open'} overlapping {effective_from}..{effective_to or 'open'}"
                    + how
                )
        row = TeamRate(
            team=team,
            unit=unit,
            amount=float(amount),
            shift_minutes=shift_minutes,
            overhead=float(overhead),
            currency="GBP",
            effective_from=effective_from,
            effective_to=effective_to,
            note=note,
            created_at=utcnow(),
        )
        s.add(row)
        s.flush()
        return int(row.id)


def load_rates(store: Store) -> pd.DataFrame:
    """All rates: team, unit, amount, shift_minutes, overhead, effective_from/to, per_minute."""
    with store.session() as s:
        rows = s.scalars(select(TeamRate).order_by(TeamRate.team, TeamRate.effective_from)).all()
    df = pd.DataFrame(
        [
            {
                "id": r.id,
                "team": r.team,
                "unit": r.unit,
                "amount": r.amount,
                "shift_minutes": r.shift_minutes,
                "overhead": r.overhead,
                "effective_from": r.effective_from,
                "effective_to": r.effective_to,
                "note": r.note,
            }
            for r in rows
        ],
        columns=["id", *RATE_COLUMNS, "note"],
    )
    if df.empty:
        return df
    return rates_frame(df)


def save_result(
    store: Store, kind: str, result: dict[str, Any], params: dict[str, Any] | None = None
) -> int:
    """Keep an evaluation's JSON so a report can be rebuilt and audited later."""
    with store.session() as s, s.begin():
        row = EvaluationResult(kind=kind, params=params, result=result, created_at=utcnow())
        s.add(row)
        s.flush()
        return int(row.id)


def load_results(store: Store, kind: str | None = None) -> list[dict[str, Any]]:
    q = select(EvaluationResult).order_by(EvaluationResult.id)
    if kind:
        q = q.where(EvaluationResult.kind == kind)
    with store.session() as s:
        rows = s.scalars(q).all()
    return [
        {
            "id": r.id,
            "kind": r.kind,
            "params": r.params,
            "result": r.result,
            "created_at": r.created_at,
        }
        for r in rows
    ]

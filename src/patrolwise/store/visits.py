"""Visits repository: saving a dosage run's visits and loading them back for later stages.

Saving is idempotent per local-day range: a new run over days that were already measured replaces
their visits (in one transaction), so re-running dosage with other rules never double counts.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import delete, insert, select

from ..errors import InputError
from .db import VISITS_LOCK, Store, take_write_turn, utcnow
from .models.dosage import DosageRun, Visit

COLUMNS = [
    "id",
    "run_id",
    "device_id",
    "team",
    "area_id",
    "start",
    "end",
    "minutes",
    "n_pings",
    "local_day",
]
REQUIRED = ["device_id", "team", "area_id", "start", "end", "minutes", "n_pings", "local_day"]


def _py_dt(s: pd.Series) -> list[dt.datetime]:
    return [v.to_pydatetime() for v in pd.to_datetime(s)]


def save_visits(
    store: Store,
    visits: pd.DataFrame,
    *,
    params: dict[str, Any] | None = None,
    stats: dict[str, Any] | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> int:
    """Store visits as a new dosage run; returns the run id.

    Visits already stored for local days in ``[date_from, date_to]`` (default: the days these
    visits cover) are replaced.
    """
    missing = [c for c in REQUIRED if c not in visits.columns]
    if missing:
        raise InputError(f"visits need columns {', '.join(missing)}")
    days = pd.to_datetime(pd.Series(visits["local_day"])).dt.date
    if date_from is None and len(days):
        date_from = min(days)
    if date_to is None and len(days):
        date_to = max(days)
    with store.session() as s, s.begin():
        # two runs saved over the same days at once (the morning job and a coordinator): on
        # PostgreSQL each delete ran before the other's visits were committed, so both runs'
        # visits were kept and every minute counted twice; one after the other, the second
        # replaces the first
        take_write_turn(s.connection(), VISITS_LOCK)
        if date_from is not None and date_to is not None:
            s.execute(delete(Visit).where(Visit.local_day >= date_from, Visit.local_day <= date_to))
        run = DosageRun(
            created_at=utcnow(),
            date_from=date_from,
            date_to=date_to,
            params=params,
            stats=stats,
            n_visits=len(visits),
        )
        s.add(run)
        s.flush()
        if len(visits):
            rows = [
                {
                    "run_id": run.id,
                    "device_id": str(d),
                    "team": str(tm),
                    "area_id": int(a),
                    "start": st,
                    "end": en,
                    "minutes": float(m),
                    "n_pings": int(n),
                    "local_day": day,
                }
                for d, tm, a, st, en, m, n, day in zip(
                    visits["device_id"],
                    visits["team"],
                    visits["area_id"],
                    _py_dt(visits["start"]),
                    _py_dt(visits["end"]),
                    visits["minutes"],
                    visits["n_pings"],
                    days,
                    strict=True,
                )
            ]
            s.execute(insert(Visit), rows)
        return run.id


def load_visits(
    store: Store,
    start: dt.date | None = None,
    end: dt.date | None = None,
    *,
    team: str | None = None,
    area_ids: list[int] | None = None,
) -> pd.DataFrame:
    """Stored visits on local days ``start..end`` (inclusive), sorted by start."""
    q = select(*(getattr(Visit, c) for c in COLUMNS))
    if start is not None:
        q = q.where(Visit.local_day >= start)
    if end is not None:
        q = q.where(Visit.local_day <= end)
    if team is not None:
        q = q.where(Visit.team == team)
    if area_ids is not None:
        q = q.where(Visit.area_id.in_([int(a) for a in area_ids]))
    with store.engine.connect() as c:
        df = pd.DataFrame(c.execute(q.order_by(Visit.start, Visit.id)).all(), columns=COLUMNS)
    df["start"] = pd.to_datetime(df["start"]).astype("datetime64[ms]")
    df["end"] = pd.to_datetime(df["end"]).astype("datetime64[ms]")
    df["minutes"] = df["minutes"].astype(np.float64)
    # the dosage engine's visit_id links parts of one visit; stored rows stand alone
    df["visit_id"] = df["id"]
    return df


def last_run(store: Store) -> dict[str, Any] | None:
    """The newest dosage run's parameters and statistics."""
    with store.session() as s:
        r = s.scalars(select(DosageRun).order_by(DosageRun.id.desc())).first()
        if r is None:
            return None
        return {
            "id": r.id,
            "created_at": r.created_at,
            "date_from": r.date_from,
            "date_to": r.date_to,
            "params": r.params,
            "stats": r.stats,
            "n_visits": r.n_visits,
        }

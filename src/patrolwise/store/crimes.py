"""Crimes repository: read crimes back as a table in the stages' data contract."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from sqlalchemy import select

from ..io.crime_rows import LABEL_COLUMNS
from .crime_places import PLACE_COLUMNS
from .db import Store
from .models import Crime, CrimeLabel, CrimePlace

COLUMNS = [
    "crime_key",
    "crime_id",
    "force",
    "month",
    "precision",
    "occurred_at",
    "occurred_from",
    "occurred_to",
    "category",
    "offence",
    "ho_code",
    "lon",
    "lat",
    "x",
    "y",
    "mappable",
    "location",
    "lsoa_code",
    "harm",
    "harm_status",
]


def load_crimes(
    store: Store,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    categories: list[str] | None = None,
    force: str | None = None,
    mappable_only: bool = False,
    limit: int | None = None,
    tz: str | None = None,
) -> pd.DataFrame:
    """Crimes between ``start`` and ``end``, inclusive local dates in ``tz`` (default: the
    configured zone). A crime with a day (its time's, or a window within one local day: an
    extract's date without a time) is kept by that day; the rest (month precision, windows
    across days) are kept when their month overlaps the range. Times are naive UTC.
    """
    from sqlalchemy import func

    cols = [
        func.coalesce(Crime.crime_id, Crime.row_key).label("crime_key")
        if c == "crime_key"
        else getattr(
            CrimePlace
            if c in PLACE_COLUMNS
            else CrimeLabel
            if c in (*LABEL_COLUMNS, "harm", "harm_status")
            else Crime,
            c,
        )
        for c in COLUMNS
    ]
    q = (
        select(*cols)
        .join(CrimePlace, Crime.place_hash == CrimePlace.place_hash)
        .join(CrimeLabel, Crime.label_hash == CrimeLabel.label_hash)
    )
    if start is not None:
        q = q.where(Crime.month >= f"{start:%Y-%m}")
    if end is not None:
        q = q.where(Crime.month <= f"{end:%Y-%m}")
    if categories:
        q = q.where(CrimeLabel.category.in_(categories))
    if force:
        q = q.where(CrimeLabel.force == force)
    if mappable_only:
        q = q.where(CrimePlace.mappable.is_(True))
    if limit is not None:
        q = q.order_by(Crime.id).limit(limit)
    with store.engine.connect() as conn:
        df = pd.DataFrame(conn.execute(q).all(), columns=COLUMNS)
    for c in ("occurred_at", "occurred_from", "occurred_to"):
        df[c] = pd.to_datetime(df[c])
    if start is not None or end is not None:
        from ..config import get_settings
        from ..timeutil import dated_days

        days = dated_days(df, tz or get_settings().timezone)
        has = days.notna().to_numpy()
        ok = np.ones(len(df), dtype=bool)
        if start is not None:
            ok &= ~has | (days >= pd.Timestamp(start)).to_numpy()
        if end is not None:
            ok &= ~has | (days <= pd.Timestamp(end)).to_numpy()
        df = df[ok]
    return df.reset_index(drop=True)

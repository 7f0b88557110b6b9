"""Tables of the dosage stage: runs of the dosage engine and the visits each run found.

A run records the rules it used (buffer, maximum gap, minimum visit, cleaning thresholds) and what
it saw, so a minutes figure in a report can always be traced to the parameters behind it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Date, DateTime, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, JSONType


class DosageRun(Base):
    """One run of the dosage engine over a date range."""

    __tablename__ = "dosage_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    date_from: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    date_to: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    params: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    stats: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    n_visits: Mapped[int] = mapped_column(Integer, default=0)


class Visit(Base):
    """A device's visit to a hot spot on one local day (visits crossing midnight are split)."""

    __tablename__ = "visits"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(
        ForeignKey("dosage_runs.id", ondelete="CASCADE"), index=True
    )
    device_id: Mapped[str] = mapped_column(String(100))
    team: Mapped[str] = mapped_column(String(20))
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"))
    start: Mapped[dt.datetime] = mapped_column(DateTime)
    end: Mapped[dt.datetime] = mapped_column(DateTime)
    minutes: Mapped[float] = mapped_column(Float)
    n_pings: Mapped[int] = mapped_column(Integer)
    local_day: Mapped[dt.date] = mapped_column(Date, index=True)


Index("ix_visits_area_day", Visit.area_id, Visit.local_day)

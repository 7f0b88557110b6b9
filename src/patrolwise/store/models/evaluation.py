"""Tables of the evaluation stage: team rates with effective dates, and saved evaluation results.

Rates are stored as entered (per minute, hour or shift, plus an overhead share) so an auditor can
see what was agreed; the evaluation reduces them to pounds per minute when costing visits.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Date, DateTime, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, JSONType


class TeamRate(Base):
    """What a team's presence costs from ``effective_from`` (inclusive) to ``effective_to``."""

    __tablename__ = "team_rates"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team: Mapped[str] = mapped_column(String(32))
    unit: Mapped[str] = mapped_column(String(10))  # minute | hour | shift
    amount: Mapped[float] = mapped_column(Float)
    shift_minutes: Mapped[float | None] = mapped_column(Float, nullable=True)
    overhead: Mapped[float] = mapped_column(Float, default=0.0)
    currency: Mapped[str] = mapped_column(String(3), default="GBP")
    effective_from: Mapped[dt.date] = mapped_column(Date)
    effective_to: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


Index("ix_team_rates_team_from", TeamRate.team, TeamRate.effective_from)


class EvaluationResult(Base):
    """One saved evaluation (before/after, patrol days, ...): its parameters and full JSON result."""

    __tablename__ = "evaluation_results"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    params: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    result: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)

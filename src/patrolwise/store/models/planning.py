"""Tables of the planning stage: plans, their visits, and randomised patrol-day assignments.

A plan keeps its seed and every parameter (JSON) so a schedule can be regenerated exactly and an
auditor can see how it was made. Assignments are the evaluator's treatment schedule: which hot
spot-days were randomised to patrol, reproducible from ``seed``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, JSONType


class Plan(Base):
    """One generated schedule for one team over a date range."""

    __tablename__ = "plans"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team: Mapped[str] = mapped_column(String(32), index=True)
    seed: Mapped[int] = mapped_column(BigInteger)
    params: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class PlanVisit(Base):
    """One planned visit: a hot spot, a local day and naive-UTC start/end, in route order."""

    __tablename__ = "plan_visits"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"), index=True)
    team: Mapped[str] = mapped_column(String(32))
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"))
    date: Mapped[dt.date] = mapped_column(Date)
    start: Mapped[dt.datetime] = mapped_column(DateTime)
    end: Mapped[dt.datetime] = mapped_column(DateTime)
    order: Mapped[int] = mapped_column(Integer)


Index("ix_plan_visits_area_date", PlanVisit.area_id, PlanVisit.date)


class Assignment(Base):
    """A randomised patrol day (or hot spot-day): patrol or not, drawn with probability ``p``."""

    __tablename__ = "assignments"
    __table_args__ = (UniqueConstraint("seed", "area_id", "date"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seed: Mapped[int] = mapped_column(BigInteger, index=True)
    p: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(20))  # hotspot-day | day
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"))
    date: Mapped[dt.date] = mapped_column(Date)
    patrol: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)

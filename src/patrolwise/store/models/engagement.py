"""Tables of the engagement stage: people (pseudonyms only), engagements, referrals, debriefs, audit.

No name is ever stored: ``people.pseudonym`` is a keyed hash whose key lives outside the database,
and every free-text field (engagement location, outcome and notes; debrief summary and suggestions)
is stored only as a Fernet token (``*_encrypted``), because workers routinely type names and
addresses into whatever box they are given.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, JSONType


class Person(Base):
    """A pseudonymous person; a placeholder ("red jacket") until merged into a real reference.

    A merged placeholder is retired: its pseudonym becomes ``ph_retired_<id>`` with
    ``merged_into`` the real pseudonym, so the description typed again starts a new person.
    """

    __tablename__ = "people"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pseudonym: Mapped[str] = mapped_column(String(64), unique=True)
    placeholder: Mapped[bool] = mapped_column(Boolean, default=False)
    merged_into: Mapped[str | None] = mapped_column(String(64), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | closed | merged
    first_contact: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    last_contact: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    #: local day the person was closed (retention); cleared when they are met again
    closed_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class Engagement(Base):
    """One contact between an outreach worker and a person at a hot spot (or another location)."""

    __tablename__ = "engagements"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team: Mapped[str] = mapped_column(String(32), default="outreach")
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), nullable=True, index=True)
    location_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    staff: Mapped[str] = mapped_column(String(100))
    person: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    age_band: Mapped[str | None] = mapped_column(String(16), nullable=True)
    gender: Mapped[str | None] = mapped_column(String(32), nullable=True)
    consent: Mapped[bool] = mapped_column(Boolean, default=False)
    needs: Mapped[list[str] | None] = mapped_column(JSONType, nullable=True)
    safeguarding: Mapped[bool] = mapped_column(Boolean, default=False)
    outcome_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    follow_up: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    notes_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class Referral(Base):
    """A referral made during an engagement: to which agency, for what, and whether accepted."""

    __tablename__ = "referrals"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    engagement_id: Mapped[int] = mapped_column(
        ForeignKey("engagements.id", ondelete="CASCADE"), index=True
    )
    agency: Mapped[str] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(50))
    accepted: Mapped[bool | None] = mapped_column(Boolean, nullable=True)


class Debrief(Base):
    """A shift debrief: what happened, problems met, suggested plan changes, and the shift's dosage."""

    __tablename__ = "debriefs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team: Mapped[str] = mapped_column(String(32))
    date: Mapped[dt.date] = mapped_column(Date, index=True)
    staff: Mapped[str] = mapped_column(String(100))
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("plans.id"), nullable=True)
    summary_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    problems: Mapped[list[str] | None] = mapped_column(JSONType, nullable=True)
    suggestions_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    planned_minutes: Mapped[float | None] = mapped_column(Float, nullable=True)
    delivered_minutes: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class AuditEntry(Base):
    """Who did what to which object, when: every read of notes and every merge or closure."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    who: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(50))
    object: Mapped[str] = mapped_column(String(200))
    at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)


class KeyCheck(Base):
    """The key check of the secret the engagements are written with (one row, ``engagements``).

    ``value`` is HMAC-SHA256 of a fixed label under the key (``engage.crypto.key_check_value``),
    never the key: a command run with another key (a typo, another machine's settings) is
    refused instead of filing known people under new pseudonyms and writing text the right key
    cannot read.
    """

    __tablename__ = "key_checks"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)

"""Tables of the tracking stage: the device registry, device assignments and GPS pings.

A ping is identified by its device and fix time: ``(device_id, t)`` is unique, so re-importing a
file, a phone re-sending a queued fix or two feeds overlapping all leave one row (duplicates are
harmless by construction, not by a clean-up job).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, JSONType

TEAMS = ("outreach", "police")


class Device(Base):
    """A GPS tracker, phone app or radio that reports positions, and the team it belongs to.

    Only a hash of the device's secret is stored (see ``patrolwise.store.devices``), so a copy of the
    database does not let anyone post positions as the device.
    """

    __tablename__ = "devices"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[str] = mapped_column(String(100), unique=True)
    team: Mapped[str] = mapped_column(String(20), index=True)  # outreach | police
    staff: Mapped[str | None] = mapped_column(String(200), nullable=True)
    secret_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    active_from: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    active_to: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)


class DeviceAssignment(Base):
    """A device lent to a team (and a member of staff) from ``start`` to ``end`` (local dates,
    inclusive; open-ended when ``end`` is null). Outside every assignment the device's own team
    applies."""

    __tablename__ = "device_assignments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[str] = mapped_column(
        ForeignKey("devices.device_id", ondelete="CASCADE"), index=True
    )
    team: Mapped[str] = mapped_column(String(20))
    staff: Mapped[str | None] = mapped_column(String(200), nullable=True)
    start: Mapped[dt.date] = mapped_column(Date)
    end: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class Ping(Base):
    """One position fix: naive-UTC time, WGS84 and projected coordinates, and what came with it.

    Units: accuracy and altitude in metres, speed in metres per second (converted from knots or
    km/h on the way in), heading in degrees, battery in percent.
    """

    __tablename__ = "pings"
    __table_args__ = (UniqueConstraint("device_id", "t"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.device_id", ondelete="CASCADE"))
    team: Mapped[str] = mapped_column(String(20))
    t: Mapped[dt.datetime] = mapped_column(DateTime)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    x: Mapped[float] = mapped_column(Float)
    y: Mapped[float] = mapped_column(Float)
    accuracy: Mapped[float | None] = mapped_column(Float, nullable=True)
    speed: Mapped[float | None] = mapped_column(Float, nullable=True)
    heading: Mapped[float | None] = mapped_column(Float, nullable=True)
    altitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    battery: Mapped[float | None] = mapped_column(Float, nullable=True)
    source: Mapped[str] = mapped_column(String(20))  # gpx | nmea | csv | geojson | osmand | ...
    attrs: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id"), nullable=True)
    received_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


Index("ix_pings_t", Ping.t)
Index("ix_pings_team_t", Ping.team, Ping.t)

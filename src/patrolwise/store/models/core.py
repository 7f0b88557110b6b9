"""Foundation tables: import batches, harm tables, crimes, areas."""

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
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, JSONType


class ImportBatch(Base):
    """One run of an importer over one file: what was read and what became of it."""

    __tablename__ = "import_batches"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # crimes | pings | areas | harm | ...
    source: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    imported: Mapped[int] = mapped_column(Integer, default=0)
    already_present: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    unmappable: Mapped[int] = mapped_column(Integer, default=0)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)


class HarmTable(Base):
    """A versioned harm table (CCHI-derived, ONS severity, or a force's own)."""

    __tablename__ = "harm_tables"
    __table_args__ = (UniqueConstraint("name", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    version: Mapped[str] = mapped_column(String(50))
    unit: Mapped[str] = mapped_column(String(50), default="days")
    source: Mapped[str] = mapped_column(Text, default="")
    rules: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class HarmValue(Base):
    """One key (police.uk category, Home Office code or offence description) and its harm."""

    __tablename__ = "harm_values"
    __table_args__ = (UniqueConstraint("table_id", "key_kind", "key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    table_id: Mapped[int] = mapped_column(ForeignKey("harm_tables.id", ondelete="CASCADE"))
    key_kind: Mapped[str] = mapped_column(String(20))  # category | ho_code | description
    key: Mapped[str] = mapped_column(String(300))
    harm: Mapped[float | None] = mapped_column(Float, nullable=True)
    proactive: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)


class CrimePlace(Base):
    """Where a crime was recorded: a police.uk anonymised map point or an extract's exact point.

    Stored once and shared by every crime there, which keeps crime rows narrow (bulk imports bind
    a third of the values per row). ``place_hash`` is a 64-bit hash of the place's content
    (longitude, latitude, location text, LSOA), so re-importing finds the same place. A "No
    Location" crime has a place with no coordinates (``mappable`` false).
    """

    __tablename__ = "crime_places"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    place_hash: Mapped[int] = mapped_column(BigInteger, unique=True)
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    x: Mapped[float | None] = mapped_column(Float, nullable=True)
    y: Mapped[float | None] = mapped_column(Float, nullable=True)
    mappable: Mapped[bool] = mapped_column(Boolean, default=True)
    location: Mapped[str | None] = mapped_column(Text, nullable=True)
    lsoa_code: Mapped[str | None] = mapped_column(String(20), nullable=True)
    lsoa_name: Mapped[str | None] = mapped_column(String(100), nullable=True)


class CrimeLabel(Base):
    """What kind of record a crime is: its source, force, precision, offence, outcome and harm.

    A few hundred combinations repeat over millions of crimes, so each is stored once and crimes
    point at it by ``label_hash``, a 64-bit hash of its content (as places are, for the same
    reason: narrower crime rows made a million-row SQLite import's own floor 1.4x faster, and
    the harm columns' move here 1.08x more).
    """

    __tablename__ = "crime_labels"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    label_hash: Mapped[int] = mapped_column(BigInteger, unique=True)
    source_kind: Mapped[str] = mapped_column(String(20))  # police_uk | incidents
    force: Mapped[str | None] = mapped_column(String(100), nullable=True)
    reported_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    precision: Mapped[str] = mapped_column(String(10))  # month | window | datetime
    category: Mapped[str | None] = mapped_column(String(100), nullable=True)
    offence: Mapped[str | None] = mapped_column(String(300), nullable=True)
    ho_code: Mapped[str | None] = mapped_column(String(20), nullable=True)
    outcome: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: its harm under the harm table and rules it was imported with (a function of the offence
    #: labels above and of the table, so it repeats as they do)
    harm: Mapped[float | None] = mapped_column(Float, nullable=True)
    harm_status: Mapped[str] = mapped_column(String(20))  # ok | asb | excluded | missing
    harm_table_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


class Crime(Base):
    """A recorded crime: its key, month and times, with its labels and place stored once each.

    Its label's ``precision`` says what we know of when: month, a window, or a time.
    """

    __tablename__ = "crimes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: 64-bit hash of the crime's key (its ID, or a content key for rows with no ID): the unique
    #: index is on this integer because indexing 64-character IDs made bulk imports 2x slower
    key_hash: Mapped[int] = mapped_column(BigInteger, unique=True)
    #: the content key of a row with no ID (police.uk ASB); NULL when ``crime_id`` is the key
    row_key: Mapped[str | None] = mapped_column(String(128), nullable=True)
    row_hash: Mapped[int] = mapped_column(BigInteger)
    #: the import batch, place and labels are written by the importer in the same transaction
    #: as their rows, and never deleted; they are plain integers, not foreign keys, because
    #: PostgreSQL checks a foreign key with a trigger per inserted row, which made bulk imports
    #: 3.7x slower (tests check every crime's batch, place, labels and harm table exist)
    batch_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    crime_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM (local)
    #: its labels (``crime_labels.label_hash``): source, force, precision, offence, outcome, harm
    label_hash: Mapped[int] = mapped_column(BigInteger)
    occurred_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    occurred_from: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    occurred_to: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    #: where: the place row (police.uk files repeat a few thousand snapped map points on every
    #: row, so each is stored once; an incident extract's exact points each get their own)
    #: the place, by its content hash (``crime_places.place_hash``)
    place_hash: Mapped[int] = mapped_column(BigInteger)
    context: Mapped[str | None] = mapped_column(Text, nullable=True)
    attrs: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)


# BRIN on PostgreSQL: crimes arrive month by month (police.uk publishes monthly files), so a block
# range holds few months; a B-tree here cost a third of the server's COPY time
Index("ix_crimes_month", Crime.month, postgresql_using="brin")

# partial: police.uk rows (month precision) have no time, and indexing their NULLs cost a third
# of bulk import time
Index(
    "ix_crimes_occurred_at",
    Crime.occurred_at,
    sqlite_where=Crime.occurred_at.isnot(None),
    postgresql_where=Crime.occurred_at.isnot(None),
)


class Area(Base):
    """A place: hot spot, comparison area, catchment buffer or excluded zone.

    Hot spots carry their provenance (method, parameters, data period) and active dates, so a
    retired hot spot still explains the visits and crimes recorded while it was live.
    """

    __tablename__ = "areas"
    __table_args__ = (UniqueConstraint("kind", "name", "active_from"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20), index=True)
    geometry_wkt: Mapped[str] = mapped_column(Text)  # projected CRS
    crs: Mapped[str] = mapped_column(String(40))
    active_from: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    active_to: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    replaced_by: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), nullable=True)
    method: Mapped[str | None] = mapped_column(String(50), nullable=True)
    params: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    data_from: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    data_to: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    source: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)

"""Declarative base shared by every stage's tables.

Times are naive UTC ``DateTime`` columns (SQLite has no zone type; PostgreSQL gets ``timestamp``),
converted to the force's zone only for display. Geometries are WKT in the projected CRS, so SQLite
needs no spatial extension; PostgreSQL deployments may add PostGIS indexes on top.
"""

from __future__ import annotations

from sqlalchemy import JSON, MetaData
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: JSON everywhere, JSONB on PostgreSQL
JSONType = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)

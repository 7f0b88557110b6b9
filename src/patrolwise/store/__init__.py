"""Persistence: SQLAlchemy models, Alembic migrations and repositories over them."""

from .db import Store, init_db, make_engine, normalise_url, utcnow

__all__ = ["Store", "init_db", "make_engine", "normalise_url", "utcnow"]

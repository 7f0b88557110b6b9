"""The schema: migrations create what the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from patrolwise.store import Store, init_db
from patrolwise.store.models import Base


def test_migrations_match_models(store_url: str) -> None:
    with Store(store_url) as st, st.engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn,
            opts={"include_name": lambda n, t, p: not (t == "table" and n == "spatial_ref_sys")},
        )
        diff = compare_metadata(ctx, Base.metadata)
        assert diff == [], diff


def test_init_is_idempotent(store_url: str) -> None:
    r1 = init_db(store_url)
    r2 = init_db(store_url)
    assert r1 == r2 and r1
    with Store(store_url) as st:
        tables = set(inspect(st.engine).get_table_names())
    assert {"crimes", "areas", "import_batches", "harm_tables", "harm_values"} <= tables


def test_sqlite_uses_wal(sqlite_url: str) -> None:
    with Store(sqlite_url) as st, st.engine.connect() as conn:
        mode = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
    assert mode == "wal"

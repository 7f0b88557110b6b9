"""Move a test database to a schema revision, as ``patrolwise init`` would move it to the head."""

from __future__ import annotations

from patrolwise.store.db import alembic_config, make_engine


def migrate(url: str, revision: str, *, up: bool = False) -> None:
    """Upgrade (``up``) or downgrade the database at ``url`` to ``revision`` in one transaction."""
    from alembic import command

    eng = make_engine(url)
    with eng.begin() as conn:
        cfg = alembic_config(url)
        cfg.attributes["connection"] = conn
        (command.upgrade if up else command.downgrade)(cfg, revision)
    eng.dispose()

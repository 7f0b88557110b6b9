"""incident keys hold the force: two forces' extracts sharing an incident ID are two crimes

Revision ID: 0010
Revises: 0009

An incident with an ID was keyed ``i:<ID>``, so the second force to import an ``INC-0001`` had
its row counted as already present and lost. The key is now ``i:<length of force>:<force>:<ID>``
(the length keeps a force name holding a colon from running into the ID). Only the 64-bit hash
of the key is stored (``crimes.key_hash``; ``row_key`` is NULL when ``crime_id`` is the key), so
each stored incident's hash is recomputed from its ``crime_id`` and ``force`` as the importer
computes it, and re-importing an extract imported before this revision still adds nothing.

The key format and the hash are copied here (not imported) so this revision keeps meaning what
it meant; a test holds them to the importer's. Rows are paged by id, so memory stays bounded on
a force's years of incidents.
"""

from collections.abc import Callable

import numpy as np
import pandas as pd
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

PAGE = 50_000


def _new_key(force: str | None, crime_id: str) -> str:
    f = force or ""
    return f"i:{len(f)}:{f}:{crime_id}"


def _old_key(_force: str | None, crime_id: str) -> str:
    return f"i:{crime_id}"


def _hashes(keys: list[str]) -> np.ndarray:
    """pandas' 64-bit hash of each key, signed (the importer's ``key_hash``)."""
    return pd.util.hash_array(np.array(keys, dtype=object), categorize=False).view(np.int64)


def _rekey(key: Callable[[str | None, str], str]) -> None:
    conn = op.get_bind()
    last = 0
    while True:
        page = conn.execute(
            sa.text(
                "SELECT id, crime_id, force FROM crimes WHERE source_kind = 'incidents' "
                "AND crime_id IS NOT NULL AND id > :last ORDER BY id LIMIT :n"
            ),
            {"last": last, "n": PAGE},
        ).all()
        if not page:
            return
        hashes = _hashes([key(f, cid) for _, cid, f in page])
        conn.execute(
            sa.text("UPDATE crimes SET key_hash = :k WHERE id = :i"),
            [{"k": int(h), "i": int(r[0])} for h, r in zip(hashes, page, strict=True)],
        )
        last = int(page[-1][0])


def upgrade() -> None:
    _rekey(_new_key)


def downgrade() -> None:
    # the old key cannot tell two forces' incidents apart: refuse rather than fail half-way
    clash = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT crime_id FROM crimes WHERE source_kind = 'incidents' "
                "AND crime_id IS NOT NULL GROUP BY crime_id HAVING count(*) > 1"
            )
        )
        .first()
    )
    if clash is not None:
        raise RuntimeError(
            f"cannot downgrade below 0010: incident ID {clash[0]!r} is stored for more than one "
            "force, and the old keys (the ID alone) cannot hold both"
        )
    _rekey(_old_key)

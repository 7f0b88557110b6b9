"""incident rows without an ID are keyed by force too: two forces' identical rows are two crimes

Revision ID: 0011
Revises: 0010

An incident extract's row without an incident ID was keyed by its content alone,
``n:<row hash>:<occurrence>``, so when a second force's extract held the same row (same offence,
time and place text) it counted as already present and was lost. The key is now
``n:<row hash>:<occurrence>:<force>``: the force goes last, after the fixed-width hash and the
occurrence number, so the key reads unambiguously whatever the force's name holds. The text key
is stored (``crimes.row_key``) beside its 64-bit hash (``crimes.key_hash``), so each stored row's
key is rewritten from its old key and its ``force``, as the importer now computes it, and
re-importing an extract imported before this revision still adds nothing.

Only incident rows change: police.uk rows without a Crime ID (anti-social behaviour) are keyed
by month and content and name their force on every row, and keep their keys. The key format and
the hash are copied here (not imported) so this revision keeps meaning what it meant; a test
holds them to the importer's. Rows are paged by id, so memory stays bounded on a force's years of
incidents.
"""

from collections.abc import Callable

import numpy as np
import pandas as pd
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

PAGE = 50_000


def _new_key(force: str | None, old: str) -> str:
    return f"{old}:{force or ''}"


def _old_key(_force: str | None, new: str) -> str:
    # 'n' : 16 hex digits : occurrence : force (which may hold colons)
    return ":".join(new.split(":", 3)[:3])


def _hashes(keys: list[str]) -> np.ndarray:
    """pandas' 64-bit hash of each key, signed (the importer's ``key_hash``)."""
    return pd.util.hash_array(np.array(keys, dtype=object), categorize=False).view(np.int64)


def _rekey(key: Callable[[str | None, str], str]) -> None:
    conn = op.get_bind()
    last = 0
    while True:
        page = conn.execute(
            sa.text(
                "SELECT id, row_key, force FROM crimes WHERE source_kind = 'incidents' "
                "AND crime_id IS NULL AND row_key IS NOT NULL AND id > :last ORDER BY id LIMIT :n"
            ),
            {"last": last, "n": PAGE},
        ).all()
        if not page:
            return
        keys = [key(f, k) for _, k, f in page]
        hashes = _hashes(keys)
        conn.execute(
            sa.text("UPDATE crimes SET row_key = :rk, key_hash = :k WHERE id = :i"),
            [
                {"rk": k, "k": int(h), "i": int(r[0])}
                for k, h, r in zip(keys, hashes, page, strict=True)
            ],
        )
        last = int(page[-1][0])


def upgrade() -> None:
    _rekey(_new_key)


def downgrade() -> None:
    # the old key cannot tell two forces' identical rows apart: refuse rather than fail half-way
    old = "substr(row_key, 1, length(row_key) - length(COALESCE(force, '')) - 1)"
    clash = (
        op.get_bind()
        .execute(
            sa.text(
                f"SELECT {old} FROM crimes WHERE source_kind = 'incidents' "
                f"AND crime_id IS NULL AND row_key IS NOT NULL GROUP BY {old} HAVING count(*) > 1"
            )
        )
        .first()
    )
    if clash is not None:
        raise RuntimeError(
            f"cannot downgrade below 0011: the incident row without an ID keyed {clash[0]!r} is "
            "stored for more than one force, and the old keys (the row's content alone) cannot "
            "hold both"
        )
    _rekey(_old_key)

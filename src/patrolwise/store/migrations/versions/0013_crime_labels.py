"""crime labels: each distinct (source, force, reporter, precision, offence, outcome, harm) stored once

Revision ID: 0013
Revises: 0012

Every crime repeated its force's name twice, its category, outcome and source as text, and the
harm its category carries under its harm table: about 115 bytes of a 230-byte row, written and
checkpointed on every import. They move to ``crime_labels``, one row per distinct combination,
and crimes refer to it by a content hash computed as the importer computes it, so a file
imported before this revision still re-imports as a no-op.
Combinations are read with ``SELECT DISTINCT`` (a few hundred, however many crimes), and each
crime is pointed at its own with one ``UPDATE``, matching NULLs as equal.
"""

from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

MOVED = [
    "source_kind",
    "force",
    "reported_by",
    "precision",
    "category",
    "offence",
    "ho_code",
    "outcome",
    "harm_status",
    "harm",
    "harm_table_id",
]
#: hashed as numbers (float64), the rest as text (the importer's order: text, then numbers)
NUMBERS = ("harm", "harm_table_id")
TYPES: dict[str, Any] = {
    "source_kind": sa.String(length=20),
    "force": sa.String(length=100),
    "reported_by": sa.String(length=100),
    "precision": sa.String(length=10),
    "category": sa.String(length=100),
    "offence": sa.String(length=300),
    "ho_code": sa.String(length=20),
    "outcome": sa.Text(),
    "harm_status": sa.String(length=20),
    "harm": sa.Float(),
    "harm_table_id": sa.Integer(),
}
NOT_NULL = ("source_kind", "precision", "harm_status")


def _same(a: str, b: str) -> str:
    """SQL for ``a`` equal to ``b``, two NULLs counting as equal (a blank outcome is NULL)."""
    if op.get_context().dialect.name == "postgresql":
        return f"{a} IS NOT DISTINCT FROM {b}"
    return f"{a} IS {b}"


def _store_labels(conn: sa.Connection, labels: pd.DataFrame) -> None:
    """One ``crime_labels`` row per distinct combination, keyed as the importer keys them.

    The hash is copied here, not imported, so this revision keeps meaning what it meant (a test
    holds it to the importer's: re-importing a file after the upgrade adds no label): pandas'
    row hash of the text columns as Python objects with None for NULL, then the numbers as
    float64 (``patrolwise.io.crime_rows.label_hashes``).
    """
    text = [c for c in MOVED if c not in NUMBERS]
    key = labels[text].astype(object).where(labels[text].notna(), None)
    for c in NUMBERS:
        key[c] = pd.to_numeric(labels[c]).astype(float)
    hashes = pd.util.hash_pandas_object(key, index=False).to_numpy(dtype=np.uint64)
    rows = []
    for h, rec in zip(hashes.view(np.int64).tolist(), key.to_dict("records"), strict=True):
        harm, table = rec["harm"], rec["harm_table_id"]
        rows.append(
            {
                **{c: rec[c] for c in text},
                "harm": None if np.isnan(harm) else harm,
                "harm_table_id": None if np.isnan(table) else int(table),
                "label_hash": h,
            }
        )
    names = ["label_hash", *MOVED]
    conn.execute(
        sa.text(
            f"INSERT INTO crime_labels ({', '.join(names)}) "
            f"VALUES ({', '.join(':' + c for c in names)})"
        ),
        rows,
    )


def upgrade() -> None:
    op.create_table(
        "crime_labels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("label_hash", sa.BigInteger(), nullable=False),
        *[sa.Column(c, TYPES[c], nullable=c not in NOT_NULL) for c in MOVED],
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crime_labels")),
        sa.UniqueConstraint("label_hash", name=op.f("uq_crime_labels_label_hash")),
    )
    with op.batch_alter_table("crimes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("label_hash", sa.BigInteger(), nullable=True))

    conn = op.get_bind()
    labels = pd.read_sql(sa.text(f"SELECT DISTINCT {', '.join(MOVED)} FROM crimes"), conn)
    if len(labels):
        _store_labels(conn, labels)
        match = " AND ".join(_same(f"l.{c}", f"crimes.{c}") for c in MOVED)
        conn.execute(
            sa.text(
                f"UPDATE crimes SET label_hash = "
                f"(SELECT l.label_hash FROM crime_labels l WHERE {match})"
            )
        )

    with op.batch_alter_table("crimes", schema=None) as batch_op:
        batch_op.alter_column("label_hash", existing_type=sa.BigInteger(), nullable=False)
        for c in MOVED:
            batch_op.drop_column(c)


def downgrade() -> None:
    with op.batch_alter_table("crimes", schema=None) as batch_op:
        for c in MOVED:
            batch_op.add_column(sa.Column(c, TYPES[c], nullable=True))
    sets = ", ".join(
        f"{c} = (SELECT l.{c} FROM crime_labels l WHERE l.label_hash = crimes.label_hash)"
        for c in MOVED
    )
    op.execute(f"UPDATE crimes SET {sets}")
    with op.batch_alter_table("crimes", schema=None) as batch_op:
        for c in NOT_NULL:
            batch_op.alter_column(c, existing_type=TYPES[c], nullable=False)
        batch_op.drop_column("label_hash")
    op.drop_table("crime_labels")

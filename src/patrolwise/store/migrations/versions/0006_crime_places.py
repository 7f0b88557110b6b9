"""crime places: each distinct point stored once, crimes refer to it by content hash; no per-row foreign keys

Revision ID: 0006
Revises: 0005

Crimes already stored keep their places: the distinct (lon, lat, location, LSOA) of the old
columns become ``crime_places`` rows with the same content hash the importer computes, so a file
imported before this revision still re-imports as a no-op.
"""

import pandas as pd
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

MOVED = ["lon", "lat", "x", "y", "mappable", "location", "lsoa_code", "lsoa_name"]


def upgrade() -> None:
    op.create_table(
        "crime_places",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("place_hash", sa.BigInteger(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("x", sa.Float(), nullable=True),
        sa.Column("y", sa.Float(), nullable=True),
        sa.Column("mappable", sa.Boolean(), nullable=False),
        sa.Column("location", sa.Text(), nullable=True),
        sa.Column("lsoa_code", sa.String(length=20), nullable=True),
        sa.Column("lsoa_name", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crime_places")),
        sa.UniqueConstraint("place_hash", name=op.f("uq_crime_places_place_hash")),
    )
    with op.batch_alter_table("crimes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("place_hash", sa.BigInteger(), nullable=True))

    from patrolwise.io.crime_rows import place_hashes
    from patrolwise.store.crime_places import store_places

    conn = op.get_bind()
    for old in pd.read_sql(
        sa.text(f"SELECT id, {', '.join(MOVED)} FROM crimes ORDER BY id"), conn, chunksize=200_000
    ):
        if not len(old):
            continue
        old["mappable"] = old["mappable"].astype(bool)
        store_places(conn, old)
        conn.execute(
            sa.text("UPDATE crimes SET place_hash = :p WHERE id = :i"),
            [{"p": int(p), "i": int(i)} for p, i in zip(place_hashes(old), old["id"], strict=True)],
        )

    with op.batch_alter_table("crimes", schema=None) as batch_op:
        batch_op.alter_column("place_hash", existing_type=sa.BigInteger(), nullable=False)
        # provenance ids and place hashes are written by the importer with their parent rows; a foreign
        # key is a trigger per inserted row on PostgreSQL (3.7x slower bulk imports)
        batch_op.drop_constraint("fk_crimes_batch_id_import_batches", type_="foreignkey")
        batch_op.drop_constraint("fk_crimes_harm_table_id_harm_tables", type_="foreignkey")
        for c in MOVED:
            batch_op.drop_column(c)
    if op.get_context().dialect.name == "postgresql":
        # crimes arrive month by month: a block-range index is enough, and far cheaper to keep
        op.drop_index("ix_crimes_month", table_name="crimes")
        op.create_index("ix_crimes_month", "crimes", ["month"], postgresql_using="brin")


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.drop_index("ix_crimes_month", table_name="crimes")
        op.create_index("ix_crimes_month", "crimes", ["month"])
    with op.batch_alter_table("crimes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lon", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("lat", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("x", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("y", sa.Float(), nullable=True))
        batch_op.add_column(
            sa.Column("mappable", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch_op.add_column(sa.Column("location", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("lsoa_code", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("lsoa_name", sa.String(length=100), nullable=True))
    sets = ", ".join(
        f"{c} = (SELECT p.{c} FROM crime_places p WHERE p.place_hash = crimes.place_hash)"
        for c in MOVED
    )
    op.execute(f"UPDATE crimes SET {sets}")
    with op.batch_alter_table("crimes", schema=None) as batch_op:
        batch_op.alter_column("mappable", existing_type=sa.Boolean(), server_default=None)
        batch_op.drop_column("place_hash")
        batch_op.create_foreign_key(
            "fk_crimes_batch_id_import_batches", "import_batches", ["batch_id"], ["id"]
        )
        batch_op.create_foreign_key(
            "fk_crimes_harm_table_id_harm_tables", "harm_tables", ["harm_table_id"], ["id"]
        )
    op.drop_table("crime_places")

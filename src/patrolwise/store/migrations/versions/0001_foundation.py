"""foundation: import batches, harm tables, crimes, areas

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "areas",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("geometry_wkt", sa.Text(), nullable=False),
        sa.Column("crs", sa.String(length=40), nullable=False),
        sa.Column("active_from", sa.Date(), nullable=True),
        sa.Column("active_to", sa.Date(), nullable=True),
        sa.Column("replaced_by", sa.Integer(), nullable=True),
        sa.Column("method", sa.String(length=50), nullable=True),
        sa.Column(
            "params",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("data_from", sa.Date(), nullable=True),
        sa.Column("data_to", sa.Date(), nullable=True),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["replaced_by"], ["areas.id"], name=op.f("fk_areas_replaced_by_areas")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_areas")),
        sa.UniqueConstraint("kind", "name", "active_from", name=op.f("uq_areas_kind")),
    )
    with op.batch_alter_table("areas", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_areas_kind"), ["kind"], unique=False)

    op.create_table(
        "harm_tables",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("version", sa.String(length=50), nullable=False),
        sa.Column("unit", sa.String(length=50), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column(
            "rules",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_harm_tables")),
        sa.UniqueConstraint("name", "version", name=op.f("uq_harm_tables_name")),
    )
    op.create_table(
        "import_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("rows_read", sa.Integer(), nullable=False),
        sa.Column("imported", sa.Integer(), nullable=False),
        sa.Column("already_present", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("unmappable", sa.Integer(), nullable=False),
        sa.Column(
            "details",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_batches")),
    )
    with op.batch_alter_table("import_batches", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_import_batches_sha256"), ["sha256"], unique=False)

    op.create_table(
        "crimes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key_hash", sa.BigInteger(), nullable=False),
        sa.Column("row_key", sa.String(length=128), nullable=True),
        sa.Column("row_hash", sa.BigInteger(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=True),
        sa.Column("source_kind", sa.String(length=20), nullable=False),
        sa.Column("crime_id", sa.String(length=100), nullable=True),
        sa.Column("force", sa.String(length=100), nullable=True),
        sa.Column("reported_by", sa.String(length=100), nullable=True),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("precision", sa.String(length=10), nullable=False),
        sa.Column("occurred_at", sa.DateTime(), nullable=True),
        sa.Column("occurred_from", sa.DateTime(), nullable=True),
        sa.Column("occurred_to", sa.DateTime(), nullable=True),
        sa.Column("category", sa.String(length=100), nullable=True),
        sa.Column("offence", sa.String(length=300), nullable=True),
        sa.Column("ho_code", sa.String(length=20), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("x", sa.Float(), nullable=True),
        sa.Column("y", sa.Float(), nullable=True),
        sa.Column("mappable", sa.Boolean(), nullable=False),
        sa.Column("location", sa.Text(), nullable=True),
        sa.Column("lsoa_code", sa.String(length=20), nullable=True),
        sa.Column("lsoa_name", sa.String(length=100), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("context", sa.Text(), nullable=True),
        sa.Column("harm", sa.Float(), nullable=True),
        sa.Column("harm_status", sa.String(length=20), nullable=False),
        sa.Column("harm_table_id", sa.Integer(), nullable=True),
        sa.Column(
            "attrs",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["import_batches.id"], name=op.f("fk_crimes_batch_id_import_batches")
        ),
        sa.ForeignKeyConstraint(
            ["harm_table_id"], ["harm_tables.id"], name=op.f("fk_crimes_harm_table_id_harm_tables")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crimes")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_crimes_key_hash")),
    )
    with op.batch_alter_table("crimes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_crimes_month"), ["month"], unique=False)
        batch_op.create_index(
            "ix_crimes_occurred_at",
            ["occurred_at"],
            unique=False,
            sqlite_where=sa.text("occurred_at IS NOT NULL"),
            postgresql_where=sa.text("occurred_at IS NOT NULL"),
        )

    op.create_table(
        "harm_values",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("table_id", sa.Integer(), nullable=False),
        sa.Column("key_kind", sa.String(length=20), nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("harm", sa.Float(), nullable=True),
        sa.Column("proactive", sa.Boolean(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["table_id"],
            ["harm_tables.id"],
            name=op.f("fk_harm_values_table_id_harm_tables"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_harm_values")),
        sa.UniqueConstraint("table_id", "key_kind", "key", name=op.f("uq_harm_values_table_id")),
    )


def downgrade() -> None:
    op.drop_table("harm_values")
    with op.batch_alter_table("crimes", schema=None) as batch_op:
        batch_op.drop_index("ix_crimes_occurred_at")
        batch_op.drop_index(batch_op.f("ix_crimes_month"))

    op.drop_table("crimes")
    with op.batch_alter_table("import_batches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_import_batches_sha256"))

    op.drop_table("import_batches")
    op.drop_table("harm_tables")
    with op.batch_alter_table("areas", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_areas_kind"))

    op.drop_table("areas")

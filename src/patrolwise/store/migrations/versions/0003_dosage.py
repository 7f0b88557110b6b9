"""dosage: dosage runs and visits

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "dosage_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("date_from", sa.Date(), nullable=True),
        sa.Column("date_to", sa.Date(), nullable=True),
        sa.Column("params", JSON, nullable=True),
        sa.Column("stats", JSON, nullable=True),
        sa.Column("n_visits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dosage_runs")),
    )
    op.create_table(
        "visits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.String(length=100), nullable=False),
        sa.Column("team", sa.String(length=20), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.Column("start", sa.DateTime(), nullable=False),
        sa.Column("end", sa.DateTime(), nullable=False),
        sa.Column("minutes", sa.Float(), nullable=False),
        sa.Column("n_pings", sa.Integer(), nullable=False),
        sa.Column("local_day", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(["area_id"], ["areas.id"], name=op.f("fk_visits_area_id_areas")),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["dosage_runs.id"],
            name=op.f("fk_visits_run_id_dosage_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visits")),
    )
    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_visits_run_id"), ["run_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_visits_local_day"), ["local_day"], unique=False)
        batch_op.create_index("ix_visits_area_day", ["area_id", "local_day"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.drop_index("ix_visits_area_day")
        batch_op.drop_index(batch_op.f("ix_visits_local_day"))
        batch_op.drop_index(batch_op.f("ix_visits_run_id"))
    op.drop_table("visits")
    op.drop_table("dosage_runs")

"""evaluation: team rates with effective dates, saved evaluation results

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "team_rates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team", sa.String(length=32), nullable=False),
        sa.Column("unit", sa.String(length=10), nullable=False),
        sa.Column("amount", sa.Float(), nullable=False),
        sa.Column("shift_minutes", sa.Float(), nullable=True),
        sa.Column("overhead", sa.Float(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("effective_to", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team_rates")),
    )
    with op.batch_alter_table("team_rates", schema=None) as batch_op:
        batch_op.create_index("ix_team_rates_team_from", ["team", "effective_from"], unique=False)

    op.create_table(
        "evaluation_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("params", JSON, nullable=True),
        sa.Column("result", JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evaluation_results")),
    )
    with op.batch_alter_table("evaluation_results", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_evaluation_results_kind"), ["kind"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("evaluation_results", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evaluation_results_kind"))
    op.drop_table("evaluation_results")
    with op.batch_alter_table("team_rates", schema=None) as batch_op:
        batch_op.drop_index("ix_team_rates_team_from")
    op.drop_table("team_rates")

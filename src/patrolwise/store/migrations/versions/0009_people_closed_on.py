"""people.closed_on: the day a person was closed, so the purge can erase people closed for long

Revision ID: 0009
Revises: 0008

People closed before this revision have no recorded closing day; they are given the day of the
upgrade, so nobody is erased sooner than the purge period after it (erasure cannot be undone).
"""

import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.add_column(sa.Column("closed_on", sa.Date(), nullable=True))
    op.get_bind().execute(
        sa.text("UPDATE people SET closed_on = :d WHERE status = 'closed'"),
        {"d": dt.datetime.now(dt.UTC).date()},
    )


def downgrade() -> None:
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_column("closed_on")

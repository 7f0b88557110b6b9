"""key_checks: the check value of the secret key the engagements are written with

Revision ID: 0012
Revises: 0011

One row (``name`` 'engagements') holding HMAC-SHA256 of a fixed label under the secret key,
never the key. It is written the first time a key is used for engagements; a database upgraded
with engagements already in it gets it when a key first proves able to decrypt one of their
encrypted fields (or, with none to test, when the key is first used).
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "key_checks",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("value", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_key_checks")),
    )


def downgrade() -> None:
    op.drop_table("key_checks")

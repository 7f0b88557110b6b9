"""retire merged placeholders: a placeholder merged into a named person frees its pseudonym

Revision ID: 0007
Revises: 0006

Until now a merged placeholder ("red jacket") kept its keyed hash with ``merged_into`` set, and
every later contact typed with the same description was linked to the named person. A merged
placeholder row is now renamed ``ph_retired_<id>`` (no typed text, no hash), so the next "red
jacket" starts a new placeholder person. Contacts already linked that way before this revision
cannot be told apart from the person's own and stay where they are.
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "UPDATE people SET pseudonym = 'ph_retired_' || CAST(id AS VARCHAR(20)) "
        "WHERE status = 'merged' AND pseudonym NOT LIKE 'ph\\_retired\\_%' ESCAPE '\\'"
    )


def downgrade() -> None:
    # the keyed hash of a retired placeholder is not kept anywhere, so it cannot be restored;
    # retired rows stay retired (they are reached by nothing but their merged_into)
    pass

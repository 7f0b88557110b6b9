"""gender from a fixed vocabulary: free text stored before is mapped, unknown text to 'other'

Revision ID: 0008
Revises: 0007

``engagements.gender`` was free text (up to 32 characters) stored in clear, against the rule
that nothing typed is stored in clear. It now holds one of female, male, non-binary, other, not
stated. Stored values are mapped as the log maps typed ones (case and spacing folded, 'f' to
female, 'not given' to not stated ...); blank becomes NULL and anything else 'other'.

Why 'other' rather than encrypting the old text: gender is only ever used as a category in
counts; a value outside the vocabulary is either a self-description rare enough to single a
person out or something that never belonged there (a name, an address), and keeping it
encrypted would need the deployment secret inside the migration for a column nobody reads.
The vocabulary is copied here (not imported) so this revision keeps meaning what it meant.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

GENDERS = ("female", "male", "non-binary", "other", "not stated")
ALIASES = {
    "f": "female",
    "woman": "female",
    "m": "male",
    "man": "male",
    "nb": "non-binary",
    "nonbinary": "non-binary",
    "non binary": "non-binary",
    "not given": "not stated",
    "prefer not to say": "not stated",
    "unknown": "not stated",
}


def _map(value: str) -> str | None:
    low = " ".join(value.strip().lower().split())
    if not low:
        return None
    g = ALIASES.get(low, low)
    return g if g in GENDERS else "other"


def upgrade() -> None:
    conn = op.get_bind()
    stored = [
        r[0]
        for r in conn.execute(
            sa.text("SELECT DISTINCT gender FROM engagements WHERE gender IS NOT NULL")
        )
    ]
    for old in stored:
        new = _map(old)
        if new != old:
            conn.execute(
                sa.text("UPDATE engagements SET gender = :new WHERE gender = :old"),
                {"new": new, "old": old},
            )


def downgrade() -> None:
    # the mapped values are valid free text: nothing to undo (the old text is gone by design)
    pass

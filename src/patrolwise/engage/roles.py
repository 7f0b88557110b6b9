"""Roles and least privilege: who may read what in the engagement log.

Only outreach roles read free-text notes (they wrote them, under a duty of confidence); police and
analysts see counts and pseudonyms, never notes. Administrators run the system but do not read
case notes either. A shift debrief's free text is read by the agency that wrote it only (outreach
roles for outreach debriefs, the police role for police ones).
"""

from __future__ import annotations

from ..errors import AuthError

OUTREACH_ROLES = frozenset({"outreach_worker", "outreach_manager"})
#: who may irreversibly erase closed people (retention): the charity's managers, not its workers
PURGE_ROLES = frozenset({"outreach_manager"})
#: who may read the audit trail (it names every caller and what each asked for): the charity's
#: managers, who answer for the log's data protection. A data protection officer's role would
#: belong here (and in ROLES), reading the audit but no case notes.
AUDIT_ROLES = frozenset({"outreach_manager"})
ROLES = OUTREACH_ROLES | {"police", "analyst", "admin"}


def check_role(role: str) -> str:
    if role not in ROLES:
        raise AuthError(f"unknown role {role!r}; roles are {', '.join(sorted(ROLES))}")
    return role


def can_read_notes(role: str) -> bool:
    return check_role(role) in OUTREACH_ROLES


def require_notes_access(role: str) -> None:
    """Raise AuthError unless ``role`` may read engagement notes."""
    if not can_read_notes(role):
        raise AuthError(
            f"role {role!r} cannot read engagement notes; only outreach roles "
            f"({', '.join(sorted(OUTREACH_ROLES))}) can. Use the summary for counts."
        )


def require_write(role: str) -> None:
    """Only outreach roles log engagements (they are the ones who met the person)."""
    if check_role(role) not in OUTREACH_ROLES:
        raise AuthError(f"role {role!r} cannot log or change engagements; outreach roles only")


def require_purge(role: str) -> None:
    """Only an outreach manager erases people at the end of retention (it cannot be undone)."""
    if check_role(role) not in PURGE_ROLES:
        raise AuthError(
            f"role {role!r} cannot purge closed people; only {', '.join(sorted(PURGE_ROLES))} can"
        )


def require_audit(role: str) -> None:
    """Only outreach management reads the audit trail (``engage audit``)."""
    if check_role(role) not in AUDIT_ROLES:
        raise AuthError(
            f"role {role!r} cannot read the audit log; only {', '.join(sorted(AUDIT_ROLES))} can"
        )

"""Engagement repository: people (pseudonyms), engagements, referrals, debriefs and the audit log.

Every function takes the caller's name and role: writes need an outreach role; reading any free
text (engagement location, outcome, notes; debrief summary and suggestions, all stored encrypted)
needs an outreach role and leaves an audit entry per record read; everyone else gets counts
through :func:`engagement_summary`, never below the small-count threshold. Every refusal, of a
read or a write, is audited as ``refused`` (who, role, what was asked; no content).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from ..config import get_settings
from ..engage.crypto import can_decrypt, decrypt_optional, key_check_value
from ..engage.debrief import DebriefInput, prepare_debrief
from ..engage.log import EngagementInput, prepare_engagement
from ..engage.pseudonym import is_placeholder, placeholder_pseudonym, pseudonym
from ..engage.retention import (
    DEFAULT_INACTIVE_DAYS,
    DEFAULT_PURGE_DAYS,
    inactive,
    local_day_start,
    purgeable,
)
from ..engage.roles import (
    OUTREACH_ROLES,
    check_role,
    require_audit,
    require_notes_access,
    require_purge,
    require_write,
)
from ..engage.summary import DEFAULT_THRESHOLD, summarise
from ..errors import AuthError, ConfigError, InputError, StoreError
from ..timeutil import local_today, zone
from .db import PEOPLE_LOCK, Store, take_write_turn, utcnow
from .devices import check_team
from .models import Area
from .models.engagement import AuditEntry, Debrief, Engagement, KeyCheck, Person, Referral
from .models.planning import Plan, PlanVisit

ENGAGEMENT_COLUMNS = [
    "id",
    "team",
    "area_id",
    "at",
    "staff",
    "person",
    "age_band",
    "gender",
    "consent",
    "needs",
    "safeguarding",
    "follow_up",
]
#: free-text fields stored as Fernet tokens, decrypted (and audited) for outreach roles only
ENCRYPTED_ENGAGEMENT_TEXT = ("location", "outcome")
DEBRIEF_COLUMNS = [
    "id",
    "team",
    "date",
    "staff",
    "plan_id",
    "problems",
    "planned_minutes",
    "delivered_minutes",
]
ENCRYPTED_DEBRIEF_TEXT = ("summary", "suggestions")
#: length of audit_log.who
AUDIT_WHO_MAX = 100
#: the ``key_checks`` row holding the check value of the engagements' secret key
KEY_CHECK_NAME = "engagements"


def _audit(s: Session, who: str, role: str, action: str, obj: str) -> None:
    if len(who) > AUDIT_WHO_MAX:
        # refused, not cut: the audit log must name the caller exactly
        raise InputError(
            f"your name ({len(who)} characters) is too long for the audit log; use at most "
            f"{AUDIT_WHO_MAX} (--as or PATROLWISE_USER)"
        )
    # a role is one of the known ones except in a refusal of an unknown one, kept as typed
    # up to the column's length
    s.add(AuditEntry(who=who, role=role[:32], action=action, object=obj[:200], at=utcnow()))


def _refused(store: Store, who: str, role: str, asked: str, exc: AuthError) -> AuthError:
    """Audit a refused request (who, role, what was asked; no content) and return ``exc`` to raise.

    A refusal is written in its own transaction, so it stays on record although the request fails:
    repeated attempts by a police or analyst login to read case records are what an auditor looks
    for.
    """
    with store.session() as s, s.begin():
        _audit(s, who, role, "refused", asked)
    return exc


def _allowed(store: Store, who: str, role: str, asked: str, check: Callable[[str], object]) -> None:
    """Run the role ``check`` (``require_write``...); a refusal (an unknown role too) is audited
    by :func:`_refused` before its AuthError is raised. Writes and reads alike: a police or
    analyst login trying to log, merge, close or purge is as much for the auditor as one trying
    to read."""
    try:
        check(role)
    except AuthError as exc:
        raise _refused(store, who, role, asked, exc) from None


def _wrong_key() -> ConfigError:
    return ConfigError(
        "PATROLWISE_SECRET_KEY is not the key this database's engagements were written with "
        "(its key check differs); nothing was done: set the key they were written with"
    )


def _any_token(s: Session) -> bytes | None:
    """One encrypted field from the engagements or debriefs, to test a key on; None if none."""
    for col in (
        Engagement.notes_encrypted,
        Engagement.outcome_encrypted,
        Engagement.location_encrypted,
        Debrief.summary_encrypted,
        Debrief.suggestions_encrypted,
    ):
        t = s.scalar(select(col).where(col.is_not(None)).limit(1))
        if t is not None:
            return bytes(t)
    return None


def _check_key(s: Session, key: str | None, *, needed: bool, writing: bool) -> None:
    """Refuse a secret key other than the one this database's engagements were written with.

    A typo in PATROLWISE_SECRET_KEY, or another machine's settings, silently filed known people
    under new pseudonyms (splitting each one's history in two) and wrote text the right key
    cannot decrypt. The key's check value (``engage.crypto.key_check_value``, never the key) is
    kept in ``key_checks``: stored by the first write made with a key, compared by every
    operation after it. A database written before there was a check adopts the key only if it
    decrypts one of the stored encrypted fields (with none stored, nothing can test it: the first
    write adopts it). ``needed``: the operation cannot run without the key (else it is checked
    only when one is configured). Runs inside the operation's transaction, so a refusal writes
    nothing.
    """
    try:
        value = key_check_value(key)
    except ConfigError:
        if needed:
            raise
        return
    row = s.get(KeyCheck, KEY_CHECK_NAME)
    if row is not None:
        if not hmac.compare_digest(row.value, value):
            raise _wrong_key()
        return
    token = _any_token(s)
    if token is not None and not can_decrypt(token, key):
        raise _wrong_key()
    if token is None and not writing:
        return  # nothing yet to test the key on or to protect
    # two first writes at once (PostgreSQL, two staff logging): the second waits for the first
    # to commit, finds its row and is held to its key; a plain INSERT lost that race with an
    # IntegrityError traceback. A statement after the wait reads the committed row (each
    # statement of a READ COMMITTED transaction sees what was committed before it began).
    ins = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
    s.execute(
        ins(KeyCheck)
        .values(name=KEY_CHECK_NAME, value=value, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["name"])
    )
    stored = s.execute(select(KeyCheck.value).where(KeyCheck.name == KEY_CHECK_NAME)).scalar_one()
    if not hmac.compare_digest(stored, value):
        raise _wrong_key()


def retired_placeholder(person_id: int) -> str:
    """The pseudonym a placeholder person keeps once merged: its row id, nothing typed.

    Retiring frees the placeholder's keyed hash, so the next contact typed as "red jacket" is a
    new person; the ``ph_`` prefix keeps it a placeholder, ``retired`` (not hex) can never be a
    hash.
    """
    return f"ph_retired_{person_id}"


def _local_day(at: dt.datetime) -> dt.date:
    """The local (configured zone) day of a naive-UTC time: the day a closure is dated in."""
    return at.replace(tzinfo=dt.UTC).astimezone(zone(get_settings().timezone)).date()


def _touch_person(s: Session, pseud: str, placeholder: bool, at: dt.datetime) -> None:
    """File a contact at ``at`` under the person ``pseud``: a new person, or the known one's
    first and last contact moved (reopening a closed one met again after the closure).

    Two staff logging the same new person at once (a shared phone queue, two workers at one hot
    spot): a look-up then an insert let both insert, and the second engagement failed with a
    UNIQUE IntegrityError. The insert comes first and skips a person already there (on PostgreSQL
    it waits for the other transaction); the row is then read locked (``FOR UPDATE``; on SQLite
    the insert took the database's write lock), so two contacts moving one person's dates cannot
    lose one another's."""
    ins = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
    new = (
        ins(Person)
        .values(
            pseudonym=pseud,
            placeholder=placeholder,
            status="open",
            first_contact=at,
            last_contact=at,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["pseudonym"])
        .returning(Person.id)
    )
    locked = (
        select(Person)
        .where(Person.pseudonym == pseud)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    # twice at most: a person erased by a purge while this waited for their row lock is gone
    # when the lock comes, and the contact then starts a new person (as after the purge)
    for _ in range(2):
        if s.execute(new).first() is not None:
            return
        p = s.scalars(locked).first()
        if p is not None:
            break
    else:
        raise StoreError(
            "a person was erased and filed again by others while this contact was being filed: "
            "nothing was stored; log it again"
        )
    if (
        p.status == "closed"
        and (p.last_contact is None or at > p.last_contact)
        and (p.closed_on is None or _local_day(at) >= p.closed_on)
    ):
        # closure is judged on the last contact: a forgotten one typed in later, from before the
        # last contact or before the closure (closed_on is the local day, as close-inactive
        # dates it), leaves it standing; reopening restarted the retention clock at the next
        # close-inactive, putting the purge off
        p.status = "open"
        p.closed_on = None
    p.first_contact = min(p.first_contact or at, at)
    p.last_contact = max(p.last_contact or at, at)


def log_engagement(
    store: Store, e: EngagementInput, *, who: str, role: str, key: str | None = None
) -> int:
    """Validate, pseudonymise, encrypt and store one engagement with its referrals; returns its id."""
    return log_engagements(store, [e], who=who, role=role, key=key)[0]


def log_engagements(
    store: Store,
    items: list[EngagementInput],
    *,
    who: str,
    role: str,
    key: str | None = None,
) -> list[int]:
    """Store many engagements in one transaction (all or none); returns their ids in order.

    Every record is validated first, so one bad row names itself and nothing is written.
    """
    asked = "log_engagement" if len(items) == 1 else f"log_engagement ({len(items)} records)"
    _allowed(store, who, role, asked, require_write)
    recs = []
    for i, e in enumerate(items):
        try:
            recs.append(prepare_engagement(e, key))
        except InputError as exc:
            if len(items) == 1:
                raise
            raise InputError(f"engagement {i + 1}: {exc}") from exc
    ids: list[int] = []
    enc = ("location_encrypted", "outcome_encrypted", "notes_encrypted")
    needed = any(r["person"] is not None or any(r[c] is not None for c in enc) for r in recs)
    with store.session() as s, s.begin():
        _check_key(s, key, needed=needed, writing=True)
        known_areas = set(s.scalars(select(Area.id)).all())
        # the people first, in pseudonym order: two batches naming the same people in other
        # orders took their row locks in other orders, and PostgreSQL ended one as a deadlock.
        # Filing order does not change a person: first and last contact are a min and a max,
        # and a closed person reopens exactly when the latest contact is after the last one and
        # not before the closure. No merge is followed: a placeholder merged into a named
        # person was retired, so the same description typed again starts a new person.
        touches = sorted(
            (r["person"], bool(r["placeholder"] and is_placeholder(r["person"])), r["at"])
            for r in recs
            if r["person"] is not None
        )
        for pseud, placeholder, at in touches:
            _touch_person(s, pseud, placeholder, at)
        for rec in recs:
            refs = rec.pop("referrals")
            rec.pop("placeholder")
            if rec["area_id"] is not None and rec["area_id"] not in known_areas:
                raise InputError(f"no hot spot with area_id {rec['area_id']}")
            row = Engagement(**rec, created_at=utcnow())
            s.add(row)
            s.flush()
            if refs:
                s.execute(insert(Referral), [{"engagement_id": row.id, **r} for r in refs])
            _audit(s, who, role, "log_engagement", f"engagement:{row.id}")
            ids.append(row.id)
    return ids


def merge_people(
    store: Store,
    *,
    placeholder: str,
    reference: str,
    who: str,
    role: str,
    key: str | None = None,
    consent_given: bool = False,
) -> tuple[str, int]:
    """Merge the placeholder person ("red jacket") into the person with typed ``reference``.

    Both are typed as the worker knows them; returns (real pseudonym, engagements moved).
    The placeholder is then retired (its row renamed by :func:`retired_placeholder`, marked
    merged into the real pseudonym): a placeholder describes what a worker saw that day, not who
    someone is, so a later contact typed as "red jacket" starts a new placeholder person instead
    of landing on the named one (linking a stranger's contacts to them would be a breach).
    Linking earlier contacts to a named person needs consent for them: ``consent_given``
    records that the person has now consented (audited); without it, contacts lacking consent
    stop the merge.
    """
    _allowed(store, who, role, "merge_people", require_write)
    src = placeholder_pseudonym(placeholder, key)
    dst = pseudonym(reference, key)
    with store.session() as s, s.begin():
        # the placeholder read under the write turn and its row lock: a contact logged under it
        # meanwhile, without consent, was moved to the named person with the rest (a stranger's
        # contact linked to them); now it comes wholly before the merge (and is counted) or
        # after it (and starts a new placeholder person)
        take_write_turn(s.connection(), PEOPLE_LOCK)
        _check_key(s, key, needed=True, writing=True)
        missing = InputError(
            f"no person recorded under the placeholder {placeholder!r} (since any earlier "
            "merge of it: a merged placeholder is retired)"
        )
        seen = s.execute(
            select(Person.first_contact, Person.last_contact).where(Person.pseudonym == src)
        ).first()
        if seen is None:
            raise missing
        # the named person's row first, then the placeholder's: the order engagement batches
        # lock people in (pseudonym order, and a named person's 'p_' sorts before a
        # placeholder's 'ph_'). The other order deadlocked with a batch naming both.
        for at in seen:
            if at is not None:
                _touch_person(s, dst, False, at)
        p = s.scalars(
            select(Person)
            .where(Person.pseudonym == src)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).first()
        if p is None:
            raise missing
        if consent_given:
            s.execute(
                update(Engagement)
                .where(Engagement.person == src, Engagement.consent.is_(False))
                .values(consent=True)
            )
            _audit(s, who, role, "record_consent", f"person:{src}")
        no_consent = s.scalar(
            select(func.count()).where(Engagement.person == src, Engagement.consent.is_(False))
        )
        if no_consent:
            raise InputError(
                f"{no_consent} contact(s) under {placeholder!r} have no consent recorded; a "
                "placeholder can be linked to a real reference only after consent is recorded"
            )
        moved = s.scalar(select(func.count()).where(Engagement.person == src))
        s.execute(update(Engagement).where(Engagement.person == src).values(person=dst))
        first, last = p.first_contact, p.last_contact
        p.status = "merged"
        p.merged_into = dst
        p.pseudonym = retired_placeholder(p.id)
        s.flush()
        if first is not None:
            _touch_person(s, dst, False, first)
        if last is not None:
            _touch_person(s, dst, False, last)
        _audit(s, who, role, "merge_people", f"person:{src}->{dst}")
    return dst, int(moved or 0)


def record_consent(store: Store, engagement_id: int, *, who: str, role: str) -> None:
    """Record that consent was given for an earlier contact (before merging a placeholder)."""
    _allowed(store, who, role, f"record_consent engagement:{engagement_id}", require_write)
    with store.session() as s, s.begin():
        row = s.get(Engagement, engagement_id)
        if row is None:
            raise InputError(f"no engagement with id {engagement_id}")
        row.consent = True
        _audit(s, who, role, "record_consent", f"engagement:{engagement_id}")


def list_engagements(
    store: Store,
    *,
    who: str,
    role: str,
    with_notes: bool = False,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    key: str | None = None,
) -> pd.DataFrame:
    """Engagement records for outreach roles (each listing audited as ``list_engagements``), with
    location and outcome decrypted (each record read audited as ``read_text``); with
    ``with_notes`` the decrypted notes too (``read_notes``). Police and analysts get counts from
    :func:`engagement_summary` instead; their refused attempts are audited as ``refused``."""
    span = f" from {start}" if start is not None else ""
    span += f" to {end}" if end is not None else ""
    _allowed(store, who, role, f"list_engagements{span}", check_role)
    if with_notes:
        try:
            require_notes_access(role)
        except AuthError as exc:
            raise _refused(store, who, role, f"read_notes engagements{span}", exc) from None
    else:
        try:
            require_write(role)
        except AuthError as exc:
            raise _refused(
                store,
                who,
                role,
                f"list_engagements{span}",
                AuthError(
                    f"role {role!r} cannot list engagement records; use `patrolwise engage summary`"
                ),
            ) from exc
    enc = [f"{c}_encrypted" for c in ENCRYPTED_ENGAGEMENT_TEXT]
    cols = [getattr(Engagement, c) for c in [*ENGAGEMENT_COLUMNS, *enc]]
    cols.append(Engagement.notes_encrypted)
    q = select(*cols).order_by(Engagement.at)
    if start is not None:
        q = q.where(Engagement.at >= start)
    if end is not None:
        q = q.where(Engagement.at < end)
    with store.session() as s, s.begin():
        rows = s.execute(q).all()
        df = pd.DataFrame(rows, columns=[*ENGAGEMENT_COLUMNS, *enc, "notes_encrypted"])
        readable = [*enc, "notes_encrypted"] if with_notes else enc
        _check_key(s, key, needed=bool(df[readable].notna().any().any()), writing=False)
        # the records themselves (pseudonyms, age, gender, safeguarding) are personal data:
        # one entry per listing, whether or not any record holds free text
        _audit(s, who, role, "list_engagements", f"engagements:{len(df)}{span}")
        has_text = df[enc].notna().any(axis=1)
        for c in ENCRYPTED_ENGAGEMENT_TEXT:
            df[c] = [decrypt_optional(t, key) for t in df[f"{c}_encrypted"]]
        for i in df.loc[has_text, "id"]:
            _audit(s, who, role, "read_text", f"engagement:{int(i)}")
        if with_notes:
            df["notes"] = [decrypt_optional(t, key) for t in df["notes_encrypted"]]
            for i, t in zip(df["id"], df["notes_encrypted"], strict=True):
                if t is not None:
                    _audit(s, who, role, "read_notes", f"engagement:{int(i)}")
    return df.drop(columns=[*enc, "notes_encrypted"])


def engagement_tables(store: Store) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Engagements (id, area_id, at, person, needs, safeguarding) and referrals, no personal fields."""
    with store.engine.connect() as c:
        e = pd.DataFrame(
            c.execute(
                select(
                    Engagement.id,
                    Engagement.area_id,
                    Engagement.at,
                    Engagement.person,
                    Engagement.needs,
                    Engagement.safeguarding,
                )
            ).all(),
            columns=["id", "area_id", "at", "person", "needs", "safeguarding"],
        )
        r = pd.DataFrame(
            c.execute(
                select(Referral.engagement_id, Referral.agency, Referral.type, Referral.accepted)
            ).all(),
            columns=["engagement_id", "agency", "type", "accepted"],
        )
        names = dict(c.execute(select(Area.id, Area.name)).all())
    e.attrs["area_names"] = names
    return e, r


def engagement_summary(
    store: Store,
    *,
    who: str,
    role: str,
    threshold: int | None = DEFAULT_THRESHOLD,
    tz: str = "Europe/London",
) -> dict[str, pd.DataFrame]:
    """Counts by hot spot, local week, need and agency and repeat contacts, small counts suppressed.

    Only outreach roles may lower ``threshold`` below :data:`DEFAULT_THRESHOLD` or ask for raw
    counts (``None``): for anyone else a low threshold would switch the protection off.
    """
    _allowed(store, who, role, f"summary threshold {threshold}", check_role)
    if role not in OUTREACH_ROLES and (threshold is None or threshold < DEFAULT_THRESHOLD):
        raise _refused(
            store,
            who,
            role,
            f"summary threshold {threshold}",
            AuthError(
                f"role {role!r} cannot see counts below {DEFAULT_THRESHOLD} (threshold "
                f"{threshold}); only outreach roles ({', '.join(sorted(OUTREACH_ROLES))}) can"
            ),
        )
    e, r = engagement_tables(store)
    out = summarise(e, r, area_names=e.attrs.get("area_names"), threshold=threshold, tz=tz)
    with store.session() as s, s.begin():
        _audit(s, who, role, "summary", "engagements")
    return out


def close_inactive(
    store: Store,
    *,
    who: str,
    role: str,
    days: int = DEFAULT_INACTIVE_DAYS,
    today: dt.date | None = None,
) -> int:
    """Close open people with no contact in ``days`` days; returns how many were closed."""
    _allowed(store, who, role, f"close_inactive >{days} days", require_write)
    today = today or local_today()
    with store.session() as s, s.begin():
        # a contact logged while this runs: the person was read as inactive before it, then
        # closed after it, met today and closed today (retention then counted from a closure
        # the contact should have prevented). The people are read under their row locks
        # (PostgreSQL; in pseudonym order, the order engagement batches lock them in) and, on
        # SQLite, under the write lock, so a contact comes wholly before (and keeps its person
        # open) or wholly after (and reopens them)
        take_write_turn(s.connection(), PEOPLE_LOCK)
        everyone = (
            select(Person.id, Person.status, Person.last_contact)
            .order_by(Person.pseudonym)
            .with_for_update()
        )
        # read twice on PostgreSQL: a statement that waited for a batch's row locks sees that
        # batch's changes to those rows but not the people it added (its snapshot is older), so
        # a new person filed with an old contact stayed open until the next pass; the second
        # read, every lock held, sees them all
        if s.get_bind().dialect.name == "postgresql":
            s.execute(everyone)
        people = pd.DataFrame(s.execute(everyone).all(), columns=["id", "status", "last_contact"])
        ids = [int(i) for i in people.loc[inactive(people, today, days), "id"]]
        if ids:
            s.execute(
                update(Person).where(Person.id.in_(ids)).values(status="closed", closed_on=today)
            )
        _audit(s, who, role, "close_inactive", f"people:{len(ids)} (>{days} days)")
    return len(ids)


#: prefix of the random token that replaces an erased person's pseudonym on their engagements
ANON_PREFIX = "anon_"
#: what an erased pseudonym becomes in the audit log
ERASED = "[erased]"
#: what a purge clears on an engagement: everything that may describe the person (an erased
#: person's contacts, and old contacts logged with no reference, alike)
_ERASED_FIELDS: dict[str, None] = {
    "location_encrypted": None,
    "outcome_encrypted": None,
    "notes_encrypted": None,
    "age_band": None,
    "gender": None,
    "follow_up": None,
}


@dataclass(frozen=True)
class PurgeCounts:
    """What a purge erased (or, in a dry run, would erase): counts only."""

    people: int
    engagements: int
    texts: int
    days: int
    dry_run: bool = False
    #: debriefs older than the period whose free text was (or would be) deleted
    debriefs: int = 0
    #: engagements linked to no person, older than the period, whose free text and details
    #: (age band, gender, follow-up) were (or would be) deleted
    unlinked: int = 0
    #: whether the erased bytes are out of the database files too: None when there was nothing
    #: to compact, False when other connections kept the old pages (run the purge again later)
    compacted: bool | None = None

    def line(self) -> str:
        verb = "would erase" if self.dry_run else "erased"
        text = (
            f"{verb} {self.people} people closed for more than {self.days} days: "
            f"{self.engagements} engagement(s) anonymised, {self.texts} encrypted text(s) deleted"
        )
        if self.debriefs:
            text += f"; free text of {self.debriefs} debrief(s) older than {self.days} days deleted"
        if self.unlinked:
            text += (
                f"; free text and details of {self.unlinked} engagement(s) linked to no one, "
                f"older than {self.days} days, deleted"
            )
        if self.compacted is False:
            text += (
                "; the database file still holds the erased bytes because other connections "
                "are open (the web service, another command): run this purge again when they "
                "have closed"
            )
        return text


def purge_closed(
    store: Store,
    *,
    who: str,
    role: str,
    days: int = DEFAULT_PURGE_DAYS,
    today: dt.date | None = None,
    dry_run: bool = False,
) -> PurgeCounts:
    """Irreversibly erase people closed for more than ``days`` days (outreach managers only).

    For each such person: the encrypted location, outcome and notes, the age band, gender and
    follow-up date of their engagements are deleted; the pseudonym on those engagements becomes a
    random token (``anon_...``, derived from nothing, so their contacts still count as one
    person's but no typed name leads to them: the same name typed later starts a new person);
    their people row and any placeholder merged into them are deleted, and their pseudonyms are
    replaced by ``[erased]`` in the audit log. Their contact and entry times are cut to the local
    day (one token joining exact times and places could single out someone known to have been
    there). Hot spot, day, needs, safeguarding flag and referrals stay, so every summary (by hot
    spot, week, need, agency, repeat contacts) and the evaluation are unchanged. Debriefs dated more than
    ``days`` days ago lose their free text (summary, suggestions), which may name people but is
    linked to no one; their problems and minutes stay. So do engagements logged with no reference
    or placeholder and dated more than ``days`` days ago (no person's closure ever reaches them):
    their location, outcome, notes, age band, gender and follow-up date are deleted, and their
    contact and entry times cut to the local day as an erased person's are.

    On SQLite the file is then vacuumed (and the WAL truncated) so the erased bytes do not
    linger in free pages; on PostgreSQL the tables it erases from (engagements, people, audit
    log, debriefs) are rewritten (VACUUM FULL).
    Audited as ``purge`` (or ``purge_dry_run``) with counts, never content; a refusal as
    ``refused``. Purging again is a no-op.
    """
    _allowed(store, who, role, f"purge closed >{days} days", require_purge)
    today = today or local_today()
    enc = [Engagement.location_encrypted, Engagement.outcome_encrypted, Engagement.notes_encrypted]
    with store.session() as s, s.begin():
        # as close_inactive reads them, and for the same reason: a person met again while the
        # purge runs was read as purgeable before the contact and erased after it, the new
        # contact's notes with the old ones. Under the write turn and the people's row locks a
        # contact comes wholly before the purge (reopened: kept) or after it (a new person)
        take_write_turn(s.connection(), PEOPLE_LOCK)
        people = pd.DataFrame(
            s.execute(
                select(Person.id, Person.pseudonym, Person.status, Person.closed_on)
                .order_by(Person.pseudonym)
                .with_for_update()
            ).all(),
            columns=["id", "pseudonym", "status", "closed_on"],
        )
        gone = people[purgeable(people, today, days)]
        pseuds = [str(p) for p in gone["pseudonym"]]
        n_eng = n_text = 0
        if pseuds:
            n_eng = int(s.scalar(select(func.count()).where(Engagement.person.in_(pseuds))) or 0)
            n_text = int(
                sum(
                    s.scalar(
                        select(func.count()).where(Engagement.person.in_(pseuds), c.is_not(None))
                    )
                    or 0
                    for c in enc
                )
            )
        # a debrief is linked to no person but its free text may name one: it goes by its date
        old_debrief = (Debrief.date < today - dt.timedelta(days=days)) & (
            Debrief.summary_encrypted.is_not(None) | Debrief.suggestions_encrypted.is_not(None)
        )
        n_deb = int(s.scalar(select(func.count()).select_from(Debrief).where(old_debrief)) or 0)
        # so may an engagement logged with no reference or placeholder: no person's closure
        # reaches it, so it too goes by its date, losing what the purge takes from a person's
        # (its times too: every old one, so those an earlier release's purge left are cut)
        old_unlinked_any = Engagement.person.is_(None) & (
            Engagement.at < dt.datetime.combine(today - dt.timedelta(days=days), dt.time())
        )
        old_unlinked = old_unlinked_any & or_(
            *(c.is_not(None) for c in enc),
            Engagement.age_band.is_not(None),
            Engagement.gender.is_not(None),
            Engagement.follow_up.is_not(None),
        )
        n_unl = int(s.scalar(select(func.count()).where(old_unlinked)) or 0)
        counts = PurgeCounts(len(pseuds), n_eng, n_text, days, dry_run, n_deb, n_unl)
        obj = f"people:{counts.people} engagements:{n_eng} texts:{n_text} (closed >{days} days)"
        if n_deb:
            obj += f" debrief_texts:{n_deb} (older than {days} days)"
        if n_unl:
            obj += f" unlinked_engagements:{n_unl} (older than {days} days)"
        if dry_run:
            _audit(s, who, role, "purge_dry_run", obj)
            return counts
        erased_names = list(pseuds)
        # their contacts keep one token between them but lose the time of day (retention's
        # local_day_start), as do contacts an earlier release's purge left with their times
        # and old contacts linked to no one: by the row's id, in one bulk update of the rows
        # that change
        times = pd.DataFrame(
            s.execute(
                select(Engagement.id, Engagement.at, Engagement.created_at).where(
                    Engagement.person.in_(pseuds)
                    | Engagement.person.startswith(ANON_PREFIX, autoescape=True)
                    | old_unlinked_any
                )
            ).all(),
            columns=["id", "at", "created_at"],
        )
        tz = get_settings().timezone
        day_at = local_day_start(times["at"], tz)
        day_made = local_day_start(times["created_at"], tz)
        cut = ((day_at != times["at"]) | (day_made != times["created_at"])).to_numpy()
        if cut.any():
            s.execute(
                update(Engagement),
                [
                    {"id": int(i), "at": a, "created_at": c}
                    for i, a, c in zip(
                        times["id"][cut],
                        day_at[cut].dt.to_pydatetime(),
                        day_made[cut].dt.to_pydatetime(),
                        strict=True,
                    )
                ],
            )
        for pseud in pseuds:
            s.execute(
                update(Engagement)
                .where(Engagement.person == pseud)
                .values(person=ANON_PREFIX + secrets.token_hex(16), **_ERASED_FIELDS)
            )
            # a merge entry 'person:ph_...->p_...' names the placeholder's hash too
            for (o,) in s.execute(
                select(AuditEntry.object).where(
                    AuditEntry.action == "merge_people", AuditEntry.object.like(f"%->{pseud}")
                )
            ).all():
                erased_names.append(o.removeprefix("person:").split("->")[0])
        if pseuds:
            s.execute(
                delete(Person).where(Person.pseudonym.in_(pseuds) | Person.merged_into.in_(pseuds))
            )
        for name in erased_names:
            s.execute(
                update(AuditEntry)
                .where(AuditEntry.object.like(f"%{name}%"))
                .values(object=func.replace(AuditEntry.object, name, ERASED))
            )
        if n_deb:
            s.execute(
                update(Debrief)
                .where(old_debrief)
                .values(summary_encrypted=None, suggestions_encrypted=None)
            )
        if n_unl:
            s.execute(update(Engagement).where(old_unlinked).values(**_ERASED_FIELDS))
        _audit(s, who, role, "purge", obj)
        # a purge whose compaction could not finish is finished by the next one
        pending = pseuds or n_deb or n_unl or cut.any() or _compaction_pending(s)
    if pending:
        counts = dataclasses.replace(counts, compacted=_compact(store))
        with store.session() as s, s.begin():
            _audit(s, who, role, "purge_compacted" if counts.compacted else "purge_incomplete", "")
    return counts


def _compaction_pending(s: Session) -> bool:
    last = s.scalar(
        select(AuditEntry.action)
        .where(AuditEntry.action.in_(["purge_compacted", "purge_incomplete"]))
        .order_by(AuditEntry.id.desc())
        .limit(1)
    )
    return last == "purge_incomplete"


def _compact(store: Store) -> bool:
    """Rewrite storage so erased bytes do not survive in free space or the write-ahead log;
    False when other connections prevent it (SQLite cannot rewrite or truncate while a reader
    holds old pages), so the caller says so instead of reporting the bytes gone."""
    auto = store.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    with auto as c:
        if store.dialect == "sqlite":
            # a reader would hold these for the store's 30 s busy timeout: 2 s is enough to
            # tell, and the purge says what is left instead of hanging
            c.exec_driver_sql("PRAGMA busy_timeout=2000")
            try:
                c.exec_driver_sql("VACUUM")
                busy = c.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()[0]
            except OperationalError:
                return False
            finally:
                c.exec_driver_sql("PRAGMA busy_timeout=30000")
            return int(busy) == 0
        if store.dialect == "postgresql":
            # every table the purge erases from: debriefs lose their free text (referrals are
            # never changed); left out, their erased text stayed on disk in dead tuples
            c.exec_driver_sql("VACUUM FULL engagements, people, audit_log, debriefs")
    return True


def load_people(store: Store) -> pd.DataFrame:
    with store.engine.connect() as c:
        rows = c.execute(
            select(
                Person.pseudonym,
                Person.placeholder,
                Person.merged_into,
                Person.status,
                Person.first_contact,
                Person.last_contact,
            )
        ).all()
    return pd.DataFrame(
        rows,
        columns=[
            "pseudonym",
            "placeholder",
            "merged_into",
            "status",
            "first_contact",
            "last_contact",
        ],
    )


def _shift_minutes(
    store: Store, team: str, day: dt.date, plan_id: int | None, tz: str
) -> tuple[float | None, float | None]:
    """Planned minutes (from the plan) and delivered minutes (from tracked visits) for a shift."""
    from .plans import load_delivered

    with store.session() as s:
        if plan_id is None:
            plan_id = s.scalar(
                select(Plan.id)
                .join(PlanVisit, PlanVisit.plan_id == Plan.id)
                .where(PlanVisit.team == team, PlanVisit.date == day)
                .order_by(Plan.id.desc())
                .limit(1)
            )
        else:
            plan = s.get(Plan, plan_id)
            if plan is None:
                raise InputError(f"no plan with id {plan_id}: see `patrolwise plan list`")
            if plan.team != team:
                raise InputError(
                    f"plan {plan_id} is a {plan.team} plan; a {team} debrief needs a {team} plan "
                    "(or no --plan: the newest covering the day)"
                )
        planned = None
        if plan_id is not None:
            rows = s.execute(
                select(PlanVisit.start, PlanVisit.end).where(
                    PlanVisit.plan_id == plan_id, PlanVisit.date == day
                )
            ).all()
            planned = float(sum((b - a).total_seconds() for a, b in rows) / 60) if rows else None
    d = load_delivered(store, day)
    delivered = None
    if d is not None:
        delivered = float(d.loc[d["team"] == team, "minutes"].sum())
    return planned, delivered


def add_debrief(
    store: Store,
    d: DebriefInput,
    *,
    who: str,
    role: str,
    tz: str = "Europe/London",
    key: str | None = None,
) -> int:
    """Store a shift debrief (free text encrypted) with the shift's planned and delivered minutes.

    A shift dated after today (local, ``tz``) is refused: retention deletes debrief text by date.
    """
    # the team as devices and rates read it, before the role check: 'Outreach' from an outreach
    # worker was refused (and audited) as another agency's debrief; a misspelling is one error
    d = dataclasses.replace(d, team=check_team(d.team))

    def may_file(role: str) -> None:
        check_role(role)
        if role in ("analyst",):
            raise AuthError("analysts read debriefs but do not write them")
        # each agency speaks for its own shifts: police roles file police debriefs, outreach
        # roles outreach ones (least privilege between the two services)
        agency = "outreach" if role in OUTREACH_ROLES else "police" if role == "police" else None
        if agency is not None and d.team != agency:
            raise AuthError(
                f"role {role!r} files {agency} debriefs only; a {d.team} debrief is for "
                f"{d.team} roles"
            )

    _allowed(store, who, role, f"add_debrief {d.team} {d.date}", may_file)
    today = local_today(tz)
    if d.date > today:
        # the purge deletes a debrief's free text by its date: a mistyped year would keep it
        # (names and places) for decades, as a future contact time would keep a person open
        raise InputError(
            f"debrief date {d.date} is after today ({today}); give the day of the shift"
        )
    planned, delivered = _shift_minutes(store, d.team, d.date, d.plan_id, tz)
    rec = prepare_debrief(d, planned, delivered, key)
    needed = any(rec[f"{c}_encrypted"] is not None for c in ENCRYPTED_DEBRIEF_TEXT)
    with store.session() as s, s.begin():
        _check_key(s, key, needed=needed, writing=True)
        row = Debrief(**rec, created_at=utcnow())
        s.add(row)
        s.flush()
        _audit(s, who, role, "add_debrief", f"debrief:{row.id}")
        return row.id


def list_debriefs(
    store: Store,
    *,
    who: str,
    role: str,
    team: str | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    key: str | None = None,
) -> pd.DataFrame:
    """Debriefs: problems and minutes for every role; the decrypted summary and suggestions only
    to the agency that wrote them (outreach roles for outreach debriefs, the police role for
    police ones; each read audited as ``read_debrief``). Least privilege between agencies: a
    shift's own account is its agency's, so police debrief text is not the charity's to read,
    nor outreach text the force's; analysts and administrators read neither."""
    _allowed(store, who, role, "list_debriefs", check_role)
    agency = "outreach" if role in OUTREACH_ROLES else "police" if role == "police" else None
    enc = [f"{c}_encrypted" for c in ENCRYPTED_DEBRIEF_TEXT] if agency else []
    cols = [*DEBRIEF_COLUMNS, *enc]
    q = select(*[getattr(Debrief, c) for c in cols]).order_by(Debrief.date, Debrief.id)
    if team:
        # as debriefs are filed ('Outreach' listed nothing; a misspelt team is said, not empty)
        q = q.where(Debrief.team == check_team(team))
    if start:
        q = q.where(Debrief.date >= start)
    if end:
        q = q.where(Debrief.date <= end)
    with store.session() as s, s.begin():
        df = pd.DataFrame(s.execute(q).all(), columns=cols)
        if agency is None:
            return df
        own = (df["team"] == agency).to_numpy()
        mine = own & df[enc].notna().any(axis=1).to_numpy()
        _check_key(s, key, needed=bool(mine.any()), writing=False)
        for c in ENCRYPTED_DEBRIEF_TEXT:
            df[c] = [
                decrypt_optional(t, key) if mine else None
                for t, mine in zip(df[f"{c}_encrypted"], own, strict=True)
            ]
        for i in df.loc[mine, "id"]:
            _audit(s, who, role, "read_debrief", f"debrief:{int(i)}")
    return df.drop(columns=enc)


def load_audit(store: Store) -> pd.DataFrame:
    with store.engine.connect() as c:
        rows = c.execute(
            select(
                AuditEntry.who, AuditEntry.role, AuditEntry.action, AuditEntry.object, AuditEntry.at
            ).order_by(AuditEntry.id)
        ).all()
    return pd.DataFrame(rows, columns=["who", "role", "action", "object", "at"])


def read_audit(
    store: Store,
    *,
    who: str,
    role: str,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    by: str | None = None,
    action: str | None = None,
) -> pd.DataFrame:
    """Audit entries (id, at in naive UTC, who, role, action, object) in the order written, for
    outreach management only (:data:`~patrolwise.engage.roles.AUDIT_ROLES`); ``start`` (from)
    and ``end`` (before) are naive UTC, ``by`` and ``action`` exact matches.

    Reading the audit is itself audited (``read_audit``, with the filters and the number of
    entries read, after them); a refusal as ``refused``. Erased pseudonyms read ``[erased]``.
    """
    asked = "read_audit"
    asked += f" from {start}" if start is not None else ""
    asked += f" to {end}" if end is not None else ""
    asked += f" who={by}" if by is not None else ""
    asked += f" action={action}" if action is not None else ""
    _allowed(store, who, role, asked, require_audit)
    cols = ["id", "at", "who", "role", "action", "object"]
    q = select(*[getattr(AuditEntry, c) for c in cols]).order_by(AuditEntry.id)
    if start is not None:
        q = q.where(AuditEntry.at >= start)
    if end is not None:
        q = q.where(AuditEntry.at < end)
    if by is not None:
        q = q.where(AuditEntry.who == by)
    if action is not None:
        q = q.where(AuditEntry.action == action)
    with store.session() as s, s.begin():
        df = pd.DataFrame(s.execute(q).all(), columns=cols)
        _audit(
            s, who, role, "read_audit", f"audit_log:{len(df)}" + asked.removeprefix("read_audit")
        )
    return df


__all__ = [
    "add_debrief",
    "close_inactive",
    "engagement_summary",
    "engagement_tables",
    "list_debriefs",
    "list_engagements",
    "load_audit",
    "load_people",
    "log_engagement",
    "log_engagements",
    "merge_people",
    "purge_closed",
    "read_audit",
    "record_consent",
]

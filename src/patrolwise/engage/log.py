"""Engagement records: validation, consent rules and pseudonymisation before anything is stored.

The worker types what they know (a name, a nickname, or only "red jacket"); this module turns it
into a pseudonym, refuses identifying details (including a free-text location, which is often an
address) when consent is not recorded, checks needs and referrals against a shared vocabulary (so
summaries add up) and gender against a fixed vocabulary (it is stored in clear, so nothing typed
freely may go there), and encrypts every free-text field (location, outcome, notes). The store only
ever sees the output of :func:`prepare_engagement`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from ..errors import InputError
from .crypto import encrypt_note, encrypt_optional
from .pseudonym import placeholder_pseudonym, pseudonym

NEEDS = (
    "housing",
    "food",
    "mental_health",
    "physical_health",
    "substance_use",
    "alcohol",
    "exploitation_risk",
    "weapon_carrying",
    "domestic_abuse",
    "education_employment",
    "money_debt",
    "immigration",
    "other",
)
#: words workers and other systems use for the same need
NEED_ALIASES = {
    "mental health": "mental_health",
    "drugs": "substance_use",
    "exploitation": "exploitation_risk",
    "weapons": "weapon_carrying",
    "knife carrying": "weapon_carrying",
    "employment": "education_employment",
    "education": "education_employment",
    "debt": "money_debt",
    "benefits": "money_debt",
    "money": "money_debt",
}
AGE_BANDS = (
    "under 12",
    "12-15",
    "16-17",
    "under 18",
    "18-24",
    "25-34",
    "35-44",
    "45-54",
    "55+",
    "unknown",
)
#: genders a worker may record: a fixed vocabulary, because anything typed freely ends up holding
#: names and addresses, and gender is stored in clear for the counts
GENDERS = ("female", "male", "non-binary", "other", "not stated")
#: other words for the same values (matched after folding case and spacing)
GENDER_ALIASES = {
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
REFERRAL_TYPES = ("signpost", "warm_handover", "emergency", "safeguarding")
#: how far ahead of the clock a contact time may be (clocks and typing drift a little)
FUTURE_TOLERANCE = dt.timedelta(hours=1)
#: longest staff name and agency the store keeps (their column lengths)
MAX_STAFF = 100
MAX_AGENCY = 100


def check_length(value: str | None, limit: int, what: str) -> None:
    """Refuse text longer than its column: PostgreSQL fails the whole insert, SQLite keeps it."""
    if value is not None and len(value.strip()) > limit:
        raise InputError(
            f"{what} is {len(value.strip())} characters long; at most {limit} are kept, "
            "shorten it (free text belongs in the notes)"
        )


@dataclass
class ReferralInput:
    agency: str
    type: str = "signpost"
    accepted: bool | None = None


@dataclass
class EngagementInput:
    """What a worker records after a contact. ``reference`` is typed, hashed, and dropped."""

    at: dt.datetime
    staff: str
    area_id: int | None = None
    location: str | None = None
    consent: bool = False
    reference: str | None = None
    placeholder: str | None = None
    age_band: str | None = None
    gender: str | None = None
    needs: list[str] = field(default_factory=list)
    referrals: list[ReferralInput] = field(default_factory=list)
    safeguarding: bool = False
    outcome: str | None = None
    follow_up: dt.date | None = None
    notes: str | None = None
    team: str = "outreach"


def normalise_need(need: str) -> str:
    """A need in the shared vocabulary ('Mental health' -> 'mental_health', 'debt' -> 'money_debt')."""
    low = " ".join(need.strip().lower().split())
    n = NEED_ALIASES.get(low, low.replace(" ", "_").replace("-", "_"))
    n = NEED_ALIASES.get(n, n)
    if n not in NEEDS:
        raise InputError(f"need {need!r} is not one of {', '.join(NEEDS)}")
    return n


def normalise_gender(gender: str | None) -> str | None:
    """A gender in :data:`GENDERS` ('Female', ' F ', 'nonbinary' ...); empty is None.

    Anything else is refused rather than stored: the column is in clear.
    """
    if gender is None or not gender.strip():
        return None
    low = " ".join(gender.strip().lower().split())
    g = GENDER_ALIASES.get(low, low)
    if g not in GENDERS:
        shown = gender.strip() if len(gender.strip()) <= 40 else gender.strip()[:40] + "..."
        raise InputError(
            f"gender {shown!r} is not one of {', '.join(GENDERS)} (any case); "
            "anything else belongs in the encrypted notes"
        )
    return g


def parse_referral(text: str) -> ReferralInput:
    """'agency:type[:yes|no]' (e.g. 'Shelter:emergency:yes') to a referral."""
    parts = [p.strip() for p in text.split(":")]
    if not parts[0]:
        raise InputError(f"referral {text!r} needs an agency, like 'Housing Options:emergency:yes'")
    typ = parts[1].lower() if len(parts) > 1 and parts[1] else "signpost"
    acc: bool | None = None
    if len(parts) > 2 and parts[2]:
        if parts[2].lower() not in ("yes", "no", "true", "false", "y", "n"):
            raise InputError(f"referral {text!r}: accepted must be yes or no")
        acc = parts[2].lower() in ("yes", "true", "y")
    return ReferralInput(agency=parts[0], type=typ, accepted=acc)


def prepare_engagement(e: EngagementInput, key: str | None = None) -> dict[str, Any]:
    """A storable record: pseudonym, flags, encrypted free text; refuses what consent does not allow.

    Without consent a contact away from a hot spot cannot be logged with a typed location (it is
    often an address): it is logged with no location, so it still counts in the totals, and the
    worker records consent first if the place matters. Nor can it carry a reference, gender,
    outcome or notes: anything typed freely may identify the person.
    """
    if not e.staff or not e.staff.strip():
        raise InputError("engagement needs the staff member who made it")
    if e.area_id is None and not (e.location and e.location.strip()) and e.consent:
        raise InputError("engagement needs a hot spot (area_id) or a location")
    check_length(e.staff, MAX_STAFF, "staff")
    gender = normalise_gender(e.gender)
    for r in e.referrals:
        check_length(r.agency, MAX_AGENCY, f"referral agency {r.agency[:20]!r}...")
    if e.reference and e.placeholder:
        raise InputError("give either a person reference or a placeholder description, not both")
    if not e.consent:
        given = [
            name
            for name, v in (
                ("person reference", e.reference),
                ("gender", gender),
                ("location", e.location),
                # free text like the notes: workers type names into any box ("bed at St Mungo's
                # for Kwame"); what happened without consent is said by needs and referrals
                ("outcome", e.outcome),
                ("notes", e.notes),
            )
            if v
        ]
        if given:
            raise InputError(
                f"consent is not recorded, so identifying details ({', '.join(given)}) cannot be "
                "stored; record consent first, or use a placeholder description (e.g. 'red jacket')"
            )
    if e.age_band is not None and e.age_band not in AGE_BANDS:
        raise InputError(f"age band {e.age_band!r} is not one of {', '.join(AGE_BANDS)}")
    for r in e.referrals:
        if r.type not in REFERRAL_TYPES:
            raise InputError(
                f"referral type {r.type!r} (agency {r.agency!r}) is not one of "
                f"{', '.join(REFERRAL_TYPES)}"
            )
    at = e.at
    if at.tzinfo is not None:
        at = at.astimezone(dt.UTC).replace(tzinfo=None)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    if at > now + FUTURE_TOLERANCE:
        raise InputError(
            f"contact time {at:%Y-%m-%d %H:%M} UTC is in the future; give the time it happened "
            "(a future contact would also keep the person open past the retention period)"
        )
    person: str | None = None
    placeholder = False
    if e.reference:
        person = pseudonym(e.reference, key)
    elif e.placeholder:
        person = placeholder_pseudonym(e.placeholder, key)
        placeholder = True
    return {
        "team": e.team,
        "area_id": e.area_id,
        "location_encrypted": encrypt_optional(e.location, key),
        "at": at,
        "staff": e.staff.strip(),
        "person": person,
        "placeholder": placeholder,
        "age_band": e.age_band,
        "gender": gender,
        "consent": bool(e.consent),
        "needs": sorted({normalise_need(n) for n in e.needs}),
        "safeguarding": bool(e.safeguarding),
        "outcome_encrypted": encrypt_optional(e.outcome, key),
        "follow_up": e.follow_up,
        "notes_encrypted": encrypt_note(e.notes, key) if e.notes else None,
        "referrals": [
            {"agency": r.agency.strip(), "type": r.type, "accepted": r.accepted}
            for r in e.referrals
        ],
    }

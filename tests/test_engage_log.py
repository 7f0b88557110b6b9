"""Engagement records: what consent allows to be stored."""

from __future__ import annotations

import datetime as dt

import pytest

from patrolwise.errors import InputError


def test_contact_away_from_hot_spots_without_consent_is_counted_without_place() -> None:
    from patrolwise.engage.log import EngagementInput, prepare_engagement

    rec = prepare_engagement(
        EngagementInput(at=dt.datetime(2023, 5, 1, 15, 0), staff="A", area_id=None, consent=False),
        key="k" * 32,
    )
    assert rec["area_id"] is None and rec["location_encrypted"] is None
    with pytest.raises(InputError, match="location"):
        prepare_engagement(
            EngagementInput(
                at=dt.datetime(2023, 5, 1, 15, 0), staff="A", location="12 High St", consent=False
            ),
            key="k" * 32,
        )


def test_free_text_outcome_needs_consent_like_the_notes() -> None:
    # the outcome is typed freely ('bed at St Mungo's for Kwame') and was stored without consent,
    # though notes, location, reference and gender were refused
    from patrolwise.engage.log import EngagementInput, prepare_engagement

    at = dt.datetime(2023, 5, 1, 15, 0)
    with pytest.raises(InputError, match=r"consent is not recorded.*\(outcome\)"):
        prepare_engagement(
            EngagementInput(at=at, staff="A", area_id=1, outcome="bed for Kwame", consent=False),
            key="k" * 32,
        )
    rec = prepare_engagement(
        EngagementInput(at=at, staff="A", area_id=1, outcome="bed for Kwame", consent=True),
        key="k" * 32,
    )
    assert rec["outcome_encrypted"] is not None and b"Kwame" not in rec["outcome_encrypted"]


def test_a_contact_dated_in_the_future_is_refused() -> None:
    # a typo like 2204 for 2024 made a person's last contact lie in the future, so retention
    # (close after 90 days without contact) could never close them
    from patrolwise.engage.log import EngagementInput, prepare_engagement

    soon = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(days=2)
    with pytest.raises(InputError, match="future"):
        prepare_engagement(EngagementInput(at=soon, staff="A", area_id=1), key="k" * 32)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(minutes=5)  # clock skew
    assert prepare_engagement(EngagementInput(at=now, staff="A", area_id=1), key="k" * 32)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("female", "female"),
        ("Male", "male"),
        (" F ", "female"),
        ("m", "male"),
        ("Non-binary", "non-binary"),
        ("nonbinary", "non-binary"),
        ("OTHER", "other"),
        ("not stated", "not stated"),
        ("Not given", "not stated"),
        ("prefer not to say", "not stated"),
    ],
)
def test_gender_is_a_fixed_vocabulary_matched_case_insensitively(typed: str, stored: str) -> None:
    from patrolwise.engage.log import EngagementInput, prepare_engagement

    rec = prepare_engagement(
        EngagementInput(
            at=dt.datetime(2023, 5, 1, 15), staff="A", area_id=1, consent=True, gender=typed
        ),
        key="k" * 32,
    )
    assert rec["gender"] == stored


@pytest.mark.parametrize("typed", ["Abena's sister", "trans woman, lives at no 4", "g" * 33])
def test_gender_outside_the_vocabulary_is_refused_in_one_line(typed: str) -> None:
    # gender was free text up to 32 characters stored in clear, against the rule that nothing
    # typed is stored in clear: workers type names and addresses into whatever box they get
    from patrolwise.engage.log import GENDERS, EngagementInput, prepare_engagement

    with pytest.raises(InputError) as exc:
        prepare_engagement(
            EngagementInput(
                at=dt.datetime(2023, 5, 1, 15), staff="A", area_id=1, consent=True, gender=typed
            ),
            key="k" * 32,
        )
    msg = str(exc.value)
    assert "\n" not in msg and "gender" in msg
    assert all(g in msg for g in GENDERS)
    assert GENDERS == ("female", "male", "non-binary", "other", "not stated")

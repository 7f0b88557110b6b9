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


def test_a_contact_dated_in_the_future_is_refused() -> None:
    # a typo like 2204 for 2024 made a person's last contact lie in the future, so retention
    # (close after 90 days without contact) could never close them
    from patrolwise.engage.log import EngagementInput, prepare_engagement

    soon = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(days=2)
    with pytest.raises(InputError, match="future"):
        prepare_engagement(EngagementInput(at=soon, staff="A", area_id=1), key="k" * 32)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(minutes=5)  # clock skew
    assert prepare_engagement(EngagementInput(at=now, staff="A", area_id=1), key="k" * 32)

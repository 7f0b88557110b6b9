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

"""'Today' is the force's day, not the server's: a server on UTC is on yesterday for the first
hour of a British summer day, and device active dates, default hot spot start dates, retention
and "yesterday" for the coordinator's summary are all force days."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from patrolwise.timeutil import local_today


def test_local_today_is_the_zones_date_not_the_servers() -> None:
    # UTC+14 and UTC-11 are always on different dates, whatever the server's clock and zone
    ahead, behind = local_today("Pacific/Kiritimati"), local_today("Pacific/Pago_Pago")
    assert 1 <= (ahead - behind).days <= 2
    now = dt.datetime.now(dt.UTC)
    assert local_today("UTC") in {now.date(), (now + dt.timedelta(seconds=5)).date()}


def test_local_today_defaults_to_the_configured_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    from patrolwise.config import get_settings, reset_settings

    monkeypatch.setenv("PATROLWISE_TIMEZONE", "Pacific/Kiritimati")
    reset_settings()
    try:
        assert get_settings().timezone == "Pacific/Kiritimati"
        assert local_today() == dt.datetime.now(ZoneInfo("Pacific/Kiritimati")).date()
        assert local_today() != local_today("Pacific/Pago_Pago")
    finally:
        monkeypatch.delenv("PATROLWISE_TIMEZONE")
        reset_settings()

"""Crime selection: dates, local hours (overnight too), weekdays, offences, month-precision data."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from patrolwise.errors import InputError
from patrolwise.target.filters import parse_hours, parse_weekdays, select_crimes


def _crimes() -> pd.DataFrame:
    return pd.DataFrame(
        {
            # UTC; local = +1 h in summer
            "occurred_at": pd.to_datetime(
                [
                    "2023-07-07 13:30",  # Fri 14:30 BST
                    "2023-07-08 22:30",  # Sat 23:30 BST
                    "2023-07-09 02:00",  # Sun 03:00 BST
                    "2023-01-10 14:30",  # Tue 14:30 GMT
                    None,
                ]
            ),
            "month": ["2023-07", "2023-07", "2023-07", "2023-01", "2023-07"],
            "category": ["Violence and sexual offences", "Robbery", "Drugs", "Robbery", "Drugs"],
            "offence": ["Assault with injury", "Robbery of personal property", "", "", ""],
            "x": [458000.0, 458100.0, 458200.0, 458300.0, 458400.0],
            "y": [304000.0] * 5,
            "harm": 1.0,
        }
    )


def test_parse() -> None:
    assert parse_hours("14-20") == (14.0, 20.0)
    assert parse_hours("22:30-04") == (22.5, 4.0)
    assert parse_weekdays("Fri-Sun") == [4, 5, 6]
    assert parse_weekdays("sat-mon") == [0, 5, 6]
    assert parse_weekdays("Mon,wed") == [0, 2]
    for bad in ("14", "x-y", "14-14"):
        with pytest.raises(InputError, match="--hours"):
            parse_hours(bad)
    with pytest.raises(InputError, match="--weekdays"):
        parse_weekdays("Funday")


def test_hours_weekdays_dates_offences() -> None:
    c = _crimes()
    notes: list[str] = []
    got = select_crimes(c, hours="14-20", notes=notes)
    assert got["x"].tolist() == [458000.0, 458300.0]
    assert "left out" in notes[0]
    assert select_crimes(c, hours="22-04")["x"].tolist() == [458100.0, 458200.0]
    assert select_crimes(c, weekdays="Sat-Sun")["x"].tolist() == [458100.0, 458200.0]
    got = select_crimes(c, start=dt.date(2023, 7, 1), end=dt.date(2023, 7, 8))
    assert got["x"].tolist() == [458000.0, 458100.0, 458400.0]  # month row kept
    assert len(select_crimes(c, categories=["robbery"])) == 2
    assert len(select_crimes(c, offences=["assault"])) == 1


def test_month_precision_skips_time_filters_with_a_note() -> None:
    c = _crimes()
    c["occurred_at"] = pd.NaT
    notes: list[str] = []
    got = select_crimes(c, hours="14-20", weekdays="Fri", notes=notes)
    assert len(got) == 5
    assert notes and "skipped" in notes[0] and "month" in notes[0]


def test_empty_selection_message() -> None:
    with pytest.raises(InputError, match="no crimes match the selection"):
        select_crimes(_crimes(), categories=["Bicycle theft"])


def test_date_only_crimes_are_filtered_by_their_day_not_their_month() -> None:
    """A force extract's crime known to its date (no time) is stored as the window of that local
    day. The date filter read only occurred_at and fell back to the month, so --start 2023-07-20
    kept a crime of 5 July; --weekdays dropped it as if only its month were known. Its day is
    known: dates and weekdays use it; only --hours (no time of day) leaves it out, saying so."""

    def day(d: str) -> tuple[pd.Timestamp, pd.Timestamp]:
        t = pd.Timestamp(d)
        lo = t.tz_localize("Europe/London").tz_convert(None)
        return lo, (t + pd.Timedelta(days=1)).tz_localize("Europe/London").tz_convert(None)

    (a0, a1), (b0, b1) = day("2023-07-05"), day("2023-07-22")  # a Wednesday, a Saturday
    c = pd.DataFrame(
        {
            "occurred_at": pd.NaT,
            "occurred_from": [a0, b0],
            "occurred_to": [a1, b1],
            "month": ["2023-07", "2023-07"],
            "category": "Robbery",
            "x": [458000.0, 458100.0],
            "y": 304000.0,
            "harm": 1.0,
        }
    )
    got = select_crimes(c, start=dt.date(2023, 7, 20), end=dt.date(2023, 7, 31))
    assert got["x"].tolist() == [458100.0]
    assert select_crimes(c, weekdays="Sat-Sun")["x"].tolist() == [458100.0]
    assert select_crimes(c, weekdays="Wed")["x"].tolist() == [458000.0]
    notes: list[str] = []
    assert len(select_crimes(c, hours="14-20", notes=notes)) == 2  # as for police.uk: skipped
    assert "a date but no time of day" in notes[0]
    timed = c.iloc[:1].assign(occurred_at=pd.Timestamp("2023-07-05 13:30"), x=1.0)  # 14:30 BST
    notes = []
    both = pd.concat([c, timed], ignore_index=True)
    assert select_crimes(both, hours="14-20", notes=notes)["x"].tolist() == [1.0]
    assert "2 crimes with only a date or a month were left out" in notes[0]


def test_overnight_hours_belong_to_the_night_they_start() -> None:
    """'--weekdays Fri --hours 22-04' (Friday night) took the weekday of each crime's own clock
    day: it kept 01:00 on Friday (Thursday night) and dropped 01:00 on Saturday (Friday night).
    An overnight window belongs to the evening it starts, as patrol windows do; the clock change
    on the last Sunday of October does not move a crime to another night."""
    c = pd.DataFrame(
        {
            "occurred_at": pd.to_datetime(
                [
                    "2023-01-06 23:00",  # Fri 23:00 GMT: Friday night
                    "2023-01-07 01:00",  # Sat 01:00 GMT: Friday night
                    "2023-01-06 01:00",  # Fri 01:00 GMT: Thursday night
                    "2023-01-07 12:00",  # Sat 12:00: not in the window
                    "2023-10-28 23:30",  # Sun 00:30 BST, the clocks go back: Saturday night
                    "2023-10-29 02:30",  # Sun 02:30 GMT: Saturday night
                    "2023-10-29 22:30",  # Sun 22:30 GMT: Sunday night
                ]
            ),
            "x": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0],
            "y": 1.0,
        }
    )
    assert select_crimes(c, hours="22-04", weekdays="Fri")["x"].tolist() == [1.0, 2.0]
    assert select_crimes(c, hours="22-04", weekdays="Sat")["x"].tolist() == [5.0, 6.0]
    assert select_crimes(c, hours="22-04", weekdays="Thu")["x"].tolist() == [3.0]
    assert select_crimes(c, hours="22-04", weekdays="Sun")["x"].tolist() == [7.0]
    # a daytime window and weekdays alone keep each crime's own day
    assert select_crimes(c, hours="10-14", weekdays="Sat")["x"].tolist() == [4.0]
    assert select_crimes(c, weekdays="Fri")["x"].tolist() == [1.0, 3.0]


def test_overnight_hours_take_their_dates_from_the_night_they_start() -> None:
    """'--end 2023-01-06 --hours 22-04' (a Friday) kept Friday 22:00-23:59 but dropped the
    small hours of Saturday, the last night's second half, and '--start 2023-01-06' took the
    small hours of Friday, Thursday night's. --start and --end name nights, as --weekdays do
    and as the plan's dates do for an overnight patrol window."""
    c = pd.DataFrame(
        {
            "occurred_at": pd.to_datetime(
                [
                    "2023-01-05 23:00",  # Thu 23:00 GMT: Thursday night
                    "2023-01-06 01:00",  # Fri 01:00: Thursday night
                    "2023-01-06 23:00",  # Fri 23:00: Friday night
                    "2023-01-07 01:00",  # Sat 01:00: Friday night
                    "2023-01-07 03:30",  # Sat 03:30: Friday night
                    "2023-01-07 23:00",  # Sat 23:00: Saturday night
                    "2023-01-07 12:00",  # Sat 12:00: in no night
                ]
            ),
            "x": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0],
            "y": 1.0,
        }
    )
    fri = dt.date(2023, 1, 6)
    friday_night = [3.0, 4.0, 5.0]
    assert select_crimes(c, hours="22-04", start=fri, end=fri)["x"].tolist() == friday_night
    got = select_crimes(c, hours="22-04", weekdays="Fri", end=fri)["x"].tolist()
    assert got == friday_night
    assert select_crimes(c, hours="22-04", start=fri)["x"].tolist() == [3.0, 4.0, 5.0, 6.0]
    assert select_crimes(c, hours="22-04", end=fri)["x"].tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]
    # a daytime window and dates alone keep each crime's own day
    sat = fri + dt.timedelta(days=1)
    assert select_crimes(c, start=sat, end=sat)["x"].tolist() == [4.0, 5.0, 6.0, 7.0]
    assert select_crimes(c, hours="00-04", start=sat, end=sat)["x"].tolist() == [4.0, 5.0]

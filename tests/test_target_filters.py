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

"""Local patrol windows: parsing, and their UTC bounds on ordinary and clock-change days."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from patrolwise.errors import InputError
from patrolwise.timeutil import crosses_midnight, local_window_utc, parse_window


def test_day_window_and_its_forms() -> None:
    assert parse_window("14:00-20:00") == (dt.time(14), dt.time(20))
    assert parse_window("14-20") == (dt.time(14), dt.time(20))
    assert parse_window("18-24")[1] == dt.time(23, 59, 59, 999999)


def test_overnight_window_only_where_asked_for() -> None:
    assert parse_window("22:00-02:00", overnight=True) == (dt.time(22), dt.time(2))
    with pytest.raises(InputError, match="must end later the same day"):
        parse_window("22:00-02:00")
    for empty in ("14-14", "00:00-00:00"):
        with pytest.raises(InputError, match="empty"):
            parse_window(empty, overnight=True)
    with pytest.raises(InputError, match="not like 14:00-20:00"):
        parse_window("22:00", overnight=True)


@pytest.mark.parametrize(
    ("day", "window", "utc"),
    [
        # an ordinary summer night: 22:00 BST to 02:00 BST
        (dt.date(2024, 6, 14), "22-02", ("2024-06-14 21:00", "2024-06-15 01:00")),
        # the clocks go back at 02:00 BST on 27 October: 02:00 is GMT by then
        (dt.date(2024, 10, 26), "22-02", ("2024-10-26 21:00", "2024-10-27 02:00")),
        # the clocks go forward at 01:00 GMT on 31 March: 02:00 is already BST
        (dt.date(2024, 3, 30), "22-02", ("2024-03-30 22:00", "2024-03-31 01:00")),
        # a day window on the spring change day keeps its local hours
        (dt.date(2024, 3, 31), "14-20", ("2024-03-31 13:00", "2024-03-31 19:00")),
    ],
)
def test_utc_bounds_by_hand(day: dt.date, window: str, utc: tuple[str, str]) -> None:
    a, b = local_window_utc(day, *parse_window(window, overnight=True))
    assert (a.replace(tzinfo=None), b.replace(tzinfo=None)) == tuple(
        dt.datetime.fromisoformat(u) for u in utc
    )


@given(
    day=st.dates(dt.date(2000, 1, 1), dt.date(2040, 12, 31)),
    h0=st.integers(0, 23),
    h1=st.integers(0, 23),
)
def test_window_length_is_its_wall_clock_length_give_or_take_the_clock_change(
    day: dt.date, h0: int, h1: int
) -> None:
    assume(h0 != h1)
    start, end = dt.time(h0), dt.time(h1)
    a, b = local_window_utc(day, start, end)
    wall = (h1 - h0) % 24
    hours = (b - a).total_seconds() / 3600
    assert crosses_midnight(start, end) == (h1 < h0)
    # a window holds its wall-clock hours, one more or less across a clock change
    assert hours in (wall, wall - 1, wall + 1)
    assert a.astimezone(dt.UTC) < b.astimezone(dt.UTC)


@pytest.mark.parametrize("text", ["24:00-02:00", "24-6"])
def test_a_window_cannot_start_at_24_00(text: str) -> None:
    # 24:00 as a start was read as 23:59:59.999999, planning visits a microsecond before
    # midnight under a window printed '23:59-02:00'
    with pytest.raises(InputError, match="starts at 00:00"):
        parse_window(text, overnight=True)

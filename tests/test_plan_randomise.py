"""Randomised patrol days: blocked by weekday, reproducible from the seed, exported for the evaluator."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from patrolwise.errors import InputError
from patrolwise.plan.export_csv import write_assignment_csv
from patrolwise.plan.randomise import (
    balance_by_weekday,
    hand_over_to_successors,
    handed_over,
    randomise_days,
)

START, END = dt.date(2023, 2, 6), dt.date(2024, 1, 7)  # 47 weeks, as in the Leicester trial


@settings(max_examples=25, deadline=None)
@given(p=st.floats(0.05, 0.95), seed=st.integers(0, 2**32 - 1), n_areas=st.integers(1, 8))
def test_each_weekday_gets_its_share(p: float, seed: int, n_areas: int) -> None:
    a = randomise_days(range(1, n_areas + 1), START, END, p, seed=seed)
    assert len(a) == n_areas * 336
    per_block = a.groupby(["area_id", "weekday"])["patrol"].agg(["sum", "count"])
    assert (per_block["count"] == 48).all()
    # blocked: within one day of p*n in every hot spot x weekday block
    assert ((per_block["sum"] - p * per_block["count"]).abs() < 1).all()


def test_overall_share_is_unbiased() -> None:
    # floor(p n + U) has mean p n exactly: over many seeds the share averages to p
    shares = [
        randomise_days([1, 2, 3], START, START + dt.timedelta(days=20), 0.3, seed=s)[
            "patrol"
        ].mean()
        for s in range(100)
    ]
    assert abs(sum(shares) / len(shares) - 0.3) < 0.01


def test_reproducible_from_seed() -> None:
    a = randomise_days([1, 2, 3], START, END, 0.5, seed=42)
    b = randomise_days([3, 2, 1], START, END, 0.5, seed=42)
    pd.testing.assert_frame_equal(a, b)
    c = randomise_days([1, 2, 3], START, END, 0.5, seed=43)
    assert not a["patrol"].equals(c["patrol"])
    assert (a["seed"] == 42).all() and (a["p"] == 0.5).all()
    d = randomise_days([1, 2, 3], START, END, 0.5)
    assert d["seed"].nunique() == 1  # a seed is drawn and recorded


def test_day_unit_patrols_all_hotspots_together() -> None:
    a = randomise_days([1, 2, 3, 4], START, END, 0.4, seed=1, unit="day")
    assert (a.groupby("date")["patrol"].nunique() == 1).all()
    b = balance_by_weekday(a[a["area_id"] == 1])
    assert list(b["weekday"]) == [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ]
    assert ((b["patrol"] - 0.4 * b["days"]).abs() < 1).all()


def test_bad_parameters() -> None:
    with pytest.raises(InputError, match="between 0 and 1"):
        randomise_days([1], START, END, 1.5)
    with pytest.raises(InputError, match="unit"):
        randomise_days([1], START, END, 0.5, unit="week")


def test_assignment_csv_for_the_evaluator(tmp_path: Path) -> None:
    a = randomise_days([1, 2], START, START + dt.timedelta(days=13), 0.5, seed=9)
    p = write_assignment_csv(a, tmp_path / "assignment.csv")
    back = pd.read_csv(p)
    assert list(back.columns) == ["area_id", "date", "weekday", "patrol", "seed", "p", "unit"]
    assert len(back) == 28 and set(back["patrol"]) <= {0, 1}
    assert back["patrol"].sum() == a["patrol"].sum() and (back["seed"] == 9).all()


@pytest.mark.parametrize("seed", [-1, 2**63, 2**64])
def test_seed_out_of_range_is_one_clear_error(seed: int) -> None:
    # numpy refused -1 with a bare ValueError, and a seed past 2**63 - 1 drew fine but then
    # overflowed the 64-bit seed column when stored (OverflowError traceback on SQLite)
    with pytest.raises(InputError, match="seed"):
        randomise_days([1], START, END, 0.5, seed=seed)


def test_a_hot_spot_is_drawn_only_on_its_active_days() -> None:
    # a hot spot retired mid-period was drawn patrol or control on every day after it left the
    # trial, so the evaluator counted days of a place no longer patrolled or watched
    start, end = dt.date(2025, 1, 6), dt.date(2025, 3, 30)  # twelve whole weeks
    active = {2: (None, dt.date(2025, 2, 2)), 3: (dt.date(2025, 1, 20), None)}
    a = randomise_days([1, 2, 3], start, end, 0.5, seed=9, active=active)
    span = a.groupby("area_id")["date"].agg(["min", "max", "count"])
    assert span.loc[1].tolist() == [start, end, 84]
    assert span.loc[2].tolist() == [start, dt.date(2025, 2, 2), 28]
    assert span.loc[3].tolist() == [dt.date(2025, 1, 20), end, 70]
    # still blocked by hot spot and weekday over the days each is active: half of each
    per = a.groupby(["area_id", "weekday"])["patrol"].agg(["sum", "count"])
    assert (per["sum"] * 2 == per["count"]).all()
    # a hot spot active throughout draws as it did without active dates
    pd.testing.assert_frame_equal(
        randomise_days([1, 2], start, end, 0.5, seed=9, active={1: (None, None)}),
        randomise_days([1, 2], start, end, 0.5, seed=9),
    )
    day = randomise_days([1, 2, 3], start, end, 0.5, seed=9, unit="day", active=active)
    assert len(day) == 84 + 28 + 70
    assert day.groupby("date")["patrol"].nunique().max() == 1


def _lineage(rows: list[tuple[int, dt.date | None, dt.date | None, int | None]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["area_id", "active_from", "active_to", "replaced_by"])


def test_a_successor_takes_its_predecessors_drawn_days() -> None:
    # an assignment drawn before hot spot 2 was replaced (by 3, from 20 January) had no days for
    # 3, so 3 could not be planned; 2's days after its retirement still held the draw
    start, end = dt.date(2025, 1, 6), dt.date(2025, 2, 2)  # four whole weeks
    a = randomise_days([1, 2], start, end, 0.5, seed=3)
    cut = dt.date(2025, 1, 20)
    areas = _lineage(
        [(1, None, None, None), (2, None, cut - dt.timedelta(days=1), 3), (3, cut, None, None)]
    )
    h = hand_over_to_successors(a, areas)
    # moved, not copied: each drawn day once, the randomisation not redrawn
    assert len(h) == len(a) == 56
    key = ["drawn_for", "date"]
    pd.testing.assert_series_equal(
        h.set_index(key)["patrol"].sort_index(),
        a.set_index(["area_id", "date"])["patrol"].sort_index().rename_axis(key),
    )
    late = h[h["date"] >= cut]
    assert set(late.loc[late["drawn_for"] == 2, "area_id"]) == {3}
    assert h.loc[h["area_id"] == 2, "date"].max() == cut - dt.timedelta(days=1)
    assert (h.loc[h["area_id"] == 1, "drawn_for"] == 1).all()
    # same block (the predecessor's hot spot and weekday) and same arm: still half of each
    per = h.groupby(["drawn_for", "weekday"])["patrol"].agg(["sum", "count"])
    assert (per["sum"] * 2 == per["count"]).all()
    ho = handed_over(h)
    assert ho[["area_id", "drawn_for", "first", "last", "days", "seed"]].values.tolist() == [
        [3, 2, cut, end, 14, 3]
    ]
    assert ho["patrol"].iloc[0] == int(
        a.loc[(a["area_id"] == 2) & (a["date"] >= cut), "patrol"].sum()
    )
    assert hand_over_to_successors(h, areas).equals(h)  # handing over twice changes nothing


def test_hand_over_follows_a_chain_keeps_own_draws_and_gaps() -> None:
    start, end = dt.date(2025, 1, 6), dt.date(2025, 2, 2)
    a = randomise_days([1, 2], start, end, 0.5, seed=5)
    d = dt.date
    # 2 retired on the 12th, 3 from the 16th (a gap of three days), 3 replaced by 4 from the 26th
    areas = _lineage(
        [
            (1, None, None, None),
            (2, None, d(2025, 1, 12), 3),
            (3, d(2025, 1, 16), d(2025, 1, 25), 4),
            (4, d(2025, 1, 26), None, None),
        ]
    )
    h = hand_over_to_successors(a, areas)
    by = h[h["drawn_for"] == 2].groupby("area_id")["date"].agg(["min", "max", "count"])
    assert by.loc[2].tolist() == [start, d(2025, 1, 15), 10]  # the gap stays with 2, unplanned
    assert by.loc[3].tolist() == [d(2025, 1, 16), d(2025, 1, 25), 10]
    assert by.loc[4].tolist() == [d(2025, 1, 26), end, 8]
    # a successor with its own draw on a day (an assignment drawn after it existed) keeps it
    own = randomise_days([4], d(2025, 1, 26), end, 0.5, seed=5).assign(seed=5)
    both = pd.concat([a, own], ignore_index=True)
    h2 = hand_over_to_successors(both, areas)
    assert not h2.duplicated(["area_id", "date"]).any()
    assert (h2.loc[h2["area_id"] == 4, "drawn_for"] == 4).all()
    assert len(h2) == len(both)
    # without replacements: the assignment as it was, saying each day was drawn for itself
    plain = hand_over_to_successors(a, _lineage([(1, None, None, None), (2, None, None, None)]))
    pd.testing.assert_frame_equal(plain.drop(columns="drawn_for"), a)
    assert handed_over(plain).empty

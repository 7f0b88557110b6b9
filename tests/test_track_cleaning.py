"""Cleaning: every removed ping is flagged with its reason, never silently dropped."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import pytest

from patrolwise.errors import InputError
from patrolwise.track.cleaning import CleaningRules, clean_pings, cleaning_summary

NOW = dt.datetime(2024, 6, 10, 12, 0)


def walk(dev: str = "A", n: int = 20, start: str = "2024-06-03 14:00") -> pd.DataFrame:
    """A straight walk at 1 m/s, a fix every 10 s."""
    t = pd.date_range(start, periods=n, freq="10s")
    return pd.DataFrame(
        {
            "device_id": dev,
            "team": "outreach",
            "t": t,
            "x": np.arange(n) * 10.0,
            "y": 0.0,
            "accuracy": 8.0,
        }
    )


def flags(df: pd.DataFrame) -> dict[str, int]:
    return df["flag"].value_counts().to_dict()


def test_clean_track_keeps_everything_and_sorts() -> None:
    p = walk()
    out = clean_pings(p.sample(frac=1.0, random_state=1), now=NOW)
    assert out["flag"].isna().all() and len(out) == len(p)
    assert out["t"].is_monotonic_increasing
    assert out.attrs["cleaning"]["out_of_order"] > 0


def test_each_rule_flags_its_rows_with_a_reason() -> None:
    p = walk(n=30)
    extra = pd.DataFrame(
        {
            "device_id": ["A", "A", "A", "A", "A"],
            "team": "outreach",
            "t": pd.to_datetime(
                [
                    "2024-06-03 14:00:10",  # duplicate instant (different position)
                    "2030-01-01 00:00:00",  # future
                    "1901-06-03 14:00:00",  # broken clock
                    "2024-06-03 14:05:01",  # missing coordinates
                    "2024-06-03 14:00:55",  # a 500 m spike
                ]
            ),
            "x": [10.5, 0.0, 0.0, np.nan, 55.0],
            "y": [0.0, 0.0, 0.0, 0.0, 500.0],
            "accuracy": [8.0, 8.0, 8.0, 8.0, 8.0],
        }
    )
    p.loc[7, "accuracy"] = 120.0
    out = clean_pings(pd.concat([p, extra], ignore_index=True), now=NOW)
    assert len(out) == len(p) + len(extra)  # nothing dropped
    assert flags(out) == {
        "duplicate": 1,
        "future": 1,
        "too_old": 1,
        "bad_coordinates": 1,
        "jump": 1,
        "accuracy": 1,
    }
    # the spike is the one flagged as a jump, not its honest neighbours
    jump = out[out.flag == "jump"].iloc[0]
    assert jump.y == 500.0
    # of the two fixes at 14:00:10 the first by position is kept, whatever the arrival order
    kept = out[(out.t == pd.Timestamp("2024-06-03 14:00:10")) & out.flag.isna()]
    assert kept.x.tolist() == [10.0]


def test_vehicle_speed_and_device_start_date() -> None:
    p = walk(n=10)
    car = walk(n=6, start="2024-06-03 14:01:40").assign(x=lambda d: 100 + np.arange(6) * 150.0)
    out = clean_pings(
        pd.concat([p, car], ignore_index=True),
        now=NOW,
        device_since={"A": dt.date(2024, 6, 3)},
    )
    # the first car fix is 10 m from the last walking fix (plausible); the next five are 15 m/s
    assert flags(out) == {"speed": 5}
    early = clean_pings(p, now=NOW, device_since={"A": dt.date(2024, 6, 4)})
    assert flags(early) == {"before_device": 10}


def test_rules_are_configurable() -> None:
    p = walk()
    p.loc[3, "accuracy"] = 70.0
    assert flags(clean_pings(p, now=NOW)) == {"accuracy": 1}
    assert clean_pings(p, CleaningRules(max_accuracy_m=100), now=NOW)["flag"].isna().all()
    fast = walk().assign(x=lambda d: np.arange(len(d)) * 100.0)
    assert clean_pings(fast, CleaningRules(max_speed_ms=None), now=NOW)["flag"].isna().all()


def test_summary_and_errors() -> None:
    p = walk()
    p.loc[2, "accuracy"] = 99.0
    s = cleaning_summary(clean_pings(p, now=NOW))
    assert s.loc["A", "accuracy"] == 1 and s.loc["A", "kept"] == 19
    with pytest.raises(InputError, match="'x'"):
        clean_pings(p.drop(columns=["x"]))


def test_pings_already_in_order_are_not_sorted_again(monkeypatch: pytest.MonkeyPatch) -> None:
    # found by QA: pings come from the store sorted by device and time, yet every call sorted
    # them again on four keys, over half of cleaning a year's pings (2M: 3.8 s, now 1.6 s); in
    # order, the identity is that sort. Same answer for sorted and shuffled input; the four-key
    # sort runs only for the shuffled one (its time is in benchmarks/hot_paths.py, not here).
    from patrolwise.track import cleaning

    sorted_ = pd.concat(
        [walk(f"D{d}", n=6_000, start="2024-06-03 00:00") for d in range(5)], ignore_index=True
    )
    noise = np.random.default_rng(0).normal(0.0, 1.0, (2, len(sorted_)))  # GPS scatter
    sorted_["x"] += noise[0]
    sorted_["y"] += noise[1]
    shuffled = sorted_.sample(frac=1, random_state=1).reset_index(drop=True)

    sorts: list[int] = []
    real_sort_order = cleaning._sort_order

    def counting(dev: np.ndarray, t: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        lexsort = np.lexsort
        calls = []

        def spy(keys: Any) -> np.ndarray:
            calls.append(1)
            return lexsort(keys)

        np.lexsort = spy  # type: ignore[assignment]
        try:
            out = real_sort_order(dev, t, x, y)
        finally:
            np.lexsort = lexsort
        sorts.append(len(calls))
        return out

    monkeypatch.setattr(cleaning, "_sort_order", counting)
    a = clean_pings(sorted_, now=NOW)
    assert sorts == [0]  # in order already: no sort
    b = clean_pings(shuffled, now=NOW)
    assert sorts == [0, 1]  # out of order: one four-key sort
    pd.testing.assert_frame_equal(a, b)
    assert a.attrs["cleaning"]["out_of_order"] == 0
    # device order comes first: the same times on another device are not 'in order'
    dev = np.array(["B", "A"], dtype=object)
    assert list(real_sort_order(dev, np.array([1, 2]), np.zeros(2), np.zeros(2))) == [1, 0]


def test_fixes_the_device_does_not_vouch_for() -> None:
    """Mock locations and OsmAnd's valid=false (as JSON booleans, text in any case, or the
    numbers an app may send) are set aside; everything else about them counts as usual."""
    t0 = pd.Timestamp("2024-06-03 14:00")
    attrs = [
        {"mock": True},
        {"mock": False},
        {"valid": "FALSE"},
        {"valid": 1.0},
        None,
        {"valid": 0.0},
        {"mock": "1", "batt": 80},
        {},
    ]
    df = pd.DataFrame(
        {
            "device_id": "d1",
            "t": [t0 + pd.Timedelta(seconds=10 * i) for i in range(len(attrs))],
            "x": 450_000.0 + np.arange(len(attrs)),
            "y": 300_000.0,
            "attrs": attrs,
        }
    )
    out = clean_pings(df, now=dt.datetime(2024, 6, 4))
    flagged = [0, 2, 5, 6]
    assert out.index[out["flag"] == "device_flagged"].tolist() == flagged
    assert out.attrs["cleaning"]["flags"] == {"device_flagged": 4}
    assert out.attrs["cleaning"]["rules"]["trust_device_flags"] is True
    # a store-computed column wins over the attributes
    df["device_flag"] = False
    assert clean_pings(df, now=dt.datetime(2024, 6, 4))["flag"].isna().all()


def test_span_is_the_believable_times_only() -> None:
    """The span a run measured ignores clocks in the future, before 2000 or before the device
    existed, even on fixes set aside for another reason first (bad coordinates)."""
    t = pd.to_datetime(
        [
            "2024-05-01 14:00",
            "2024-05-02 15:30",
            "2031-01-01 12:00",  # future
            "1999-08-21 23:59",  # too old
            "2024-04-20 10:00",  # before POL-1 was issued
            "2035-06-01 00:00",  # future and no coordinates: flagged bad_coordinates
            "2024-05-03 09:00",  # no coordinates, but a believable time: the device reported
        ]
    )
    pings = pd.DataFrame(
        {
            "device_id": ["A", "A", "A", "A", "POL-1", "A", "A"],
            "t": t,
            "x": [0.0, 10, 20, 30, 40, np.nan, np.nan],
            "y": 0.0,
        }
    )
    out = clean_pings(
        pings, now=dt.datetime(2024, 6, 1), device_since={"POL-1": dt.date(2024, 5, 1)}
    )
    assert out.attrs["span"] == (pd.Timestamp("2024-05-01 14:00"), pd.Timestamp("2024-05-03 09:00"))
    assert set(out["flag"].dropna()) == {"future", "too_old", "before_device", "bad_coordinates"}
    none = clean_pings(pings.iloc[[2, 3]], now=dt.datetime(2024, 6, 1))
    assert none.attrs["span"] is None

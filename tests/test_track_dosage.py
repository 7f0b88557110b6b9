"""Dosage engine: hand-computed tracks with known answers, and the rules behind them."""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from patrolwise.errors import InputError
from patrolwise.track.compliance import abstraction, compliance
from patrolwise.track.coverage import window_coverage
from patrolwise.track.dosage import (
    DosageParams,
    _Labels,
    chunk_bounds,
    compute_dosage,
    daily_dosage,
    local_day_numbers,
    local_midnights_ms,
    prepare_hotspots,
    scan_chunks,
    stitch,
    union_minutes,
    unit_codes,
)
from patrolwise.track.separation import breaches

# two 100 m square hot spots 900 m apart; (500, 50) is between them, outside both
HOTSPOTS = gpd.GeoDataFrame(
    {"area_id": [11, 22]},
    geometry=[shapely.box(0, 0, 100, 100), shapely.box(1000, 0, 1100, 100)],
    crs="EPSG:27700",
)
INSIDE = {11: (50.0, 50.0), 22: (1050.0, 50.0)}
OUTSIDE = (500.0, 50.0)


def leg(
    dev: str, team: str, start: str, end: str, where: tuple[float, float], step_s: int = 30
) -> pd.DataFrame:
    """Fixes every ``step_s`` seconds from start to end inclusive (naive UTC), at one place."""
    t = pd.date_range(start, end, freq=f"{step_s}s")
    return pd.DataFrame({"device_id": dev, "team": team, "t": t, "x": where[0], "y": where[1]})


def track(*legs: pd.DataFrame) -> pd.DataFrame:
    return pd.concat(legs, ignore_index=True)


def test_entering_1402_leaving_1442_is_40_minutes_one_visit() -> None:
    p = track(
        leg("A", "police", "2024-06-03 13:30", "2024-06-03 14:01:30", OUTSIDE),
        leg("A", "police", "2024-06-03 14:02", "2024-06-03 14:42", INSIDE[11]),
        leg("A", "police", "2024-06-03 14:42:30", "2024-06-03 15:10", OUTSIDE),
    )
    v = compute_dosage(p, HOTSPOTS).visits
    assert len(v) == 1
    row = v.iloc[0]
    assert row.area_id == 11 and row.minutes == 40.0
    assert row.start == pd.Timestamp("2024-06-03 14:02") and row.end == pd.Timestamp(
        "2024-06-03 14:42"
    )
    assert row.n_pings == 81 and row.local_day == dt.date(2024, 6, 3)


def test_gap_longer_than_limit_splits_visit_and_is_unknown() -> None:
    p = track(
        leg("A", "outreach", "2024-06-03 14:00", "2024-06-03 14:20", INSIDE[11]),
        leg("A", "outreach", "2024-06-03 14:30", "2024-06-03 14:50", INSIDE[11]),
    )
    r = compute_dosage(p, HOTSPOTS, DosageParams(max_gap_s=300))
    assert list(r.visits.minutes) == [20.0, 20.0]
    assert list(r.unknown.minutes) == [10.0] and r.unknown.area_id.tolist() == [11]
    # the same silence within the limit keeps one visit
    r2 = compute_dosage(p, HOTSPOTS, DosageParams(max_gap_s=900))
    assert list(r2.visits.minutes) == [50.0] and r2.unknown.empty


def test_three_minute_pass_through_is_no_visit() -> None:
    p = track(
        leg("A", "police", "2024-06-03 13:50", "2024-06-03 13:59:30", OUTSIDE),
        leg("A", "police", "2024-06-03 14:00", "2024-06-03 14:03", INSIDE[22]),
        leg("A", "police", "2024-06-03 14:03:30", "2024-06-03 14:10", OUTSIDE),
    )
    assert compute_dosage(p, HOTSPOTS).visits.empty
    short = compute_dosage(p, HOTSPOTS, DosageParams(min_visit_s=120)).visits
    assert list(short.minutes) == [3.0]


def test_buffer_keeps_an_officer_on_the_edge_in() -> None:
    # alternating 5 m inside and 6 m outside the edge: GPS noise around a boundary
    t = pd.date_range("2024-06-03 14:00", "2024-06-03 14:20", freq="30s")
    x = np.where(np.arange(len(t)) % 2 == 0, 95.0, 106.0)
    p = pd.DataFrame({"device_id": "A", "team": "police", "t": t, "x": x, "y": 50.0})
    assert list(compute_dosage(p, HOTSPOTS).visits.minutes) == [20.0]
    assert compute_dosage(p, HOTSPOTS, DosageParams(buffer_m=0)).visits.empty


def test_two_officers_together_double_officer_minutes_single_patrol_minutes() -> None:
    p = track(
        leg("A", "police", "2024-06-03 14:00", "2024-06-03 14:40", INSIDE[11]),
        leg("B", "police", "2024-06-03 14:00", "2024-06-03 14:40", INSIDE[11]),
        # staggered pair in the other hot spot: union 60 minutes, sum 80
        leg("C", "police", "2024-06-03 15:00", "2024-06-03 15:40", INSIDE[22]),
        leg("D", "police", "2024-06-03 15:20", "2024-06-03 16:00", INSIDE[22]),
    )
    panel = daily_dosage(compute_dosage(p, HOTSPOTS).visits).set_index("area_id")
    assert panel.loc[11, "officer_minutes"] == 80.0 and panel.loc[11, "patrol_minutes"] == 40.0
    assert panel.loc[22, "officer_minutes"] == 80.0 and panel.loc[22, "patrol_minutes"] == 60.0
    assert panel.loc[11, "devices"] == 2 and panel.loc[11, "visits"] == 2


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        # winter (GMT = UTC): split at 00:00 UTC
        (
            "2024-01-10 23:40",
            "2024-01-11 00:20",
            {dt.date(2024, 1, 10): 20, dt.date(2024, 1, 11): 20},
        ),
        # summer (BST): local midnight is 23:00 UTC
        (
            "2024-06-10 22:40",
            "2024-06-10 23:20",
            {dt.date(2024, 6, 10): 20, dt.date(2024, 6, 11): 20},
        ),
        # last Sunday of March 2024 (31st): the night before is still GMT
        (
            "2024-03-30 23:40",
            "2024-03-31 00:20",
            {dt.date(2024, 3, 30): 20, dt.date(2024, 3, 31): 20},
        ),
        # across the jump 01:00 GMT -> 02:00 BST: 60 real minutes, one local day
        ("2024-03-31 00:30", "2024-03-31 01:30", {dt.date(2024, 3, 31): 60}),
        # that evening midnight is already BST (23:00 UTC)
        (
            "2024-03-31 22:40",
            "2024-03-31 23:20",
            {dt.date(2024, 3, 31): 20, dt.date(2024, 4, 1): 20},
        ),
        # last Sunday of October 2024 (27th): the night before is BST
        (
            "2024-10-26 22:40",
            "2024-10-26 23:20",
            {dt.date(2024, 10, 26): 20, dt.date(2024, 10, 27): 20},
        ),
        # the repeated hour 01:00-02:00 local: 60 real minutes, not 120 or 0
        ("2024-10-27 00:30", "2024-10-27 01:30", {dt.date(2024, 10, 27): 60}),
        # and that evening midnight is GMT again
        (
            "2024-10-27 23:40",
            "2024-10-28 00:20",
            {dt.date(2024, 10, 27): 20, dt.date(2024, 10, 28): 20},
        ),
    ],
)
def test_midnight_and_clock_changes(start: str, end: str, expected: dict[dt.date, int]) -> None:
    p = leg("A", "outreach", start, end, INSIDE[11], step_s=20)
    v = compute_dosage(p, HOTSPOTS).visits
    got = dict(zip(v.local_day, v.minutes, strict=True))
    assert got == expected
    assert v.n_pings.sum() == len(p)
    # the parts of one visit keep one visit id
    assert v.visit_id.nunique() == 1


def test_local_days_around_october_change() -> None:
    t = np.array(
        ["2024-10-26T22:59:59", "2024-10-26T23:00:00", "2024-10-27T23:59:59", "2024-10-28T00:00"],
        dtype="datetime64[ms]",
    ).astype(np.int64)
    days = local_day_numbers(t, "Europe/London").astype("datetime64[D]").astype(str)
    assert days.tolist() == ["2024-10-26", "2024-10-27", "2024-10-27", "2024-10-28"]


def test_police_and_outreach_five_minutes_apart_is_one_breach() -> None:
    p = track(
        leg("OUT-1", "outreach", "2024-06-03 14:00", "2024-06-03 14:40", INSIDE[11]),
        leg("OUT-2", "outreach", "2024-06-03 14:00", "2024-06-03 14:40", INSIDE[11]),
        leg("POL-1", "police", "2024-06-03 14:05", "2024-06-03 14:45", INSIDE[11]),
        # police alone elsewhere: no breach
        leg("POL-2", "police", "2024-06-03 14:00", "2024-06-03 14:40", INSIDE[22]),
    )
    b = breaches(compute_dosage(p, HOTSPOTS).visits)
    assert len(b) == 1
    row = b.iloc[0]
    assert row.area_id == 11 and row.overlap_minutes == 35.0
    assert row.start == pd.Timestamp("2024-06-03 14:05") and row.end == pd.Timestamp(
        "2024-06-03 14:40"
    )
    assert row.police_devices == "POL-1" and row.outreach_devices == "OUT-1,OUT-2"


def test_breach_within_distance_of_a_nearby_hot_spot() -> None:
    p = track(
        leg("OUT-1", "outreach", "2024-06-03 14:00", "2024-06-03 14:40", INSIDE[11]),
        leg("POL-1", "police", "2024-06-03 14:10", "2024-06-03 14:50", INSIDE[22]),
    )
    v = compute_dosage(p, HOTSPOTS).visits
    assert breaches(v).empty
    assert breaches(v, areas=HOTSPOTS, distance_m=800).empty
    near = breaches(v, areas=HOTSPOTS, distance_m=1000)
    assert len(near) == 1 and near.iloc[0].overlap_minutes == 30.0
    assert (near.iloc[0].area_id, near.iloc[0].other_area_id) == (22, 11)


def test_breach_distance_is_strictly_closer_than_and_must_be_a_number() -> None:
    # found by QA: hot spots exactly --distance apart breached (shapely's dwithin is <=) though
    # the option says "closer than", as the plan's --gap does (a visit exactly the gap away is
    # fine); and NaN or a negative distance silently turned the distance rule off
    p = track(
        leg("OUT-1", "outreach", "2024-06-03 14:00", "2024-06-03 14:40", INSIDE[11]),
        leg("POL-1", "police", "2024-06-03 14:10", "2024-06-03 14:50", INSIDE[22]),
    )
    v = compute_dosage(p, HOTSPOTS).visits
    assert breaches(v, areas=HOTSPOTS, distance_m=900).empty  # the hot spots are 900 m apart
    assert len(breaches(v, areas=HOTSPOTS, distance_m=900.5)) == 1
    for bad in (float("nan"), -5.0, float("inf")):
        with pytest.raises(InputError, match="distance"):
            breaches(v, areas=HOTSPOTS, distance_m=bad)


def test_phone_silent_20_minutes_inside_a_visit_is_unknown_not_absent() -> None:
    silent = track(
        leg("A", "outreach", "2024-06-03 14:00", "2024-06-03 14:10", INSIDE[11]),
        leg("A", "outreach", "2024-06-03 14:30", "2024-06-03 14:40", INSIDE[11]),
    )
    left = track(
        leg("A", "outreach", "2024-06-03 14:00", "2024-06-03 14:10", INSIDE[11]),
        leg("A", "outreach", "2024-06-03 14:10:30", "2024-06-03 14:29:30", OUTSIDE),
        leg("A", "outreach", "2024-06-03 14:30", "2024-06-03 14:40", INSIDE[11]),
    )
    window = pd.DataFrame(
        {
            "team": ["outreach"],
            "area_id": [11],
            "start": [pd.Timestamp("2024-06-03 14:00")],
            "end": [pd.Timestamp("2024-06-03 14:40")],
        }
    )
    r = compute_dosage(silent, HOTSPOTS)
    assert list(r.unknown.minutes) == [20.0] and list(r.unknown.area_id) == [11]
    c = window_coverage(window, r.visits, r.tracked).iloc[0]
    assert (c.present_minutes, c.absent_minutes, c.unknown_minutes) == (20.0, 0.0, 20.0)
    r2 = compute_dosage(left, HOTSPOTS)
    assert r2.unknown.empty
    c2 = window_coverage(window, r2.visits, r2.tracked).iloc[0]
    assert (c2.present_minutes, c2.absent_minutes, c2.unknown_minutes) == (20.0, 20.0, 0.0)


def test_compliance_late_short_missed_and_abstraction() -> None:
    p = track(
        # outreach: on time, full 40 minutes
        leg("OUT-1", "outreach", "2024-06-03 14:00", "2024-06-03 14:40", INSIDE[11]),
        # police slot 1: arrives 12 minutes late, stays to the end: late (28 of 30 minutes... )
        leg("POL-1", "police", "2024-06-03 15:12", "2024-06-03 15:40", INSIDE[22]),
        # police slot 2: on time, pulled away after 10 of 40 minutes: short
        leg("POL-1", "police", "2024-06-03 16:00", "2024-06-03 16:10", INSIDE[11]),
    )
    plan = pd.DataFrame(
        {
            "team": ["outreach", "police", "police", "police"],
            "area_id": [11, 22, 11, 22],
            "date": [dt.date(2024, 6, 3)] * 4,
            "start": pd.to_datetime(
                ["2024-06-03 14:00", "2024-06-03 15:00", "2024-06-03 16:00", "2024-06-03 17:00"]
            ),
            "end": pd.to_datetime(
                ["2024-06-03 14:40", "2024-06-03 15:40", "2024-06-03 16:40", "2024-06-03 17:15"]
            ),
        }
    )
    r = compute_dosage(p, HOTSPOTS)
    c = compliance(plan, r.visits, r.tracked, short_fraction=0.6)
    assert c.status.tolist() == ["delivered", "late", "short", "missed"]
    assert c.delivered_minutes.tolist() == [40.0, 28.0, 10.0, 0.0]
    assert c.late_minutes.iloc[1] == 12.0 and c.visits.tolist() == [1, 1, 1, 0]
    assert c.abstracted_minutes.tolist() == [0.0, 12.0, 30.0, 15.0]
    ab = abstraction(c)
    assert ab.abstracted_minutes.iloc[0] == 57.0 and ab.missed.iloc[0] == 1


def test_overnight_slot_is_measured_across_midnight() -> None:
    """A 23:30-00:30 (BST) police slot of the night of 14 June, met by a patrol from 23:40 to
    00:30: the visit is stored as two local days but is one visit of 50 minutes, 10 late
    (and short: under 90% of the hour)."""
    p = track(leg("POL-1", "police", "2024-06-14 22:40", "2024-06-14 23:30", INSIDE[11]))
    plan = pd.DataFrame(
        {
            "team": ["police"],
            "area_id": [11],
            "date": [dt.date(2024, 6, 14)],
            "start": pd.to_datetime(["2024-06-14 22:30"]),
            "end": pd.to_datetime(["2024-06-14 23:30"]),
        }
    )
    r = compute_dosage(p, HOTSPOTS)
    assert r.visits["local_day"].tolist() == [dt.date(2024, 6, 14), dt.date(2024, 6, 15)]
    c = compliance(plan, r.visits, r.tracked)
    assert c.delivered_minutes.tolist() == [50.0] and c.visits.tolist() == [1]
    assert c.late_minutes.tolist() == [10.0] and c.status.tolist() == ["short"]  # 50 of 60


def test_union_minutes_merges_touching_and_nested() -> None:
    f = pd.DataFrame(
        {
            "k": [1, 1, 1, 2],
            "start": pd.to_datetime(
                ["2024-01-01 10:00", "2024-01-01 10:30", "2024-01-01 10:05", "2024-01-01 10:00"]
            ),
            "end": pd.to_datetime(
                ["2024-01-01 10:30", "2024-01-01 11:00", "2024-01-01 10:10", "2024-01-01 10:01"]
            ),
        }
    )
    u = union_minutes(f, ["k"])
    assert u.minutes.tolist() == [60.0, 1.0]


def test_params_are_validated() -> None:
    with pytest.raises(InputError, match="max-gap"):
        DosageParams(max_gap_s=0)
    with pytest.raises(InputError, match="area_id"):
        compute_dosage(
            leg("A", "police", "2024-06-03 14:00", "2024-06-03 14:01", OUTSIDE),
            gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1, 1)]),
        )


def test_flagged_pings_are_ignored() -> None:
    p = leg("A", "police", "2024-06-03 14:00", "2024-06-03 14:40", INSIDE[11])
    p["flag"] = None
    p.loc[p.index[-40:], "flag"] = "accuracy"
    v = compute_dosage(p, HOTSPOTS).visits
    assert list(v.minutes) == [20.0]


def _pandas_days(t_ms: np.ndarray, tz: str) -> np.ndarray:
    """The reference: pandas' own conversion, as the engine did it before the offset table."""
    idx = pd.DatetimeIndex(t_ms.astype("datetime64[ms]")).tz_localize("UTC").tz_convert(tz)
    return idx.tz_localize(None).to_numpy().astype("datetime64[D]").astype(np.int64)


def _pandas_midnights(days: np.ndarray, tz: str) -> np.ndarray:
    idx = pd.DatetimeIndex(days.astype("datetime64[D]").astype("datetime64[ms]"))
    utc = idx.tz_localize(tz, nonexistent="shift_forward", ambiguous=True).tz_convert("UTC")
    return utc.tz_localize(None).to_numpy().astype("datetime64[ms]").astype(np.int64)


@pytest.mark.parametrize("change", ["2024-03-31T01:00", "2024-10-27T01:00", "2025-03-30T01:00"])
def test_local_days_equal_pandas_every_second_around_clock_changes(change: str) -> None:
    """Europe/London's clocks change at 01:00 UTC on the last Sundays of March and October:
    every second from two days before to two days after, and each millisecond next to the
    change, gets pandas' local day."""
    at = np.datetime64(change, "ms").astype(np.int64)
    t = np.arange(at - 2 * 86_400_000, at + 2 * 86_400_000, 1000, dtype=np.int64)
    t = np.concatenate([t, at + np.arange(-3, 4), at - 3_600_000 + np.arange(-3, 4)])
    assert (local_day_numbers(t, "Europe/London") == _pandas_days(t, "Europe/London")).all()


@pytest.mark.parametrize(
    ("utc", "local_day"),
    [
        # March: GMT until 01:00 UTC, so that night's midnight is 00:00 UTC ...
        ("2024-03-30T23:59:59.999", "2024-03-30"),
        ("2024-03-31T00:00:00.000", "2024-03-31"),
        # ... and BST from then on, so the next midnight is 23:00 UTC
        ("2024-03-31T22:59:59.999", "2024-03-31"),
        ("2024-03-31T23:00:00.000", "2024-04-01"),
        # October: BST until 01:00 UTC, so that night's midnight was 23:00 UTC ...
        ("2024-10-26T22:59:59.999", "2024-10-26"),
        ("2024-10-26T23:00:00.000", "2024-10-27"),
        ("2024-10-27T00:59:59.999", "2024-10-27"),  # 01:59:59.999 BST
        ("2024-10-27T01:00:00.000", "2024-10-27"),  # 01:00 GMT, the hour again
        # ... and GMT from then on, so the next midnight is 00:00 UTC
        ("2024-10-27T23:59:59.999", "2024-10-27"),
        ("2024-10-28T00:00:00.000", "2024-10-28"),
    ],
)
def test_local_day_by_hand_around_clock_changes(utc: str, local_day: str) -> None:
    t = np.array([np.datetime64(utc, "ms").astype(np.int64)])
    got = local_day_numbers(t, "Europe/London").astype("datetime64[D]").astype(str)
    assert got.tolist() == [local_day]


ZONES = [
    "Europe/London",
    "Europe/Dublin",  # negative "daylight saving" in winter
    "America/Havana",  # clocks change at midnight
    "America/Santiago",
    "Asia/Beirut",
    "Australia/Lord_Howe",  # 30-minute shifts
    "Asia/Kathmandu",  # +05:45
    "Pacific/Apia",  # skipped 30 December 2011
    "UTC",
]


@pytest.mark.parametrize("tz", ZONES)
def test_local_days_and_midnights_equal_pandas_across_zones(tz: str) -> None:
    rng = np.random.default_rng(7)
    lo = np.datetime64("1950-01-01", "ms").astype(np.int64)
    hi = np.datetime64("2060-01-01", "ms").astype(np.int64)
    t = rng.integers(lo, hi, 50_000)
    # every hour of 2010-2013 too: each change of those years, in every zone
    t = np.concatenate(
        [t, np.arange(lo + 60 * 365 * 86_400_000, lo + 64 * 365 * 86_400_000, 3_600_000)]
    )
    assert (local_day_numbers(t, tz) == _pandas_days(t, tz)).all()
    days = np.arange(np.datetime64("1970-01-01", "D"), np.datetime64("2040-01-01", "D")).astype(
        np.int64
    )
    assert (local_midnights_ms(days, tz) == _pandas_midnights(days, tz)).all()


def test_midnights_that_happen_twice_or_never() -> None:
    """Havana's clocks jump from 00:00 to 01:00 on 10 March 2024 (pandas: the next whole hour,
    05:00 UTC) and go back from 01:00 to 00:00 on 3 November (the first midnight, 04:00 UTC)."""
    days = np.array(["2024-03-10", "2024-11-03", "2024-06-01"], dtype="datetime64[D]")
    got = local_midnights_ms(days.astype(np.int64), "America/Havana").astype("datetime64[ms]")
    assert got.astype(str).tolist() == [
        "2024-03-10T05:00:00.000",
        "2024-11-03T04:00:00.000",
        "2024-06-01T04:00:00.000",
    ]


def _night_of_patrols() -> pd.DataFrame:
    """Three devices through the night the clocks go back, in and out of both hot spots, with
    silences longer than max_gap inside a hot spot and exact duplicate fixes."""
    p = track(
        leg("A", "police", "2024-10-26 22:30", "2024-10-27 01:30", INSIDE[11], step_s=20),
        leg("A", "police", "2024-10-27 01:30:20", "2024-10-27 01:40", OUTSIDE, step_s=20),
        leg("A", "police", "2024-10-27 01:40:20", "2024-10-27 02:10", INSIDE[22], step_s=20),
        leg("A", "police", "2024-10-27 02:30", "2024-10-27 03:00", INSIDE[22], step_s=20),
        leg("B", "outreach", "2024-10-26 22:50", "2024-10-26 23:40", INSIDE[22], step_s=10),
        leg("B", "outreach", "2024-10-26 23:40:10", "2024-10-27 00:20", INSIDE[11], step_s=10),
        leg("C", "police", "2024-10-26 23:00", "2024-10-27 02:00", INSIDE[11], step_s=30),
    )
    # exact duplicates: every 97th fix, and every fix of B, so chunk cuts land between pairs
    return pd.concat([p, p.iloc[::97], p[p.device_id == "B"]], ignore_index=True)


def test_any_number_of_workers_and_chunks_gives_one_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    import dask.threaded

    calls: list[dict[str, object]] = []
    real = dask.threaded.get

    def spy(*args: object, **kw: object) -> object:
        calls.append(kw)
        return real(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(dask.threaded, "get", spy)
    p = _night_of_patrols()
    one = compute_dosage(p, HOTSPOTS, chunk_size=len(p), workers=1)
    assert calls == []  # one worker scans in this thread
    assert len(one.visits) >= 6 and not one.unknown.empty
    assert one.stats["duplicates_ignored"] == len(p) - len(p.drop_duplicates(["device_id", "t"]))
    for chunk, workers in [(97, 1), (97, 2), (250, 2), (250, 3), (1000, 2)]:
        r = compute_dosage(p, HOTSPOTS, chunk_size=chunk, workers=workers)
        for name in ("visits", "unknown", "tracked"):
            pd.testing.assert_frame_equal(getattr(r, name), getattr(one, name), check_exact=True)
        assert r.stats == one.stats
    # the chunks did run on Dask's threaded scheduler, with the workers asked for
    assert sorted(c["num_workers"] for c in calls) == [2, 2, 2, 3]  # type: ignore[type-var]


def test_chunk_cuts_balance_workers_and_never_split_duplicates() -> None:
    unit = np.repeat(np.arange(4, dtype=np.int64), 250_000)
    t = np.tile(np.arange(250_000, dtype=np.int64) * 1000, 4)
    # one chunk for one worker; two halves for two; a multiple of three for three
    assert chunk_bounds(unit, t, 1 << 20, 1) == [(0, 1_000_000)]
    assert chunk_bounds(unit, t, 1 << 20, 2) == [(0, 500_000), (500_000, 1_000_000)]
    assert len(chunk_bounds(unit, t, 300_000, 3)) == 6
    # a cut that would fall inside a run of exact duplicates moves past them
    unit, t = np.zeros(1_000_000, dtype=np.int64), np.arange(1_000_000, dtype=np.int64) * 1000
    t[499_990:500_010] = t[499_990]
    b = chunk_bounds(unit, t, 1 << 20, 2)
    assert b == [(0, 500_010), (500_010, 1_000_000)]
    # tiny inputs are not split for the workers' sake
    assert chunk_bounds(unit[:1000], t[:1000], 1 << 20, 2) == [(0, 1000)]


def test_stitch_numbers_runs_by_unit_hot_spot_and_start_whatever_the_chunk_order() -> None:
    """Chunks handed over out of time order (which the engine never does) still give runs
    numbered by unit, hot spot and start: the fast order is checked, not trusted."""
    p = _night_of_patrols().drop_duplicates(["device_id", "t"])
    unit, _ = unit_codes(p)
    t = p["t"].to_numpy().astype("datetime64[ms]").astype(np.int64)
    o = np.lexsort((t, unit))
    unit, t = unit[o], t[o]
    x, y = p["x"].to_numpy()[o], p["y"].to_numpy()[o]
    hs = prepare_hotspots(HOTSPOTS)
    params = DosageParams()
    scans = scan_chunks(unit, t, x, y, hs, params, chunk_size=300, workers=1)
    assert len(scans) > 3
    pieces = sum(len(s.runs["t0"]) for s in scans)
    backwards = stitch(scans[::-1], params.max_gap_ms).runs
    assert len(backwards) == pieces  # nothing joins backwards in time
    for order in (scans, scans[::-1]):
        runs = stitch(order, params.max_gap_ms).runs
        key = runs[["unit", "poly", "t0"]].to_numpy()
        assert (np.lexsort(key.T[::-1]) == np.arange(len(runs))).all()
        assert runs["run"].tolist() == list(range(len(runs)))
    # in time order, runs cut by the chunks are joined again: fewer runs than pieces
    whole = stitch(scans, params.max_gap_ms).runs
    assert 0 < len(whole) < pieces


def test_cached_offset_tables_are_read_only() -> None:
    """The offset tables are cached and shared between Dask threads: writing into one must fail
    instead of silently changing every later answer."""
    from patrolwise.track.localtime import offset_table

    t0 = int(np.datetime64("2024-03-30T22:00", "ms").astype(np.int64))
    table = offset_table("Europe/London", t0, t0 + 86_400_000)
    assert table is not None
    starts, offsets = table
    assert offsets.tolist() == [0, 3_600_000, 0]  # GMT, BST from 31 March, GMT from 27 October
    with pytest.raises(ValueError):
        offsets[0] = 1
    with pytest.raises(ValueError):
        starts[0] = 1


def test_device_and_team_columns_typed_as_pandas_types_them() -> None:
    """Names are typed once per call and taken per row: each column must be what pandas makes
    of the same names row by row, in the visits, the tracked spans and the silent gaps alike."""
    p = track(
        leg("A", "police", "2024-06-03 14:00", "2024-06-03 14:20", INSIDE[11]),
        leg("A", "police", "2024-06-03 14:30", "2024-06-03 14:50", INSIDE[11]),
        leg("B", "outreach", "2024-06-03 15:00", "2024-06-03 15:40", INSIDE[22]),
    )
    r = compute_dosage(p, HOTSPOTS)
    for frame in (r.visits, r.tracked, r.unknown):
        assert not frame.empty
        for col in ("device_id", "team"):
            expect = pd.Series(np.array(frame[col].tolist(), dtype=object)).dtype
            assert frame[col].dtype == expect, (col, frame[col].dtype)
    assert r.visits["device_id"].tolist() == ["A", "A", "B"]
    assert r.unknown["team"].tolist() == ["police"]


@pytest.mark.parametrize("names", [["A", "B", "C"], [7, 9, 11], ["A", 9, None], [1.5, 2.5, 3.5]])
def test_names_taken_as_pandas_infers_them_from_the_rows(names: list[object]) -> None:
    values = np.array(names, dtype=object)
    col = _Labels(values)
    for idx in ([0, 0, 2], [1], [2, 2], []):
        got = pd.Series(col.take(np.array(idx, dtype=np.int64)))
        want = pd.Series(values[np.array(idx, dtype=np.int64)])
        pd.testing.assert_series_equal(got, want)

"""Schedules: feasibility with walking time, dosage caps, seeds, local times, never together."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from patrolwise.errors import InputError
from patrolwise.plan.randomise import randomise_days
from patrolwise.plan.schedule import InfeasiblePlanError, PlanRequest, PlanResult, make_plan
from patrolwise.plan.separation import conflicts
from patrolwise.timeutil import to_local

from .plan_fixtures import line_of_hotspots

D0 = dt.date(2024, 6, 3)


def test_seven_hotspots_forty_minutes_fit_six_hours_with_walking() -> None:
    hs = line_of_hotspots(7)  # 400 m apart: 5 min walk between neighbours
    res = make_plan(hs, PlanRequest("outreach", D0, D0 + dt.timedelta(days=2), spread=False))
    v = res.visits
    assert len(v) == 21 and set(v.groupby("date").size()) == {7}
    assert ((v["end"] - v["start"]) == pd.Timedelta(minutes=40)).all()
    day = v[v["date"] == D0].sort_values("order")
    # the efficient route walks the line end to end: six 5-minute walks between visits
    gaps = (day["start"].to_numpy()[1:] - day["end"].to_numpy()[:-1]) / np.timedelta64(1, "m")
    assert list(gaps) == [5.0] * 6
    assert list(day["area_id"]) in ([1, 2, 3, 4, 5, 6, 7], [7, 6, 5, 4, 3, 2, 1])
    d = res.daily.iloc[0]
    assert d["visit_minutes"] == 280 and d["walk_minutes"] == 30 and d["slack_minutes"] == 50
    local = to_local(v["start"])
    assert (local.dt.hour >= 14).all() and (to_local(v["end"]).dt.hour <= 19 + 1).all()
    assert to_local(v["end"]).max().time() <= dt.time(20, 0)


def test_slack_is_spread_and_window_is_kept() -> None:
    res = make_plan(line_of_hotspots(7), PlanRequest("outreach", D0, D0))
    v = res.visits.sort_values("order")
    assert to_local(v["start"]).iloc[0].time() == dt.time(14, 0)
    assert to_local(v["end"]).iloc[-1].time() == dt.time(20, 0)  # 50 min slack spread out
    gaps = (v["start"].to_numpy()[1:] - v["end"].to_numpy()[:-1]) / np.timedelta64(1, "m")
    assert (gaps >= 5).all() and gaps.sum() == 80


def test_ten_hotspots_do_not_fit_and_the_message_says_why() -> None:
    with pytest.raises(InfeasiblePlanError) as err:
        make_plan(line_of_hotspots(10), PlanRequest("outreach", D0, D0))
    msg = str(err.value)
    # 10 x 40 = 400 min of visits + 9 x 5 = 45 min walking = 445 > 360
    assert "400 min of visits" in msg and "45 min walking" in msg
    assert "445 min needed" in msg and "360 min available" in msg


def test_walking_time_alone_can_make_a_plan_infeasible() -> None:
    # 8 x 40 = 320 min of visits fits 360; with 7 walks of 10 min (800 m) it does not
    hs = line_of_hotspots(8, spacing=800)
    with pytest.raises(InfeasiblePlanError, match="70 min walking"):
        make_plan(hs, PlanRequest("outreach", D0, D0))
    # the same places with a slower-free layout (close together) fit
    assert (
        len(make_plan(line_of_hotspots(8, spacing=80), PlanRequest("outreach", D0, D0)).visits) == 8
    )


def test_police_default_to_fifteen_minute_visits() -> None:
    res = make_plan(line_of_hotspots(3), PlanRequest("police", D0, D0))
    assert ((res.visits["end"] - res.visits["start"]) == pd.Timedelta(minutes=15)).all()
    assert res.params["visit_minutes"] == 15.0
    res = make_plan(line_of_hotspots(3), PlanRequest("police", D0, D0, visit_minutes=20))
    assert ((res.visits["end"] - res.visits["start"]) == pd.Timedelta(minutes=20)).all()


def test_dosage_caps_set_visits_per_hotspot_and_day() -> None:
    hs = line_of_hotspots(3)
    # at least two visits each: each hot spot twice a day
    res = make_plan(hs, PlanRequest("outreach", D0, D0, min_visits=2))
    assert set(res.visits.groupby("area_id").size()) == {2}
    # up to five 15-minute visits: as many rounds as fit (3 x 15 x r + walking <= 360)
    res = make_plan(hs, PlanRequest("police", D0, D0, min_visits=1, max_visits=5))
    assert set(res.visits.groupby("area_id").size()) == {5}
    # a 45-minute cap per hot spot and day allows only three 15-minute visits
    res = make_plan(hs, PlanRequest("police", D0, D0, max_visits=10, max_minutes=45))
    assert set(res.visits.groupby("area_id").size()) == {3}
    with pytest.raises(InputError, match="caps contradict"):
        make_plan(hs, PlanRequest("outreach", D0, D0, max_minutes=30))
    # a minimum below one visit, or below no minutes, is a typo, not one visit without a word
    with pytest.raises(InputError, match="minimum visits .* must be 1 or more, got 0"):
        make_plan(hs, PlanRequest("outreach", D0, D0, min_visits=0))
    with pytest.raises(InputError, match="minimum minutes .* must be 0 or more, got -1"):
        make_plan(hs, PlanRequest("outreach", D0, D0, min_minutes=-1))
    # the same place is never visited twice in a row
    v = res.visits.sort_values("start")
    assert (v["area_id"].to_numpy()[1:] != v["area_id"].to_numpy()[:-1]).all()


def test_random_order_is_reproducible_from_the_recorded_seed() -> None:
    hs = line_of_hotspots(7)
    req = PlanRequest("outreach", D0, D0 + dt.timedelta(days=6), order="random", seed=11)
    a = make_plan(hs, req)
    b = make_plan(
        hs, PlanRequest("outreach", D0, D0 + dt.timedelta(days=6), order="random", seed=11)
    )
    pd.testing.assert_frame_equal(a.visits, b.visits)
    assert a.seed == 11 and a.params["seed"] == 11
    c = make_plan(hs, PlanRequest("outreach", D0, D0 + dt.timedelta(days=6), order="random"))
    assert isinstance(c.seed, int) and c.params["seed"] == c.seed
    orders = {tuple(g.sort_values("order")["area_id"]) for _, g in a.visits.groupby("date")}
    assert len(orders) > 1  # unpredictable: not the same route every day


def test_local_window_is_kept_across_the_spring_clock_change() -> None:
    res = make_plan(
        line_of_hotspots(3), PlanRequest("outreach", dt.date(2024, 3, 30), dt.date(2024, 4, 1))
    )
    first = res.visits[res.visits["order"] == 1].set_index("date")["start"]
    assert first[dt.date(2024, 3, 30)] == pd.Timestamp("2024-03-30 14:00")  # GMT
    assert first[dt.date(2024, 3, 31)] == pd.Timestamp("2024-03-31 13:00")  # BST
    assert (res.daily["window_minutes"] == 360).all()


@pytest.mark.parametrize(
    ("night", "utc_start", "minutes"),
    [
        (dt.date(2024, 6, 14), "2024-06-14 21:00", 240),  # BST throughout
        (dt.date(2024, 10, 26), "2024-10-26 21:00", 300),  # clocks go back: 01:00 twice
        (dt.date(2024, 3, 30), "2024-03-30 22:00", 180),  # clocks go forward: no 01:xx
    ],
)
def test_overnight_window_is_measured_across_the_clock_changes(
    night: dt.date, utc_start: str, minutes: int
) -> None:
    req = PlanRequest(
        "police", night, night, window=(dt.time(22), dt.time(2)), visit_minutes=15, max_visits=3
    )
    res = make_plan(line_of_hotspots(3), req)
    assert res.daily["window_minutes"].tolist() == [minutes]
    v = res.visits
    lo = pd.Timestamp(utc_start)
    assert (v["date"] == night).all()
    assert v["start"].min() >= lo and v["end"].max() <= lo + pd.Timedelta(minutes=minutes)


def test_patrol_days_restrict_the_plan() -> None:
    hs = line_of_hotspots(4)
    a = randomise_days(hs["area_id"], D0, D0 + dt.timedelta(days=13), 0.5, seed=2)
    res = make_plan(hs, PlanRequest("outreach", D0, D0 + dt.timedelta(days=13)), patrol_days=a)
    planned = set(zip(res.visits["area_id"], res.visits["date"], strict=True))
    wanted = set(zip(a.loc[a["patrol"], "area_id"], a.loc[a["patrol"], "date"], strict=True))
    assert planned == wanted


def test_conflicts_hand_computed() -> None:
    t = pd.Timestamp("2024-06-03 13:00")
    a = pd.DataFrame(
        {"team": ["outreach"], "area_id": [1], "start": [t], "end": [t + pd.Timedelta("40min")]}
    )
    b = pd.DataFrame(
        {
            "team": ["police", "police", "police"],
            "area_id": [1, 1, 2],
            "start": [t + pd.Timedelta("50min"), t + pd.Timedelta("20min"), t],
            "end": [
                t + pd.Timedelta("65min"),
                t + pd.Timedelta("35min"),
                t + pd.Timedelta("15min"),
            ],
        }
    )
    c = conflicts(a, b, gap_minutes=30)
    assert sorted(c["gap_minutes"]) == [-15.0, 10.0]  # overlap of 15 min; 10 min apart
    assert len(conflicts(a, b, gap_minutes=5)) == 1
    assert len(conflicts(a, b, gap_minutes=0)) == 1


def test_police_plan_made_without_separation_does_conflict() -> None:
    hs = line_of_hotspots(7)
    out = make_plan(hs, PlanRequest("outreach", D0, D0))
    pol = make_plan(hs, PlanRequest("police", D0, D0))
    assert len(conflicts(pol.visits, out.visits, 30)) > 0  # same route, same start: together


@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(0, 2**31),
    n=st.integers(2, 7),
    spacing=st.floats(50, 500),
    gap=st.sampled_from([0.0, 15.0, 30.0]),
    order=st.sampled_from(["efficient", "random"]),
)
def test_never_together_in_generated_plans(
    seed: int, n: int, spacing: float, gap: float, order: str
) -> None:
    hs = line_of_hotspots(n, spacing=spacing)
    days = (D0, D0 + dt.timedelta(days=2))
    out = make_plan(hs, PlanRequest("outreach", *days, order="random", seed=seed))
    pol = make_plan(
        hs,
        PlanRequest("police", *days, order=order, seed=seed + 1, separation_minutes=gap),  # type: ignore[arg-type]
        avoid=out.visits,
    )
    assert len(pol.visits) == n * 3
    assert conflicts(pol.visits, out.visits, gap).empty
    assert (to_local(pol.visits["end"]).dt.time <= dt.time(20, 0)).all()


@pytest.mark.parametrize("gap", [float("nan"), -30.0, float("inf")])
def test_never_together_gap_must_be_a_real_non_negative_number(gap: float) -> None:
    # NaN compared False everywhere: the police plan ignored the outreach visits and the check
    # said "no conflicts"; a negative gap let the two teams overlap by that much
    hs = line_of_hotspots(3)
    out = make_plan(hs, PlanRequest("outreach", D0, D0, seed=1))
    with pytest.raises(InputError, match="minutes"):
        make_plan(
            hs, PlanRequest("police", D0, D0, seed=1, separation_minutes=gap), avoid=out.visits
        )
    with pytest.raises(InputError, match="minutes"):
        conflicts(out.visits, out.visits, gap)


@pytest.mark.parametrize("seed", [-1, 2**63])
def test_plan_seed_out_of_range_is_one_clear_error(seed: int) -> None:
    with pytest.raises(InputError, match="seed"):
        make_plan(line_of_hotspots(2), PlanRequest("outreach", D0, D0, seed=seed))


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("visit_minutes", float("nan"), "visit length"),
        ("visit_minutes", float("inf"), "visit length"),
        ("min_minutes", float("nan"), "minimum minutes"),
        ("max_minutes", float("nan"), "maximum minutes"),
        ("speed_m_per_min", float("nan"), "walking speed"),
    ],
)
def test_plan_numbers_must_be_finite(field: str, value: float, words: str) -> None:
    # NaN visit or dosage minutes crashed with "cannot convert float NaN to integer"; a NaN
    # speed was blamed on the street network, which was not even in use
    req = PlanRequest("outreach", D0, D0, seed=1)
    setattr(req, field, value)
    with pytest.raises(InputError, match=words):
        make_plan(line_of_hotspots(2), req)


def test_a_huge_visit_cap_does_not_try_every_round_count(monkeypatch: pytest.MonkeyPatch) -> None:
    # --max-visits 100000 tried to fit 100000, 99999, ... rounds of a 7-stop route, each a
    # longer sequence: plan make ran for hours; only counts whose visits fit the window are tried
    import patrolwise.plan.schedule as sched

    calls = {"n": 0}
    real = sched._fits

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        assert calls["n"] < 2000, "tried far more round counts than the window can hold"
        return real(*args, **kwargs)

    monkeypatch.setattr(sched, "_fits", counting)
    req = PlanRequest("police", D0, D0, visit_minutes=5, max_visits=100_000, seed=1)
    res = make_plan(line_of_hotspots(7), req)
    assert list(res.daily["rounds"]) == [4]  # 4 rounds of 7 x 5 min plus walking fit in 6 h


def test_patrol_days_must_cover_the_plan() -> None:
    # plan make --assignment S for days (or hot spots) the assignment never drew stored an
    # empty or partial plan, as though every missing hot spot-day had been drawn 'no patrol'
    hs = line_of_hotspots(3)
    a = randomise_days([1, 2, 3], D0, D0 + dt.timedelta(days=6), 0.5, seed=2)
    later = PlanRequest("outreach", D0 + dt.timedelta(days=7), D0 + dt.timedelta(days=13))
    with pytest.raises(InputError, match="not drawn"):
        make_plan(hs, later, patrol_days=a)
    overlap = PlanRequest("outreach", D0 + dt.timedelta(days=5), D0 + dt.timedelta(days=8))
    with pytest.raises(InputError, match="not drawn"):
        make_plan(hs, overlap, patrol_days=a)
    with pytest.raises(InputError, match="not drawn"):
        make_plan(line_of_hotspots(4), PlanRequest("outreach", D0, D0), patrol_days=a)
    # a plan for part of the drawn period, or some of its hot spots, is fine
    part = make_plan(
        hs.iloc[:2], PlanRequest("outreach", D0, D0 + dt.timedelta(days=2)), patrol_days=a
    )
    assert set(part.visits["area_id"]) <= {1, 2}


def test_a_hot_spot_is_planned_only_on_its_active_days() -> None:
    # a hot spot retired mid-plan (or starting mid-plan) was scheduled on every day of the plan:
    # the CLI loads every hot spot active at some point in the period, with its active dates
    hs = line_of_hotspots(3)
    hs["active_from"] = [None, D0 + dt.timedelta(days=2), None]
    hs["active_to"] = [None, None, D0 + dt.timedelta(days=1)]
    res = make_plan(hs, PlanRequest("outreach", D0, D0 + dt.timedelta(days=3)))
    days = res.visits.groupby("area_id")["date"].apply(set).to_dict()
    span = [D0 + dt.timedelta(days=i) for i in range(4)]
    assert days == {1: set(span), 2: set(span[2:]), 3: set(span[:2])}
    # randomised patrol days need not cover a hot spot's days outside its active period
    a = randomise_days([1, 2, 3], D0, D0 + dt.timedelta(days=3), 0.5, seed=4)
    a = a[~((a["area_id"] == 3) & (a["date"] > D0 + dt.timedelta(days=1)))]
    drawn = make_plan(hs, PlanRequest("outreach", D0, D0 + dt.timedelta(days=3)), patrol_days=a)
    late = drawn.visits[drawn.visits["area_id"] == 3]
    assert (late["date"] <= D0 + dt.timedelta(days=1)).all()


def test_tiny_visits_do_not_try_more_rounds_than_the_walking_allows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # --visit 0.001 --max-visits 1000000: the round counts tried were bounded by the visits
    # alone (51,428 rounds of 7 stops in 6 h), each a sequence of up to 360,000 stops, though the
    # 30 min walk through every round allows at most 12; plan make ran for hours
    import patrolwise.plan.schedule as sched

    real = sched._fits
    longest = {"n": 0}

    def counting(cols, *args, **kwargs):  # type: ignore[no-untyped-def]
        n = len(cols)  # candidate sequences are tested in batches, one per column
        longest["n"] = max(longest["n"], n)
        assert n <= 7 * 12, f"tried {n} stops: more rounds than the walking allows"
        return real(cols, *args, **kwargs)

    monkeypatch.setattr(sched, "_fits", counting)
    hs = line_of_hotspots(7)  # 5 min between neighbours: 30 min along the line
    req = PlanRequest("police", D0, D0, visit_minutes=0.001, max_visits=1_000_000, seed=1)
    res = make_plan(hs, req)
    # end to end and back to the start each round: 30 + 5 x 60 min of walking fit in 6 h
    assert list(res.daily["rounds"]) == [6] and longest["n"] <= 7 * 12


#: plans made before candidate orders were tested in batches (fingerprints of their visits and
#: daily rounds): batching must find the same order, rounds and times for the same seed
SAME_PLANS = [
    (
        "police, two rounds tried",
        7,
        {"team": "outreach", "seed": 1},
        {"team": "police", "visit_minutes": 20, "max_visits": 2, "seed": 2},
        "7c03d7d4dd3d5540",
    ),
    (
        "police, a wide gap",
        7,
        {"team": "outreach", "seed": 1},
        {"team": "police", "visit_minutes": 30, "separation_minutes": 60, "seed": 2},
        "5807702347656bb5",
    ),
    (
        "outreach after police",
        7,
        {"team": "police", "visit_minutes": 20, "max_visits": 2, "seed": 1},
        {"team": "outreach", "visit_minutes": 30, "seed": 2},
        "762b55ee75c5b95c",
    ),
    (
        "random orders",
        7,
        {"team": "outreach", "order": "random", "seed": 1},
        {"team": "police", "order": "random", "visit_minutes": 20, "max_visits": 2, "seed": 3},
        "fc87dda542a0c86e",
    ),
    (
        "nine hot spots",
        9,
        {"team": "outreach", "visit_minutes": 25, "seed": 1},
        {"team": "police", "visit_minutes": 20, "max_visits": 2, "seed": 5},
        "fb60fcda220ff39b",
    ),
    (
        "overnight",
        7,
        {"team": "outreach", "visit_minutes": 20, "window": (dt.time(22), dt.time(2)), "seed": 1},
        {
            "team": "police",
            "visit_minutes": 10,
            "max_visits": 2,
            "window": (dt.time(22), dt.time(2)),
            "seed": 6,
        },
        "b6a92d6f21507ca4",
    ),
    (
        "random, nothing to avoid",
        7,
        None,
        {"team": "outreach", "order": "random", "visit_minutes": 15, "max_visits": 3, "seed": 4},
        "f69e311cacd3f068",
    ),
]


def _fingerprint(res: PlanResult) -> str:
    v, d = res.visits, res.daily
    rows = [
        f"{a} {day} {s:%Y-%m-%dT%H:%M:%S} {e:%H:%M:%S} {o}"
        for a, day, s, e, o in zip(
            v["area_id"], v["date"], v["start"], v["end"], v["order"], strict=True
        )
    ]
    rows += [
        f"{day} {r} {w:g}"
        for day, r, w in zip(d["date"], d["rounds"], d["walk_minutes"], strict=True)
    ]
    return hashlib.sha256("\n".join(rows).encode()).hexdigest()[:16]


@pytest.mark.parametrize(("what", "n", "first", "second", "expected"), SAME_PLANS)
def test_batched_search_makes_the_same_plan_for_a_seed(
    what: str, n: int, first: dict[str, Any] | None, second: dict[str, Any], expected: str
) -> None:
    # two weeks across the spring clock change, each plan as it was before the speed-up
    days = (dt.date(2025, 3, 24), dt.date(2025, 4, 6))
    hs = line_of_hotspots(n)
    req = PlanRequest(start_date=days[0], end_date=days[1], **second)
    avoid = None
    if first is not None:
        avoid = make_plan(hs, PlanRequest(start_date=days[0], end_date=days[1], **first)).visits
    res = make_plan(hs, req, avoid=avoid)
    assert _fingerprint(res) == expected, what


def test_a_day_tests_its_orders_in_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    # plan make --after over a year took 41 s: a police plan beside outreach with --max-visits 2
    # tried all 5,041 orders of 7 hot spots for two rounds every day, each in its own Python
    # loop, before one round fitted; the orders are now tested a batch at a time
    import patrolwise.plan.schedule as sched

    calls = {"n": 0}
    real = sched._fit_day

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(sched, "_fit_day", counting)
    hs = line_of_hotspots(7)
    week = (D0, D0 + dt.timedelta(days=6))
    out = make_plan(hs, PlanRequest("outreach", *week, seed=1))
    calls["n"] = 0
    req = PlanRequest("police", *week, visit_minutes=20, max_visits=2, seed=2)
    pol = make_plan(hs, req, avoid=out.visits)
    assert set(pol.daily["rounds"]) == {1}  # two rounds never fit beside the outreach visits
    assert conflicts(pol.visits, out.visits, 30).empty
    assert calls["n"] == 7, f"{calls['n']} one-at-a-time fits for 7 days"

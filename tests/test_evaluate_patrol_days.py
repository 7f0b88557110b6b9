"""Patrol-day panel and models: hand-checked panel, statsmodels agreement, planted effects, bad input."""

from __future__ import annotations

import datetime as dt
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
import statsmodels.formula.api as smf
from statsmodels.genmod.families import Poisson

from patrolwise.errors import InputError
from patrolwise.evaluate.patrol_days import (
    _qp_estimate,
    _usable,
    build_panel,
    patrol_day_effects,
    randomisation_p,
)
from patrolwise.plan.randomise import randomise_days
from patrolwise.synth.crimes import make_assignment, simulate_hotspot_days
from patrolwise.timeutil import to_utc_naive

N_HS = 5


def hotspots(n: int = N_HS) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"area_id": np.arange(1, n + 1), "name": [f"hs{i}" for i in range(1, n + 1)]},
        geometry=[shapely.box(1000 * i, 0, 1000 * i + 60, 60) for i in range(1, n + 1)],
        crs="EPSG:27700",
    )


def crimes_from_counts(
    area: np.ndarray, day: np.ndarray, counts: np.ndarray, harm: np.ndarray | None = None
) -> pd.DataFrame:
    """Rows at each hot spot's centre at 15:30 local time (inside the 14-20 window)."""
    rep = np.repeat(np.arange(len(counts)), counts.astype(int))
    local = pd.to_datetime(day[rep]) + pd.Timedelta(hours=15, minutes=30)
    df = pd.DataFrame(
        {
            "occurred_at": to_utc_naive(pd.Series(local)).to_numpy(),
            "x": 1000.0 * area[rep] + 30,
            "y": 30.0,
            "month": pd.to_datetime(day[rep]).strftime("%Y-%m"),
            "category": "Violence and sexual offences",
            "harm": 1.0
            if harm is None
            else np.repeat(harm / np.maximum(counts, 1), counts.astype(int)),
        }
    )
    return df


def simulated(
    effect: float, seed: int, rate: float = 0.6, n_days: int = 280, dispersion: float = 0.3
):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    days = pd.date_range("2023-02-06", periods=n_days, freq="D")
    ids = np.arange(1, N_HS + 1)
    asg = make_assignment(rng, ids, days)
    p = simulate_hotspot_days(
        rng, np.full(N_HS, rate), days, asg, effect, dispersion, area_ids=ids
    ).to_frame()
    crimes = crimes_from_counts(
        p["area_id"].to_numpy(), p["date"].to_numpy(), p["crimes"].to_numpy(), p["harm"].to_numpy()
    )
    return crimes, asg, days


def test_panel_counts_window_and_dst_by_hand() -> None:
    hs = hotspots(2)
    crimes = pd.DataFrame(
        {
            # 13:30 UTC is 14:30 BST on 1 July (inside 14-20) but 13:30 GMT on 10 Jan (outside)
            "occurred_at": pd.to_datetime(
                ["2023-07-01 13:30", "2023-01-10 13:30", "2023-07-01 18:59", "2023-07-01 19:30"]
            ),
            "x": [1030.0, 1030.0, 2030.0, 2030.0],
            "y": [30.0, 30.0, 30.0, 30.0],
            "harm": [5.0, 7.0, 11.0, 13.0],
        }
    )
    dosage = pd.DataFrame(
        {
            "local_day": [dt.date(2023, 7, 1)] * 3,
            "area_id": [1, 1, 2],
            "team": ["outreach", "police", "outreach"],
            "patrol_minutes": [40.0, 15.0, 5.0],
        }
    )
    p = build_panel(
        crimes, hs, dt.date(2023, 1, 1), dt.date(2023, 7, 31), dosage=dosage, threshold=10
    )
    assert len(p) == 2 * 212
    day = p[p["date"] == pd.Timestamp("2023-07-01")].set_index("area_id")
    # area 2: 18:59 UTC = 19:59 BST inside; 19:30 UTC = 20:30 BST outside
    assert day.loc[1, "crimes"] == 1 and day.loc[1, "harm"] == 5.0
    assert day.loc[2, "crimes"] == 1 and day.loc[2, "harm"] == 11.0
    assert p["crimes"].sum() == 2  # the January 13:30 GMT crime is outside the window
    assert day.loc[1, "delivered"] == 1 and day.loc[2, "delivered"] == 0  # 5 minutes < 10
    assert day.loc[1, "police_minutes"] == 15.0
    whole = build_panel(crimes, hs, dt.date(2023, 1, 1), dt.date(2023, 7, 31), window=None)
    assert whole["crimes"].sum() == 4


def test_primary_estimate_agrees_with_statsmodels_on_the_same_panel() -> None:
    crimes, asg, days = simulated(0.3, seed=5)
    panel = build_panel(crimes, hotspots(), days[0].date(), days[-1].date(), assignment=asg)
    res = patrol_day_effects(panel, n_perm=0, secondary=False)
    e = res.primary()
    df = panel.assign(weekday=pd.to_datetime(panel["date"]).dt.day_of_week)
    d = pd.to_datetime(df["date"])
    df["trend"] = (d - d.min()).dt.days / (d.max() - d.min()).days
    ref = smf.glm(
        "crimes ~ assigned + trend + C(area_id) + C(weekday)", data=df, family=Poisson()
    ).fit(scale="X2")
    assert np.log(e.ratio) == pytest.approx(ref.params["assigned"], rel=1e-6)
    lo, hi = np.exp(ref.conf_int().loc["assigned"])
    assert e.lo == pytest.approx(lo, rel=1e-6) and e.hi == pytest.approx(hi, rel=1e-6)
    assert e.p == pytest.approx(ref.pvalues["assigned"], rel=1e-5)


def test_planted_effect_recovered_with_secondary_models_and_randomisation_p() -> None:
    crimes, asg, days = simulated(0.5, seed=11, rate=1.0)
    panel = build_panel(crimes, hotspots(), days[0].date(), days[-1].date(), assignment=asg)
    res = patrol_day_effects(panel, n_perm=99, seed=1)
    e = res.primary()
    assert e.lo <= 0.5 <= e.hi and e.hi < 1
    assert e.extra["randomisation_p"] == pytest.approx(1 / 100)  # nothing as extreme in 99 re-draws
    names = [x.name for x in res.estimates]
    assert any("cluster-robust" in n for n in names) and any(
        "negative binomial" in n for n in names
    )
    nb = next(x for x in res.estimates if "negative binomial" in x.name)
    assert nb.lo <= 0.5 <= nb.hi
    cl = next(x for x in res.estimates if "cluster-robust" in x.name)
    assert "clusters" in cl.notes[0]
    harm = next(x for x in res.estimates if x.outcome == "harm")
    assert harm.hi < 1


def test_no_effect_randomisation_p_is_not_small() -> None:
    crimes, asg, days = simulated(0.0, seed=3)
    panel = build_panel(crimes, hotspots(), days[0].date(), days[-1].date(), assignment=asg)
    assert panel.attrs["randomisation_unit"] == "hotspot-day"  # no unit column: the default
    e = patrol_day_effects(panel, n_perm=199, seed=2, secondary=False).primary()
    assert e.extra["randomisation_unit"] == "hotspot-day"
    assert e.extra["randomisation_p"] > 0.05  # seeded: deterministic
    # p-values agree roughly when the model is right
    assert abs(e.extra["randomisation_p"] - e.p) < 0.15


def _day_unit_null(seed: int) -> tuple[pd.DataFrame, pd.DatetimeIndex]:
    """No patrol effect, assignment drawn per day (plan randomise unit='day'), and a strong
    city-wide day shock shared by every hot spot: hot spot-days on one day are not independent."""
    rng = np.random.default_rng(seed)
    days = pd.date_range("2023-02-06", periods=140, freq="D")
    ids = np.arange(1, N_HS + 1)
    asg = randomise_days(ids, days[0].date(), days[-1].date(), 0.5, seed=seed, unit="day")
    base = np.outer(np.full(N_HS, 0.6), np.exp(rng.normal(0.0, 1.0, len(days))))
    p = simulate_hotspot_days(
        rng, base, days, asg, 0.0, 0.0, area_ids=ids, seasonal=False
    ).to_frame()
    crimes = crimes_from_counts(
        p["area_id"].to_numpy(), p["date"].to_numpy(), p["crimes"].to_numpy(), p["harm"].to_numpy()
    )
    return build_panel(crimes, hotspots(), days[0].date(), days[-1].date(), assignment=asg), days


def test_day_unit_assignment_redraws_whole_days() -> None:
    panel, _ = _day_unit_null(9)
    assert panel.attrs["randomisation_unit"] == "day"  # read from the assignment's unit column
    res = patrol_day_effects(panel, n_perm=199, seed=2, secondary=False)
    e = res.primary()
    assert e.extra["randomisation_unit"] == "day"
    assert any("per day for all hot spots" in n for n in res.notes)
    # shared day shocks make the model-based p (and a hot spot-day re-draw) far too small under
    # the null; re-drawing whole days within weekdays, as the assignment was drawn, does not
    assert e.p < 0.05
    assert e.extra["randomisation_p"] > 0.05
    p, _ = _usable(panel, "assigned", "crimes")
    _, y, x = _qp_estimate(p, "assigned", "crimes", (), "ITT", "qp")
    hs_day_blocks = (
        p["area_id"].to_numpy() * 7 + pd.to_datetime(p["date"]).dt.day_of_week.to_numpy()
    ).astype(float)
    wrong = randomisation_p(
        y, x, hs_day_blocks, e.extra["z"], n_perm=199, rng=np.random.default_rng(2)
    )
    assert wrong < 0.05  # what the old hot spot-day re-draw said


def test_day_unit_refused_when_hot_spots_differ_on_a_day() -> None:
    crimes, asg, days = simulated(0.0, seed=4)  # drawn per hot spot-day
    with pytest.raises(InputError, match="hot spots differ on"):
        build_panel(crimes, hotspots(), days[0].date(), days[-1].date(), assignment=asg, unit="day")
    with pytest.raises(InputError, match="randomisation unit 'week'"):
        build_panel(
            crimes,
            hotspots(),
            days[0].date(),
            days[-1].date(),
            assignment=asg.assign(unit="week"),
        )


def test_itt_primary_does_not_adjust_for_police_hours() -> None:
    """Police go where outreach does not (a result of the assignment) and police presence halves
    crime. Outreach's direct effect is 0.7, but assignment's total effect is
    0.7 * E[0.5^P | A=1] / E[0.5^P | A=0] = 0.7 * 0.95 / 0.70 = 0.95: what ITT must estimate.
    Adjusting for police hours (a post-treatment variable) would report about 0.7 instead."""
    rng = np.random.default_rng(21)
    days = pd.date_range("2023-02-06", periods=280, freq="D")
    ids = np.arange(1, N_HS + 1)
    asg = make_assignment(rng, ids, days)
    a = asg["patrol"].to_numpy()
    police = rng.random(len(a)) < np.where(a, 0.1, 0.6)
    base = (1.5 * 0.5 ** police.astype(float)).reshape(N_HS, len(days))
    sim = simulate_hotspot_days(
        rng, base, days, asg, 0.3, 0.0, area_ids=ids, seasonal=False
    ).to_frame()
    crimes = crimes_from_counts(
        sim["area_id"].to_numpy(),
        sim["date"].to_numpy(),
        sim["crimes"].to_numpy(),
        sim["harm"].to_numpy(),
    )
    dosage = pd.concat(
        [
            asg[a].assign(team="outreach", patrol_minutes=30.0),
            asg[police].assign(team="police", patrol_minutes=120.0),
        ]
    ).rename(columns={"date": "local_day"})
    panel = build_panel(
        crimes,
        hotspots(),
        days[0].date(),
        days[-1].date(),
        dosage=dosage,
        assignment=asg,
        tracked_days=days.date,
    )
    res = patrol_day_effects(panel, n_perm=0)
    itt = res.primary()
    assert "intention to treat" in itt.name and "police_hours" not in itt.extra["terms"]
    assert "police hours" not in itt.method
    assert itt.lo <= 0.95 <= itt.hi and itt.lo > 0.8
    adj = next(e for e in res.estimates if "adjusted for police hours (secondary)" in e.name)
    assert "police_hours" in adj.extra["terms"]
    # the adjusted model finds the direct effect (0.7) and misses the true ITT effect (0.95)
    assert adj.lo <= 0.7 <= adj.hi < 0.95
    assert any("secondary only" in n for n in adj.notes)
    harm_itt = next(
        e for e in res.estimates if e.outcome == "harm" and "intention to treat" in e.name
    )
    assert "police_hours" not in harm_itt.extra["terms"]
    delivered = next(e for e in res.estimates if "as delivered" in e.name and e.outcome == "crimes")
    assert "police_hours" in delivered.extra["terms"]  # observational contrast keeps it


def dose_panel() -> pd.DataFrame:
    """A simulated panel (a 40% effect) whose patrol days alternate 15 and 45 outreach minutes."""
    crimes, asg, days = simulated(0.4, seed=8, rate=1.0)
    a = asg[asg["patrol"]].copy()
    a["team"] = "outreach"
    a["patrol_minutes"] = np.where(np.arange(len(a)) % 2 == 0, 15.0, 45.0)
    a = a.rename(columns={"date": "local_day"})
    return build_panel(crimes, hotspots(), days[0].date(), days[-1].date(), dosage=a, threshold=10)


def test_dose_response_bands() -> None:
    panel = dose_panel()
    res = patrol_day_effects(panel, n_perm=0, secondary=False)
    assert res.dose is not None
    assert list(res.dose["band"]) == ["0 min", "1-19 min", "40+ min"]  # no 20-39 minute days
    assert res.dose["days"].sum() == len(panel)
    hi_band = res.dose.set_index("band").loc["40+ min"]
    assert hi_band["lo"] <= 0.6 <= hi_band["hi"]


def test_a_dose_band_with_no_crimes_has_no_upper_bound_not_an_overflow() -> None:
    # found in the demo: a band whose days saw no crime overflowed exp() into an infinite bound
    panel = dose_panel()
    short = panel["outreach_minutes"].between(1, 19)
    panel.loc[short, "crimes"] = 0  # the 15-minute days: no crime at all
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow would raise here
        res = patrol_day_effects(panel, n_perm=0, secondary=False)
    band = res.dose.set_index("band").loc["1-19 min"]
    assert band["crimes"] == 0 and band["irr"] == 0.0 and band["lo"] == 0.0
    assert np.isnan(band["hi"])
    other = res.dose.set_index("band").loc["40+ min"]
    assert np.isfinite([other["irr"], other["lo"], other["hi"]]).all()


def test_all_days_treated_is_refused() -> None:
    crimes, asg, days = simulated(0.0, seed=4)
    asg = asg.assign(patrol=True)
    panel = build_panel(crimes, hotspots(), days[0].date(), days[-1].date(), assignment=asg)
    with pytest.raises(InputError, match="every hot spot-day was patrolled"):
        patrol_day_effects(panel, n_perm=0)


def test_hot_spot_with_no_patrol_days_is_left_out_and_said() -> None:
    crimes, asg, days = simulated(0.3, seed=6)
    asg.loc[asg["area_id"] == 2, "patrol"] = False
    panel = build_panel(crimes, hotspots(), days[0].date(), days[-1].date(), assignment=asg)
    res = patrol_day_effects(panel, n_perm=0, secondary=False)
    assert any("hs2 had no patrol days" in n for n in res.notes)
    assert res.primary().counts["hotspots"] == N_HS - 1


def test_cost_per_crime_prevented_leaves_out_the_hot_spots_the_estimate_left_out() -> None:
    """hs2 had no patrol days, so the estimate left it out, but 'evaluate cost --effects' costed
    its visits against the other hot spots' crimes prevented. The estimate now lists its hot
    spots and those left out (with why), and the cost covers the same hot spots."""
    from patrolwise.evaluate.cost import Rate, per_prevented_from_effects

    crimes, asg, days = simulated(0.3, seed=6)
    asg.loc[asg["area_id"] == 2, "patrol"] = False
    panel = build_panel(crimes, hotspots(), days[0].date(), days[-1].date(), assignment=asg)
    effects = patrol_day_effects(panel, n_perm=0, secondary=False).to_dict()
    extra = effects["estimates"][0]["extra"]
    assert extra["hotspots"] == [1, 3, 4, 5]
    assert extra["hotspots_left_out"] == [{"area_id": 2, "name": "hs2", "reason": "no patrol days"}]
    # one 30-minute visit to each hot spot on the first and the last day, at £2 a minute
    visits = pd.DataFrame(
        {
            "team": "outreach",
            "area_id": np.tile(np.arange(1, N_HS + 1), 2),
            "local_day": np.repeat([days[0].date(), days[-1].date()], N_HS),
            "minutes": 30.0,
        }
    )
    rate = [Rate("outreach", "minute", 2.0, days[0].date())]
    crimes_res, _harm_res = per_prevented_from_effects(effects, visits, rate, "outreach")
    assert crimes_res["cost"] == pytest.approx(2 * 4 * 30 * 2.0)  # not 2 * 5 visits
    on = panel[panel["assigned"].eq(1) & panel["area_id"].ne(2)]
    assert crimes_res["observed_on_patrol_days"] == pytest.approx(float(on["crimes"].sum()))
    assert [h["area_id"] for h in crimes_res["hotspots_left_out"]] == [2]
    assert crimes_res["hotspots_left_out"][0]["cost"] == pytest.approx(2 * 30 * 2.0)


def test_no_treatment_at_all_and_month_precision_are_refused() -> None:
    crimes, asg, days = simulated(0.0, seed=4)
    panel = build_panel(crimes, hotspots(), days[0].date(), days[-1].date())
    with pytest.raises(InputError, match="no treatment"):
        patrol_day_effects(panel)
    monthly = crimes.assign(occurred_at=pd.NaT)
    with pytest.raises(InputError, match="known only to the month") as refused:
        build_panel(monthly, hotspots(), days[0].date(), days[-1].date())
    # the way out it names is a real command (there is no 'patrolwise import incidents')
    assert "patrolwise import crimes --format incidents" in str(refused.value)


def test_overnight_window_counts_a_night_on_its_evening_by_hand() -> None:
    """Window 22:00-02:00 local. Night of 28 Oct 2023 (clocks go back at 02:00 BST on the
    29th): 21:30 UTC (22:30 BST) and 00:30 UTC (01:30 BST, the first 01:30) and 01:30 UTC
    (01:30 GMT, the second) all belong to the evening of the 28th; 02:10 UTC (02:10 GMT)
    and 20:30 UTC on the 28th (21:30 BST) are outside. 23:30 UTC on 31 Oct (23:30 GMT) is the
    31st's night, the last day of the panel."""
    hs = hotspots(1)
    t = ["2023-10-28 21:30", "2023-10-29 00:30", "2023-10-29 01:30", "2023-10-29 02:10"]
    t += ["2023-10-28 20:30", "2023-10-31 23:30", "2023-11-01 00:45"]
    crimes = pd.DataFrame(
        {"occurred_at": pd.to_datetime(t), "x": 1030.0, "y": 30.0, "harm": np.arange(1.0, 8.0)}
    )
    p = build_panel(
        crimes, hs, dt.date(2023, 10, 27), dt.date(2023, 10, 31), window="22:00-02:00"
    ).set_index("date")
    assert p.loc["2023-10-28", "crimes"] == 3 and p.loc["2023-10-28", "harm"] == 1 + 2 + 3
    # 00:45 GMT on 1 Nov is the 31st's night too
    assert p.loc["2023-10-31", "crimes"] == 2 and p.loc["2023-10-31", "harm"] == 6 + 7
    assert p["crimes"].sum() == 5


def test_overnight_visits_join_the_evening_they_continue() -> None:
    """A patrol from 23:20 to 00:40 BST is stored as two local days; for a 22:00-02:00
    window both parts are the night that began on the 14th, and so are its 80 minutes."""
    from patrolwise.evaluate.patrol_days import visits_by_window_day
    from patrolwise.track.dosage import daily_dosage

    visits = pd.DataFrame(
        {
            "device_id": "OUT-1",
            "team": "outreach",
            "area_id": 1,
            "start": pd.to_datetime(["2024-06-14 22:20", "2024-06-14 23:00"]),
            "end": pd.to_datetime(["2024-06-14 23:00", "2024-06-14 23:40"]),
            "minutes": [40.0, 40.0],
            "n_pings": 80,
            "local_day": [dt.date(2024, 6, 14), dt.date(2024, 6, 15)],
            "visit_id": 7,
        }
    )
    night = visits_by_window_day(visits, "22:00-02:00", "Europe/London")
    assert night["local_day"].tolist() == [dt.date(2024, 6, 14)] * 2
    panel = daily_dosage(night)
    assert panel["patrol_minutes"].tolist() == [80.0] and panel["visits"].tolist() == [1]
    # a day window leaves the local days as they are
    same = visits_by_window_day(visits, "14:00-20:00", "Europe/London")
    pd.testing.assert_frame_equal(same, visits)


def test_date_only_crimes_fill_whole_days_and_are_said_when_a_window_is_set() -> None:
    """A crime known only to its date (the window of that local day) is counted on its day when
    the panel covers whole days, and cannot be placed in a 14:00-20:00 window: it is then left
    out and the analysis says how many."""
    hs = hotspots(2)
    day = pd.Timestamp("2023-07-01")
    lo = day.tz_localize("Europe/London").tz_convert(None)
    hi = (day + pd.Timedelta(days=1)).tz_localize("Europe/London").tz_convert(None)
    crimes = pd.DataFrame(
        {
            "occurred_at": [pd.Timestamp("2023-07-01 13:30"), pd.NaT, pd.NaT],
            "occurred_from": [pd.NaT, lo, pd.Timestamp("2023-06-30 20:00")],
            "occurred_to": [pd.NaT, hi, pd.Timestamp("2023-07-02 08:00")],  # 3rd: two nights
            "x": [1030.0, 1030.0, 1030.0],
            "y": [30.0, 30.0, 30.0],
            "harm": [1.0, 2.0, 4.0],
        }
    )
    start, end = dt.date(2023, 6, 29), dt.date(2023, 7, 3)
    whole = build_panel(crimes, hs, start, end, window=None).set_index(["area_id", "date"])
    assert whole.loc[(1, day), "crimes"] == 2 and whole.loc[(1, day), "harm"] == 3.0
    assert whole["crimes"].sum() == 2 and whole.attrs["crimes_unplaced"] == 1
    windowed = build_panel(crimes, hs, start, end).set_index(["area_id", "date"])
    assert windowed["crimes"].sum() == 1 and windowed.attrs["crimes_unplaced"] == 2


def test_dose_response_leaves_untracked_days_out_of_the_zero_band() -> None:
    """Found in the demo: 2,107 hot spot-days without GPS tracking sat in the '0 min' band of the
    dose-response (2,211 days), as if they were days without patrol. Untracked is not unpatrolled:
    the as-delivered contrast leaves them out, and so must the dose-response."""
    crimes, asg, days = simulated(0.4, seed=8, rate=1.0)
    a = asg[asg["patrol"]].copy()
    a["team"] = "outreach"
    a["patrol_minutes"] = np.where(np.arange(len(a)) % 2 == 0, 15.0, 45.0)
    a = a.rename(columns={"date": "local_day"})
    tracked = days[: len(days) // 2]
    panel = build_panel(
        crimes,
        hotspots(),
        days[0].date(),
        days[-1].date(),
        dosage=a,
        threshold=10,
        tracked_days=tracked,
    )
    n_tracked = int(panel["delivered"].notna().sum())
    assert 0 < n_tracked < len(panel)
    res = patrol_day_effects(panel, n_perm=0, secondary=False)
    assert res.dose is not None
    assert res.dose["days"].sum() == n_tracked
    zero = res.dose.set_index("band").loc["0 min"]
    on_tracked = panel["delivered"].notna() & (panel["outreach_minutes"] < 1)
    assert zero["days"] == int(on_tracked.sum())
    assert zero["crimes"] == int(panel.loc[on_tracked, "crimes"].sum())


def test_no_crime_on_any_patrol_day_is_said_not_reported_as_an_effect() -> None:
    """A short trial with no crime on any patrol day: the model's coefficient runs off to -inf, its
    Wald interval is 0 to infinity and p near 1, so the report said '100% fewer crimes ... cannot
    show an effect either way' (randomisation p = 1.0), while the cluster-robust model called the
    same data a significant 100% reduction (interval -100% to -100%) and the negative binomial
    gave NaN bounds. None of these numbers means anything: the estimate is refused, saying why."""
    crimes, asg, days = simulated(0.3, seed=5, rate=0.2, n_days=28)
    panel = build_panel(crimes, hotspots(), days[0].date(), days[-1].date(), assignment=asg)
    panel.loc[panel["assigned"] == 1, ["crimes", "harm"]] = 0
    assert panel["crimes"].sum() > 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(InputError, match="no crimes on any patrol day"):
            patrol_day_effects(panel, n_perm=50)
    # harm alone separated (crimes without harm values on patrol days): crimes still estimated
    panel2 = build_panel(crimes, hotspots(), days[0].date(), days[-1].date(), assignment=asg)
    panel2.loc[panel2["assigned"] == 1, "harm"] = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = patrol_day_effects(panel2, n_perm=0)
    assert all(e.outcome == "crimes" for e in res.estimates)
    prim = res.primary()
    assert np.isfinite([prim.ratio, prim.lo, prim.hi]).all() and prim.lo < prim.ratio < prim.hi
    assert any("no harm on any patrol day" in n for n in res.notes)


def test_negative_binomial_without_standard_errors_is_a_note_not_nan_bounds() -> None:
    """Sparse counts with no overdispersion put the NB alpha on its boundary (0): statsmodels then
    gives NaN standard errors, and the report showed 'interval unbounded to unbounded, p = nan'.
    Every reported estimate has finite bounds and p; the failed model is a note."""
    crimes, asg, days = simulated(0.3, seed=5, rate=0.2, n_days=28)
    panel = build_panel(crimes, hotspots(), days[0].date(), days[-1].date(), assignment=asg)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = patrol_day_effects(panel, n_perm=0)
    for e in res.estimates:
        assert np.isfinite([e.ratio, e.lo, e.hi, e.p]).all(), e.name
        assert "nan" not in e.to_dict()["statement"]
    assert any("negative binomial" in n for n in res.notes)


def test_negative_binomial_that_did_not_converge_is_a_note_not_an_estimate() -> None:
    """Four weeks of sparse counts (0.05 crimes per hot spot-day, no overdispersion to speak of):
    the negative binomial's maximum likelihood did not converge (alpha creeping towards 0;
    statsmodels warns 'failed to converge' and says so in mle_retvals), yet its standard error
    was finite and the estimate was reported beside the primary. As the quasi-Poisson primary
    refuses a fit that did not converge, the negative binomial is now a note saying so."""
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    crimes, asg, days = simulated(0.3, seed=2, rate=0.05, n_days=28)
    panel = build_panel(crimes, hotspots(), days[0].date(), days[-1].date(), assignment=asg)
    # the fits as patrol_day_effects makes them do not converge, though the SE is finite
    p, _ = _usable(panel, "assigned", "crimes")
    _, y, x = _qp_estimate(p, "assigned", "crimes", (), "ITT", "qp")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        nb = sm.NegativeBinomial(y, x).fit(disp=0, maxiter=300, method="bfgs")
        nb = sm.NegativeBinomial(y, x).fit(start_params=nb.params, disp=0, maxiter=100)
    assert not nb.mle_retvals["converged"]
    assert any(issubclass(w.category, ConvergenceWarning) for w in caught)
    assert np.isfinite(nb.bse[1]) and nb.bse[1] > 0  # the old check let it through

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = patrol_day_effects(panel, n_perm=0)
    assert not any("negative binomial" in e.name for e in res.estimates)
    note = next(n for n in res.notes if "negative binomial" in n)
    assert "did not converge" in note
    assert not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    prim = res.primary()
    assert "intention to treat" in prim.name and np.isfinite([prim.lo, prim.hi]).all()


def test_an_as_delivered_contrast_that_cannot_be_made_does_not_sink_the_randomised_one() -> None:
    """The dosage names another team than --team (or the threshold makes every tracked day
    patrolled): the as-delivered contrast has nothing to compare, and its InputError, raised
    before the per-contrast guard, aborted the whole analysis, the intention-to-treat estimate
    from the randomised plan included. Now that contrast is a note and the ITT stands."""
    crimes, asg, days = simulated(0.3, seed=5)
    dose = asg[asg["patrol"]].assign(team="outreach-east", patrol_minutes=40.0)
    panel = build_panel(
        crimes,
        hotspots(),
        days[0].date(),
        days[-1].date(),
        dosage=dose.rename(columns={"date": "local_day"}),
        assignment=asg,
    )
    res = patrol_day_effects(panel, n_perm=0, secondary=False)
    assert "intention to treat" in res.primary().name
    assert not any("as delivered" in e.name for e in res.estimates)
    assert any(
        "as delivered" in n and "no hot spot-day counts as patrolled" in n for n in res.notes
    )
    everyday = build_panel(
        crimes,
        hotspots(),
        days[0].date(),
        days[-1].date(),
        # every hot spot-day visited for 40 minutes (a threshold of 0 is refused now)
        dosage=asg.assign(team="outreach", patrol_minutes=40.0).rename(
            columns={"date": "local_day"}
        ),
        assignment=asg,
    )
    res = patrol_day_effects(everyday, n_perm=0, secondary=False)
    assert "intention to treat" in res.primary().name
    assert any("every hot spot-day was patrolled" in n for n in res.notes)


def test_randomisation_p_is_not_given_when_the_assignment_cannot_be_redrawn() -> None:
    """One week analysed: each (hot spot, weekday) block holds one hot spot-day, so every re-draw
    of the blocked assignment repeats the observed one and the randomisation distribution is a
    point. Tiny differences between the refits decided whether the observed |z| was 'exceeded':
    the demo's first week of March gave randomisation p = 0.048 (the smallest 20 draws allow)
    beside a Wald p of 0.71, and another week a singular-matrix error that sank the analysis.
    No randomisation p is given then, and the notes say why; the model estimate stands."""
    for seed in (1, 2):
        crimes, asg, days = simulated(0.3, seed=seed, rate=1.0, n_days=7)
        panel = build_panel(crimes, hotspots(), days[0].date(), days[-1].date(), assignment=asg)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = patrol_day_effects(panel, n_perm=20, secondary=False)
        prim = res.primary()
        assert "intention to treat" in prim.name and np.isfinite([prim.lo, prim.hi]).all()
        assert "randomisation_p" not in prim.extra
        assert any("cannot be re-drawn" in n for n in res.notes)
    # two weeks: each block holds two days, re-draws differ, the p-value is given
    crimes, asg, days = simulated(0.3, seed=3, rate=1.0, n_days=28)
    panel = build_panel(crimes, hotspots(), days[0].date(), days[-1].date(), assignment=asg)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = patrol_day_effects(panel, n_perm=20, secondary=False)
    assert 0 < res.primary().extra["randomisation_p"] <= 1


def test_a_redraw_whose_refit_fails_does_not_count_against_the_null(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A re-drawn assignment whose refit has no standard error (z is NaN) counted as 'less
    extreme than observed' (NaN >= z is False), pushing the randomisation p-value down. A failed
    refit cannot be evidence of an effect: it counts as at least as extreme (conservative)."""
    import patrolwise.evaluate.patrol_days as pdm

    crimes, asg, days = simulated(0.3, seed=3, rate=1.0, n_days=28)
    panel = build_panel(crimes, hotspots(), days[0].date(), days[-1].date(), assignment=asg)
    p, _ = _usable(panel, "assigned", "crimes")
    e, y, x = _qp_estimate(p, "assigned", "crimes", (), "n", "m")
    real = pdm.fit_quasi_poisson

    def failing(yy, xx, **kw):  # type: ignore[no-untyped-def]
        fit = real(yy, xx, **kw)
        if np.ndim(yy) == 2 and len(yy) > 1:  # the re-draws, not the starting fit
            fit.cov[:] = np.nan
        return fit

    monkeypatch.setattr(pdm, "fit_quasi_poisson", failing)
    blocks, units = pdm._draw_layout(p, "hotspot-day")
    rp = randomisation_p(
        y, x, blocks, e.extra["z"], units=units, n_perm=20, rng=np.random.default_rng(0)
    )
    assert rp == 1.0


def test_redraws_that_cannot_be_fitted_fail_alone_and_are_counted() -> None:
    """Two weeks drawn per day (unit 'day'): a re-draw that puts every weekday's patrol day in
    the same week is the trend plus weekday terms, so its refit is singular. In the batched
    refit that raised for all the re-draws, and the harm model lost its randomisation p-value
    ('the model cannot be fitted'); for crimes the singularity went unnoticed and the refit's
    arbitrary z was compared with the observed one. Such a re-draw now fails alone, counts as
    at least as extreme as observed (conservative, as a refit without a standard error already
    did), stays in the denominator, and is counted and noted."""
    import patrolwise.evaluate.patrol_days as pdm

    rng = np.random.default_rng(2)
    days = pd.date_range("2023-02-06", periods=14, freq="D")
    ids = np.arange(1, N_HS + 1)
    asg = randomise_days(ids, days[0].date(), days[-1].date(), 0.5, seed=2, unit="day")
    sim = simulate_hotspot_days(
        rng, np.full(N_HS, 1.0), days, asg, 0.0, 0.3, area_ids=ids
    ).to_frame()
    crimes = crimes_from_counts(
        sim["area_id"].to_numpy(),
        sim["date"].to_numpy(),
        sim["crimes"].to_numpy(),
        sim["harm"].to_numpy(),
    )
    panel = build_panel(crimes, hotspots(), days[0].date(), days[-1].date(), assignment=asg)
    res = patrol_day_effects(panel, n_perm=200, seed=0, secondary=False)
    assert not any("cannot be fitted: a column" in n for n in res.notes)
    harm = next(e for e in res.estimates if e.outcome == "harm")
    crime = res.primary()
    for e in (crime, harm):
        nf = e.extra["randomisation_failed"]
        assert nf > 0 and e.extra["randomisation_draws"] == 200
        assert (1 + nf) / 201 <= e.extra["randomisation_p"] <= 1
    assert any("re-draws could not be fitted" in n for n in res.notes)
    # the same draws, refitted one by one: the failed ones are exactly the confounded ones
    p, _ = _usable(panel, "assigned", "crimes")
    _, y, x = _qp_estimate(p, "assigned", "crimes", (), "ITT", "qp")
    blocks, units = pdm._draw_layout(p, "day")
    rp, nf = pdm.randomisation_test(
        y, x, blocks, crime.extra["z"], units=units, n_perm=200, rng=np.random.default_rng(0)
    )
    assert nf == crime.extra["randomisation_failed"]


def test_weekday_effects_kept_when_the_panel_has_no_monday() -> None:
    """design() added weekday dummies only against Monday, so a panel without Mondays (tracked
    or assigned Tuesday to Saturday only) had no weekday terms at all: a weekday pattern in crime
    and in patrol days then biased the effect. The first weekday present is the reference."""
    from patrolwise.evaluate.patrol_days import design

    crimes, asg, days = simulated(0.3, seed=5)
    panel = build_panel(crimes, hotspots(), days[0].date(), days[-1].date(), assignment=asg)
    wd = pd.to_datetime(panel["date"]).dt.day_of_week
    sub = panel[wd.between(1, 5)]  # Tuesday to Saturday
    _, names = design(sub, sub["assigned"].to_numpy(float))
    assert sum(n.startswith("weekday_") for n in names) == 4
    res = patrol_day_effects(sub, n_perm=0, secondary=False)
    df = sub.assign(weekday=pd.to_datetime(sub["date"]).dt.day_of_week)
    d = pd.to_datetime(df["date"])
    df["trend"] = (d - d.min()).dt.days / (d.max() - d.min()).days
    ref = smf.glm(
        "crimes ~ assigned + trend + C(area_id) + C(weekday)", data=df, family=Poisson()
    ).fit(scale="X2")
    assert np.log(res.primary().ratio) == pytest.approx(ref.params["assigned"], rel=1e-6)


def test_crimes_without_a_harm_value_are_said_not_counted_as_zero_harm_silently() -> None:
    """Harm missing (offences the harm table lacks) counted as zero harm on the panel without a
    word, though before/after says it: a third of the crimes without harm gave a harm estimate
    from the other two thirds with nothing in the notes, and with no harm value at all (no harm
    table imported) the harm outcome vanished from the results without a note."""
    crimes, asg, days = simulated(0.3, seed=8)
    gone = np.arange(len(crimes)) % 3 == 0
    part = crimes.assign(harm=np.where(gone, np.nan, crimes["harm"]))
    panel = build_panel(part, hotspots(), days[0].date(), days[-1].date(), assignment=asg)
    res = patrol_day_effects(panel, n_perm=0, secondary=False)
    assert any(e.outcome == "harm" for e in res.estimates)
    n = int(gone.sum())
    assert any(
        f"{n:,} of {len(crimes):,} crimes in the panel have no harm value" in m for m in res.notes
    ), res.notes
    none = crimes.assign(harm=np.nan)
    panel0 = build_panel(none, hotspots(), days[0].date(), days[-1].date(), assignment=asg)
    res0 = patrol_day_effects(panel0, n_perm=0, secondary=False)
    assert not any(e.outcome == "harm" for e in res0.estimates)
    assert any("no crime in the panel has a harm value" in m for m in res0.notes), res0.notes


@pytest.mark.parametrize("threshold", [-1.0, 0.0, float("nan")])
def test_a_threshold_that_makes_untouched_days_patrolled_is_refused(threshold: float) -> None:
    """--threshold -1 (or 0) made every tracked hot spot-day 'patrolled', 0 minutes included
    (minutes >= threshold), and NaN made none: the as-delivered contrast then said 'every hot
    spot-day was patrolled' or 'no hot spot-day counts as patrolled', blaming the data. The
    threshold is refused up front; so is a negative number of randomisation re-draws, which
    silently gave no randomisation p-value."""
    crimes, asg, days = simulated(0.3, seed=4)
    dosage = pd.DataFrame(
        {"date": [days[0]], "area_id": [1], "team": ["outreach"], "minutes": [30.0]}
    )
    with pytest.raises(InputError, match="threshold"):
        build_panel(
            crimes, hotspots(), days[0].date(), days[-1].date(), dosage=dosage, threshold=threshold
        )
    panel = build_panel(crimes, hotspots(), days[0].date(), days[-1].date(), assignment=asg)
    with pytest.raises(InputError, match="re-draws"):
        patrol_day_effects(panel, n_perm=-5)


def test_a_successor_counts_its_predecessors_drawn_days_once_in_their_blocks() -> None:
    # hot spot 2 replaced by a redrawn 3 (overlapping it) from day 15 of a four-week trial drawn
    # before: the panel gave 3 no assigned day, kept 2's drawn days after it left the trial, and
    # counted crimes where the outlines overlap for 2 every day
    from patrolwise.evaluate.patrol_days import _draw_layout
    from patrolwise.plan.randomise import hand_over_to_successors

    start, end = dt.date(2025, 1, 6), dt.date(2025, 2, 2)
    cut = dt.date(2025, 1, 20)
    hs = hotspots(3)
    hs.loc[2, "geometry"] = shapely.box(2000, 0, 2080, 60)  # 3: hot spot 2 redrawn larger
    hs["active_from"] = [None, None, cut]
    hs["active_to"] = [None, cut - dt.timedelta(days=1), None]
    hs["replaced_by"] = [None, 3, None]
    a = randomise_days([1, 2], start, end, 0.5, seed=11)
    asg = hand_over_to_successors(a, hs.drop(columns="geometry"))
    days = pd.date_range(start, end).to_numpy()
    n = len(days)
    # crimes inside both outlines of 2 and 3, and at hot spot 1
    counts = np.random.default_rng(4).poisson(2.0, size=2 * n)
    crimes = crimes_from_counts(np.r_[np.full(n, 2), np.full(n, 1)], np.r_[days, days], counts)
    panel = build_panel(crimes, hs, start, end, assignment=asg)
    by = panel.set_index(["area_id", "date"])
    on = pd.Timestamp(cut)
    # 3's days from its first are the days drawn for 2, same arm; 2's drawn days end with it
    drawn2 = a[a["area_id"] == 2].set_index(pd.to_datetime(a.loc[a["area_id"] == 2, "date"]))
    late = by.loc[3].loc[on:]
    assert (late["assigned"] == drawn2.loc[on:, "patrol"].astype(float)).all()
    assert by.loc[2].loc[on:, "assigned"].isna().all()
    assert by.loc[3].loc[: on - pd.Timedelta(days=1), "assigned"].isna().all()
    assert int(panel["assigned"].notna().sum()) == len(a) == 56
    # crimes in the overlap count for the hot spot active that day
    both = counts[:n].tolist()
    assert by.loc[2, "crimes"].tolist() == both[:14] + [0] * 14
    assert by.loc[3, "crimes"].tolist() == [0] * 14 + both[14:]
    # the re-draw blocks 3's days with 2's of the same weekday, as they were drawn
    p = panel[panel["assigned"].notna()]
    blocks, _ = _draw_layout(p, "hotspot-day")
    wd = pd.to_datetime(p["date"]).dt.day_of_week.to_numpy()
    for k in range(7):
        b3 = set(blocks[(p["area_id"].to_numpy() == 3) & (wd == k)])
        b2 = set(blocks[(p["area_id"].to_numpy() == 2) & (wd == k)])
        assert len(b3) == 1 and b3 == b2
    per = p.assign(block=blocks).groupby("block")["assigned"].agg(["sum", "count"])
    assert len(per) == 14 and (per["sum"] * 2 == per["count"]).all()  # still half of each
    res = patrol_day_effects(panel, n_perm=19, secondary=False)
    assert any(
        "hot spot hs3 replaced hot spot hs2" in m and "14 assigned days" in m for m in res.notes
    ), res.notes

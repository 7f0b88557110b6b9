"""WDD against the published values (Wheeler and Ratcliffe 2018; ptools tests), WDQ by hand, rings."""

from __future__ import annotations

import datetime as dt
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from patrolwise.errors import InputError
from patrolwise.evaluate.displacement import catchment_rings, displacement, wdd, wdd_harm, wdq
from patrolwise.evaluate.periods import Period


def test_wdd_paper_example() -> None:
    # Wheeler & Ratcliffe (2018) worked example, as in ptools' tests
    r = wdd((308, 318), (207, 110), (150, 140), (178, 157))
    assert r["Est_Total"] == pytest.approx(-118)
    assert r["SE_Total"] == pytest.approx(math.sqrt(1568))
    assert round(r["Z"], 2) == -2.98
    assert round(r["LowCI"]) == -196 and round(r["HighCI"]) == -40


def test_wdd_local_and_displacement_parts() -> None:
    assert wdd((20, 20), (20, 10))["Est_Local"] == -10
    assert wdd((20, 20), (20, 20), (20, 20), (20, 10))["Est_Displace"] == -10
    assert wdd((20, 20), (20, 10), (20, 20), (20, 10))["Est_Total"] == -20


def test_wdd_time_weights() -> None:
    r = wdd((100, 50), (80, 20), time_weights=(2, 1))
    assert r["Est_Total"] == pytest.approx(-20)
    assert r["SE_Total"] == pytest.approx(math.sqrt(115))


def test_wdd_area_weights() -> None:
    r = wdd((308, 318), (207, 110), (150, 140), (178, 157), area_weights=(0.9, 1.2, 1.6, 1.5))
    ref = [-99.69444444, 35.4280755, -2.813995483, -169.1321965, -30.25669241]
    got = [r["Est_Total"], r["SE_Total"], r["Z"], r["LowCI"], r["HighCI"]]
    np.testing.assert_allclose(got, ref, rtol=1e-7)


def test_wdd_shared_control_variance_by_hand() -> None:
    # control (100, 80) serves the hot spots (area weight 2) and the ring (area weight 4):
    # total = T-diff + R-diff - (1/2 + 1/4)(C1 - C0), so
    # var = (50 + 30) + (25 + 30) + (1/2 + 1/4)^2 (100 + 80) = 135 + 101.25 = 236.25
    r = wdd(
        (100, 80), (50, 30), (100, 80), (25, 30), area_weights=(2, 1, 4, 1), shared_control=True
    )
    assert r["Est_Local"] == pytest.approx(-10) and r["Est_Displace"] == pytest.approx(10)
    assert r["SE_Local"] == pytest.approx(math.sqrt(80 + 180 / 4))
    assert r["SE_Displace"] == pytest.approx(math.sqrt(55 + 180 / 16))
    assert r["SE_Total"] == pytest.approx(math.sqrt(236.25))
    # independent controls with the same counts: no covariance term
    ind = wdd((100, 80), (50, 30), (100, 80), (25, 30), area_weights=(2, 1, 4, 1))
    assert ind["SE_Total"] == pytest.approx(math.sqrt(236.25 - 45))
    # time weights enter the covariance too: sum_j C_j / (tw_j^2 * 2 * 4) with tw = (2, 1)
    tw = wdd(
        (100, 80),
        (50, 30),
        (100, 80),
        (25, 30),
        time_weights=(2, 1),
        area_weights=(2, 1, 4, 1),
        shared_control=True,
    )
    v = (30 + 50 / 4) + (30 + 25 / 4) + (1 / 2 + 1 / 4) ** 2 * (80 + 100 / 4)
    assert tw["SE_Total"] == pytest.approx(math.sqrt(v))
    with pytest.raises(InputError, match="must be the control counts"):
        wdd((100, 80), (50, 30), (90, 80), (25, 30), shared_control=True)


def test_wdd_shared_control_se_matches_simulation() -> None:
    rng = np.random.default_rng(7)
    n = 4000
    c = rng.poisson(400, (n, 2))
    t = rng.poisson(100, (n, 2))
    r = rng.poisson(50, (n, 2))
    aw = (4.0, 1.0, 8.0, 1.0)
    res = [wdd(c[i], t[i], c[i], r[i], area_weights=aw, shared_control=True) for i in range(n)]
    est = np.array([x["Est_Total"] for x in res])
    se = np.array([x["SE_Total"] for x in res])
    # true sd: sqrt(200 + 100 + (1/4 + 1/8)^2 * 800) = sqrt(412.5); ignoring the shared control
    # gives sqrt(362.5), 6% too small, well outside this check's sampling error (~1.1%)
    assert np.std(est) == pytest.approx(math.sqrt(412.5), rel=0.03)
    assert np.mean(se) == pytest.approx(np.std(est), rel=0.03)
    cover = np.mean(np.abs(est - 0.0) <= 1.959964 * se)
    assert 0.935 <= cover <= 0.965


def test_wdd_harm_published() -> None:
    parts = [
        wdd((133, 91), (130, 74)),
        wdd((388, 305), (327, 202)),
        wdd((148, 97), (398, 190)),
        wdd((86, 64), (144, 92)),
        wdd((94, 67), (183, 96)),
    ]
    r = wdd_harm([p["Est_Local"] for p in parts], [p["SE_Local"] for p in parts], [3, 2, 5, 7, 10])
    ref = [-1721.0, 304.10360077, -5.65925558, -2317.03210507, -1124.96789493]
    np.testing.assert_allclose(
        [r["HarmEst"], r["SE_HarmEst"], r["Z"], r["LowCI"], r["HighCI"]], ref, rtol=1e-5
    )


def test_wdq_by_hand() -> None:
    # treated 100 -> 60, buffer 50 -> 40, control 200 -> 200
    # (40/200 - 50/200) / (60/200 - 100/200) = (-0.05) / (-0.2) = 0.25: diffusion of benefit
    assert wdq((100, 60), (50, 40), (200, 200)) == pytest.approx(0.25)
    assert wdq((100, 120), (50, 40), (200, 200)) is None  # no success: WDQ not interpretable


def test_rings_exclude_hot_spots_and_have_the_right_area() -> None:
    hs = gpd.GeoDataFrame(
        {"area_id": [1], "name": ["a"]}, geometry=[shapely.box(0, 0, 50, 50)], crs="EPSG:27700"
    )
    rings = catchment_rings(hs, (100, 250))
    sq = shapely.box(0, 0, 50, 50)
    assert rings.geometry.iloc[0].area == pytest.approx(sq.buffer(100).area - sq.area, rel=1e-9)
    assert rings.geometry.iloc[1].area == pytest.approx(
        sq.buffer(250).area - sq.buffer(100).area, rel=1e-9
    )
    assert not rings.geometry.iloc[0].intersection(sq).area > 1e-9
    with pytest.raises(InputError):
        catchment_rings(hs, (0, 100))


@pytest.mark.parametrize(
    "bad", [(100.0, math.nan), (50.0, math.nan, 100.0), (math.inf,), (100.0, 100.0)]
)
def test_ring_distances_that_are_not_finite_or_repeat_are_refused(bad: tuple[float, ...]) -> None:
    """'--rings nan' or 'inf' died with shapely's traceback ('buffer distance must be finite');
    '--rings 100,100' reported a ring '100-100 m' of no ground, its change '+0.0 (+0.0 to
    +0.0)' stated as a finding. Each is one line naming the distances."""
    hs = gpd.GeoDataFrame(
        {"area_id": [1], "name": ["a"]}, geometry=[shapely.box(0, 0, 50, 50)], crs="EPSG:27700"
    )
    with pytest.raises(InputError, match="ring distances"):
        catchment_rings(hs, bad)


def _crimes(spec: list[tuple[float, float, str, int]]) -> pd.DataFrame:
    """(x, y, 'YYYY-MM', n) -> n crimes at a point in a month."""
    rows = [
        {
            "x": x,
            "y": y,
            "month": m,
            "category": "Violence and sexual offences",
            "harm": 10.0,
            "occurred_at": pd.NaT,
        }
        for x, y, m, n in spec
        for _ in range(n)
    ]
    return pd.DataFrame(rows)


def test_displacement_counts_by_zone() -> None:
    hs = gpd.GeoDataFrame(
        {"area_id": [1], "name": ["a"]}, geometry=[shapely.box(0, 0, 50, 50)], crs="EPSG:27700"
    )
    c = _crimes(
        [
            (25, 25, "2022-01", 40),
            (25, 25, "2022-03", 20),  # hot spot: 40 -> 20
            (120, 25, "2022-01", 10),
            (120, 25, "2022-03", 12),  # ring 1 (70 m out)
            (250, 25, "2022-01", 8),
            (250, 25, "2022-03", 8),  # ring 2 (200 m out)
            (2000, 2000, "2022-01", 100),
            (2000, 2000, "2022-03", 100),  # the rest
        ]
    )
    before = Period("before", dt.date(2022, 1, 1), dt.date(2022, 1, 31))
    during = Period("during", dt.date(2022, 3, 1), dt.date(2022, 3, 31))
    d = displacement(c, hs, before, during)
    tab = d.table.set_index("zone")
    assert tab.loc["hotspots", "before"] == 40 and tab.loc["hotspots", "during"] == 20
    assert tab.loc["ring1", "during"] == 12 and tab.loc["ring2", "before"] == 8
    assert d.rings[0]["counts"]["ring"] == (10.0, 12.0)
    # WDQ: (12/100 - 10/100) / (20/100 - 40/100) = 0.02 / -0.2 = -0.1 (a little displacement)
    assert d.rings[0]["wdq"] == pytest.approx(-0.1)
    # control rescaled to the hot spot's before level (100 -> 40): unchanged control, so local WDD = -20
    assert d.rings[0]["wdd"]["Est_Local"] == pytest.approx(-20)
    assert d.harm is not None and d.harm["HarmEst"] == pytest.approx(
        10 * d.rings[0]["wdd"]["Est_Local"] + 10 * (2 + 0)
    )
    assert any("rescaled" in n for n in d.notes)
    # the rest of the data is the control of both the hot spot (weight 100/40) and the ring
    # (weight 100/10): var = 40 + 20 + 10 + 12 + (1/2.5 + 1/10)^2 (100 + 100) = 132
    assert d.rings[0]["wdd"]["SE_Total"] == pytest.approx(math.sqrt(132))
    # harm: all rings together (18 -> 20, weight 100/18), harm weight 10:
    # var = 60 + 38 + (1/2.5 + 18/100)^2 * 200
    assert d.harm["SE_HarmEst"] == pytest.approx(10 * math.sqrt(98 + 0.58**2 * 200))


def test_comparison_area_overlapping_hot_spot_is_refused() -> None:
    hs = gpd.GeoDataFrame(
        {"area_id": [1], "name": ["a"]}, geometry=[shapely.box(0, 0, 50, 50)], crs="EPSG:27700"
    )
    comp = gpd.GeoDataFrame(
        {"area_id": [9], "name": ["c"]}, geometry=[shapely.box(40, 40, 90, 90)], crs="EPSG:27700"
    )
    c = _crimes([(25, 25, "2022-01", 5), (25, 25, "2022-03", 5)])
    b = Period("before", dt.date(2022, 1, 1), dt.date(2022, 1, 31))
    d = Period("during", dt.date(2022, 3, 1), dt.date(2022, 3, 31))
    with pytest.raises(InputError, match="overlaps hot spot 'a'"):
        displacement(c, hs, b, d, comparison_areas=comp)


def test_a_ring_with_no_crime_is_not_given_the_control_change() -> None:
    """A ring with no crime before (an empty buffer) was compared with the unscaled control: the
    rest of the data falling 100 -> 80 made an empty ring read as 'crime rose in this ring
    relative to control' (+20 crimes) although nothing happened there. Rescaled to a before level
    of nothing, the control expects nothing in the ring; likewise per category in the harm WDD."""
    hs = gpd.GeoDataFrame(
        {"area_id": [1], "name": ["a"]}, geometry=[shapely.box(0, 0, 50, 50)], crs="EPSG:27700"
    )
    c = _crimes(
        [
            (25, 25, "2022-01", 40),
            (25, 25, "2022-03", 20),
            (120, 25, "2022-01", 10),
            (120, 25, "2022-03", 12),  # ring 1; ring 2 empty in both periods
            (2000, 2000, "2022-01", 100),
            (2000, 2000, "2022-03", 80),
        ]
    )
    other = c.iloc[:3].assign(category="Robbery", x=3000.0, harm=50.0)  # control only
    before = Period("before", dt.date(2022, 1, 1), dt.date(2022, 1, 31))
    during = Period("during", dt.date(2022, 3, 1), dt.date(2022, 3, 31))
    d = displacement(pd.concat([c, other], ignore_index=True), hs, before, during)
    empty = d.rings[1]
    assert empty["counts"]["ring"] == (0.0, 0.0)
    assert empty["wdd"]["Est_Displace"] == pytest.approx(0.0)
    assert empty["ring_change"]["lo"] <= 0 <= empty["ring_change"]["hi"]
    assert "no clear change in this ring" in d.statement().split("; ring 100-250")[1]
    # ring 1 against the control (103 -> 80) rescaled to its before level of 10
    assert d.rings[0]["wdd"]["Est_Displace"] == pytest.approx(12 - 80 * 10 / 103)
    # harm: the Robbery category has no crime in hot spots or rings; its control change
    # (3 -> 0) must not leak into the harm-weighted WDD. Violence alone: control 100 -> 80,
    # hot spots 40 -> 20 (20 - 32), rings 10 -> 12 (12 - 8), harm weight 10
    assert d.harm is not None
    assert d.harm["HarmEst"] == pytest.approx(10 * ((20 - 32) + (12 - 8)))


def test_date_only_crimes_count_in_displacement_and_the_unplaced_are_said() -> None:
    """An incident extract's date with no time is stored as the window of that local day: before/
    after and the patrol-day panel count it on its day, but displacement dropped every such crime
    silently (only crimes with a time were counted). A window longer than a day is said."""
    hs = gpd.GeoDataFrame(
        {"area_id": [1], "name": ["a"]}, geometry=[shapely.box(0, 0, 50, 50)], crs="EPSG:27700"
    )

    def day_window(d: str) -> tuple[pd.Timestamp, pd.Timestamp]:
        t = pd.Timestamp(d)
        lo = t.tz_localize("Europe/London").tz_convert(None)
        return lo, (t + pd.Timedelta(days=1)).tz_localize("Europe/London").tz_convert(None)

    rows = []
    for x, d, n in [(25, "2022-01-10", 10), (25, "2022-03-10", 5), (2000, "2022-01-12", 50)]:
        lo, hi = day_window(d)
        rows += [{"x": x, "y": 25.0, "occurred_from": lo, "occurred_to": hi}] * n
    rows += [{"x": 2000, "y": 25.0, "occurred_at": pd.Timestamp("2022-03-12 12:00")}] * 50
    lo, _ = day_window("2022-03-01")
    _, hi = day_window("2022-03-09")
    rows += [{"x": 25, "y": 25.0, "occurred_from": lo, "occurred_to": hi}] * 3  # 9 days
    c = pd.DataFrame(rows)
    c["month"] = "2022-01"
    before = Period("before", dt.date(2022, 1, 1), dt.date(2022, 1, 31))
    during = Period("during", dt.date(2022, 3, 1), dt.date(2022, 3, 31))
    d = displacement(c, hs, before, during)
    tab = d.table.set_index("zone")
    assert tab.loc["hotspots", "before"] == 10 and tab.loc["hotspots", "during"] == 5
    assert tab.loc["control", "before"] == 50 and tab.loc["control", "during"] == 50
    assert any("3 crime(s)" in n and "no single day" in n for n in d.notes)


def test_month_precision_displacement_reports_the_months_it_used() -> None:
    """police.uk data with periods given in days: the counts and per-day rates use the whole
    months inside each period, but the result (JSON, report) gave the periods as asked, with
    their own day counts, so 'before_per_day' did not follow from the days shown."""
    hs = gpd.GeoDataFrame(
        {"area_id": [1], "name": ["a"]}, geometry=[shapely.box(0, 0, 50, 50)], crs="EPSG:27700"
    )
    c = _crimes(
        [
            (25, 25, "2022-01", 40),
            (25, 25, "2022-03", 20),
            (2000, 2000, "2022-01", 100),
            (2000, 2000, "2022-03", 100),
        ]
    )
    before = Period("before", dt.date(2021, 12, 20), dt.date(2022, 2, 10))  # whole month: Jan
    during = Period("during", dt.date(2022, 3, 1), dt.date(2022, 4, 12))  # whole month: Mar
    d = displacement(c, hs, before, during)
    out = d.to_dict()
    assert out["before"] == {"start": "2022-01-01", "end": "2022-01-31", "days": 31}
    assert out["during"] == {"start": "2022-03-01", "end": "2022-03-31", "days": 31}
    tab = d.table.set_index("zone")
    assert tab.loc["hotspots", "before_per_day"] == pytest.approx(40 / 31)


def test_a_category_without_harm_values_is_said_when_left_out_of_the_harm_weighted_wdd() -> None:
    """A category whose crimes have no harm value (the harm table lacks it) got no median harm
    and was dropped from the harm-weighted WDD without a word, though its crimes are in every
    count beside it: the estimate read as covering all crime. It is now named, with its count."""
    hs = gpd.GeoDataFrame(
        {"area_id": [1], "name": ["a"]}, geometry=[shapely.box(0, 0, 50, 50)], crs="EPSG:27700"
    )
    c = _crimes(
        [
            (25, 25, "2022-01", 40),
            (25, 25, "2022-03", 20),
            (120, 25, "2022-01", 10),
            (120, 25, "2022-03", 12),
            (2000, 2000, "2022-01", 100),
            (2000, 2000, "2022-03", 100),
        ]
    )
    other = _crimes([(25, 25, "2022-01", 7), (2000, 2000, "2022-03", 5)]).assign(
        category="Drugs", harm=np.nan
    )
    before = Period("before", dt.date(2022, 1, 1), dt.date(2022, 1, 31))
    during = Period("during", dt.date(2022, 3, 1), dt.date(2022, 3, 31))
    d = displacement(pd.concat([c, other], ignore_index=True), hs, before, during)
    assert d.harm is not None and list(d.harm["weights"]) == ["Violence and sexual offences"]
    assert any(
        "harm-weighted WDD leaves out 12 crime(s) of 1 category with no harm value: Drugs" in n
        for n in d.notes
    ), d.notes

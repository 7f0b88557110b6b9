"""Concentration, peak hours (DST-correct local time), stability and forecast accuracy, each
against hand-computed answers."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from patrolwise.errors import InputError
from patrolwise.target.accuracy import forecast_accuracy
from patrolwise.target.concentration import (
    concentration_curve,
    concentration_table,
    places_for_share,
)
from patrolwise.target.grid import Grid
from patrolwise.target.peaks import peak_grid, peak_hours, peak_summary
from patrolwise.target.stability import stability


def test_concentration_by_hand() -> None:
    # 200 places: one with 50 crimes, one with 30, 18 with 1, the rest none
    counts = np.zeros(200)
    counts[:20] = [50, 30] + [1] * 18
    harm = np.zeros(200)
    harm[5] = 1000.0  # the harm sits in a place with only one crime
    harm[0] = 100.0
    t = concentration_table(counts, harm).set_index("top_pct")
    assert t.loc[1.0, "places"] == 2 and t.loc[1.0, "crime_share"] == pytest.approx(80 / 98)
    assert t.loc[5.0, "places"] == 10 and t.loc[5.0, "crime_share"] == pytest.approx(88 / 98)
    assert t.loc[1.0, "harm_share"] == pytest.approx(1.0)  # ranked by harm, not by count
    w = concentration_table(counts, harm, places="with_crime").set_index("top_pct")
    assert w.loc[10.0, "places"] == 2 and w.loc[10.0, "crime_share"] == pytest.approx(80 / 98)
    curve = concentration_curve(counts, harm)
    assert curve["crime_share"].iloc[0] == 0 and curve["crime_share"].iloc[-1] == pytest.approx(1)
    assert (np.diff(curve["crime_share"]) >= 0).all()
    assert places_for_share(counts, 0.5) == 1
    with pytest.raises(InputError, match="no crimes"):
        concentration_table(np.zeros(5))


def test_peak_hours_local_time_across_dst() -> None:
    areas = gpd.GeoDataFrame(
        {"name": ["A"]}, geometry=[shapely.box(458000, 304000, 458100, 304100)], crs="EPSG:27700"
    )
    crimes = pd.DataFrame(
        {
            # 2023-03-26 is the spring DST change (Sunday): 01:30 UTC = 02:30 BST
            # 2023-01-06 (Friday) 18:15 UTC = 18:15 GMT
            # 2023-07-07 (Friday) 17:15 UTC = 18:15 BST
            "occurred_at": pd.to_datetime(
                ["2023-03-26 01:30", "2023-01-06 18:15", "2023-07-07 17:15", None]
            ),
            "x": [458050.0, 458050.0, 459000.0, 458050.0],
            "y": [304050.0, 304050.0, 304050.0, 304050.0],
            "harm": [10.0, 1.0, 2.0, 5.0],
        }
    )
    notes: list[str] = []
    long = peak_hours(crimes, areas, notes=notes)
    assert len(long) == 2 * 7 * 24
    assert notes and "only a month" in notes[0]
    allg = peak_grid(long, "all")
    assert allg.loc["Sun", 2] == 1 and allg.loc["Fri", 18] == 2 and allg.values.sum() == 3
    a = peak_grid(long, "A", "harm")
    assert a.loc["Sun", 2] == 10.0 and a.loc["Fri", 18] == 1.0 and a.values.sum() == 11.0
    summ = peak_summary(long).set_index("area")
    assert summ.loc["all", "peak_hour"] == 18 and summ.loc["all", "peak_weekday"] == "Fri"


def test_stability_by_hand() -> None:
    prev = np.array([9, 8, 7, 0, 0, 1, 0, 0], dtype=float)
    curr = np.array([8, 0, 9, 7, 0, 1, 0, 0], dtype=float)
    r = stability(prev, curr, top=3)
    # this period's top 3: units 2, 0, 3; last period's: 0, 1, 2 -> 2 still top
    assert r["still_top"] == 2 and r["share_still_top"] == pytest.approx(2 / 3)
    assert r["units_compared"] == 5
    same = stability(prev, prev, top=2)
    assert same["spearman_rho"] == pytest.approx(1.0) and same["still_top"] == 2
    with pytest.raises(InputError, match="same grid"):
        stability(prev, curr[:5])


def test_forecast_accuracy_by_hand() -> None:
    g = Grid(458000.0, 304000.0, 100.0, 10, 10)  # 1 km2 study area
    hs = gpd.GeoDataFrame(
        {"name": ["H"]}, geometry=[shapely.box(458000, 304000, 458100, 304100)], crs="EPSG:27700"
    )
    # 10 later crimes: 4 in the hot spot cell, 5 in another cell, 1 elsewhere
    x = [458050.0] * 4 + [458550.0] * 5 + [458950.0]
    y = [304050.0] * 4 + [304550.0] * 5 + [304950.0]
    harm = [10.0] * 4 + [1.0] * 5 + [0.0]
    r = forecast_accuracy(hs, pd.DataFrame({"x": x, "y": y, "harm": harm}), g)
    assert r["hit_rate"] == pytest.approx(0.4)
    assert r["area_share"] == pytest.approx(0.01)
    assert r["pai"] == pytest.approx(40.0)
    assert r["pei"] == pytest.approx(4 / 5)  # best single cell held 5
    assert r["harm_hit_rate"] == pytest.approx(40 / 45)
    assert r["harm_pei"] == pytest.approx(1.0)  # the hot spot cell is the harm-richest


def test_peak_window_length_must_fit_in_a_day() -> None:
    """'hotspots peaks --window 30' reported the 14-20 window holding 147% of the crimes (the
    rolling sum wrapped the day more than once), and --window 0 or -3 a '00-00' or '00-21'
    window with share 0. The busiest window is 1 to 24 hours; anything else is refused."""
    crimes = pd.DataFrame(
        {
            "occurred_at": pd.to_datetime(
                ["2023-01-06 18:15", "2023-01-06 19:30", "2023-01-06 23:30", "2023-01-07 00:10"]
            ),
            "x": 458050.0,
            "y": 304050.0,
        }
    )
    long = peak_hours(crimes)
    for bad in (0, -3, 25, 30):
        with pytest.raises(InputError, match="1 to 24 hours"):
            peak_summary(long, window=bad)
    full = peak_summary(long, window=24).iloc[0]
    assert full["window_share"] == 1.0
    two = peak_summary(long, window=2).iloc[0]  # 18-20 and 23-01 hold two each: the first
    assert two["peak_window"] == "18-20" and two["window_share"] == 0.5
    assert (
        peak_summary(long.assign(count=long["count"] * (long["hour"] != 18)), window=2).iloc[0][
            "peak_window"
        ]
        == "23-01"
    )  # across midnight


def test_peak_hours_note_says_a_date_only_crime_has_a_date() -> None:
    """A force extract's crime known to its date (no time) was counted in the note as having
    'only a month', which told an analyst their extract had lost its dates."""
    day = pd.Timestamp("2023-07-01").tz_localize("Europe/London").tz_convert(None)
    crimes = pd.DataFrame(
        {
            "occurred_at": [pd.Timestamp("2023-07-01 17:15"), pd.NaT, pd.NaT],
            "occurred_from": [pd.NaT, day, pd.NaT],
            "occurred_to": [pd.NaT, day + pd.Timedelta(days=1), pd.NaT],
            "x": 458050.0,
            "y": 304050.0,
        }
    )
    notes: list[str] = []
    peak_hours(crimes, notes=notes)
    assert len(notes) == 1
    assert "2 of 3 crimes have no time of day" in notes[0]
    assert "1 only a date" in notes[0] and "1 only a month" in notes[0]


def test_peak_hours_keep_hot_spots_with_the_same_name_apart() -> None:
    """'hotspots find --top 5' run for two quarters stores HS1 ... HS5 twice (another start
    date), and 'hotspots peaks' (every stored hot spot by default) counted each 'HS1' crime
    twice under one row; a hot spot called 'all' was merged into the overall row. Each area
    keeps its own row: a repeated name (or 'all') is labelled with its area id."""
    areas = gpd.GeoDataFrame(
        {"area_id": [3, 8, 9], "name": ["HS1", "HS1", "all"]},
        geometry=[
            shapely.box(0, 0, 100, 100),
            shapely.box(1000, 0, 1100, 100),
            shapely.box(2000, 0, 2100, 100),
        ],
        crs="EPSG:27700",
    )
    crimes = pd.DataFrame(
        {
            "occurred_at": pd.to_datetime(
                ["2023-01-06 18:15", "2023-01-06 19:15", "2023-01-07 20:15", "2023-01-08 21:15"]
            ),
            "x": [50.0, 1050.0, 2050.0, 5000.0],
            "y": [50.0, 50.0, 50.0, 50.0],
            "harm": [1.0, 2.0, 4.0, 8.0],
        }
    )
    summ = peak_summary(peak_hours(crimes, areas)).set_index("area")
    assert list(summ.index) == ["all", "HS1 (area 3)", "HS1 (area 8)", "all (area 9)"]
    assert summ["crimes_with_time"].tolist() == [4, 1, 1, 1]
    assert summ["harm"].tolist() == [15.0, 1.0, 2.0, 4.0]
    assert summ.loc["HS1 (area 8)", "peak_hour"] == 19
    no_ids = peak_hours(crimes, areas.drop(columns="area_id"))
    assert set(no_ids["area"]) == {"all", "HS1 (area 1)", "HS1 (area 2)", "all (area 3)"}
    assert no_ids.groupby("area")["count"].sum().to_dict() == {
        "all": 4, "HS1 (area 1)": 1, "HS1 (area 2)": 1, "all (area 3)": 1
    }  # fmt: skip

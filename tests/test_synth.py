"""The synthetic city: determinism, realism targets, the planted effect and the written formats."""

from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely

from patrolwise.synth import (
    POLICE_UK_COLUMNS,
    SERIOUS_VIOLENCE,
    City,
    make_assignment,
    make_city,
    simulate_hotspot_days,
)
from patrolwise.timeutil import to_utc_naive

TZ = "Europe/London"
GPX_NS = "{http://www.topografix.com/GPX/1/1}"


@pytest.fixture(scope="module")
def city() -> City:
    return make_city(seed=0, track_days=7)


@pytest.fixture(scope="module")
def written(city: City, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return city.write(tmp_path_factory.mktemp("city"))


def _local(t: pd.Series) -> pd.Series:
    return t.dt.tz_localize("UTC").dt.tz_convert(TZ)


def test_same_seed_same_city_other_seed_other_city() -> None:
    a = make_city(seed=5, track_days=2)
    b = make_city(seed=5, track_days=2)
    c = make_city(seed=6, track_days=0)
    pd.testing.assert_frame_equal(a.crimes, b.crimes)
    pd.testing.assert_frame_equal(a.pings, b.pings)
    pd.testing.assert_frame_equal(a.plan, b.plan)
    pd.testing.assert_frame_equal(a.engagements, b.engagements)
    pd.testing.assert_frame_equal(a.assignment, b.assignment)
    assert len(a.crimes) != len(c.crimes) or not a.crimes["x"].equals(c.crimes["x"])


def test_contract_and_layout(city: City) -> None:
    for col in ["crime_id", "occurred_at", "month", "category", "offence", "ho_code"]:
        assert col in city.crimes
    for col in ["x", "y", "lon", "lat", "harm"]:
        assert city.crimes[col].notna().all()
    assert list(city.pings.columns) == [
        "device_id", "team", "t", "x", "y", "lon", "lat", "accuracy",
    ]  # fmt: skip
    assert list(city.plan.columns[:5]) == ["team", "area_id", "date", "start", "end"]
    hs = city.hotspots
    assert hs.crs.to_epsg() == 27700
    assert hs["area_id"].tolist() == list(range(1, 8))
    assert "Clock Tower" in set(hs["name"])
    for g in hs.geometry:
        minx, miny, maxx, maxy = g.bounds
        assert max(maxx - minx, maxy - miny) <= 150
        assert 40 <= np.sqrt(g.area / np.pi) <= 75
    # every crime sits on a street point; the centre is about 3 x 3 km in Leicester
    pts = set(zip(city.points["x"], city.points["y"], strict=True))
    assert set(zip(city.crimes["x"], city.crimes["y"], strict=True)) <= pts
    assert city.crimes["x"].max() - city.crimes["x"].min() <= 3000
    assert 52.60 < city.crimes["lat"].mean() < 52.67 and -1.17 < city.crimes["lon"].mean() < -1.10
    assert 1400 <= len(city.points) <= 1600
    # ASB has no harm and no police.uk crime ID; harm comes from the CCHI table
    asb = city.crimes["category"] == "Anti-social behaviour"
    assert (city.crimes.loc[asb, "harm"] == 0).all() and city.crimes.loc[
        asb, "crime_id"
    ].isna().all()
    wi = city.crimes["offence"] == "Assault with injury"
    assert (city.crimes.loc[wi, "harm"] == 365).all()
    assert set(city.crimes.loc[wi, "ho_code"]) == {"8N"}
    assert city.before == (dt.date(2022, 3, 1), dt.date(2023, 1, 31))
    assert city.during[0] == dt.date(2023, 2, 6)
    assert (city.during[1] - city.during[0]).days + 1 == 47 * 7


def test_few_places_hold_about_half_the_crime(city: City) -> None:
    n = len(city.points)
    counts = city.crimes.groupby("point_id").size().reindex(range(n), fill_value=0)
    top = np.sort(counts.to_numpy())[::-1][: int(0.05 * n)].sum() / counts.sum()
    assert 0.40 <= top <= 0.60
    harm = city.crimes.groupby("point_id")["harm"].sum().reindex(range(n), fill_value=0)
    top_h = np.sort(harm.to_numpy())[::-1][: int(0.05 * n)].sum() / harm.sum()
    assert 0.40 <= top_h <= 0.70


def _gi_star(grid: np.ndarray) -> np.ndarray:
    """Getis-Ord Gi* z-scores with binary queen weights including the cell itself (Getis & Ord
    1995), computed with 3 x 3 box sums; agrees with esda.G_Local(transform="B", star=1) to 1e-15
    (checked by hand; esda is not imported here because it takes seconds to load)."""
    from scipy.ndimage import convolve

    k = np.ones((3, 3))
    x = grid.ravel()
    n, xbar = x.size, x.mean()
    s = np.sqrt((x**2).mean() - xbar**2)
    wsum = convolve(np.ones_like(grid), k, mode="constant")  # W_i (= S1_i for 0/1 weights)
    local = convolve(grid, k, mode="constant")
    return (local - xbar * wsum) / (s * np.sqrt((n * wsum - wsum**2) / (n - 1)))


def test_harm_weighted_gi_star_top_seven_are_the_hot_spots(city: City) -> None:
    c = city.crimes[
        city.crimes["occurred_at"] < pd.Timestamp(city.before[1]) + pd.Timedelta(days=1)
    ]
    cs = 50.0
    x0, y0 = c["x"].min() - 1, c["y"].min() - 1
    i = ((c["x"] - x0) // cs).astype(int).to_numpy()
    j = ((c["y"] - y0) // cs).astype(int).to_numpy()
    ni, nj = i.max() + 1, j.max() + 1
    harm = np.bincount(j * ni + i, weights=c["harm"], minlength=ni * nj).reshape(nj, ni)
    z = _gi_star(harm).ravel()
    cx = (np.arange(ni * nj) % ni + 0.5) * cs + x0
    cy = (np.arange(ni * nj) // ni + 0.5) * cs + y0
    chosen: list[int] = []
    for k in np.argsort(-z):  # greedy: best cell not within 150 m of a chosen one
        if all(np.hypot(cx[k] - cx[q], cy[k] - cy[q]) >= 150 for q in chosen):
            chosen.append(int(k))
        if len(chosen) == 7:
            break
    found = set()
    for k in chosen:
        d = city.hotspots.distance(shapely.Point(cx[k], cy[k]))
        assert d.min() < cs, f"Gi* cell {k} is not at a hot spot"
        found.add(int(city.hotspots["area_id"][d.idxmin()]))
    assert found == set(range(1, 8))
    assert z.max() > 3.29  # significant at p < 0.001 (two-sided)


def test_time_pattern_peaks_14_to_20_local(city: City) -> None:
    loc = _local(city.crimes["occurred_at"])
    hours = np.bincount(loc.dt.hour, minlength=24)
    six = [(hours[np.arange(h, h + 6) % 24]).sum() for h in range(24)]
    assert int(np.argmax(six)) == 14
    assert hours[14:20].sum() / hours.sum() > 0.4
    dow = np.bincount(loc.dt.day_of_week, minlength=7)
    assert dow[5] > dow[0] and dow[4] > dow[1]  # Friday/Saturday busier than Monday/Tuesday
    month = city.crimes.groupby(loc.dt.month).size()
    assert month[7] > month[1] * 1.1  # summer above winter


def test_hot_spot_serious_violence_matches_the_practice_note(city: City) -> None:
    c = city.crimes
    loc = _local(c["occurred_at"])
    before = (loc.dt.date >= city.before[0]) & (loc.dt.date <= city.before[1])
    win = (loc.dt.hour >= 14) & (loc.dt.hour < 20)
    sv = c["category"].isin(SERIOUS_VIOLENCE)
    n = int((before & win & sv & (c["area_id"] > 0)).sum())
    assert 330 <= n <= 500  # note: 416 in 11 months


def test_times_are_utc_and_dst_correct(city: City) -> None:
    c = city.crimes
    loc = _local(c["occurred_at"])
    # no crime in the skipped local hour on spring-forward days
    for day in (dt.date(2022, 3, 27), dt.date(2023, 3, 26)):
        on = loc.dt.date == day
        assert on.sum() > 0 and not (loc[on].dt.hour == 1).any()
    # the hot spot window panel equals a recount of the crimes by *local* hour: an hour's error in
    # BST would move summer crimes across 14:00 and 20:00 and break the equality
    win = (c["area_id"] > 0) & (loc.dt.hour >= 14) & (loc.dt.hour < 20)
    recount = (
        pd.DataFrame({"area_id": c["area_id"][win], "date": loc.dt.date[win]})
        .groupby(["area_id", "date"])
        .size()
    )
    panel = city.panel.to_frame().set_index(["area_id", "date"])["crimes"]
    assert recount.reindex(panel.index, fill_value=0).equals(panel)
    # the outreach plan starts at 14:0x local in GMT and BST alike, i.e. 13:0x UTC in summer
    first = city.plan[city.plan["team"] == "outreach"].groupby("date")["start"].min()
    assert (_local(first).dt.hour == 14).all()
    summer = [d for d in first.index if dt.date(2023, 4, 1) <= d <= dt.date(2023, 9, 30)]
    assert (first[summer].dt.hour == 13).all()


def test_assignment_is_blocked_by_weekday() -> None:
    rng = np.random.default_rng(1)
    days = pd.date_range("2023-02-06", periods=47 * 7)
    a = make_assignment(rng, [1, 2, 3], days, p=0.5)
    a["dow"] = pd.to_datetime(a["date"]).dt.day_of_week
    per_block = a.groupby(["area_id", "dow"])["patrol"].sum()
    assert per_block.isin([23, 24]).all()  # 47 weeks: half of each weekday, rounded at random


def _ratio(panel: np.ndarray, patrol: np.ndarray) -> float:
    return float(panel[patrol].mean() / panel[~patrol].mean())


def test_simulate_hotspot_days_recovers_the_planted_effect() -> None:
    rng = np.random.default_rng(42)
    days = pd.date_range("2023-02-06", periods=47 * 7)
    base = np.full(7, 0.4)
    ratios, nulls = [], []
    for _ in range(150):
        asg = make_assignment(rng, np.arange(1, 8), days)
        p = simulate_hotspot_days(rng, base, days, asg, effect=0.30)
        ratios.append(_ratio(p.counts, p.patrol))
        q = simulate_hotspot_days(rng, base, days, asg, effect=0.0)
        nulls.append(_ratio(q.counts, q.patrol))
    assert abs(np.mean(ratios) - 0.70) < 0.02
    assert abs(np.mean(nulls) - 1.0) < 0.02
    # a single trial is noisy but centred: 90% of ratios within 0.15 of the truth
    assert np.mean(np.abs(np.array(ratios) - 0.7) < 0.15) > 0.9
    # harm falls with the count (same offence mix on both kinds of day)
    assert _ratio(p.harm, p.patrol) < 1.0


def test_simulate_hotspot_days_dispersion_and_inputs() -> None:
    rng = np.random.default_rng(7)
    days = pd.date_range("2023-01-02", periods=700)
    none = np.zeros((20, 700), dtype=bool)
    p = simulate_hotspot_days(rng, np.full(20, 2.0), days, none, 0.3, 0.5, seasonal=False)
    assert abs(p.counts.mean() - 2.0) < 0.05
    assert abs(p.counts.var() - (2.0 + 0.5 * 4.0)) < 0.25  # NB2: mu + alpha mu^2
    q = simulate_hotspot_days(rng, np.full(20, 2.0), days, none, 0.3, 0.0, seasonal=False)
    assert abs(q.counts.var() - 2.0) < 0.1  # Poisson
    from patrolwise.errors import InputError

    with pytest.raises(InputError, match="effect"):
        simulate_hotspot_days(rng, np.ones(3), days, np.zeros((3, 700), bool), effect=1.2)
    with pytest.raises(InputError, match="shape"):
        simulate_hotspot_days(rng, np.ones(3), days, np.zeros((3, 5), bool))


def test_city_crimes_carry_the_planted_effect(city: City) -> None:
    c = city.crimes
    loc = _local(c["occurred_at"])
    win = (c["area_id"] > 0) & (loc.dt.hour >= 14) & (loc.dt.hour < 20)
    got = (
        pd.DataFrame({"area_id": c["area_id"][win], "date": loc.dt.date[win]})
        .groupby(["area_id", "date"])
        .size()
        .rename("n")
    )
    a = city.assignment.set_index(["area_id", "date"]).join(got).fillna({"n": 0})
    ratio = a.loc[a["patrol"], "n"].mean() / a.loc[~a["patrol"], "n"].mean()
    assert 0.55 < ratio < 0.85
    null = make_city(seed=0, effect=0.0, track_days=0)
    e = null.panel.to_frame()
    during = e[(e["date"] >= null.during[0]) & (e["date"] <= null.during[1])]
    assert (
        0.8
        < during.loc[during["patrol"], "crimes"].mean()
        / during.loc[~during["patrol"], "crimes"].mean()
        < 1.25
    )


def test_pings_move_at_foot_speed_with_noise_gaps_and_outliers(city: City) -> None:
    p = city.pings.merge(city.planted_outliers.assign(out=True), on=["device_id", "t"], how="left")
    assert p["out"].sum() == len(city.planted_outliers) > 0
    p = p[p["out"].isna()]
    assert p["accuracy"].between(7, 13).all()
    assert set(p["device_id"]) >= {"OUT-1", "OUT-2", "POL-1", "POL-2", "POL-3"}
    gaps = 0
    for _, g in p.groupby("device_id"):
        t = g["t"].to_numpy().astype("datetime64[s]").astype(np.int64)
        dt_ = np.diff(t)
        assert np.median(dt_) <= 30
        gaps += int((dt_ > 120).sum())
        # displacement over >= 2-minute spans: walking pace, not driving
        k = np.searchsorted(t, t + 120)
        ok = k < t.size
        span = t[k[ok]] - t[ok]
        d = np.hypot(
            g["x"].to_numpy()[k[ok]] - g["x"].to_numpy()[ok],
            g["y"].to_numpy()[k[ok]] - g["y"].to_numpy()[ok],
        )
        v = d / span
        assert np.percentile(v, 99) < 1.8
        assert 1.0 < v.max() < 2.2
    assert gaps > 0
    # pings only on tracked days, inside 13:30-20:30 local
    loc = _local(city.pings["t"])
    assert set(loc.dt.date) <= set(city.tracked_days)
    assert loc.dt.hour.between(13, 20).all()


def test_separation_breaches_and_abstraction_are_planted_truth() -> None:
    c = make_city(seed=2, track_days=30)
    tv = c.true_visits
    o, q = tv[tv["team"] == "outreach"], tv[tv["team"] == "police"]
    m = o.merge(q, on=["area_id", "date"], suffixes=("_o", "_p"))
    m = m[(m["start_p"] < m["end_o"]) & (m["end_p"] > m["start_o"])]
    got = set(zip(m["device_id_p"], m["area_id"], m["date"], strict=True))
    planted = set(
        zip(
            c.planted_breaches["device_id"],
            c.planted_breaches["area_id"],
            c.planted_breaches["date"],
            strict=True,
        )
    )
    assert got == planted and len(planted) >= 2
    ab = c.planted_abstraction
    assert set(ab["kind"]) == {"short", "missed"}
    short = ab[ab["kind"] == "short"]
    assert ((short["actual_end"] - short["actual_start"]).dt.total_seconds() < 7 * 60).all()
    # a missed visit leaves no police presence at that hot spot in its planned slot
    mm = ab[ab["kind"] == "missed"].merge(q, on=["device_id", "area_id", "date"], how="left")
    hit = (mm["start"] < mm["planned_end"]) & (mm["end"] > mm["planned_start"])
    assert not hit.any()
    # outreach stays about 40 minutes, police about 15 unless abstracted
    assert 36 <= (o["end"] - o["start"]).dt.total_seconds().median() / 60 <= 44
    plan_p = c.plan[c.plan["team"] == "police"]
    assert ((plan_p["end"] - plan_p["start"]).dt.total_seconds() == 900).all()


def test_engagements(city: City) -> None:
    e = city.engagements
    assert len(e) > 500
    assert e["person_ref"].dropna().str.fullmatch(r"P\d{4}").all()
    repeats = e["person_ref"].value_counts()
    assert (repeats >= 5).sum() >= 10 and (repeats == 1).sum() >= 20
    assert e["area_id"].between(1, 7).all()
    # each engagement falls inside its outreach visit: the tracked one where GPS exists, else
    # the planned slot
    tv = city.true_visits[city.true_visits["team"] == "outreach"]
    plan = city.plan[city.plan["team"] == "outreach"]
    e = e.assign(date=_local(e["at"]).dt.date)
    tracked = e["date"].isin(set(city.tracked_days))
    for sub, visits in ((e[tracked], tv), (e[~tracked], plan)):
        j = sub.merge(visits, on=["area_id", "date"])
        inside = (j["at"] >= j["start"]) & (j["at"] <= j["end"])
        assert inside.groupby(j["engagement_id"]).any().sum() == len(sub) > 0


def test_police_uk_files_are_shaped_like_the_real_ones(
    city: City, written: dict[str, Path]
) -> None:
    files = sorted(written["police_uk"].glob("*/*-synthshire-street.csv"))
    assert len(files) == city.crimes["month"].nunique() == 22
    total = 0
    for f in files:
        raw = f.read_bytes()
        lines = raw.split(b"\r\n")
        assert lines[0].decode() == ",".join(POLICE_UK_COLUMNS)
        assert lines[-1] == b"" and b"\n" not in raw.replace(b"\r\n", b"")
        df = pd.read_csv(f, dtype=str, keep_default_na=False)
        assert (df["Month"] == f.parent.name).all()
        asb = df["Crime type"] == "Anti-social behaviour"
        assert (df.loc[asb, "Crime ID"] == "").all() and (
            df.loc[asb, "Last outcome category"] == ""
        ).all()
        assert (df.loc[~asb, "Crime ID"].str.len() == 64).all()
        assert df["Location"].str.startswith("On or near ").all()
        total += len(df)
    assert total == len(city.crimes)
    pts = set(
        zip(
            city.points["lon"].map("{:.6f}".format),
            city.points["lat"].map("{:.6f}".format),
            strict=True,
        )
    )
    assert set(zip(df["Longitude"], df["Latitude"], strict=True)) <= pts


def test_incident_extract_round_trips_local_time(city: City, written: dict[str, Path]) -> None:
    inc = pd.read_csv(written["incidents"], dtype={"ho_code": str})
    assert list(inc.columns) == [
        "incident_id",
        "occurred",
        "offence",
        "ho_code",
        "crime_group",
        "easting",
        "northing",
    ]
    assert (
        inc["crime_group"].to_numpy()
        == city.crimes.set_index("incident_id").loc[inc["incident_id"], "category"].to_numpy()
    ).all()
    crimes = city.crimes[city.crimes["incident_id"].notna()].set_index("incident_id")
    assert len(inc) == len(crimes)
    back = to_utc_naive(pd.to_datetime(inc["occurred"], format="%Y-%m-%d %H:%M"))
    want = crimes.loc[inc["incident_id"], "occurred_at"].to_numpy()
    # only times in the repeated October hour may differ (genuinely ambiguous in local time)
    diff = back.to_numpy() != want
    assert diff.sum() <= 10
    assert (pd.to_datetime(inc["occurred"])[diff].dt.hour == 1).all()


def test_gpx_and_radio_csv(city: City, written: dict[str, Path]) -> None:
    gpx = sorted(written["tracks"].glob("*.gpx"))
    assert gpx and all(f.name.startswith("OUT-") for f in gpx)
    n = 0
    for f in gpx:
        root = ET.parse(f).getroot()
        assert root.tag == f"{GPX_NS}gpx" and root.get("version") == "1.1"
        for pt in root.iter(f"{GPX_NS}trkpt"):
            n += 1
            t = pt.find(f"{GPX_NS}time")
            assert t is not None and t.text is not None and t.text.endswith("Z")
    assert n == (city.pings["team"] == "outreach").sum()
    radio = pd.read_csv(written["police_radio"])
    assert list(radio.columns) == ["callsign", "time", "easting", "northing", "accuracy"]
    assert len(radio) == (city.pings["team"] == "police").sum()
    gj = json.loads(written["hotspots"].read_text())
    assert [f["properties"]["name"] for f in gj["features"]] == city.hotspots["name"].tolist()
    lon, lat = gj["features"][0]["geometry"]["coordinates"][0][0]
    assert -1.2 < lon < -1.0 and 52.6 < lat < 52.7
    eng = pd.read_csv(written["engagements"])
    assert len(eng) == len(city.engagements)
    back = pd.to_datetime(eng["at"], utc=True).dt.tz_localize(None)
    assert (back.to_numpy() == city.engagements["at"].to_numpy()).all()

"""Dosage over the stored pings, a piece of whole devices at a time (``stored_dosage``).

The reference is the all-in-memory path ``patrolwise dosage`` took before: every ping of the
period loaded at once, teams from the registry, cleaned, measured, kept to the dates and the
hot spots' active days. The piecewise read must give exactly its answer, for any piece size,
while never loading more than a piece.
"""

from __future__ import annotations

import datetime as dt
import gc
import tracemalloc
import weakref
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

import patrolwise.store.pings as store_pings
from patrolwise.errors import InputError
from patrolwise.store import Store
from patrolwise.store.areas import add_areas, load_areas, replace_area
from patrolwise.store.devices import (
    add_device,
    assign_device,
    device_teams,
    ensure_devices,
    list_devices,
)
from patrolwise.store.pings import insert_pings, load_pings
from patrolwise.stored_dosage import measure_stored
from patrolwise.synth import make_city
from patrolwise.timeutil import local_days
from patrolwise.track.cleaning import clean_pings, device_start_dates
from patrolwise.track.dosage import DosageParams, compute_dosage, on_active_days
from patrolwise.track.pieces import dosage_in_pieces, plan_pieces
from patrolwise.track_import import apply_assignments

TZ = "Europe/London"
DAY1 = dt.date(2023, 2, 6)  # the synthetic city's first tracked day (GMT: local = UTC)
DAY2 = DAY1 + dt.timedelta(days=1)
DAY3 = DAY1 + dt.timedelta(days=2)


def _old_path(
    st: Store, start: dt.date | None, end: dt.date | None, params: DosageParams
) -> tuple[Any, pd.DataFrame, tuple[Any, Any]]:
    """What ``patrolwise dosage`` did before (cli/dosage.py ``_run`` at 7942bb2): everything
    loaded at once."""
    hs = load_areas(st, "hotspot")
    lo = start - dt.timedelta(days=1) if start else None
    hi = end + dt.timedelta(days=1) if end else None
    pings = load_pings(st, lo, hi, with_flags=True)
    if not pings.empty:
        with st.engine.connect() as conn:
            known, assigns = device_teams(conn, pings["device_id"].unique().tolist())
        base = pings["device_id"].map(known)
        pings = pings.assign(team=base.where(base.notna(), pings["team"]))
        pings = pings.assign(team=apply_assignments(pings, assigns, params.tz))
    since = device_start_dates(list_devices(st))
    cleaned = clean_pings(pings, device_since=since, tz=params.tz)
    res = compute_dosage(cleaned, hs, params)
    keep = pd.Series(True, index=res.visits.index)
    if start:
        keep &= res.visits["local_day"] >= start
    if end:
        keep &= res.visits["local_day"] <= end
    res.visits = on_active_days(res.visits[keep].reset_index(drop=True), hs)
    res.unknown = on_active_days(res.unknown, hs)
    res.stats["cleaning"] = cleaned.attrs.get("cleaning", {})
    # the days measured: those of fixes whose time can be believed (cleaning's span)
    span = cleaned.attrs["span"]
    days = local_days(pd.Series(list(span) if span else [], dtype="datetime64[ns]"), params.tz)
    return res, pings, (start or days.min(), end or days.max())


def _night_patrol(hs: gpd.GeoDataFrame) -> pd.DataFrame:
    """NIGHT-1 in the first hot spot from 23:30 on day 1 to 00:30 on day 2 (GMT), a fix every
    20 s but for ten silent minutes from 00:05: a visit in two local-day parts, an unknown gap,
    and a second visit."""
    c = hs.geometry.iloc[0].centroid
    t = pd.date_range(f"{DAY1} 23:30", f"{DAY2} 00:30", freq="20s")
    t = t[(t <= pd.Timestamp(f"{DAY2} 00:05")) | (t >= pd.Timestamp(f"{DAY2} 00:15"))]
    return pd.DataFrame(
        {"device_id": "NIGHT-1", "team": "police", "t": t, "x": c.x, "y": c.y}
    ).assign(lon=-1.13, lat=52.63, accuracy=6.0)


def _fill(url: str, seed: int = 3, track_days: int = 3) -> dict[str, int]:
    """A store with the synthetic city's pings for ``track_days`` days and what makes dosage
    hard: a loan recorded after the pings, a device registered with a start date after some of
    its fixes, fixes the device did not vouch for, a night patrol across midnight, a hot spot
    redrawn on day 2, a fix from a clock in the future and one from 1999. Returns the pings per
    device."""
    city = make_city(seed, track_days=track_days, during_weeks=max(1, -(-track_days // 7)))
    cp = city.pings.copy()
    night = _night_patrol(city.hotspots)
    cp = pd.concat([cp, night], ignore_index=True)
    # OUT-2 marks every 40th fix as a mock location, POL-1 a run of fixes as not valid
    attrs: list[dict[str, object] | None] = [None] * len(cp)
    for i in np.flatnonzero(cp["device_id"].eq("OUT-2").to_numpy())[::40]:
        attrs[i] = {"mock": True}
    for i in np.flatnonzero(cp["device_id"].eq("POL-1").to_numpy())[200:260]:
        attrs[i] = {"valid": "false"}
    cp["attrs"] = attrs
    odd = cp[cp["device_id"].eq("OUT-1")].iloc[[0, 1]].copy()
    odd["t"] = [pd.Timestamp("2031-01-01 12:00"), pd.Timestamp("1999-08-21 23:59:47")]
    odd["attrs"] = None
    cp = pd.concat([cp, odd], ignore_index=True)
    with Store(url) as st:
        add_areas(st, city.hotspots[["name", "geometry"]])
        hs = load_areas(st, "hotspot")
        # POL-3 was issued on day 2: its day-1 fixes are a broken clock's
        add_device(st, "POL-3", "police", active_from=DAY2, with_secret=False)
        with st.engine.begin() as conn:
            ensure_devices(conn, dict(zip(cp["device_id"], cp["team"], strict=True)))
            insert_pings(conn, cp, source="test")
        # recorded after the pings arrived: POL-2 lent to outreach on day 2
        assign_device(st, "POL-2", "outreach", DAY2, DAY2)
        # the second hot spot redrawn larger from day 2
        first = hs.iloc[1]
        redrawn = gpd.GeoDataFrame(
            {"name": [first["name"]]}, geometry=[first.geometry.buffer(15)], crs=hs.crs
        )
        replace_area(st, int(first["area_id"]), redrawn, DAY2)
    return {str(k): int(v) for k, v in cp.groupby("device_id").size().items()}


def _same(new: Any, old: Any) -> None:
    for name in ("visits", "unknown", "tracked"):
        pd.testing.assert_frame_equal(getattr(new, name), getattr(old, name), obj=name)
    assert new.stats == old.stats


PARAMS = DosageParams(tz=TZ)


@pytest.mark.parametrize("chunk", [1, 2_000, 6_000, 10**7])
def test_piecewise_equals_all_at_once(store_url: str, chunk: int) -> None:
    _fill(store_url)
    with Store(store_url) as st:
        for start, end in [(None, None), (DAY2, DAY2), (DAY1, DAY3), (DAY2, None)]:
            old, pings, days_old = _old_path(st, start, end, PARAMS)
            m = measure_stored(st, start, end, PARAMS, chunk_pings=chunk)
            _same(m.result, old)
            assert m.pings == len(pings) and m.days == days_old
            per_device = pings.groupby("device_id").size()
            assert m.largest <= max(chunk, per_device.max())
            if chunk == 1:  # smaller than any device: every device a piece of its own
                assert m.pieces == len(per_device) >= 6
            if chunk == 10**7:
                assert m.pieces == 1
        old_all, _, days_all = _old_path(st, None, None, PARAMS)
        hs = load_areas(st, "hotspot")
    # the test means something: the data hold what the reference path must get right
    # the 2031 and 1999 clocks are flagged and not days measured: an open-ended run claimed
    # 1999-08-22 to 2031-01-01, so every day between counted as tracked
    assert days_all == (DAY1, DAY3)
    flags = old_all.stats["cleaning"]["flags"]
    assert {"future", "too_old", "device_flagged", "before_device"} <= set(flags)
    v = old_all.visits
    night = v[v["device_id"].eq("NIGHT-1")]
    assert night["minutes"].tolist() == [30.0, 5.0, 15.0]  # 23:30-00:05 in two parts, 00:15-
    assert night["visit_id"].nunique() == 2
    gap = old_all.unknown[old_all.unknown["device_id"].eq("NIGHT-1")]
    assert gap["minutes"].tolist() == [10.0]
    lent = v[v["device_id"].eq("POL-2")]
    assert set(lent.loc[lent["local_day"].eq(DAY2), "team"]) == {"outreach"}
    assert set(lent.loc[lent["local_day"].ne(DAY2), "team"]) == {"police"}
    retired = hs.loc[hs["active_to"].notna(), "area_id"].tolist()
    assert len(retired) == 1 and not v["local_day"].gt(DAY1)[v["area_id"].isin(retired)].any()


def test_pieces_hold_whole_devices_and_no_more_than_the_budget(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    sizes = _fill(store_url)
    loads: list[tuple[list[str], int]] = []
    real = store_pings.load_piece

    def spy(conn: Any, devices: list[str], *a: Any, **k: Any) -> pd.DataFrame:
        df = real(conn, devices, *a, **k)
        loads.append((list(devices), len(df)))
        return df

    monkeypatch.setattr(store_pings, "load_piece", spy)
    budget = 4_000
    with Store(store_url) as st:
        m = measure_stored(st, None, None, PARAMS, chunk_pings=budget)
        old, pings, _ = _old_path(st, None, None, PARAMS)
    _same(m.result, old)
    n_old = len(pings)
    assert len(loads) == m.pieces >= 3
    assert sum(n for _, n in loads) == n_old == sum(sizes.values())
    devices = [d for ds, _ in loads for d in ds]
    assert sorted(devices) == sorted(sizes)  # each device read once, whole
    for ds, n in loads:
        assert n == sum(sizes[d] for d in ds)
        # a piece is within the budget, unless it is one device bigger than the budget
        assert n <= budget or len(ds) == 1
    assert max(n for _, n in loads) < n_old / 2


def test_a_piece_is_let_go_once_cleaned(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """No piece read from the store is alive when the next is read, nor while its own cleaned
    pings are scanned."""
    import patrolwise.track.pieces as pieces_mod

    _fill(sqlite_url)
    refs: list[weakref.ref[pd.DataFrame]] = []
    alive_at_read: list[int] = []
    alive_at_scan: list[int] = []
    real_pieces, real_scan = store_pings.ping_pieces, pieces_mod.scan_chunks

    def spy_pieces(*a: Any, **k: Any) -> list[Any]:
        def spy(read: Any) -> Any:
            def go() -> pd.DataFrame:
                alive_at_read.append(sum(r() is not None for r in refs))
                piece = read()
                refs.append(weakref.ref(piece))
                return piece

            return go

        return [spy(r) for r in real_pieces(*a, **k)]

    def spy_scan(*a: Any, **k: Any) -> Any:
        alive_at_scan.append(sum(r() is not None for r in refs))
        return real_scan(*a, **k)

    monkeypatch.setattr(store_pings, "ping_pieces", spy_pieces)
    monkeypatch.setattr(pieces_mod, "scan_chunks", spy_scan)
    with Store(sqlite_url) as st:
        m = measure_stored(st, None, None, PARAMS, chunk_pings=3_000)
    assert m.pieces >= 3 and len(refs) == m.pieces
    assert alive_at_read == alive_at_scan == [0] * m.pieces


def _peak(fn: Any) -> tuple[Any, int]:
    gc.collect()
    tracemalloc.start()
    try:
        out = fn()
        return out, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _fill_many(url: str, copies: int) -> int:
    """The synthetic city's four tracked days, each tracker ``copies`` times over (a force with
    many devices, each a few metres from the original's path); returns the pings stored."""
    city = make_city(7, track_days=4, during_weeks=1)
    rng = np.random.default_rng(7)
    parts = []
    for k in range(copies):
        p = city.pings.copy()
        p["device_id"] = p["device_id"] + f"-{k:02d}"
        p["x"] += rng.normal(0, 3, len(p))
        p["y"] += rng.normal(0, 3, len(p))
        parts.append(p)
    cp = pd.concat(parts, ignore_index=True)
    with Store(url) as st:
        add_areas(st, city.hotspots[["name", "geometry"]])
        with st.engine.begin() as conn:
            ensure_devices(conn, dict(zip(cp["device_id"], cp["team"], strict=True)))
            insert_pings(conn, cp, source="test")
    return len(cp)


def test_memory_is_bounded_by_the_piece_not_the_period(sqlite_url: str) -> None:
    total = _fill_many(sqlite_url, copies=4)
    assert total > 70_000
    with Store(sqlite_url) as st:
        measure_stored(st, DAY1, DAY1, PARAMS)  # hot spots prepared and cached, imports done
        (old, _, _), p_old = _peak(lambda: _old_path(st, None, None, PARAMS))
        m, p_new = _peak(lambda: measure_stored(st, None, None, PARAMS, chunk_pings=10_000))
    _same(m.result, old)
    assert m.pieces >= 8 and m.largest <= 10_000
    print(f"peak traced: all at once {p_old / 1e6:.1f} MB, in pieces {p_new / 1e6:.1f} MB")
    # measured: 64 MB at once, 5 MB in pieces (most of it the hot spots' index and the runs);
    # a fifth leaves room for allocator noise
    assert p_new < p_old / 5, (p_new, p_old)


def test_no_pings_is_an_error_unless_allowed(store_url: str) -> None:
    with Store(store_url) as st:
        add_areas(
            st,
            gpd.GeoDataFrame(
                {"name": ["Market"]}, geometry=[shapely.box(0, 0, 100, 100)], crs="EPSG:27700"
            ),
        )
        with pytest.raises(InputError, match="no pings stored for those dates"):
            measure_stored(st, DAY1, DAY1, PARAMS)
        m = measure_stored(st, DAY1, DAY1, PARAMS, allow_empty=True)
        old, pings, days = _old_path(st, DAY1, DAY1, PARAMS)
    _same(m.result, old)
    assert m.pings == len(pings) == 0 and m.days == days == (DAY1, DAY1) and m.pieces == 0


def test_no_hot_spots_is_an_error(store_url: str) -> None:
    with Store(store_url) as st, pytest.raises(InputError, match="no hot spots stored"):
        measure_stored(st, None, None, PARAMS)


def test_plan_pieces_groups_whole_devices_in_order() -> None:
    counts = pd.Series({"b": 5, "a": 3, "c": 10, "d": 1, "e": 0, "f": 2})
    assert plan_pieces(counts, 8) == [["a", "b"], ["c"], ["d", "f"]]
    assert plan_pieces(counts, 1) == [["a"], ["b"], ["c"], ["d"], ["f"]]
    assert plan_pieces(counts, 100) == [["a", "b", "c", "d", "f"]]
    assert plan_pieces(counts, 100, max_devices=2) == [["a", "b"], ["c", "d"], ["f"]]
    with pytest.raises(InputError, match="chunk_pings"):
        plan_pieces(counts, 0)


def test_a_device_cut_across_pieces_is_refused() -> None:
    t = pd.date_range("2024-06-03 13:00", periods=40, freq="30s")
    p = pd.DataFrame({"device_id": "D1", "team": "police", "t": t, "x": 50.0, "y": 50.0})
    hs = gpd.GeoDataFrame(
        {"area_id": [1], "name": ["A"]}, geometry=[shapely.box(0, 0, 100, 100)], crs="EPSG:27700"
    )
    with pytest.raises(InputError, match="'D1' is in two pieces"):
        dosage_in_pieces(iter([p.iloc[:20], p.iloc[20:]]), hs, PARAMS)
    whole = dosage_in_pieces(iter([p]), hs, PARAMS)
    assert whole.result.visits["minutes"].tolist() == [19.5]


def test_a_tracker_posting_during_a_run(store_url: str) -> None:
    """Fixes stored while a run reads its pieces: PostgreSQL's run reads one snapshot (the
    pings as they were when it counted them); SQLite's sees them in the pieces read after they
    arrive. Either way every device is read whole, so cleaning and dosage agree with a run on
    the store as it was, or as it became."""
    _fill(store_url)
    with Store(store_url) as st:
        before, _, _ = _old_path(st, None, None, PARAMS)
        c = load_areas(st, "hotspot").geometry.iloc[3].centroid
        late = pd.DataFrame(
            {
                "device_id": "OUT-1",
                "team": "outreach",
                "t": pd.date_range(f"{DAY3} 21:00", f"{DAY3} 21:30", freq="15s"),
                "x": c.x,
                "y": c.y,
                "lon": -1.13,
                "lat": 52.63,
            }
        )

        def post(i: int, k: int, done: int, total: int) -> None:
            if i == 0:  # counted, nothing read yet
                with st.engine.begin() as conn:
                    assert insert_pings(conn, late, source="live") == len(late)

        m = measure_stored(st, None, None, PARAMS, chunk_pings=2_000, progress=post)
        after, pings, _ = _old_path(st, None, None, PARAMS)
    if st.dialect == "postgresql":
        _same(m.result, before)
        assert m.pings == len(pings) - len(late)
    else:
        _same(m.result, after)
        assert m.pings == len(pings)
    # the late half hour is a visit when it is read
    got = after.visits[after.visits["start"].eq(pd.Timestamp(f"{DAY3} 21:00"))]
    assert len(got) == 1 and got["minutes"].iloc[0] == 30.0


def test_the_dosage_command_reads_in_pieces_and_answers_as_before(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from typer.testing import CliRunner

    import patrolwise.stored_dosage as sd
    from patrolwise.cli import app
    from patrolwise.store.visits import load_visits

    _fill(store_url)
    with Store(store_url) as st:
        old, pings, _ = _old_path(st, DAY1, DAY3, PARAMS)
    planned: list[list[list[str]]] = []

    def one_device_a_piece(counts: pd.Series, chunk_pings: int) -> list[list[str]]:
        planned.append(plan_pieces(counts, 1))
        return planned[-1]

    monkeypatch.setattr(sd, "plan_pieces", one_device_a_piece)
    args = ["--db", store_url, "dosage", "--from", str(DAY1), "--to", str(DAY3), "--json"]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert len(planned) == 1 and len(planned[0]) == pings["device_id"].nunique() >= 6
    assert out["visits"] == old.visits["visit_id"].nunique()
    assert out["stats"] == json.loads(json.dumps(old.stats))
    with Store(store_url) as st:
        stored = load_visits(st)
    assert len(stored) == len(old.visits)
    assert sorted(stored["minutes"].round(6)) == sorted(old.visits["minutes"].round(6))
    d = CliRunner().invoke(
        app, ["--db", store_url, "dosage", "daily", "--date", str(DAY2), "--json"]
    )
    assert d.exit_code == 0, d.output
    assert len(planned) == 2  # the daily summary reads in pieces too
    with Store(store_url) as st:
        old2, _, _ = _old_path(st, DAY2, DAY2, PARAMS)
    want = old2.visits.groupby(["area_id", "team"])["minutes"].sum().round(6).to_dict()
    got = {
        (x["area_id"], x["team"]): round(x["officer_minutes"], 6)
        for x in json.loads(d.stdout)["by_hotspot"]
        if x["officer_minutes"] > 0
    }
    assert got == want and any(team == "outreach" for _, team in want)


@pytest.mark.slow
def test_the_memory_benchmark_runs_small() -> None:
    """``benchmarks/stored_dosage.py`` end to end on a small store: both paths run in their own
    processes, give the same answer, and the table and ratios print."""
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "stored_dosage.py"
    out = subprocess.run(
        [sys.executable, str(script), "--copies", "2", "--chunk", "5000"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "all at once (peer)" in out.stdout and "patrolwise, pieces of 5,000" in out.stdout
    assert "answers identical" in out.stdout and "memory peer / patrolwise =" in out.stdout

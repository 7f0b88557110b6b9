"""Stored visits: a dosage run saved and loaded back on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from patrolwise.store import Store
from patrolwise.store.areas import add_areas, load_areas
from patrolwise.store.visits import last_run, load_visits, save_visits
from patrolwise.track.dosage import DosageParams, compute_dosage


def _pings() -> pd.DataFrame:
    def leg(dev: str, team: str, a: str, b: str, x: float) -> pd.DataFrame:
        t = pd.date_range(a, b, freq="30s")
        return pd.DataFrame({"device_id": dev, "team": team, "t": t, "x": x, "y": 50.0})

    return pd.concat(
        [
            leg("OUT-1", "outreach", "2024-06-03 14:00", "2024-06-03 14:40", 50.0),
            leg("POL-1", "police", "2024-06-03 22:40", "2024-06-03 23:20", 1050.0),
        ],
        ignore_index=True,
    )


def test_save_and_load_visits_replaces_days(store_url: str) -> None:
    with Store(store_url) as st:
        areas = gpd.GeoDataFrame(
            {"name": ["Market", "Station"]},
            geometry=[shapely.box(0, 0, 100, 100), shapely.box(1000, 0, 1100, 100)],
            crs="EPSG:27700",
        )
        add_areas(st, areas)
        hs = load_areas(st)
        params = DosageParams()
        r = compute_dosage(_pings(), hs, params)
        # the police visit crosses local midnight (BST): two stored rows
        assert len(r.visits) == 3
        run = save_visits(st, r.visits, params=params.as_dict(), stats=r.stats)
        got = load_visits(st)
        assert got["run_id"].unique().tolist() == [run]
        assert got["minutes"].tolist() == [40.0, 20.0, 20.0]
        assert got["local_day"].tolist() == [
            dt.date(2024, 6, 3),
            dt.date(2024, 6, 3),
            dt.date(2024, 6, 4),
        ]
        assert got["start"].iloc[0] == pd.Timestamp("2024-06-03 14:00")
        assert set(got["area_id"]) == set(hs["area_id"])
        # re-running over the same days replaces, never double counts
        save_visits(st, r.visits, params=params.as_dict())
        again = load_visits(st)
        assert len(again) == 3 and again["run_id"].nunique() == 1
        assert last_run(st)["params"]["buffer_m"] == 10.0
        only = load_visits(st, dt.date(2024, 6, 4), dt.date(2024, 6, 4), team="police")
        assert only["minutes"].tolist() == [20.0]


def test_ping_before_registered_start_is_flagged_not_counted(store_url: str) -> None:
    """The `dosage` command takes each device's start date from the registry: fixes before local
    midnight (BST: 23:00 UTC the day before) of ``active_from`` are a broken clock, not patrol."""
    import json

    from typer.testing import CliRunner

    from patrolwise.cli import app
    from patrolwise.store.devices import add_device
    from patrolwise.store.pings import insert_pings

    # 22:40-23:20 UTC on 3 June = 23:40 on 3 June to 00:20 on 4 June, London time
    t = pd.date_range("2024-06-03 22:40", "2024-06-03 23:20", freq="30s")
    pings = pd.DataFrame(
        {"device_id": "OUT-9", "team": "outreach", "t": t, "x": 50.0, "y": 50.0}
    ).assign(lon=-1.13, lat=52.63)
    with Store(store_url) as st:
        add_areas(
            st,
            gpd.GeoDataFrame(
                {"name": ["Market"]}, geometry=[shapely.box(0, 0, 100, 100)], crs="EPSG:27700"
            ),
        )
        add_device(st, "OUT-9", "outreach", active_from=dt.date(2024, 6, 4), with_secret=False)
        with st.engine.begin() as conn:
            insert_pings(conn, pings, source="test")
    r = CliRunner().invoke(app, ["--db", store_url, "dosage", "--json"])
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    # 22:40:00 .. 22:59:30 UTC: 40 fixes before the device existed, each flagged with the reason
    assert res["stats"]["cleaning"]["flags"] == {"before_device": 40}
    with Store(store_url) as st:
        v = load_visits(st)
    # only 23:00-23:20 UTC counts: one 20-minute visit on local 4 June (not 40 minutes)
    assert v["minutes"].tolist() == [20.0]
    assert v["start"].tolist() == [pd.Timestamp("2024-06-03 23:00")]
    assert v["local_day"].tolist() == [dt.date(2024, 6, 4)]


def test_insert_pings_stores_zoned_times_in_utc(store_url: str) -> None:
    # found by QA: insert_pings formatted each time's wall clock, so a zone-aware time
    # (14:02 BST) was stored as 14:02 UTC, an hour late, though the store holds UTC
    from patrolwise.store.devices import ensure_devices
    from patrolwise.store.pings import insert_pings, load_pings

    t = pd.DatetimeIndex(["2024-05-01 15:02", "2024-05-01 15:03"]).tz_localize("Europe/London")
    df = pd.DataFrame(
        {"device_id": "P1", "team": "police", "t": t, "x": 1.0, "y": 2.0, "lon": -1.1, "lat": 52.6}
    )
    with Store(store_url) as st:
        with st.engine.begin() as conn:
            ensure_devices(conn, {"P1": "police"})
            assert insert_pings(conn, df, source="test") == 2
        got = load_pings(st)
    assert list(got["t"]) == [pd.Timestamp("2024-05-01 14:02"), pd.Timestamp("2024-05-01 14:03")]


def test_load_pings_reads_zoned_bounds_in_utc(store_url: str) -> None:
    # found by QA: load_pings compared a zone-aware start/end with the stored naive UTC times
    # by their wall clock (SQLite) or the session's zone (PostgreSQL): 15:00 BST selected
    # from 15:00 UTC, an hour late
    import datetime as dt
    from zoneinfo import ZoneInfo

    from patrolwise.store.devices import ensure_devices
    from patrolwise.store.pings import insert_pings, load_pings

    t = pd.date_range("2024-05-01 13:30", "2024-05-01 15:30", freq="30min")
    df = pd.DataFrame(
        {"device_id": "P1", "team": "police", "t": t, "x": 1.0, "y": 2.0, "lon": -1.1, "lat": 52.6}
    )
    bst = ZoneInfo("Europe/London")
    with Store(store_url) as st:
        with st.engine.begin() as conn:
            ensure_devices(conn, {"P1": "police"})
            insert_pings(conn, df, source="test")
        got = load_pings(
            st,
            dt.datetime(2024, 5, 1, 15, 0, tzinfo=bst),
            dt.datetime(2024, 5, 1, 16, 0, tzinfo=bst),
        )
    assert list(got["t"]) == [pd.Timestamp("2024-05-01 14:00"), pd.Timestamp("2024-05-01 14:30")]


def _store_a_fix_dated_2300(st: Store) -> None:
    """Pings 14:00-14:40 UTC on 3 June 2024 in a hot spot, and one fix dated 2300 written
    straight into the table, as another tool or an older patrolwise could have stored it
    (neither import nor live ingest accepts one now)."""
    from sqlalchemy import insert

    from patrolwise.store.devices import ensure_devices
    from patrolwise.store.models.tracking import Ping
    from patrolwise.store.pings import insert_pings

    t = pd.date_range("2024-06-03 14:00", "2024-06-03 14:40", freq="30s")
    df = pd.DataFrame(
        {"device_id": "OUT-1", "team": "outreach", "t": t, "x": 50.0, "y": 50.0}
    ).assign(lon=-1.13, lat=52.63)
    add_areas(
        st,
        gpd.GeoDataFrame(
            {"name": ["Market"]}, geometry=[shapely.box(0, 0, 100, 100)], crs="EPSG:27700"
        ),
    )
    with st.engine.begin() as conn:
        ensure_devices(conn, {"OUT-1": "outreach"})
        insert_pings(conn, df, source="test")
        conn.execute(
            insert(Ping).values(
                device_id="OUT-1",
                team="outreach",
                t=dt.datetime(2300, 1, 1, 12, 0),
                lon=-1.13,
                lat=52.63,
                x=50.0,
                y=50.0,
                source="test",
            )
        )


def test_a_stored_fix_dated_after_2262_is_read_and_flagged_future(store_url: str) -> None:
    # found by QA: a fix dated after 2262-04-11 in the store made load_pings (and every
    # dosage run) fail with pandas' OutOfBoundsDatetime: nanosecond times end there
    import json

    from typer.testing import CliRunner

    from patrolwise.cli import app
    from patrolwise.store.pings import load_pings
    from patrolwise.track.cleaning import clean_pings

    with Store(store_url) as st:
        _store_a_fix_dated_2300(st)
        got = load_pings(st, with_flags=True)
    assert len(got) == 82 and got["t"].dtype == "datetime64[ns]"
    # read as the last instant a nanosecond time holds, in order: a time no clock gave
    assert got["t"].iloc[-1] == pd.Timestamp("2262-04-10")
    cleaned = clean_pings(got, now=dt.datetime(2024, 6, 4))
    assert cleaned.attrs["cleaning"]["flags"] == {"future": 1}
    r = CliRunner().invoke(app, ["--db", store_url, "dosage", "--json"])
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    assert res["stats"]["cleaning"]["flags"] == {"future": 1}
    with Store(store_url) as st:
        assert load_visits(st)["minutes"].tolist() == [40.0]


def test_insert_pings_refuses_a_time_it_could_not_read_back(store_url: str) -> None:
    from patrolwise.errors import InputError
    from patrolwise.store.devices import ensure_devices
    from patrolwise.store.pings import insert_pings

    df = pd.DataFrame(
        {
            "device_id": "P1",
            "team": "police",
            "t": [dt.datetime(2024, 5, 1, 14, 2), dt.datetime(2300, 1, 1)],
            "x": 1.0,
            "y": 2.0,
            "lon": -1.1,
            "lat": 52.6,
        }
    )
    with Store(store_url) as st:
        with st.engine.begin() as conn:
            ensure_devices(conn, {"P1": "police"})
        with (
            pytest.raises(
                InputError, match="2300-01-01 00:00:00 UTC is outside 1677-09-22..2262-04-10"
            ),
            st.engine.begin() as conn,
        ):
            insert_pings(conn, df, source="test")

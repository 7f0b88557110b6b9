"""Stored visits: a dosage run saved and loaded back on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import pandas as pd
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

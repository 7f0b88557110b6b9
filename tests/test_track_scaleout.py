"""Scale-out: a day/device partitioned Parquet archive on a Dask LocalCluster gives exactly the
single-process answer."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from patrolwise.track.dosage import DosageParams, compute_dosage, prepare_hotspots
from patrolwise.track.scaleout import dosage_from_archive, list_partitions, write_archive

AREAS = gpd.GeoDataFrame(
    {"area_id": [5, 6, 7]},
    geometry=[
        shapely.Point(0, 0).buffer(60),
        shapely.box(300, -50, 420, 50),
        shapely.Point(150, 200).buffer(40),
    ],
    crs="EPSG:27700",
)


def random_pings(seed: int = 0, devices: int = 5, days: int = 4) -> pd.DataFrame:
    """Devices wandering across the hot spots over several days, through local midnight and
    the October clock change, with silent gaps."""
    rng = np.random.default_rng(seed)
    parts = []
    for d in range(devices):
        n = 1500 * days
        steps = rng.choice([20, 30, 60, 900], size=n, p=[0.5, 0.3, 0.18, 0.02])
        t = np.datetime64("2024-10-25T18:00:00") + np.cumsum(steps).astype("timedelta64[s]")
        x = np.clip(np.cumsum(rng.normal(0, 15, n)), -200, 500)
        y = np.clip(np.cumsum(rng.normal(0, 15, n)), -150, 300)
        team = "police" if d % 2 else "outreach"
        dev = "POL/1 #x" if d == 1 else f"DEV-{d}"  # a device id that needs escaping
        parts.append(pd.DataFrame({"device_id": dev, "team": team, "t": t, "x": x, "y": y}))
    return pd.concat(parts, ignore_index=True)


COLS = ["device_id", "team", "area_id", "start", "end", "minutes", "n_pings", "local_day"]


def _norm(v: pd.DataFrame) -> pd.DataFrame:
    return v[COLS].sort_values(["device_id", "start", "area_id"]).reset_index(drop=True)


@pytest.mark.parametrize(("geo", "files_per_task"), [(False, 1), (False, 7), (True, None)])
def test_archive_in_process_equals_single_pass(
    tmp_path: Path, geo: bool, files_per_task: int | None
) -> None:
    p = random_pings(1)
    params = DosageParams(max_gap_s=300, min_visit_s=120)
    hs = prepare_hotspots(AREAS, params.buffer_m)
    write_archive(p, tmp_path, geo=geo)
    parts = list_partitions(tmp_path)
    assert {q.device_id for q in parts} == set(p.device_id)
    assert len({q.day for q in parts}) >= 4
    want = compute_dosage(p, hs, params)
    got = dosage_from_archive(tmp_path, hs, params, files_per_task=files_per_task)
    assert len(want.visits) > 20
    pd.testing.assert_frame_equal(_norm(got.visits), _norm(want.visits))
    pd.testing.assert_frame_equal(
        got.unknown.sort_values(["device_id", "start"]).reset_index(drop=True),
        want.unknown.sort_values(["device_id", "start"]).reset_index(drop=True),
    )


def test_dask_local_cluster_equals_single_process(tmp_path: Path) -> None:
    from distributed import Client, LocalCluster

    p = random_pings(2, devices=4, days=3)
    params = DosageParams()
    hs = prepare_hotspots(AREAS, params.buffer_m)
    write_archive(p, tmp_path)
    want = compute_dosage(p, hs, params)
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as lc,
        Client(lc) as client,
    ):
        got = dosage_from_archive(tmp_path, hs, params, client=client)
    assert len(want.visits) > 10
    pd.testing.assert_frame_equal(_norm(got.visits), _norm(want.visits))
    assert got.stats == want.stats

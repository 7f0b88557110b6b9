"""Track files are held to the live ingest's plausibility limits (``patrolwise.readings``).

Found in review: the live endpoints refused a 5,000 km/h speed, a 1e9 m accuracy, an altitude of
1e7 m and easting/northing no grid describes, but a file import stored them, so the same fix was
refused over the air and kept from a file. Each such row is now a reject naming its row, field
and reason; the good rows beside it are imported.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from patrolwise import readings
from patrolwise.io.tracks import finish_points, read_track_file
from patrolwise.store import Store
from patrolwise.store.pings import load_pings
from patrolwise.track_import import import_track_file

NOW = dt.datetime(2026, 1, 1)

#: one good row of each kind around each bad one; rows numbered as a spreadsheet shows them
MIXED = (
    "callsign,time,lat,lon,easting,northing,speed_kmh,accuracy,altitude\n"
    "PC1,2024-05-01T13:00:00Z,52.6300,-1.1300,,,4,5,60\n"  # 2 good
    "PC1,2024-05-01T13:01:00Z,52.6301,-1.1301,,,5000,5,60\n"  # 3 speed 5,000 km/h
    "PC1,2024-05-01T13:02:00Z,52.6302,-1.1302,,,4,1e9,60\n"  # 4 accuracy 1e9 m
    "PC1,2024-05-01T13:03:00Z,52.6303,-1.1303,,,4,5,1e7\n"  # 5 altitude 1e7 m
    "PC1,2024-05-01T13:04:00Z,,,458000,304000,4,5,60\n"  # 6 good, grid
    "PC1,2024-05-01T13:05:00Z,,,4580000,304000,4,5,60\n"  # 7 easting a digit too many
    "PC1,2024-05-01T13:06:00Z,,,-1.1306,52.6306,4,5,60\n"  # 8 degrees as easting/northing
    "PC1,2024-05-01T13:07:00Z,52.6307,-1.1307,,,,,\n"  # 9 good, no readings at all
    "PC1,2024-05-01T13:08:00Z,52.6308,-1.1308,,,999,5,-400\n"  # 10 good: 999 km/h, -400 m
)


def test_implausible_readings_and_grid_positions_are_rejected_row_by_row(
    store_url: str, tmp_path: Path
) -> None:
    p = tmp_path / "PC1-2024-05-01.csv"
    p.write_text(MIXED)
    with Store(store_url) as st:
        s = import_track_file(st, p, team="police", rejects_dir=tmp_path / "rj")
        assert (s["rows_read"], s["imported"], s["rejected"]) == (9, 4, 5)
        rej = pd.read_csv(s["rejects_file"]).set_index("row")
        assert list(rej.index) == [3, 4, 5, 7, 8]
        assert list(rej["field"]) == [
            "speed",
            "accuracy",
            "altitude",
            "easting",
            "easting/northing",
        ]
        assert rej.loc[3, "reason"].startswith("speed outside 0..280 m/s (about 1,000 km/h)")
        assert rej.loc[3, "value"] == "1388.89 m/s"  # 5,000 km/h, as stored
        assert rej.loc[4, "reason"].startswith("accuracy outside 0..100,000 m (100 km)")
        assert rej.loc[4, "value"] == "1e+09 m"
        assert rej.loc[5, "reason"].startswith("altitude outside -500..20,000 m")
        assert rej.loc[5, "value"] == "1e+07 m"
        assert "outside the area of use of EPSG:27700" in rej.loc[7, "reason"]
        assert "easting -104,729..688,806" in rej.loc[7, "reason"]
        assert rej.loc[7, "value"] == "4580000.0,304000.0"
        assert "look like degrees, not metres" in rej.loc[8, "reason"]
        assert "--map lat=COLUMN --map lon=COLUMN" in rej.loc[8, "reason"]
        pings = load_pings(st)
        assert list(pings["t"].dt.minute) == [0, 4, 7, 8]
        assert pings["x"].iloc[1] == 458000 and pings["y"].iloc[1] == 304000
        assert np.isnan(pings["speed"].iloc[2]) and np.isnan(pings["altitude"].iloc[2])
        assert pings["altitude"].iloc[3] == -400
        assert pings["speed"].iloc[3] == pytest.approx(999 / 3.6)


def test_the_limits_are_the_live_ingests_own() -> None:
    from patrolwise.web import ingest
    from patrolwise.web.ingest.batch import BatchPing, grid_problem

    assert ingest.READINGS is readings.READINGS
    speed = BatchPing.model_fields["speed"].metadata
    assert {getattr(m, "le", None) for m in speed} >= {readings.READINGS["speed"].hi}
    # the batch endpoint and a file refuse the same easting/northing
    assert grid_problem(4_580_000, 304_000, "EPSG:27700") is not None
    assert grid_problem(-1.13, 52.63, "EPSG:27700") is not None
    assert grid_problem(458_000, 304_000, "EPSG:27700") is None
    bad_x, bad_y, extent = readings.outside_grid(
        [4_580_000, 458_000, np.nan], [304_000, -20_000, np.nan], "EPSG:27700"
    )
    assert list(bad_x) == [True, False, False] and list(bad_y) == [False, True, False]
    assert extent is not None
    assert list(readings.degrees_not_metres([-1.13, 458_000, 180], [52.63, 52.63, -180])) == [
        True,
        False,
        True,
    ]
    # edges included, NaN (not given) never outside
    assert list(readings.outside_reading("speed", [0, 280, 280.1, -0.1, np.nan])) == [
        False,
        False,
        True,
        True,
        False,
    ]


def test_each_reading_at_and_beyond_its_limits() -> None:
    """Every row of the table, on a raw points frame: the edges are kept, beyond them rejected
    (negative speed, accuracy, heading and battery are 'unknown', as the live clients mean)."""
    cases = []
    for key, r in readings.READINGS.items():
        cases += [(key, r.lo, True), (key, r.hi, True), (key, r.hi * 1.01 + 1, False)]
        if key == "altitude":
            cases.append((key, r.lo - 1, False))
    n = len(cases)
    raw = pd.DataFrame(
        {
            "row": np.arange(2, n + 2),
            "t": pd.date_range("2024-05-01 13:00", periods=n, freq="min"),
            "t_raw": "x",
            "lat": 52.63,
            "lon": -1.13,
        }
    )
    for i, (key, v, _) in enumerate(cases):
        raw.loc[i, key] = v
    raw.loc[0, "speed"] = -1.0  # unknown, not rejected (an extra reading on a kept row)
    good, rej = finish_points(raw, pd.DataFrame(), path="x", now=NOW)
    kept = {int(r) for r in good["row"]}
    for i, (key, v, ok) in enumerate(cases):
        assert (i + 2 in kept) is ok, (key, v)
    assert list(rej["field"]) == [k for k, _, ok in cases if not ok]
    assert np.isnan(good.loc[good["row"] == 2, "speed"]).all() and 2 in kept


def test_gpx_without_speed_is_not_checked_and_a_broken_elevation_is_a_reject(
    tmp_path: Path,
) -> None:
    p = tmp_path / "t.gpx"
    p.write_text(
        '<?xml version="1.0"?><gpx version="1.1" creator="t" '
        'xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>'
        '<trkpt lat="52.63" lon="-1.13"><ele>61</ele><time>2024-05-01T13:00:00Z</time></trkpt>'
        '<trkpt lat="52.64" lon="-1.13"><ele>99999</ele><time>2024-05-01T13:01:00Z</time>'
        "</trkpt>"
        '<trkpt lat="52.65" lon="-1.13"><time>2024-05-01T13:02:00Z</time></trkpt>'
        "</trkseg></trk></gpx>"
    )
    d = read_track_file(p, now=NOW)
    assert len(d.points) == 2 and d.points["speed"].isna().all()
    assert list(d.rejects["field"]) == ["altitude"]
    assert d.rejects["value"].iloc[0] == "99999 m"


def test_a_radio_exports_x_y_in_degrees_name_the_mapping(tmp_path: Path) -> None:
    """An ArcGIS export of a WGS84 layer writes longitude and latitude as X and Y: read as
    British National Grid metres they were a point in the sea off the Scillies, stored."""
    p = tmp_path / "arc.csv"
    p.write_text("callsign,time,X,Y\nPC1,2024-05-01T13:00:00Z,-1.13,52.63\n")
    d = read_track_file(p, now=NOW)
    assert d.points.empty
    assert d.rejects["field"].tolist() == ["easting/northing"]
    assert d.rejects["value"].tolist() == ["-1.13,52.63"]
    d = read_track_file(p, now=NOW, mapping={"lon": "X", "lat": "Y"})
    assert len(d.points) == 1 and d.rejects.empty

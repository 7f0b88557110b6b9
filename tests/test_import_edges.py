"""Crime import and harm tables on awkward inputs found by the import/harm QA pass."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from patrolwise.store import Store
from patrolwise.store.crime_import import import_crimes
from patrolwise.store.crimes import load_crimes

HEADER = (
    "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,"
    "Crime type,Last outcome category,Context"
)
LEI = "Leicestershire Police,Leicestershire Police"


@pytest.mark.parametrize("value", ["inf", "-inf", "Infinity", "1e999"])
def test_infinite_longitude_is_rejected_not_kept_as_no_location(
    sqlite_url: str, tmp_path: Path, value: str
) -> None:
    """'inf' parses as a float but is no position: the row was imported as unmappable, its
    location silently dropped, where any other non-number is a rejected row."""
    p = tmp_path / "inf.csv"
    p.write_text(
        f"{HEADER}\n"
        f"g1,2022-10,{LEI},-1.13,52.63,On or near B,E01,L,Robbery,,\n"
        f"x1,2022-10,{LEI},{value},52.63,On or near A,E01,L,Robbery,,\n"
    )
    with Store(sqlite_url) as store:
        (s,) = import_crimes(store, [p], rejects_dir=tmp_path / "rej")
        assert (s.rows_read, s.imported, s.rejected, s.unmappable) == (2, 1, 1, 0)
        rej = pd.read_csv(s.rejects_file)
        assert rej.loc[0, "row"] == 3 and rej.loc[0, "field"] == "Longitude"
        assert rej.loc[0, "reason"] == "longitude is not a number"
        assert list(load_crimes(store)["crime_key"]) == ["g1"]


def test_infinite_coordinates_in_an_incident_extract_are_rejected(
    sqlite_url: str, tmp_path: Path
) -> None:
    p = tmp_path / "inc.csv"
    p.write_text(
        "id,occurred,offence,lat,lon,easting\n"
        "A,2023-07-01 14:30,Assault,52.63,-1.13,\n"
        "B,2023-07-01 14:30,Assault,Infinity,-1.13,\n"
    )
    q = tmp_path / "grid.csv"
    q.write_text(
        "id,occurred,offence,easting,northing\n"
        "C,2023-07-01 14:30,Assault,458600,304300\n"
        "D,2023-07-01 14:30,Assault,inf,304300\n"
    )
    with Store(sqlite_url) as store:
        s1, s2 = import_crimes(store, [p, q], rejects_dir=tmp_path / "rej")
        assert (s1.imported, s1.rejected, s1.unmappable) == (1, 1, 0)
        assert pd.read_csv(s1.rejects_file).loc[0, "reason"] == "latitude is not a number"
        assert (s2.imported, s2.rejected, s2.unmappable) == (1, 1, 0)
        assert pd.read_csv(s2.rejects_file).loc[0, "reason"] == "easting/northing is not a number"
        assert sorted(load_crimes(store)["crime_key"]) == ["A", "C"]

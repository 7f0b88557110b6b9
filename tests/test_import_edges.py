"""Crime import and harm tables on awkward inputs found by the import/harm QA pass."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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


def test_a_year_outside_pandas_range_is_a_rejected_row_not_a_crash(
    sqlite_url: str, tmp_path: Path
) -> None:
    """A typed year (0022, 2300) in a British date made pandas parse at a coarser unit and the
    whole import stop with OutOfBoundsDatetime; it is one unreadable date, its row rejected."""
    p = tmp_path / "inc.csv"
    p.write_text(
        "id,occurred,offence,lat,lon\n"
        "A,01/07/2023 14:30,Assault,52.63,-1.13\n"
        "B,01/07/0023 14:30,Assault,52.63,-1.13\n"
        "C,01/07/2300,Assault,52.63,-1.13\n"
        "D,2300/07/01 14:00,Assault,52.63,-1.13\n"
    )
    with Store(sqlite_url) as store:
        (s,) = import_crimes(store, [p], rejects_dir=tmp_path / "rej")
        assert (s.rows_read, s.imported, s.rejected) == (4, 1, 3)
        rej = pd.read_csv(s.rejects_file)
        assert list(rej["row"]) == [3, 4, 5] and set(rej["field"]) == {"occurred"}
        assert rej["reason"].str.startswith("date-time not understood").all()
        df = load_crimes(store)
        assert df["occurred_at"].tolist() == [pd.Timestamp("2023-07-01 13:30")]


def test_british_dates_parse_without_dateutil_per_row(monkeypatch: pytest.MonkeyPatch) -> None:
    """Day-first dates, the layout of most force extracts, went through dateutil one value at a
    time (~3,000 rows a second: minutes for a year of incidents). They now parse by exact
    formats in pandas' compiled parser, with the same results as before: no value of these
    layouts reaches ``format="mixed"`` (dateutil per value). The speed is measured in
    benchmarks/hot_paths.py, not here."""
    from patrolwise.io import incidents
    from patrolwise.io.incidents import _parse_times

    stamps = pd.Timestamp("2021-01-01") + pd.to_timedelta(range(0, 7_000 * 37, 37), unit="min")
    stamps = stamps[~stamps.hour.isin([1, 2])]  # clear of the clock changes' missing hour
    s = pd.Series(stamps.strftime("%d/%m/%Y %H:%M"))
    s[::7] = pd.Series(stamps.strftime("%d/%m/%Y"))[::7]
    s[::11] = pd.Series(stamps.strftime("%d-%m-%Y %H:%M"))[::11]

    to_datetime = pd.to_datetime
    mixed: list[int] = []

    def spy(arg: Any, *args: Any, **kw: Any) -> Any:
        if kw.get("format") == "mixed":
            mixed.append(len(arg))
        return to_datetime(arg, *args, **kw)

    monkeypatch.setattr(incidents.pd, "to_datetime", spy)
    start, bad, kind, _ = _parse_times(s, "Europe/London")
    assert sum(mixed) == 0, f"{sum(mixed)} values parsed by dateutil one at a time"
    assert not bad.any()
    assert set(kind) == {"datetime", "day"}
    local = start.dt.tz_localize("UTC").dt.tz_convert("Europe/London").dt.tz_localize(None)
    timed = kind == "datetime"
    assert (local[timed].to_numpy() == stamps[timed]).all()
    assert (local[~timed].to_numpy() == stamps.normalize()[~timed]).all()
    # an odd layout still parses, through dateutil: the spy sees it
    odd = pd.Series(["1 July 2023 14:30"])
    start, bad, _, _ = _parse_times(odd, "Europe/London")
    assert not bad.any() and sum(mixed) == 1
    assert start.iloc[0] == pd.Timestamp("2023-07-01 13:30")


def test_a_day_first_date_with_dashes_is_not_read_as_a_utc_offset(
    sqlite_url: str, tmp_path: Path
) -> None:
    """'01-07-2023' ends like an offset ('-2023' as -20:23), so it was taken as a zoned time,
    failed the zoned parse and was rejected as not understood; it is 1 July 2023, a day."""
    p = tmp_path / "inc.csv"
    p.write_text(
        "id,occurred,offence,lat,lon\n"
        "A,01-07-2023,Assault,52.63,-1.13\n"
        "B,01-07-2023 14:30,Assault,52.63,-1.13\n"
        "C,2023-07-01T14:30:00-01:00,Assault,52.63,-1.13\n"
    )
    with Store(sqlite_url) as store:
        (s,) = import_crimes(store, [p], rejects_dir=tmp_path / "rej")
        assert (s.rows_read, s.imported, s.rejected) == (3, 3, 0)
        df = load_crimes(store).set_index("crime_key")
        assert df.loc["A", "precision"] == "window"
        assert df.loc["A", "occurred_from"] == pd.Timestamp("2023-06-30 23:00")
        assert df.loc["A", "occurred_to"] == pd.Timestamp("2023-07-01 23:00")
        assert df.loc["B", "occurred_at"] == pd.Timestamp("2023-07-01 13:30")
        assert df.loc["C", "occurred_at"] == pd.Timestamp("2023-07-01 15:30")


def test_a_zoned_time_in_an_impossible_year_is_a_rejected_row(
    sqlite_url: str, tmp_path: Path
) -> None:
    """The same OutOfBoundsDatetime stopped the import for a time with an offset (ISO 8601 with
    Z or +01:00) in year 0022 or 2300."""
    p = tmp_path / "inc.csv"
    p.write_text(
        "id,occurred,offence,lat,lon\n"
        "A,2023-07-01T14:30:00+01:00,Assault,52.63,-1.13\n"
        "B,0023-07-01T14:30:00Z,Assault,52.63,-1.13\n"
        "C,2300-07-01T14:30:00+01:00,Assault,52.63,-1.13\n"
    )
    with Store(sqlite_url) as store:
        (s,) = import_crimes(store, [p], rejects_dir=tmp_path / "rej")
        assert (s.rows_read, s.imported, s.rejected) == (3, 1, 2)
        assert list(pd.read_csv(s.rejects_file)["row"]) == [3, 4]
        assert load_crimes(store)["occurred_at"].tolist() == [pd.Timestamp("2023-07-01 13:30")]


def test_home_office_codes_match_however_their_zeros_are_written(
    sqlite_url: str, tmp_path: Path
) -> None:
    """'8/1', '008/01' and '8/01' are one Home Office classification, as are '28A' and '028A':
    a table keyed '008/01' left a force's '8/1' crimes with harm missing."""
    from patrolwise.harm import read_table_file
    from patrolwise.store.harm_tables import save_table

    t = tmp_path / "cchi.csv"
    t.write_text("HO code,CCHI days\n008/01,365\n028A,273.5\n105A,10\n")
    table = read_table_file(
        t, name="cchi", version="2026", key_column="HO code", harm_column="CCHI days"
    )
    p = tmp_path / "inc.csv"
    p.write_text(
        "id,occurred,offence,ho_code,lat,lon\n"
        "A,2023-07-01 14:30,Assault,8/1,52.63,-1.13\n"
        "B,2023-07-01 14:30,Assault,8/01,52.63,-1.13\n"
        "C,2023-07-01 14:30,Assault,008 / 001,52.63,-1.13\n"
        "D,2023-07-01 14:30,Burglary,28A,52.63,-1.13\n"
        "E,2023-07-01 14:30,Assault, 105a ,52.63,-1.13\n"
        "F,2023-07-01 14:30,Assault,8/10,52.63,-1.13\n"
        "G,2023-07-01 14:30,Assault,80/1,52.63,-1.13\n"
    )
    with Store(sqlite_url) as store:
        save_table(store, table, make_default=True)
        (s,) = import_crimes(store, [p], rejects_dir=tmp_path / "rej")
        df = load_crimes(store).set_index("crime_key")
        assert df.loc[["A", "B", "C"], "harm"].tolist() == [365, 365, 365]
        assert df.loc["D", "harm"] == 273.5 and df.loc["E", "harm"] == 10
        assert df.loc[["F", "G"], "harm_status"].tolist() == ["missing", "missing"]
        assert sum(s.harm_missing.values()) == 2


def test_one_home_office_code_written_two_ways_with_two_values_is_refused(
    tmp_path: Path,
) -> None:
    from patrolwise.errors import FatalImportError
    from patrolwise.harm import read_table_file

    t = tmp_path / "cchi.csv"
    t.write_text("HO code,CCHI days\n008/01,365\n8/1,30\n")
    with pytest.raises(FatalImportError, match=r"row 3: key '8/1' is already in row 2"):
        read_table_file(t, name="x", version="1", key_column="HO code", harm_column="CCHI days")


@pytest.mark.parametrize(
    ("value", "why"),
    [("-5", "is negative"), ("inf", "is not a finite number"), ("1e400", "is not a finite number")],
)
def test_harm_table_refuses_negative_and_infinite_values(
    tmp_path: Path, value: str, why: str
) -> None:
    """A harm of -5 days or infinity was stored as given: a negative value subtracts from a
    hot spot's harm, an infinite one makes every sum over it infinite."""
    from patrolwise.errors import FatalImportError
    from patrolwise.harm import read_table_file

    t = tmp_path / "t.csv"
    t.write_text(f"code,days\n8N,365\n105A,{value}\n")
    with pytest.raises(FatalImportError, match=rf"row 3, column 'days': '{value}' {why}"):
        read_table_file(t, name="x", version="1", key_column="code", harm_column="days")


def test_harm_table_csv_saved_by_excel_in_windows_1252(sqlite_url: str, tmp_path: Path) -> None:
    """Crime files in Windows-1252 (Excel's 'CSV') import; a harm table saved the same way (an
    ONS offence list with an en dash or a curly apostrophe) failed: 'utf-8' codec can't decode."""
    from patrolwise.harm import read_table_file

    t = tmp_path / "ons.csv"
    t.write_bytes(
        "Offence,Severity\r\nAssault \u2013 with injury,100\r\nPublic order\u2019s,2\r\n".encode(
            "cp1252"
        )
    )
    table = read_table_file(
        t,
        name="ons",
        version="1",
        key_column="Offence",
        harm_column="Severity",
        key_kind="description",
    )
    assert table.values["key"].tolist() == ["Assault \u2013 with injury", "Public order\u2019s"]
    assert table.values["harm"].tolist() == [100, 2]
    b = tmp_path / "bom.csv"
    b.write_bytes(b"\xef\xbb\xbf" + "Offence,Severity\nTheft \u2013 other,2\n".encode())
    table = read_table_file(
        b,
        name="ons",
        version="2",
        key_column="Offence",
        harm_column="Severity",
        key_kind="description",
    )
    assert table.values["key"].tolist() == ["Theft \u2013 other"]


def _polygons(path: Path, rings: dict[str, list[tuple[float, float]]]) -> Path:
    import json

    feats = [
        {
            "type": "Feature",
            "properties": {"name": name},
            "geometry": {"type": "Polygon", "coordinates": [[list(c) for c in [*ring, ring[0]]]]},
        }
        for name, ring in rings.items()
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    return path


CLOCK_TOWER = [(-1.136, 52.634), (-1.134, 52.634), (-1.134, 52.636), (-1.136, 52.636)]


def test_hot_spot_files_outside_the_force_area_or_swapped_are_refused(tmp_path: Path) -> None:
    """Crimes and GPS fixes outside the force area, or with latitude and longitude swapped, are
    refused; a hot spot drawn that way was stored (a polygon in the Indian Ocean, 7,700 km east
    in British National Grid) and then matched no crime and no patrol."""
    from patrolwise.errors import InputError
    from patrolwise.io.areas_io import read_areas

    bbox = (-8.7, 49.8, 1.9, 60.95)
    good = _polygons(tmp_path / "good.geojson", {"Clock Tower": CLOCK_TOWER})
    assert read_areas(good, "EPSG:27700", bbox=bbox)["name"].tolist() == ["Clock Tower"]
    swapped = [(lat, lon) for lon, lat in CLOCK_TOWER]
    p = _polygons(tmp_path / "swap.geojson", {"Clock Tower": CLOCK_TOWER, "Market": swapped})
    with pytest.raises(InputError, match=r"feature 2 \('Market'\): longitude and latitude look "):
        read_areas(p, "EPSG:27700", bbox=bbox)
    paris = [(lon + 3.5, lat - 3.8) for lon, lat in CLOCK_TOWER]
    q = _polygons(tmp_path / "paris.geojson", {"Paris": paris})
    with pytest.raises(InputError, match=r"feature 1 \('Paris'\): outside the force area"):
        read_areas(q, "EPSG:27700", bbox=bbox)


def test_a_self_intersecting_hot_spot_is_refused(tmp_path: Path) -> None:
    """A bow-tie polygon (edges crossing) was stored as drawn; its area and which crimes it
    holds are undefined, and overlay operations on it fail later."""
    from patrolwise.errors import InputError
    from patrolwise.io.areas_io import read_areas

    a, b, c, d = CLOCK_TOWER
    p = _polygons(tmp_path / "bow.geojson", {"Clock Tower": CLOCK_TOWER, "Bow": [a, c, b, d]})
    with pytest.raises(InputError, match=r"feature 2 \('Bow'\) is not a valid polygon \(Self-"):
        read_areas(p, "EPSG:27700")


def test_hotspots_import_checks_the_force_area(tmp_path: Path) -> None:
    import subprocess
    import sys

    swapped = [(lat, lon) for lon, lat in CLOCK_TOWER]
    p = _polygons(tmp_path / "swap.geojson", {"Market": swapped})
    db = f"sqlite:///{tmp_path / 'a.db'}"
    r = subprocess.run(
        [sys.executable, "-m", "patrolwise.cli", "--db", db, "hotspots", "import", str(p)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode != 0
    assert "longitude and latitude look swapped" in r.stderr
    with Store(db) as store:
        from patrolwise.store.areas import load_areas

        assert load_areas(store, kind=None).empty


def test_a_nul_character_is_a_rejected_row_on_every_back_end(
    store_url: str, tmp_path: Path
) -> None:
    """A NUL byte in a field (a corrupt export) was stored on SQLite, while PostgreSQL, whose
    text holds no NUL, failed the whole file's COPY with a CharacterNotInRepertoire traceback.
    Both back ends now reject the row naming the field."""
    p = tmp_path / "nul.csv"
    p.write_text(
        f"{HEADER}\n"
        f"n1,2022-10,{LEI},-1.13,52.63,On or near X\x00Y,E01,L,Robbery,,\n"
        f"n2,2022-10,{LEI},-1.13,52.63,On or near Z,E01,L,Robbery,Under\x00way,\n"
        f"n3,2022-10,{LEI},-1.13,52.63,On or near Z,E01,L,Robbery,,\n"
        f"n4,2022-10,{LEI},-1.13,52.63,On or near Z,E01,L,Robb\x00ery,,\n"
    )
    inc = tmp_path / "inc.csv"
    inc.write_text(
        "id,occurred,offence,lat,lon,beat\n"
        "A,2023-07-01 14:30,Ass\x00ault,52.63,-1.13,C1\n"
        "B,2023-07-01 14:30,Assault,52.63,-1.13,C\x002\n"
        "C,2023-07-01 14:30,Assault,52.63,-1.13,C3\n"
    )
    with Store(store_url) as store:
        s, si = import_crimes(store, [p, inc], rejects_dir=tmp_path / "rej")
        assert (s.rows_read, s.imported, s.rejected) == (4, 1, 3)
        rej = pd.read_csv(s.rejects_file)
        assert list(rej["row"]) == [2, 3, 5]
        assert list(rej["field"]) == ["Location", "Last outcome category", "Crime type"]
        assert rej["reason"].str.contains("NUL character").all()
        assert (si.rows_read, si.imported, si.rejected) == (3, 1, 2)
        rej = pd.read_csv(si.rejects_file)
        assert list(rej["row"]) == [2, 3] and list(rej["field"]) == ["offence", "beat"]
        assert sorted(load_crimes(store)["crime_key"]) == ["C", "n3"]


def test_a_later_file_missing_a_column_stops_the_run_before_anything_is_written(
    store_url: str, tmp_path: Path
) -> None:
    """'import crimes good.csv bad.csv' imported good.csv, then stopped on bad.csv's missing
    column with one error line and exit 2 (no summary): the user was told of an error and not
    that half the run was in the database. Missing columns, unmapped columns and unreadable
    archives are now found in every file before any is written, as empty files already were."""
    from sqlalchemy import func, select

    from patrolwise.errors import FatalImportError
    from patrolwise.store.models import ImportBatch

    good = tmp_path / "good.csv"
    good.write_text(f"{HEADER}\ng1,2022-10,{LEI},-1.13,52.63,On or near B,E01,L,Robbery,,\n")
    nocol = tmp_path / "nocol.csv"
    nocol.write_text("Crime ID,Month,Falls within,Longitude,Latitude\r\nx,2022-10,L,-1.1,52.6\r\n")
    badzip = tmp_path / "broken.zip"
    badzip.write_bytes(b"PK\x03\x04 not really a zip")
    inc = tmp_path / "inc.csv"
    inc.write_text("id,when,offence,lat,lon\nA,2023-07-01 14:30,Assault,52.63,-1.13\n")
    with Store(store_url) as store:
        with pytest.raises(FatalImportError, match=r"nocol\.csv: missing column\(s\) Crime type"):
            import_crimes(store, [good, nocol])
        with pytest.raises(FatalImportError, match=r"broken\.zip: not a readable zip archive"):
            import_crimes(store, [good, badzip])
        with pytest.raises(FatalImportError, match=r"inc\.csv: mapped column 'When'"):
            import_crimes(store, [good, inc], fmt=None, mapping={"occurred": "When"})
        with pytest.raises(FatalImportError, match=r"inc\.csv: missing column for the occurrence"):
            import_crimes(store, [good, inc])
        with store.session() as s:
            assert s.scalar(select(func.count()).select_from(ImportBatch)) == 0
        assert load_crimes(store).empty
        (s1, s2) = import_crimes(store, [good, inc], mapping={"occurred": "when"})
        assert (s1.imported, s2.imported) == (1, 1)


def test_rows_after_blank_lines_keep_their_row_numbers(sqlite_url: str, tmp_path: Path) -> None:
    """Blank lines (an export's separators, files pasted together, Excel's empty rows written
    as ',,,') were skipped before rows were numbered, so every rejected row after one was
    reported rows too early: the bad month on line 5 was row 3. Blank rows are still not
    records (not read, not rejected), but they keep their numbers."""
    p = tmp_path / "blank.csv"
    p.write_bytes(
        (
            f"{HEADER}\r\n"
            f"g1,2022-10,{LEI},-1.13,52.63,On or near B,E01,L,Robbery,,\r\n"
            "\r\n"
            ",,,,,,,,,,,\r\n"
            f"g2,2022-13,{LEI},-1.13,52.63,On or near B,E01,L,Robbery,,\r\n"
            f"g3,2022-10,{LEI},-1.13,52.63,On or near B,E01,L,Robbery,,,extra\r\n"
            "\r\n"
            f"g4,2022-10,{LEI},west,52.63,On or near B,E01,L,Robbery,,\r\n"
            f"g5,2022-10,{LEI},-1.13,52.63,On or near B,E01,L,Robbery,,\r\n"
            "\r\n"
        ).encode()
    )
    inc = tmp_path / "inc.csv"
    inc.write_text(
        "id,occurred,offence,lat,lon\n"
        "A,2023-07-01 14:30,Assault,52.63,-1.13\n"
        "\n"
        ",,,,\n"
        "B,2023-13-01 14:30,Assault,52.63,-1.13\n"
        "C,2023-07-01 14:30,Assault,52.63,-1.13\n"
    )
    with Store(sqlite_url) as store:
        s, si = import_crimes(store, [p, inc], rejects_dir=tmp_path / "rej")
        assert (s.rows_read, s.imported, s.rejected) == (5, 2, 3)
        rej = pd.read_csv(s.rejects_file)
        assert list(rej["row"]) == [5, 6, 8]
        assert list(rej["field"]) == ["Month", "(row)", "Longitude"]
        assert (si.rows_read, si.imported, si.rejected) == (3, 2, 1)
        assert list(pd.read_csv(si.rejects_file)["row"]) == [5]


def test_an_incident_whose_first_row_was_bad_is_not_lost_with_it(
    sqlite_url: str, tmp_path: Path
) -> None:
    """An extract that repeats an incident after a bad first row (a mistyped date, corrected
    further down) lost it: the first row was rejected for its date and the good one as a
    duplicate of a row never imported. As in police.uk files, the first row that is not
    rejected for another reason now wins, and a duplicate names the row it repeats."""
    p = tmp_path / "inc.csv"
    p.write_text(
        "id,occurred,offence,lat,lon\n"
        "A,2023-13-01 14:30,Assault,52.63,-1.13\n"
        "A,2023-07-01 14:30,Assault,52.63,-1.13\n"
        "B,2023-07-01 15:30,Assault,52.63,-1.13\n"
        "A,2023-07-02 14:30,Assault,52.63,-1.13\n"
    )
    with Store(sqlite_url) as store:
        (s,) = import_crimes(store, [p], rejects_dir=tmp_path / "rej")
        assert (s.rows_read, s.imported, s.rejected) == (4, 2, 2)
        rej = pd.read_csv(s.rejects_file)
        assert list(rej["row"]) == [2, 5]
        assert rej.loc[1, "reason"] == "duplicate incident ID in this file: first seen at row 3"
        df = load_crimes(store).set_index("crime_key")
        assert df.loc["A", "occurred_at"] == pd.Timestamp("2023-07-01 13:30")


def test_incident_extracts_are_read_in_chunks_with_the_whole_file_results(
    tmp_path: Path,
) -> None:
    """An extract was read, validated and held whole, so peak memory grew with the file (1.74
    GB for 600,000 incidents) and years of a force's incidents did not fit in memory. It is now
    read in chunks; repeated IDs across chunks, keys of rows without an ID (occurrence numbers)
    and row numbers come out as for the whole file."""
    from patrolwise.io.incidents import parse_chunks

    lines = ["id,occurred,offence,lat,lon,beat"]
    for i in range(23):
        ident = "" if i % 5 == 0 else f"I{i % 9}"  # IDs repeat, some rows have none
        when = "2023-13-01 10:00" if i == 2 else f"0{1 + i % 9}/07/2023 14:30"
        lines.append(f"{ident},{when},Assault,52.63,-1.13,C{i % 2}")
    lines.insert(9, "")  # a blank line mid-file
    p = tmp_path / "inc.csv"
    p.write_text("\n".join(lines) + "\n")
    kw = {"crs": "EPSG:27700", "tz": "Europe/London", "bbox": None}
    whole = list(parse_chunks(p, **kw))
    assert len(whole) == 1
    parts = list(parse_chunks(p, chunk_rows=4, **kw))
    assert len(parts) >= 5 and max(len(x.rows) for x in parts) <= 4
    rows = pd.concat([x.rows for x in parts], ignore_index=True)
    rej = pd.concat([x.rejects for x in parts], ignore_index=True)
    pd.testing.assert_frame_equal(rows, whole[0].rows)
    pd.testing.assert_frame_equal(
        rej.reset_index(drop=True).astype(object),
        whole[0].rejects.reset_index(drop=True).astype(object),
    )
    assert sum(x.read for x in parts) == whole[0].read == 23
    assert "first seen at row 3" in rej.loc[rej["value"] == "I1", "reason"].iloc[0]


@pytest.mark.parametrize("floor", [-1.0, float("inf"), float("nan")])
def test_asb_floor_must_be_a_harm(floor: float) -> None:
    """'--asb-floor -1' gave every anti-social behaviour row a negative harm, subtracting from
    its place's harm (and inf or nan made every sum over it meaningless); refused, as such
    values in a harm table are."""
    from patrolwise.errors import InputError
    from patrolwise.harm import HarmRules

    with pytest.raises(InputError, match=r"--asb-floor .* must be a number of 0 or more"):
        HarmRules(asb_floor=floor)
    assert HarmRules(asb_floor=0.0).asb_floor == 0.0


def test_import_crimes_refuses_a_negative_asb_floor_in_one_line(tmp_path: Path) -> None:
    import subprocess
    import sys

    p = tmp_path / "a.csv"
    p.write_text(
        f"{HEADER}\n,2022-10,{LEI},-1.13,52.63,On or near B,E01,L,Anti-social behaviour,,\n"
    )
    db = f"sqlite:///{tmp_path / 'a.db'}"
    r = subprocess.run(
        [sys.executable, "-m", "patrolwise.cli", "--db", db, "import", "crimes", str(p)]
        + ["--asb-floor", "-1"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert "--asb-floor -1.0 must be a number of 0 or more" in r.stderr


def test_harm_workbook_missing_column_names_the_sheet_that_has_it(tmp_path: Path) -> None:
    """A workbook whose first sheet is a cover page (as published workbooks often are) failed
    with "missing column 'HO Offence Code' (columns are: About this workbook)", leaving the user
    to guess that --sheet was the way; the error now names the sheets that have the column."""
    import openpyxl

    from patrolwise.errors import FatalImportError
    from patrolwise.harm import read_table_file

    wb = openpyxl.Workbook()
    assert wb.active is not None
    wb.active.title = "Cover"
    wb.active.append(["About this workbook"])
    ws = wb.create_sheet("CCHI 2026 values sheet")
    ws.append(["HO Offence Code", "CCHI Days"])
    ws.append(["8N", 365])
    p = tmp_path / "cchi.xlsx"
    wb.save(p)
    kw = {"name": "c", "version": "1", "key_column": "HO Offence Code", "harm_column": "CCHI Days"}
    with pytest.raises(
        FatalImportError, match=r"sheet 'CCHI 2026 values sheet' has it: pass --sheet"
    ):
        read_table_file(p, **kw)  # type: ignore[arg-type]
    t = read_table_file(p, sheet="CCHI 2026 values sheet", **kw)  # type: ignore[arg-type]
    assert t.values["key"].tolist() == ["8N"]


def test_two_files_of_one_name_keep_their_own_rejects_reports(
    sqlite_url: str, tmp_path: Path
) -> None:
    """Reports were named after the file and the second: two files called street.csv (two
    forces' folders) imported in one run wrote one report, the second overwriting the first,
    and the first summary pointed at the second file's rejected rows."""
    paths = []
    for force, month in (("a", "2022-13"), ("b", "2022-14")):
        (tmp_path / force).mkdir()
        p = tmp_path / force / "street.csv"
        p.write_text(f"{HEADER}\n{force}1,{month},{LEI},-1.13,52.63,On or near B,E01,L,Robbery,,\n")
        paths.append(p)
    with Store(sqlite_url) as store:
        sa, sb = import_crimes(store, paths, rejects_dir=tmp_path / "rej")
        assert sa.rejects_file != sb.rejects_file
        assert pd.read_csv(sa.rejects_file)["value"].tolist() == ["2022-13"]
        assert pd.read_csv(sb.rejects_file)["value"].tolist() == ["2022-14"]


def test_a_geojson_incident_that_is_not_a_point_is_rejected_not_unmapped(
    sqlite_url: str, tmp_path: Path
) -> None:
    """A feature whose geometry was a polygon or line (or several points) was imported with no
    location and counted unmappable, its position dropped without a word. It is now a
    rejected row naming the geometry; a MultiPoint of one point (as some GIS exports write
    every point) is that point. A null geometry is still a crime with no location."""
    import json

    props = {"occurred": "2023-07-01 10:00", "offence": "Assault"}
    geoms = {
        "P": {"type": "Point", "coordinates": [-1.13, 52.63]},
        "M1": {"type": "MultiPoint", "coordinates": [[-1.13, 52.63]]},
        "POLY": {
            "type": "Polygon",
            "coordinates": [[[-1.13, 52.63], [-1.12, 52.63], [-1.12, 52.64], [-1.13, 52.63]]],
        },
        "M2": {"type": "MultiPoint", "coordinates": [[-1.13, 52.63], [-1.12, 52.63]]},
        "NULL": None,
    }
    feats = [
        {"type": "Feature", "geometry": g, "properties": {"id": k, **props}}
        for k, g in geoms.items()
    ]
    p = tmp_path / "inc.geojson"
    p.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    with Store(sqlite_url) as store:
        (s,) = import_crimes(store, [p], rejects_dir=tmp_path / "rej")
        assert (s.rows_read, s.imported, s.rejected, s.unmappable) == (5, 3, 2, 1)
        rej = pd.read_csv(s.rejects_file)
        assert list(rej["row"]) == [4, 5] and set(rej["field"]) == {"geometry"}
        assert rej["reason"].tolist() == [
            "geometry is a Polygon, not a Point: give each crime's location as a point",
            "geometry is a MultiPoint of 2 points, not a Point: give each crime's location "
            "as a point",
        ]
        df = load_crimes(store).set_index("crime_key")
        assert df.loc["M1", "mappable"] and df.loc["M1", "lon"] == -1.13
        assert not df.loc["NULL", "mappable"]
    from patrolwise.io.incidents import parse

    rows = parse(p, crs="EPSG:27700", tz="Europe/London", bbox=None).rows
    assert rows["attrs"].isna().all()  # nothing of the check leaks into the attributes


def test_crimes_dated_in_the_future_are_rejected(sqlite_url: str, tmp_path: Path) -> None:
    """A crime dated 2099 (a typed year), or a police.uk month still to come, was imported as
    it stood: counted in a period no one can have patrolled, and pulled into 'the last 28 days'
    of every briefing until then. A date after today is now a rejected row."""
    import datetime as dt

    nxt = (dt.date.today().replace(day=1) + dt.timedelta(days=40)).strftime("%Y-%m")
    p = tmp_path / "p.csv"
    p.write_text(
        f"{HEADER}\n"
        f"g1,2022-10,{LEI},-1.13,52.63,On or near B,E01,L,Robbery,,\n"
        f"f1,{nxt},{LEI},-1.13,52.63,On or near B,E01,L,Robbery,,\n"
        f"f2,2099-01,{LEI},-1.13,52.63,On or near B,E01,L,Robbery,,\n"
    )
    inc = tmp_path / "inc.csv"
    inc.write_text(
        "id,occurred,occurred_from,offence,lat,lon\n"
        "A,2023-07-01 14:30,,Assault,52.63,-1.13\n"
        "B,01/07/2099 14:30,,Assault,52.63,-1.13\n"
        "C,2099-07,,Assault,52.63,-1.13\n"
        "D,,2099-07-01 10:00,Assault,52.63,-1.13\n"
        "E,01/07/2099,,Assault,52.63,-1.13\n"
    )
    with Store(sqlite_url) as store:
        s, si = import_crimes(store, [p, inc], rejects_dir=tmp_path / "rej")
        assert (s.rows_read, s.imported, s.rejected) == (3, 1, 2)
        rej = pd.read_csv(s.rejects_file)
        assert list(rej["row"]) == [3, 4] and set(rej["field"]) == {"Month"}
        assert rej["reason"].str.startswith("Month is in the future").all()
        assert (si.rows_read, si.imported, si.rejected) == (5, 1, 4)
        rej = pd.read_csv(si.rejects_file)
        assert list(rej["row"]) == [3, 4, 5, 6]
        assert list(rej["field"]) == ["occurred", "occurred", "occurred_from", "occurred"]
        assert rej["reason"].str.contains("is in the future").all()


def test_hot_spots_written_to_geoparquet_import_back(tmp_path: Path) -> None:
    """'hotspots find --out hs.parquet' writes GeoParquet, but 'hotspots import hs.parquet'
    refused it ('hot spots are imported from GeoJSON or GeoPackage files'); it now reads back
    with its names and geometry, in the file's CRS."""
    import geopandas as gpd
    import shapely

    from patrolwise.io.areas_io import read_areas, write_areas

    cells = gpd.GeoDataFrame(
        {"name": ["HS1 Clock Tower", "HS2 Market"], "count": [12, 7]},
        geometry=[shapely.box(458600, 304300, 458700, 304400), shapely.box(0, 0, 100, 100)],
        crs="EPSG:27700",
    ).iloc[:1]
    p = write_areas(cells, tmp_path / "hs.parquet")
    back = read_areas(p, "EPSG:27700", bbox=(-8.7, 49.8, 1.9, 60.95))
    assert back["name"].tolist() == ["HS1 Clock Tower"]
    assert shapely.equals_exact(back.geometry.iloc[0], cells.geometry.iloc[0], tolerance=1e-6)


def test_a_harm_key_with_a_nul_character_is_a_left_out_row_on_every_back_end(
    store_url: str, tmp_path: Path
) -> None:
    """A key holding a NUL character (a damaged export) loaded on SQLite, while PostgreSQL
    refused the whole table with a DataError traceback; it is a left-out row, as an overlong
    key is (no crime field can hold it, so it could never match)."""
    from patrolwise.harm import read_table_file
    from patrolwise.store.harm_tables import load_table, save_table

    t = tmp_path / "t.csv"
    t.write_text("code,days\n8N,365\n10\x005A,10\n")
    table = read_table_file(t, name="n", version="1", key_column="code", harm_column="days")
    assert table.values["key"].tolist() == ["8N"]
    assert table.rejects["row"].tolist() == [3]
    assert "NUL character" in table.rejects["reason"].iloc[0]
    with Store(store_url) as store:
        tid = save_table(store, table)
        assert load_table(store, tid).values["key"].tolist() == ["8N"]


def test_a_header_naming_a_column_twice_imports(sqlite_url: str, tmp_path: Path) -> None:
    """A header naming a column twice (two 'Notes' columns from a spreadsheet, a police.uk file
    with 'Location' pasted again at the end) stopped the import with a traceback (Arrow's
    'Field exists 2 times', pandas' DataFrame-for-a-column). As pandas reads such files, the
    first keeps the name and later ones are 'Notes.1', ...; an incident's extra columns are
    kept as its attributes."""
    inc = tmp_path / "inc.csv"
    inc.write_text(
        "id,occurred,offence,lat,lon,Notes,Notes\nA,2023-07-01 14:30,Assault,52.63,-1.13,x,y\n"
    )
    p = tmp_path / "p.csv"
    p.write_text(
        f"{HEADER},Location\na1,2022-10,{LEI},-1.13,52.63,On or near B,E01,L,Robbery,,,x\n"
    )
    with Store(sqlite_url) as store:
        si, s = import_crimes(store, [inc, p], rejects_dir=tmp_path / "rej")
        assert (si.imported, s.imported) == (1, 1)
        df = load_crimes(store).set_index("crime_key")
        assert df.loc["a1", "location"] == "On or near B"
    from patrolwise.io.incidents import parse

    rows = parse(inc, crs="EPSG:27700", tz="Europe/London", bbox=None).rows
    assert rows["attrs"].iloc[0] == {"Notes": "x", "Notes.1": "y"}


def test_an_empty_geojson_extract_reads_zero_rows(sqlite_url: str, tmp_path: Path) -> None:
    """A FeatureCollection with no features (an export of a week with no incidents) failed
    with 'missing column for the occurrence date-time', as if its layout were wrong; like a
    header-only CSV it reads zero rows."""
    p = tmp_path / "none.geojson"
    p.write_text('{"type": "FeatureCollection", "features": []}')
    with Store(sqlite_url) as store:
        (s,) = import_crimes(store, [p])
        assert (s.rows_read, s.imported, s.rejected) == (0, 0, 0)


def test_a_police_uk_file_resaved_by_excel_is_already_present(
    sqlite_url: str, tmp_path: Path
) -> None:
    """Excel drops trailing zeros when it saves a CSV ('52.619800' -> '52.6198'). Opening a
    police.uk file and saving it, then importing it beside the original (or the archive after
    it), rejected every crime whose coordinates changed text as 'already imported with
    different details' and imported its anti-social behaviour rows a second time (160 of 994
    in a real month): double counting. Coordinates police.uk writes with six decimals are now
    hashed as six decimals however many trailing zeros a save kept, so the hashes of files as
    police.uk publishes them (all six decimals) are unchanged."""
    rows = [
        f"a1,2022-10,{LEI},-1.217900,52.619800,On or near B,E01,L,Robbery,,",
        f",2022-10,{LEI},-1.217900,52.619800,On or near B,E01,L,Anti-social behaviour,,",
        f",2022-10,{LEI},-1.217900,52.619800,On or near B,E01,L,Anti-social behaviour,,",
        f",2022-10,{LEI},-1.100000,52.600000,On or near C,E01,L,Anti-social behaviour,,",
        f",2022-10,{LEI},,,No Location,,,Anti-social behaviour,,",
    ]
    orig = tmp_path / "orig.csv"
    orig.write_text(HEADER + "\r\n" + "\r\n".join(rows) + "\r\n")
    saved = tmp_path / "saved.csv"
    saved.write_text(
        HEADER
        + "\n"
        + "\n".join(
            r.replace("-1.217900", "-1.2179")
            .replace("52.619800", "52.6198")
            .replace("-1.100000", "-1.1")
            .replace("52.600000", "52.6")
            for r in rows
        )
        + "\n"
    )
    with Store(sqlite_url) as store:
        (s1,) = import_crimes(store, [orig])
        assert s1.imported == 5
        (s2,) = import_crimes(store, [saved])
        assert (s2.imported, s2.already_present, s2.rejected) == (0, 5, 0)
        assert len(load_crimes(store)) == 5


@pytest.mark.parametrize(
    "saved",
    ["Aug-22", "Aug 2022", "01/08/2022", "aug-2022", "August 2022", "1/8/2022", "01/08/2022 00:00"],
)
def test_months_as_excel_saves_them_read_as_the_month(
    sqlite_url: str, tmp_path: Path, saved: str
) -> None:
    """A police.uk file opened and saved in Excel has 'Aug-22' (or 'Aug 2022', '01/08/2022')
    where police.uk wrote '2022-08', and every row was rejected. They read as that month, at
    month precision (no day is kept from '01/08/2022'), and hash as the original: the saved copy
    and the original are the same crimes, their anti-social behaviour rows too."""
    rows = [
        f"a1,{{m}},{LEI},-1.217946,52.619800,On or near B,E01,L,Robbery,,",
        f",{{m}},{LEI},-1.217946,52.619800,On or near B,E01,L,Anti-social behaviour,,",
        f",{{m}},{LEI},-1.217946,52.619800,On or near B,E01,L,Anti-social behaviour,,",
    ]
    excel = tmp_path / "excel.csv"
    excel.write_text(HEADER + "\n" + "\n".join(r.format(m=saved) for r in rows) + "\n")
    orig = tmp_path / "orig.csv"
    orig.write_text(HEADER + "\r\n" + "\r\n".join(r.format(m="2022-08") for r in rows) + "\r\n")
    with Store(sqlite_url) as store:
        (s1,) = import_crimes(store, [excel], rejects_dir=tmp_path / "rej")
        assert (s1.imported, s1.rejected, s1.months) == (3, 0, ["2022-08"])
        df = load_crimes(store)
        assert (df["month"] == "2022-08").all() and (df["precision"] == "month").all()
        assert df[["occurred_at", "occurred_from", "occurred_to"]].isna().all().all()
        (s2,) = import_crimes(store, [orig], rejects_dir=tmp_path / "rej")
        assert (s2.imported, s2.already_present, s2.rejected) == (0, 3, 0)


def test_a_real_month_resaved_by_excel_is_already_present(
    sqlite_url: str, shared_data: Path, tmp_path: Path
) -> None:
    f = shared_data / "police-uk" / "2022-08-leicestershire-street.csv"
    saved = tmp_path / "2022-08-saved.csv"
    text = f.read_text(encoding="utf-8-sig")
    saved.write_text(text.replace(",2022-08,", ",Aug-22,"), encoding="utf-8")
    assert text.count(",2022-08,") == saved.read_text().count(",Aug-22,") > 10_000
    with Store(sqlite_url) as store:
        (s1,) = import_crimes(store, [f], rejects_dir=tmp_path / "rej")
        (s2,) = import_crimes(store, [saved], rejects_dir=tmp_path / "rej")
        assert (s2.imported, s2.already_present, s2.rejected) == (0, s1.imported, 0)
        assert len(load_crimes(store)) == s1.imported


def test_months_that_are_no_single_month_are_still_rejected(
    sqlite_url: str, tmp_path: Path
) -> None:
    cases = [
        ("Aug 22", "Aug 22 has no year, or is a day"),  # the 22nd of August, or 2022?
        ("22-Aug", "22-Aug has no year, or is a day"),  # Excel's d-mmm: a day, no year
        ("15/08/2022", "15/08/2022 is a day, not a month"),
        ("08/01/2022", "08/01/2022 is a day, not a month"),  # 1 August only read month-first
        ("01/13/2022", "Month is not a YYYY-MM month"),
        ("Foo-22", "Month is not a YYYY-MM month"),
        ("Sept 2022", "Month is not a YYYY-MM month"),
        ("2022-8", "Month is not a YYYY-MM month"),
        ("Aug-99", "Month is in the future"),
    ]
    body = [f"g1,Aug-22,{LEI},-1.13,52.63,On or near B,E01,L,Robbery,,"] + [
        f"x{i},{m},{LEI},-1.13,52.63,On or near B,E01,L,Robbery,," for i, (m, _) in enumerate(cases)
    ]
    p = tmp_path / "bad.csv"
    p.write_text(HEADER + "\n" + "\n".join(body) + "\n")
    with Store(sqlite_url) as store:
        (s,) = import_crimes(store, [p], rejects_dir=tmp_path / "rej")
        assert (s.imported, s.rejected) == (1, len(cases))
        rej = pd.read_csv(s.rejects_file, keep_default_na=False)
        assert list(rej["row"]) == list(range(3, 3 + len(cases)))
        assert set(rej["field"]) == {"Month"}
        assert list(rej["value"]) == [m for m, _ in cases]
        for reason, (_, why) in zip(rej["reason"], cases, strict=True):
            assert why in reason
        assert list(load_crimes(store)["month"]) == ["2022-08"]


def _delimited(path: Path, rows: list[list[str]], sep: str) -> Path:
    import csv

    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, delimiter=sep, lineterminator="\r\n").writerows(rows)
    return path


INCIDENT_ROWS = [
    ["Incident ID", "Occurred", "Offence", "Latitude", "Longitude", "Location", "Beat"],
    ["I1", "01/07/2023 14:30", "Assault with injury", "52.63", "-1.13", "High St, Leicester", "C1"],
    ["I2", "2023-07-02 09:00", "Robbery; street", "52.64", "-1.12", "Low St", "C2"],
    ["", "2023-07-03", "Criminal damage", "52.62", "-1.14", "", "C1"],
    ["", "2023-07-03", "Criminal damage", "52.62", "-1.14", "", "C1"],
    ["I4", "yesterday", "Assault", "52.63", "-1.13", "Mill Lane", "C2"],
    ["I5", "2023-07-05 10:00", "Theft", "", "", "No location", "C2"],
]


@pytest.mark.parametrize("sep", [";", "\t"])
def test_an_extract_separated_by_semicolons_or_tabs_reads_as_its_comma_twin(
    store_url: str, tmp_path: Path, sep: str
) -> None:
    """European Excel saves 'CSV' with semicolons: the header read as one column and the file
    was refused for a missing occurrence column it had. The separator is sniffed from the
    header, as for track files, so the file reads as the same rows as its comma twin."""
    from patrolwise.io import incidents

    comma = _delimited(tmp_path / "comma.csv", INCIDENT_ROWS, ",")
    other = _delimited(tmp_path / "other.csv", INCIDENT_ROWS, sep)
    assert sep in other.read_text().splitlines()[0] and "," not in other.read_text().splitlines()[0]
    kw = {"crs": "EPSG:27700", "tz": "Europe/London", "bbox": None, "force": "F"}
    a, b = incidents.parse(comma, **kw), incidents.parse(other, **kw)  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(a.rows, b.rows)
    pd.testing.assert_frame_equal(
        a.rejects.drop(columns="file").reset_index(drop=True),
        b.rejects.drop(columns="file").reset_index(drop=True),
    )
    assert len(a.rows) == 5 and list(a.rejects["row"]) == [6]
    assert set(a.rows["location"].dropna()) == {"High St, Leicester", "Low St", "No location"}
    with Store(store_url) as store:
        s1, s2 = import_crimes(store, [comma, other], rejects_dir=tmp_path / "rej")
        assert (s1.rows_read, s1.imported, s1.rejected) == (6, 5, 1)
        assert (s2.rows_read, s2.imported, s2.already_present, s2.rejected) == (6, 0, 5, 1)
        assert len(load_crimes(store)) == 5


def test_a_police_uk_file_separated_by_semicolons_imports(sqlite_url: str, tmp_path: Path) -> None:
    rows = [HEADER.split(","), ["a1", "2022-10", *LEI.split(","), "-1.13", "52.63", "On or near B"]]
    rows[1] += ["E01", "L", "Robbery", "", ""]
    p = _delimited(tmp_path / "street.csv", rows, ";")
    with Store(sqlite_url) as store:
        (s,) = import_crimes(store, [p], rejects_dir=tmp_path / "rej")
        assert (s.format, s.imported, s.rejected) == ("police_uk", 1, 0)


@pytest.mark.parametrize("sep", [",", ";", "\t"])
def test_an_extract_without_the_columns_still_says_which_are_missing(
    sqlite_url: str, tmp_path: Path, sep: str
) -> None:
    from patrolwise.errors import FatalImportError

    p = _delimited(tmp_path / "x.csv", [["Ref", "When?", "What"], ["1", "2023-07-01", "A"]], sep)
    q = _delimited(
        tmp_path / "y.csv", [["id", "occurred", "offence"], ["1", "2023-07-01", "A"]], sep
    )
    with Store(sqlite_url) as store:
        with pytest.raises(FatalImportError, match="missing column for the occurrence date-time"):
            import_crimes(store, [p], rejects_dir=tmp_path / "rej")
        with pytest.raises(FatalImportError, match="missing location columns: need lon/lat"):
            import_crimes(store, [q], rejects_dir=tmp_path / "rej")
        assert len(load_crimes(store)) == 0


def test_a_file_overlapping_an_earlier_import_finds_the_stored_rows_present(
    store_url: str, tmp_path: Path
) -> None:
    """A force's extract of July and August imported after its July extract: the July rows
    beside the new August rows in one chunk were rejected as 'already imported with different
    details' (their stored row hash was compared as a float), though nothing had changed."""
    head = "Incident ID,Occurred,Offence,Latitude,Longitude\n"
    july = (
        "INC-1,2023-07-01 14:30,Assault with injury,52.63,-1.13\n"
        ",2023-07-03 22:15,Criminal damage,52.62,-1.14\n"
    )
    august = "INC-2,2023-08-02 09:00,Robbery,52.64,-1.12\n"
    street = (
        "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,"
        "LSOA name,Crime type,Last outcome category,Context\n"
        "pu1,2022-10,Leics,Leics,-1.13,52.63,On or near B,E01,L,Robbery,,\n"
        ",2022-10,Leics,Leics,-1.13,52.63,On or near B,E01,L,Anti-social behaviour,,\n"
    )
    p1, p2 = tmp_path / "jul.csv", tmp_path / "julaug.csv"
    p1.write_text(head + july)
    p2.write_text(head + july + august)
    q1, q2 = tmp_path / "oct.csv", tmp_path / "octnov.csv"
    q1.write_text(street)
    q2.write_text(street + "pu2,2022-11,Leics,Leics,-1.13,52.63,On or near B,E01,L,Robbery,,\n")
    with Store(store_url) as store:
        first = import_crimes(store, [p1, q1], force="F", rejects_dir=tmp_path / "rej")
        assert [(s.imported, s.already_present, s.rejected) for s in first] == [(2, 0, 0)] * 2
        later = import_crimes(store, [p2, q2], force="F", rejects_dir=tmp_path / "rej")
        assert [(s.imported, s.already_present, s.rejected) for s in later] == [(1, 2, 0)] * 2
        assert len(load_crimes(store)) == 6

"""CSV (radio / telematics exports) and GeoJSON points, format detection and the shared checks."""

from __future__ import annotations

import codecs
import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Transformer

from patrolwise.errors import FatalImportError, InputError
from patrolwise.io.tracks import KMH, TrackData, detect_format, parse_times, read_track_file

NOW = dt.datetime(2026, 1, 1)


def test_radio_export_with_callsign_easting_northing_uk_dates(tmp_path: Path) -> None:
    p = tmp_path / "airwave.csv"
    p.write_text(
        "Callsign,Date Time,Easting,Northing,Accuracy,Speed (km/h)\r\n"
        "PC1234,01/05/2024 14:02:00,458000,304000,8,3.6\r\n"
        "PC1234,01/05/2024 14:02:30,458010,304000,x,\r\n"
        "PC5678,01/05/2024 14:03,458020,304005,12,0\r\n"
        "PC5678,,458020,304005,12,0\r\n"
    )
    d = read_track_file(p, now=NOW)
    assert d.format == "csv"
    assert d.details["columns"]["device"] == "Callsign"
    assert list(d.points["device"]) == ["PC1234", "PC5678"]
    assert list(d.points["t"]) == [
        pd.Timestamp("2024-05-01 14:02"),
        pd.Timestamp("2024-05-01 14:03"),
    ]
    assert d.points["speed"].iloc[0] == pytest.approx(3.6 * KMH)
    lon, lat = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True).transform(
        458000, 304000
    )
    assert d.points["lon"].iloc[0] == pytest.approx(lon) and d.points["lat"].iloc[
        0
    ] == pytest.approx(lat)
    assert d.points["x"].iloc[0] == 458000
    rej = d.rejects.set_index("row")
    # spreadsheet row numbers: the header is row 1
    assert rej.loc[3, "field"] == "Accuracy" and rej.loc[3, "value"] == "x"
    assert rej.loc[5, "field"] == "time"


def test_phone_export_with_zones_epochs_and_local_option(tmp_path: Path) -> None:
    p = tmp_path / "phone.csv"
    p.write_text(
        "device_id,time,lat,lon\n"
        "a,2024-06-01T12:00:00+01:00,52.6,-1.1\n"
        "a,1717243260,52.6,-1.1\n"
        "a,1717243320000,52.6,-1.1\n"
        "a,2024-06-01 12:03:00,52.6,-1.1\n"
    )
    d = read_track_file(p, now=NOW)
    assert list(d.points["t"]) == [
        pd.Timestamp("2024-06-01 11:00"),
        pd.Timestamp("2024-06-01 12:01"),
        pd.Timestamp("2024-06-01 12:02"),
        pd.Timestamp("2024-06-01 12:03"),  # no zone: UTC by default
    ]
    assert d.details["times_without_zone"] == 1 and d.notes
    loc = read_track_file(p, tz="Europe/London", now=NOW)
    assert loc.points["t"].iloc[3] == pd.Timestamp("2024-06-01 11:03")  # BST
    assert loc.points["t"].iloc[0] == pd.Timestamp("2024-06-01 11:00")  # zoned: unchanged


def test_missing_columns_are_fatal_with_a_fix(tmp_path: Path) -> None:
    p = tmp_path / "x.csv"
    p.write_text("who,when,where\na,b,c\n")
    with pytest.raises(FatalImportError, match="--map time="):
        read_track_file(p, now=NOW)
    d = read_track_file(p, mapping={"t": "when", "lat": "where", "lon": "who"}, now=NOW)
    assert d.rows_read == 1 and len(d.rejects) == 1


def test_geojson_points(tmp_path: Path) -> None:
    fc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [-1.13, 52.63, 61.0]},
                "properties": {"device_id": "d1", "time": "2024-05-01T14:02:00Z", "accuracy": 6},
            },
            {
                "type": "Feature",
                "geometry": {"type": "LineString", "coordinates": [[0, 0], [1, 1]]},
                "properties": {},
            },
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [-1.14, 52.64]},
                "properties": {"device_id": "d1", "time": None},
            },
        ],
    }
    p = tmp_path / "pts.geojson"
    p.write_text(json.dumps(fc))
    d = read_track_file(p, now=NOW)
    assert d.format == "geojson" and d.rows_read == 3 and len(d.points) == 1
    pt = d.points.iloc[0]
    assert (pt["lon"], pt["lat"], pt["altitude"], pt["accuracy"]) == (-1.13, 52.63, 61.0, 6.0)
    assert list(d.rejects["row"]) == [2, 3]
    assert "not a Point" in d.rejects["reason"].iloc[0]


def test_detect_format() -> None:
    assert detect_format(Path("a.GPX"), b"") == "gpx"
    assert detect_format(Path("a.log"), b"$GPRMC,1") == "nmea"
    assert detect_format(Path("a.json"), b'\xef\xbb\xbf {"type"') == "geojson"
    assert detect_format(Path("a.txt"), b"callsign,time") == "csv"
    assert detect_format(Path("a.xml"), b"<?xml") == "gpx"
    with pytest.raises(FatalImportError, match="unknown track format"):
        detect_format(Path("a.xlsx"), b"PK\x03\x04")


def test_zero_zero_and_swapped_coordinates_are_rejected(tmp_path: Path) -> None:
    p = tmp_path / "z.csv"
    p.write_text("id,time,lat,lon\na,2024-05-01T00:00:00Z,0,0\na,2024-05-01T00:00:01Z,-1.1,152.6\n")
    d = read_track_file(p, now=NOW)
    assert len(d.points) == 1  # lon 152.6 is legal; only 0,0 is a placeholder
    assert "no fix" in d.rejects["reason"].iloc[0]


def test_swapped_latitude_and_longitude_are_rejected_by_the_crime_import_rule(
    tmp_path: Path,
) -> None:
    """With a force area, a fix outside it that would be inside it the other way round is
    rejected naming the swap (not swapped back); a fix merely elsewhere in the world is kept."""
    gb = (-8.7, 49.8, 1.9, 60.95)  # the default force_bbox
    p = tmp_path / "s.csv"
    p.write_text(
        "id,time,lat,lon\n"
        "a,2024-05-01T00:00:00Z,52.63,-1.13\n"  # Leicester
        "a,2024-05-01T00:00:01Z,-1.13,52.63\n"  # Leicester, swapped
        "a,2024-05-01T00:00:02Z,46.43,13.74\n"  # Slovenia: outside the area, not swapped
    )
    d = read_track_file(p, now=NOW, bbox=gb)
    assert list(d.points["lat"]) == [52.63, 46.43]
    assert len(d.rejects) == 1
    r = d.rejects.iloc[0]
    assert (r["row"], r["field"], r["value"]) == (3, "lat/lon", "-1.13,52.63")
    assert "latitude and longitude look swapped" in r["reason"]
    # no force area, no swap check (as for crimes)
    assert len(read_track_file(p, now=NOW).points) == 3


@settings(max_examples=60, deadline=None)
@given(
    st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2037, 1, 1)),
    st.integers(min_value=-12 * 60, max_value=14 * 60),
)
def test_parse_times_agrees_with_the_standard_library(t: dt.datetime, offset_min: int) -> None:
    t = t.replace(microsecond=(t.microsecond // 1000) * 1000)
    aware = t.replace(tzinfo=dt.timezone(dt.timedelta(minutes=offset_min)))
    want = aware.astimezone(dt.UTC).replace(tzinfo=None)
    got, naive = parse_times(pd.Series([aware.isoformat(), f"{aware.timestamp():.3f}"]))
    assert naive == 0
    assert got.iloc[0] == pd.Timestamp(want)
    assert abs((got.iloc[1] - pd.Timestamp(want)).total_seconds()) < 1e-3
    assert np.isfinite(got.astype("int64")).all()


def _csv_points(tmp_path: Path, name: str, *rows: str) -> tuple[TrackData, pd.DataFrame]:
    """Read a device,time,lat,lon CSV with these data rows; its rejects indexed by row."""
    p = tmp_path / name
    p.write_text("device,time,lat,lon\n" + "".join(r + "\n" for r in rows))
    d = read_track_file(p, now=NOW)
    return d, d.rejects.set_index("row")


def _on_1_may(*hhmm: str) -> list[pd.Timestamp]:
    return [pd.Timestamp(f"2024-05-01 {t}") for t in hhmm]


def test_a_row_with_extra_fields_is_rejected_at_its_row(tmp_path: Path) -> None:
    # found by QA: one row with a stray comma made the whole file fatal ("Expected 4 fields in
    # line 3, saw 5"), though a bad row should be rejected and the rest imported
    d, rej = _csv_points(
        tmp_path,
        "ragged.csv",
        "X6,2024-05-01T14:02:00Z,52.635,-1.13",
        "X6,2024-05-01T14:03:00Z,52.635,-1.13,extra",
        '"X6",2024-05-01T14:04:00Z,52.636,-1.13',
        "X6,2024-05-01T14:05:00Z,52.637",
    )
    assert list(d.points["t"]) == _on_1_may("14:02", "14:04")
    assert d.rows_read == 4
    assert list(rej.index) == [3, 5]
    assert "5 fields" in rej.loc[3, "reason"] and "4" in rej.loc[3, "reason"]
    assert "position" in rej.loc[5, "reason"]


def test_an_extra_field_on_the_first_data_row_shifts_nothing(tmp_path: Path) -> None:
    # found by QA: pandas takes a first data row one field longer than the header as having an
    # index column, so every row's values moved one column along and all rows were rejected
    # with nonsense reasons ("lon is not a number", a time "before 2000")
    d, rej = _csv_points(
        tmp_path,
        "first_extra.csv",
        "X6,2024-05-01T14:02:00Z,52.635,-1.13,EXTRA",
        "X6,2024-05-01T14:03:00Z,52.636,-1.131",
        "X6,2024-05-01T14:04:00Z,52.637,-1.132",
    )
    assert list(d.points["t"]) == _on_1_may("14:03", "14:04")
    assert list(d.points["lat"]) == [52.636, 52.637]
    assert d.rows_read == 3
    assert list(rej.index) == [2] and "5 fields" in rej.loc[2, "reason"]


def test_a_utf16_csv_with_its_byte_order_mark_is_read(tmp_path: Path) -> None:
    # noted by QA: Excel's "Unicode text" and some radio system exports are UTF-16; it was
    # refused with garbled column names
    text = "device,time,lat,lon\nX6,2024-05-01T14:02:00Z,52.635,-1.13\n"
    for bom, enc in ((codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        p = tmp_path / f"{enc}.csv"
        p.write_bytes(bom + text.encode(enc))
        d = read_track_file(p, now=NOW)
        assert list(d.points["lat"]) == [52.635] and d.rows_read == 1
    bad = tmp_path / "odd.csv"
    bad.write_bytes(codecs.BOM_UTF16_LE + text.encode("utf-16-le")[:-1])
    with pytest.raises(FatalImportError, match="starts as UTF-16 but is not"):
        read_track_file(bad, now=NOW)


def test_geojson_with_odd_features_rejects_them_one_by_one(tmp_path: Path) -> None:
    # found by QA: a feature that is not an object (5), a geometry or properties that are not
    # objects crashed the import with AttributeError instead of a reject at their row
    good = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [-1.13, 52.635]},
        "properties": {"time": "2024-05-01T14:02:00Z"},
    }
    feats = [
        good,
        5,
        None,
        {"type": "Feature", "geometry": [1, 2], "properties": {}},
        {**good, "properties": ["time", "2024-05-01T14:03:00Z"]},
    ]
    p = tmp_path / "odd.geojson"
    p.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    d = read_track_file(p, now=NOW)
    assert len(d.points) == 1 and d.rows_read == 5
    assert list(d.rejects["row"]) == [2, 3, 4, 5]
    p.write_text(json.dumps({"type": "FeatureCollection", "features": {"a": 1}}))
    with pytest.raises(FatalImportError, match="features"):
        read_track_file(p, now=NOW)


def _fallback_csv(path: Path, descending: bool = False) -> list[pd.Timestamp]:
    """Two callsigns every 10 minutes across the October clock change, written in UK local
    time (01:00-01:59 happens twice), interleaved; returns the true UTC times of PC1's rows."""
    utc = pd.date_range("2024-10-27 00:20", "2024-10-27 02:10", freq="10min")
    wall = utc.tz_localize("UTC").tz_convert("Europe/London").strftime("%d/%m/%Y %H:%M:%S")
    rows = [f"{cs},{w},458000,304000" for w in wall for cs in ("PC1", "PC2")]
    if descending:
        rows = rows[::-1]
    path.write_text("Callsign,Time,Easting,Northing\n" + "\n".join(rows) + "\n")
    return sorted(utc)


@pytest.mark.parametrize("descending", [False, True])
def test_local_times_across_the_october_clock_change_keep_both_hours(
    tmp_path: Path, descending: bool
) -> None:
    # found by QA: every wall time between 01:00 and 02:00 was read as summer time, so the hour
    # after the clocks went back was moved an hour early onto the hour before it: its fixes
    # collided with real ones (dropped as duplicates) and 01:00-02:00 UTC had none
    p = tmp_path / "radio.csv"
    want = _fallback_csv(p, descending)
    d = read_track_file(p, tz="Europe/London", now=NOW)
    assert d.rejects.empty
    for cs in ("PC1", "PC2"):
        got = sorted(d.points.loc[d.points["device"] == cs, "t"])
        assert got == want, cs


def test_eastings_and_northings_in_the_lat_lon_columns_are_named_as_such(tmp_path: Path) -> None:
    # found by QA: a radio export whose lat/lon columns held British National Grid metres was
    # rejected "latitude outside -90..90 (lat and lon swapped?)": swapping them fails again;
    # the fix is to read them as easting/northing
    p = tmp_path / "radio.csv"
    p.write_text(
        "callsign,time,lat,lon\n"
        "PC9,2024-06-03T13:00:00Z,304000,458000\n"
        "PC9,2024-06-03T13:00:30Z,95.5,-1.13\n"
    )
    d = read_track_file(p, now=NOW)
    assert d.points.empty
    metres, wrong_lat = d.rejects.to_dict("records")
    assert metres["field"] == "lat/lon" and metres["value"] == "304000.0,458000.0"
    assert "easting/northing" in metres["reason"] and "--map x=" in metres["reason"]
    assert "swapped" not in metres["reason"]
    assert wrong_lat["field"] == "lat"  # one bad latitude is still just that


@pytest.mark.parametrize("ragged", [False, True])
def test_rows_after_blank_lines_keep_their_line_numbers(tmp_path: Path, ragged: bool) -> None:
    # found by QA: blank lines (an export's separators, a trailing CRLF pasted twice) were
    # skipped before rows were numbered, so every row after one was reported a line too early:
    # the bad latitude on line 7 was reported as row 4
    extra = "PC7,2024-06-03T13:02:00Z,52.63,-1.13,oops\n" if ragged else ""
    p = tmp_path / "blank.csv"
    p.write_text(
        "\n"
        "callsign,time,lat,lon\n"
        "PC7,2024-06-03T13:00:00Z,52.63,-1.13\n"
        "\n"
        "PC7,2024-06-03T13:00:30Z,52.63,-1.13\n"
        "   \r\n"
        "PC7,2024-06-03T13:01:00Z,abc,-1.13\n"
        '"PC7","2024-06-03T13:01:30Z","52.63","-1.13"\n' + extra,
        newline="",
    )
    d = read_track_file(p, now=NOW)
    assert list(d.points["row"]) == [3, 5, 8]
    bad = d.rejects.set_index("row")
    assert bad.loc[7, "field"] == "lat" and bad.loc[7, "value"] == "abc"
    assert list(bad.index) == ([7, 9] if ragged else [7])


def test_the_mapping_the_messages_suggest_works(tmp_path: Path) -> None:
    # found by QA: the missing-column error and `track import --help` say "--map time=Timestamp",
    # but the field was only known as 't': following the advice failed with "unknown field 'time'"
    p = tmp_path / "x.csv"
    p.write_text("who,when,where,e,n\na,2024-06-03T13:00:00Z,52.63,458000,304000\n")
    d = read_track_file(
        p, mapping={"time": "when", "device": "who", "easting": "e", "northing": "n"}, now=NOW
    )
    assert len(d.points) == 1 and d.points["device"].iloc[0] == "a"
    assert d.points["x"].iloc[0] == 458000.0
    with pytest.raises(InputError, match="unknown field 'tim'.*time"):
        read_track_file(p, mapping={"tim": "when"}, now=NOW)


def test_geojson_in_british_national_grid_is_reprojected(tmp_path: Path) -> None:
    # found by QA: GDAL and QGIS write a 'crs' member when a layer is not in WGS84 (a radio
    # export saved in British National Grid); it was ignored, the metres read as degrees and
    # every fix rejected, with advice (--map x=) a GeoJSON file cannot follow
    fc = {
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::27700"}},
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [458000.0, 304000.0]},
                "properties": {"callsign": "PC5", "time": "2024-06-03T13:00:00Z"},
            }
        ],
    }
    p = tmp_path / "bng.geojson"
    p.write_text(json.dumps(fc))
    d = read_track_file(p, now=NOW)
    assert d.rejects.empty and len(d.points) == 1
    pt = d.points.iloc[0]
    assert pt["x"] == pytest.approx(458000.0, abs=0.01)
    assert pt["y"] == pytest.approx(304000.0, abs=0.01)
    assert pt["lon"] == pytest.approx(-1.1445, abs=1e-3)
    assert pt["lat"] == pytest.approx(52.6307, abs=1e-3)
    # WGS84 named explicitly (as GDAL writes CRS84) is read as it always was
    fc["crs"] = {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}}
    fc["features"][0]["geometry"]["coordinates"] = [-1.13, 52.63]  # type: ignore[index]
    p.write_text(json.dumps(fc))
    pt = read_track_file(p, now=NOW).points.iloc[0]
    assert (pt["lon"], pt["lat"]) == (-1.13, 52.63)
    fc["crs"] = {"type": "name", "properties": {"name": "EPSG:99999999"}}
    p.write_text(json.dumps(fc))
    with pytest.raises(FatalImportError, match="crs"):
        read_track_file(p, now=NOW)


def test_uk_dates_with_fractional_seconds_are_read(tmp_path: Path) -> None:
    # found by QA: a radio export of UK dates with milliseconds ('03/06/2024 13:00:00.250')
    # crashed the import with a pandas TypeError (a datetime64[s] column cannot take .250)
    p = tmp_path / "ms.csv"
    p.write_text(
        "callsign,time,easting,northing\n"
        "PC1,03/06/2024 13:00:00.250,458000,304000\n"
        "PC1,03/06/2024 13:00:30.5,458000,304000\n"
    )
    d = read_track_file(p, now=NOW)
    assert list(d.points["t"]) == [
        pd.Timestamp("2024-06-03 13:00:00.250"),
        pd.Timestamp("2024-06-03 13:00:30.500"),
    ]


def test_times_ending_in_utc_gmt_or_a_small_z_are_utc(tmp_path: Path) -> None:
    # found by QA: database and telematics exports write '2024-06-03 13:00:00 UTC'; those rows,
    # and ISO times ending in a lower-case 'z', were rejected as unreadable
    p = tmp_path / "utc.csv"
    p.write_text(
        "callsign,time,easting,northing\n"
        "PC1,2024-06-03 13:00:00 UTC,458000,304000\n"
        "PC1,2024-06-03 13:00:30 GMT,458000,304000\n"
        "PC1,2024-06-03T13:01:00z,458000,304000\n"
        "PC1,2024-06-03 13:01:30.5 utc,458000,304000\n"
    )
    d = read_track_file(p, tz="Europe/London", now=NOW)  # a zone given: not used for these
    assert d.rejects.empty, d.rejects.to_dict("records")
    assert list(d.points["t"]) == [
        pd.Timestamp("2024-06-03 13:00:00"),
        pd.Timestamp("2024-06-03 13:00:30"),
        pd.Timestamp("2024-06-03 13:01:00"),
        pd.Timestamp("2024-06-03 13:01:30.5"),
    ]
    assert d.details["times_without_zone"] == 0


def test_a_column_of_unreadable_numbers_is_not_read_row_by_row(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # found by QA: each unreadable number became a reject through Python per row (three .iloc
    # lookups and a dict), so an export whose accuracy column says 'N/A' throughout took ~20x
    # as long per row as a clean one: 200,000 rows 23 s against ~1 s. The rejects now come as
    # one frame per field; the per-row record path must not be taken (the time is measured in
    # benchmarks/hot_paths.py, not here).
    from patrolwise.io import tracks
    from patrolwise.io.tracks import read_csv_points

    n = 4_000
    body = "".join(
        f"PC{i % 7},2024-06-03T13:{(i // 60) % 60:02d}:{i % 60:02d}Z,52.63,-1.13,N/A\n"
        for i in range(n)
    )
    na = f"callsign,time,lat,lon,accuracy\n{body}".encode()

    def per_row(records: list[dict[str, Any]]) -> pd.DataFrame:
        raise AssertionError(f"{len(records)} rejects built row by row")

    monkeypatch.setattr(tracks, "rejects_frame", per_row)
    raw, rejects, _, _ = read_csv_points(na, "x.csv")
    assert raw.empty and len(rejects) == n
    assert set(rejects["reason"]) == {"accuracy is not a number"}
    assert list(rejects["row"][:2]) == [2, 3] and rejects["value"].iloc[0] == "N/A"
    assert set(rejects["field"]) == {"accuracy"}


def test_a_date_column_beside_full_timestamps_is_not_prepended(tmp_path: Path) -> None:
    # found by QA: a file with both a date column and a full date-time column had the date put
    # in front of every timestamp ('2024-06-03 2024-06-03T13:00:00Z'): every row rejected
    p = tmp_path / "dd.csv"
    p.write_text(
        "callsign,date,datetime,lat,lon\n"
        "PC1,2024-06-03,2024-06-03T13:00:00Z,52.63,-1.13\n"
        "PC1,2024-06-03,1717419630,52.63,-1.13\n"
    )
    d = read_track_file(p, now=NOW)
    assert d.rejects.empty, d.rejects.to_dict("records")
    assert list(d.points["t"]) == [
        pd.Timestamp("2024-06-03 13:00:00"),
        pd.Timestamp("2024-06-03 13:00:30"),
    ]
    # a bare time of day still takes its date from the date column
    p.write_text("callsign,date,time,lat,lon\nPC1,03/06/2024,13:00:00,52.63,-1.13\n")
    assert list(read_track_file(p, now=NOW).points["t"]) == [pd.Timestamp("2024-06-03 13:00")]


@pytest.mark.parametrize("ragged", [False, True])
def test_semicolon_and_tab_separated_exports_are_read(tmp_path: Path, ragged: bool) -> None:
    # found by QA: Excel in most of Europe saves 'CSV' with semicolons and decimal commas, and
    # .tsv files are detected as CSV; both were read as one column and refused ('no time and no
    # lat/lon column among Callsign;Time;Lat;Lon'), a message that does not name the separator
    extra = "PC1;03/06/2024 14:01:00;52,63;-1,13;oops\r\n" if ragged else ""
    semi = tmp_path / "semi.csv"
    semi.write_bytes(
        (
            "Callsign;Time;Lat;Lon\r\n"
            "PC1;03/06/2024 14:00:00;52,63;-1,13\r\n"
            "PC1;03/06/2024 14:00:30;52,6301;-1,1301\r\n" + extra
        ).encode("cp1252")
    )
    d = read_track_file(semi, now=NOW)
    assert list(d.points["lat"]) == [52.63, 52.6301]
    assert list(d.points["lon"]) == [-1.13, -1.1301]
    assert list(d.rejects["row"]) == ([4] if ragged else [])
    tab = tmp_path / "radio.tsv"
    tab.write_text("callsign\ttime\tlat\tlon\nPC1\t2024-06-03T13:00:00Z\t52.63\t-1.13\n")
    d = read_track_file(tab, now=NOW)
    assert d.format == "csv" and list(d.points["device"]) == ["PC1"]


def test_speed_columns_read_decimal_commas_and_reject_words(tmp_path: Path) -> None:
    # the speed column was read by pandas alone: a European export's '5,4' (km/h) and a typed
    # 'fast' were both NaN, the fix kept with its speed silently unknown to the speed filter
    p = tmp_path / "semi.csv"
    p.write_text(
        "Callsign;Time;Lat;Lon;Speed (km/h)\n"
        "PC1;03/06/2024 14:00:00;52,63;-1,13;5,4\n"
        "PC1;03/06/2024 14:00:30;52,6301;-1,1301;\n"
        "PC1;03/06/2024 14:01:00;52,6302;-1,1302;fast\n"
        "PC1;03/06/2024 14:01:30;52,6303;-1,1303;3.6\n"
    )
    d = read_track_file(p, now=NOW)
    sp = d.points["speed"].tolist()
    assert sp[0] == pytest.approx(1.5) and np.isnan(sp[1]) and sp[2] == pytest.approx(1.0)
    assert list(d.rejects["row"]) == [4]
    r = d.rejects.iloc[0]
    assert r["field"] == "Speed (km/h)" and r["value"] == "fast"
    assert "not a number" in r["reason"]
    # a speed in metres per second, comma or point, is taken as it is
    p.write_text("device,time,lat,lon,speed\nOR1,2024-06-03T13:00:00Z,52.63,-1.13,1.25\n")
    assert read_track_file(p, now=NOW).points["speed"].tolist() == [1.25]


def test_times_past_2262_are_rejected_as_future_not_a_crash(tmp_path: Path) -> None:
    # found by QA: a CSV or GeoJSON time after 2262-04-11 (the end of pandas' nanosecond
    # times) ended the whole import in an OutOfBoundsDatetime traceback
    p = tmp_path / "far.csv"
    p.write_text(
        "device,time,lat,lon\n"
        "OR1,2024-05-01T13:02:00Z,52.63,-1.13\n"
        "OR1,2300-01-01T00:00:00Z,52.63,-1.13\n"
        "OR1,2300-01-01 00:00:00,52.63,-1.13\n"
        "OR1,10413792000000,52.63,-1.13\n"
        "OR1,01/01/2300 00:00,52.63,-1.13\n"
        "OR1,9999-12-31T23:59:59+01:00,52.63,-1.13\n"
    )
    for tz in (None, "Europe/London"):
        d = read_track_file(p, now=NOW, tz=tz)
        assert list(d.points["t"]) == [pd.Timestamp("2024-05-01 13:02:00")]
        assert list(d.rejects["row"]) == [3, 4, 5, 6, 7]
        assert d.rejects["reason"].str.contains("more than a day in the future").all()
        assert d.rejects["value"].iloc[0] == "2300-01-01T00:00:00Z"
    g = tmp_path / "far.geojson"
    g.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "geometry": {"type": "Point", "coordinates": [-1.13, 52.63]},
                        "properties": {"device": "OR1", "time": t},
                    }
                    for t in ("2024-05-01T13:02:00Z", "2300-01-01T00:00:00Z")
                ],
            }
        )
    )
    d = read_track_file(g, now=NOW)
    assert len(d.points) == 1 and list(d.rejects["row"]) == [2]
    assert "more than a day in the future" in d.rejects["reason"].iloc[0]


def _repeated_hour_csv(path: Path, after: tuple[str, ...] = ()) -> None:
    """PC1 every 10 minutes through the second 01:00-01:50 of 27 October 2024 (GMT, 01:00-01:50
    UTC), written in UK local time: the second file of one night, the first holding the hour
    before the clocks went back; ``after`` adds rows (local times) after it."""
    rows = [f"PC1,27/10/2024 01:{m:02d}:00,458000,304000" for m in range(0, 60, 10)]
    rows += [f"PC1,{w},458000,304000" for w in after]
    path.write_text("Callsign,Time,Easting,Northing\n" + "\n".join(rows) + "\n")


def test_a_file_holding_only_the_repeated_october_hour_is_not_read_as_summer_time(
    tmp_path: Path,
) -> None:
    # found by QA: a file whose local times lie only in the hour repeated when the clocks go
    # back (the second 01:00-01:59, GMT) was read as summer time without a word: every fix an
    # hour early, on top of the first file's real fixes
    p = tmp_path / "night-part2.csv"
    _repeated_hour_csv(p, after=("27/10/2024 02:00:00", "27/10/2024 02:10:00"))
    d = read_track_file(p, tz="Europe/London", now=NOW)
    # the order of the file cannot tell which 01:00-01:50 these are: rejected, saying how to
    # settle it, not guessed; the times after the change are not ambiguous
    assert list(d.points["t"]) == [
        pd.Timestamp("2024-10-27 02:00"),
        pd.Timestamp("2024-10-27 02:10"),
    ]
    assert list(d.rejects["row"]) == [2, 3, 4, 5, 6, 7]
    assert (d.rejects["field"] == "time").all()
    assert d.rejects["value"].iloc[0] == "27/10/2024 01:00:00"
    reason = d.rejects["reason"].iloc[0]
    assert "happens twice" in reason and "BST" in reason and "GMT" in reason
    assert "--ambiguous earlier" in reason and "--ambiguous later" in reason
    later = read_track_file(p, tz="Europe/London", now=NOW, ambiguous="later")
    assert later.rejects.empty
    want = list(pd.date_range("2024-10-27 01:00", "2024-10-27 02:10", freq="10min"))
    assert list(later.points["t"]) == want
    assert any("--ambiguous later" in n and "6" in n for n in later.notes), later.notes
    earlier = read_track_file(p, tz="Europe/London", now=NOW, ambiguous="earlier")
    assert list(earlier.points["t"][:6]) == [t - pd.Timedelta(hours=1) for t in want[:6]]


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("ambiguous", ["earlier", "later"])
def test_the_order_of_a_whole_night_wins_over_the_ambiguous_option(
    tmp_path: Path, descending: bool, ambiguous: str
) -> None:
    p = tmp_path / "radio.csv"
    want = _fallback_csv(p, descending)
    d = read_track_file(p, tz="Europe/London", now=NOW, ambiguous=ambiguous)
    assert d.rejects.empty and not any("--ambiguous" in n for n in d.notes)
    for cs in ("PC1", "PC2"):
        assert sorted(d.points.loc[d.points["device"] == cs, "t"]) == want, cs


def test_the_ambiguous_option_is_checked(tmp_path: Path) -> None:
    p = tmp_path / "night-part2.csv"
    _repeated_hour_csv(p)
    with pytest.raises(InputError, match="--ambiguous 'second'.*earlier or later"):
        read_track_file(p, tz="Europe/London", now=NOW, ambiguous="second")
    with pytest.raises(InputError, match="--ambiguous.*--tz"):
        read_track_file(p, now=NOW, ambiguous="later")

"""Crime files (and harm tables and track files) separated by semicolons or tabs write their
numbers with a decimal comma.

European Excel saves 'CSV' with semicolons because the comma is its decimal separator, so a
latitude is ``52,6345`` and an easting ``458123,5``. Such files are read with their separator
sniffed from the header (:func:`patrolwise.io.tabular.sniff_delimiter`); their coordinates were
then rejected row by row as 'not a number'.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from patrolwise.io import incidents, police_uk
from patrolwise.store import Store
from patrolwise.store.crime_import import import_crimes
from patrolwise.store.crimes import load_crimes

LEI = ["Leicestershire Police", "Leicestershire Police"]
PUK_HEADER = police_uk.HEADER  # the street file's columns, as the reader knows them
KW = {"crs": "EPSG:27700", "tz": "Europe/London", "bbox": None, "force": "F"}


def _delimited(path: Path, rows: list[list[str]], sep: str) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, delimiter=sep, lineterminator="\r\n").writerows(rows)
    return path


def _comma_decimals(rows: list[list[str]], columns: list[str]) -> list[list[str]]:
    """The rows as European Excel writes them: a decimal comma in the given columns."""
    at = [rows[0].index(c) for c in columns]
    return [rows[0]] + [
        [v.replace(".", ",") if i in at else v for i, v in enumerate(r)] for r in rows[1:]
    ]


INCIDENTS = [
    ["Incident ID", "Occurred", "Offence", "Latitude", "Longitude", "Location", "Beat"],
    ["I1", "01/07/2023 14:30", "Assault", "52.634512", "-1.132178", "High St, Leicester", "C1"],
    ["I2", "2023-07-02 09:00", "Robbery", "52.64", "-1.1", "Low St", "C2"],
    ["", "2023-07-03", "Criminal damage", "52.6201", "-1.14", "", "C1"],
    ["", "2023-07-03", "Criminal damage", "52.6201", "-1.14", "", "C1"],
    ["I5", "2023-07-05 10:00", "Theft", "", "", "No location", "C2"],
    ["I6", "2023-07-06 11:00", "Theft", "53", "-1", "Whole degrees", "C2"],
]


@pytest.mark.parametrize("sep", [";", "\t"])
def test_an_extract_with_decimal_commas_imports_the_crimes_of_its_comma_twin(
    store_url: str, tmp_path: Path, sep: str
) -> None:
    """Same crimes, same coordinates (to the metre: to the bit), same row hashes, so the
    European copy of an imported extract is already present, its rows without an ID too."""
    euro = _comma_decimals(INCIDENTS, ["Latitude", "Longitude"])
    assert euro[1][3:5] == ["52,634512", "-1,132178"]
    comma = _delimited(tmp_path / "comma.csv", INCIDENTS, ",")
    other = _delimited(tmp_path / "euro.csv", euro, sep)
    a, b = incidents.parse(comma, **KW), incidents.parse(other, **KW)  # type: ignore[arg-type]
    assert len(a.rows) == 6 and a.rejects.empty and b.rejects.empty
    pd.testing.assert_frame_equal(a.rows, b.rows)
    assert b.rows.loc[0, "lat"] == 52.634512 and b.rows.loc[0, "lon"] == -1.132178
    assert np.isfinite(b.rows["x"].iloc[:4]).all()
    with Store(store_url) as store:
        s1, s2 = import_crimes(store, [other, comma], rejects_dir=tmp_path / "rej")
        assert (s1.rows_read, s1.imported, s1.rejected, s1.unmappable) == (6, 6, 0, 1)
        assert (s2.imported, s2.already_present, s2.rejected) == (0, 6, 0)
        df = load_crimes(store)
        assert len(df) == 6
        row = df[df["crime_id"] == "I1"].iloc[0]
        assert (row["lat"], row["lon"]) == (52.634512, -1.132178)
        # the stored place is where the comma twin puts it, to the metre
        x, y = a.rows.set_index("crime_key").loc["i:1:F:I1", ["x", "y"]]
        assert abs(row["x"] - x) < 1 and abs(row["y"] - y) < 1


def test_eastings_and_northings_with_decimal_commas_import(store_url: str, tmp_path: Path) -> None:
    rows = [
        ["id", "occurred", "offence", "easting", "northing"],
        ["E1", "2023-07-01 14:30", "Assault", "458123.5", "304300.25"],
        ["", "2023-07-01 15:30", "Assault", "458600", "304300"],
    ]
    comma = _delimited(tmp_path / "grid.csv", rows, ",")
    euro = _delimited(tmp_path / "grid-euro.csv", _comma_decimals(rows, ["easting"]), ";")
    assert "458123,5;304300.25" in euro.read_text()  # a point beside a comma: both read
    b = incidents.parse(euro, **KW)  # type: ignore[arg-type]
    assert b.rejects.empty
    assert list(b.rows["x"]) == [458123.5, 458600.0] and b.rows.loc[0, "y"] == 304300.25
    with Store(store_url) as store:
        s1, s2 = import_crimes(store, [euro, comma], rejects_dir=tmp_path / "rej")
        assert (s1.imported, s1.rejected) == (2, 0)
        assert (s2.imported, s2.already_present, s2.rejected) == (0, 2, 0)
        df = load_crimes(store)
        assert df.loc[df["crime_id"] == "E1", "x"].item() == pytest.approx(458123.5, abs=1e-6)


def test_a_police_uk_file_with_decimal_commas_imports_and_is_its_original(
    store_url: str, tmp_path: Path
) -> None:
    """police.uk writes six decimals; European Excel writes a decimal comma and drops trailing
    zeros ('52.619800' -> '52,6198'). The copy imports the same places, and after the original
    (or before it) its crimes are already present and its anti-social behaviour rows, keyed by
    their hash, are not imported twice."""
    body = [
        ["a1", "2022-10", *LEI, "-1.217946", "52.619800", "On or near B", "E01", "L", "Robbery"],
        ["", "2022-10", *LEI, "-1.217946", "52.619800", "On or near B", "E01", "L", "ASB"],
        ["", "2022-10", *LEI, "-1.217946", "52.619800", "On or near B", "E01", "L", "ASB"],
        ["", "2022-10", *LEI, "-1.100000", "52.600000", "On or near C", "E01", "L", "ASB"],
        ["", "2022-10", *LEI, "", "", "No Location", "", "", "ASB"],
    ]
    orig_rows = [PUK_HEADER] + [[*r, "", ""] for r in body]
    trimmed = {"52.619800": "52,6198", "-1.100000": "-1,1", "52.600000": "52,6"}
    euro_rows = [PUK_HEADER] + [
        [trimmed.get(v, v.replace(".", ",") if i in (4, 5) else v) for i, v in enumerate(r)]
        for r in orig_rows[1:]
    ]
    assert euro_rows[1][4:6] == ["-1,217946", "52,6198"]
    orig = _delimited(tmp_path / "2022-10-street.csv", orig_rows, ",")
    euro = _delimited(tmp_path / "2022-10-euro.csv", euro_rows, ";")
    a = police_uk.parse(orig.read_bytes(), "o", crs="EPSG:27700", bbox=None)
    b = police_uk.parse(euro.read_bytes(), "e", crs="EPSG:27700", bbox=None)
    assert b.rejects.empty
    for c in ("lon", "lat", "x", "y", "row_hash", "crime_key", "mappable"):
        np.testing.assert_array_equal(a.rows[c].to_numpy(), b.rows[c].to_numpy(), err_msg=c)
    with Store(store_url) as store:
        (s1,) = import_crimes(store, [euro], rejects_dir=tmp_path / "rej")
        assert (s1.format, s1.imported, s1.rejected, s1.unmappable) == ("police_uk", 5, 0, 1)
        df = load_crimes(store).set_index("crime_key")
        assert (df.loc["a1", "lon"], df.loc["a1", "lat"]) == (-1.217946, 52.6198)
        (s2,) = import_crimes(store, [orig], rejects_dir=tmp_path / "rej")
        assert (s2.imported, s2.already_present, s2.rejected) == (0, 5, 0)
        assert len(load_crimes(store)) == 5


#: (text, what the reject's reason says) for values with a comma that are no decimal comma
AMBIGUOUS = [
    ("52,63,1", "more than one ','"),
    ("1.234,5", "both '.' and ','"),
    ("52,634.5", "both '.' and ','"),
    ("52,", "is not a number"),
    (",63", "is not a number"),
    ("52, 63", "is not a number"),
    ("5e1,2", "is not a number"),
]


def test_ambiguous_decimal_commas_are_rejected_with_row_field_and_reason(
    store_url: str, tmp_path: Path
) -> None:
    rows = [INCIDENTS[0], ["G1", "2023-07-01 14:30", "Assault", "52,63", "-1,13", "A", "C1"]]
    rows += [
        [f"B{i}", "2023-07-01 14:30", "Assault", text, "-1,13", "A", "C1"]
        for i, (text, _) in enumerate(AMBIGUOUS)
    ]
    rows.append(["B9", "2023-07-01 14:30", "Assault", "52,63", "-1,1,3", "A", "C1"])
    p = _delimited(tmp_path / "bad.csv", rows, ";")
    grid = [
        ["id", "occurred", "offence", "easting", "northing"],
        ["H1", "2023-07-01 14:30", "Assault", "458123,5", "304300"],
        ["B1", "2023-07-01 14:30", "Assault", "458.123,5", "304300"],
        ["B2", "2023-07-01 14:30", "Assault", "458600", "304,300,0"],
    ]
    q = _delimited(tmp_path / "grid.csv", grid, "\t")
    with Store(store_url) as store:
        s1, s2 = import_crimes(store, [p, q], rejects_dir=tmp_path / "rej")
        assert (s1.imported, s1.rejected) == (1, len(AMBIGUOUS) + 1)
        rej = pd.read_csv(s1.rejects_file, keep_default_na=False)
        assert list(rej["row"]) == list(range(3, 4 + len(AMBIGUOUS)))
        assert list(rej["field"]) == ["Latitude"] * len(AMBIGUOUS) + ["Longitude"]
        assert list(rej["value"]) == [t for t, _ in AMBIGUOUS] + ["-1,1,3"]
        for reason, (_, why) in zip(rej["reason"], AMBIGUOUS, strict=False):
            assert reason.startswith("latitude is not a number") and why in reason
        assert rej["reason"].iloc[-1] == (
            "longitude is not a number: more than one ',' (a decimal comma is written once, "
            "as in 52,6345)"
        )
        assert (s2.imported, s2.rejected) == (1, 2)
        rej2 = pd.read_csv(s2.rejects_file, keep_default_na=False)
        assert rej2[["row", "field", "value"]].values.tolist() == [
            [3, "easting", "458.123,5"],
            [4, "northing", "304,300,0"],
        ]
        assert rej2["reason"].tolist() == [
            "easting is not a number: both '.' and ',' (a thousands separator?): write it "
            "with a decimal comma and no thousands separator, as 1234,5",
            "northing is not a number: more than one ',' (a decimal comma is written once, "
            "as in 52,6345)",
        ]
        assert sorted(load_crimes(store)["crime_id"]) == ["G1", "H1"]


def test_a_police_uk_decimal_comma_that_is_ambiguous_is_rejected(
    sqlite_url: str, tmp_path: Path
) -> None:
    good = ["a1", "2022-10", *LEI, "-1,13", "52,63", "On or near B", "E01", "L", "Robbery", "", ""]
    bad = ["a2", "2022-10", *LEI, "-1.130,5", "52,63", "On or near B", "E01", "L", "Robbery"]
    p = _delimited(tmp_path / "street.csv", [PUK_HEADER, good, [*bad, "", ""]], ";")
    with Store(sqlite_url) as store:
        (s,) = import_crimes(store, [p], rejects_dir=tmp_path / "rej")
        assert (s.imported, s.rejected) == (1, 1)
        rej = pd.read_csv(s.rejects_file, keep_default_na=False)
        assert rej[["row", "field", "value"]].values.tolist() == [[3, "Longitude", "-1.130,5"]]
        assert rej.loc[0, "reason"].startswith("longitude is not a number: both '.' and ','")


def test_comma_separated_files_still_refuse_a_quoted_decimal_comma(
    store_url: str, tmp_path: Path
) -> None:
    """In a comma-separated file a comma is the separator: a UK export never writes '52,63'
    for a number, so a quoted one is still no number (as before), with the reason as before."""
    rows = [INCIDENTS[0], INCIDENTS[1], ["B", "2023-07-01 14:30", "Assault", "52,63", "-1.13"]]
    rows[2] += ["A", "C1"]
    p = _delimited(tmp_path / "inc.csv", rows, ",")
    assert '"52,63"' in p.read_text()
    street = [PUK_HEADER, ["a1", "2022-10", *LEI, "-1,13", "52.63", "On or near B", "E01", "L"]]
    street[1] += ["Robbery", "", ""]
    q = _delimited(tmp_path / "street.csv", street, ",")
    with Store(store_url) as store:
        s1, s2 = import_crimes(store, [p, q], rejects_dir=tmp_path / "rej")
        assert (s1.imported, s1.rejected, s2.imported, s2.rejected) == (1, 1, 0, 1)
        r1 = pd.read_csv(s1.rejects_file, keep_default_na=False)
        r2 = pd.read_csv(s2.rejects_file, keep_default_na=False)
        assert r1[["row", "field", "value", "reason"]].values.tolist() == [
            [3, "Latitude", "52,63", "latitude is not a number"]
        ]
        assert r2[["row", "field", "value", "reason"]].values.tolist() == [
            [2, "Longitude", "-1,13", "longitude is not a number"]
        ]


def test_read_numbers_reads_a_decimal_comma_only_when_told() -> None:
    from patrolwise.io.tabular import read_numbers

    text = pd.Series([" 52,6345 ", "-1,1332", "+458123,5", "52.63", "7", "", "1.234,5", "1,2,3"])
    plain = read_numbers(text, decimal_comma=False)
    np.testing.assert_array_equal(
        plain.values, [np.nan, np.nan, np.nan, 52.63, 7.0, np.nan, np.nan, np.nan]
    )
    assert (plain.why == "").all() and list(plain.text) == list(text)
    euro = read_numbers(text, decimal_comma=True)
    np.testing.assert_array_equal(
        euro.values, [52.6345, -1.1332, 458123.5, 52.63, 7.0, np.nan, np.nan, np.nan]
    )
    assert list(euro.text) == [" 52.6345 ", "-1.1332", "+458123.5", *text[3:]]
    assert [bool(w) for w in euro.why] == [False] * 6 + [True, True]


CCHI = [
    ["code", "offence", "harm"],
    ["8N", "Assault with injury", "365.5"],
    ["105A", "Common assault", "10"],
    ["28E", "Burglary - residential", "1825.25"],
]
HARM_KW = {"name": "cchi", "version": "2026", "key_column": "code", "harm_column": "harm"}


@pytest.mark.parametrize("sep", [";", "\t"])
def test_a_harm_table_saved_by_european_excel_reads_as_its_comma_twin(
    tmp_path: Path, sep: str
) -> None:
    """A harm table CSV was read with a fixed comma: 'code;offence;harm' was one column and the
    table was refused ('missing column'), and a decimal comma had every comma dropped as a
    thousands separator ('365,5' read as 3655). Crime files' sniffing and decimal-comma rule
    now read it as its comma-separated twin."""
    from patrolwise.harm import read_table_file

    twin = read_table_file(_delimited(tmp_path / "twin.csv", CCHI, ","), **HARM_KW)
    euro = _comma_decimals(CCHI, ["harm"])
    assert euro[1][2] == "365,5"
    table = read_table_file(_delimited(tmp_path / "euro.csv", euro, sep), **HARM_KW)
    assert dict(zip(table.values["key"], table.values["harm"], strict=True)) == {
        "8N": 365.5,
        "105A": 10.0,
        "28E": 1825.25,
    }
    pd.testing.assert_frame_equal(table.values, twin.values)


@pytest.mark.parametrize(
    ("sep", "value", "why"),
    [
        (";", "1.234,5", "both '.' and ',' (a thousands separator?)"),
        (";", "1,234,5", "more than one ','"),
        ("\t", "365,", ""),
        # a comma-separated file: a quoted '365,5' was read as 3655
        (",", "365,5", "in a comma-separated file or a workbook a comma is never read"),
        (",", "1,234", "in a comma-separated file or a workbook a comma is never read"),
    ],
)
def test_a_harm_that_is_no_number_by_the_decimal_comma_rule_is_refused_naming_row_and_column(
    tmp_path: Path, sep: str, value: str, why: str
) -> None:
    from patrolwise.errors import FatalImportError
    from patrolwise.harm import read_table_file

    rows = [CCHI[0], ["8N", "Assault with injury", "365"], ["105A", "Common assault", value]]
    p = _delimited(tmp_path / "t.csv", rows, sep)
    with pytest.raises(FatalImportError) as err:
        read_table_file(p, **HARM_KW)
    msg = str(err.value)
    assert f"row 3, column 'harm': {value!r} is not a number" in msg
    assert why in msg


TRACK_NOW = dt.datetime(2026, 1, 1)


# a track file reads a decimal comma whatever its separator (a quoted one in a comma file too),
# as it did before it shared the rule
@pytest.mark.parametrize("sep", [";", "\t", ","])
def test_a_track_csv_reads_decimal_commas_by_the_crime_files_rule(tmp_path: Path, sep: str) -> None:
    """Track files had their own decimal-comma reading beside the crime files' one; they now
    share it (:func:`patrolwise.io.tabular.read_numbers`). A decimal comma still reads, and a
    thousands separator or a comma not between digits is still a rejected row naming the field,
    now with the reason crime files give ('lat is not a number' said nothing of the comma)."""
    from patrolwise.io.tracks import read_track_file

    rows = [
        ["Callsign", "Time", "Lat", "Lon", "Accuracy"],
        ["PC1", "03/06/2024 14:00:00", "52,63", "-1,13", "8,5"],
        ["PC1", "03/06/2024 14:00:30", "52.6301", "-1.1301", "8"],
        ["PC1", "03/06/2024 14:01:00", "52,6302", "1.234,5", "8"],
        ["PC1", "03/06/2024 14:01:30", "52,6,3", "-1,13", "8"],
        ["PC1", "03/06/2024 14:02:00", "52,", "-1,13", "8"],
        ["PC1", "03/06/2024 14:02:30", "52,63", "-1,13", ",5"],
    ]
    d = read_track_file(_delimited(tmp_path / "t.csv", rows, sep), now=TRACK_NOW)
    assert list(d.points["lat"]) == [52.63, 52.6301]
    assert list(d.points["lon"]) == [-1.13, -1.1301]
    assert list(d.points["accuracy"]) == [8.5, 8.0]
    rej = d.rejects.set_index("row")
    assert rej.loc[[4, 5, 6, 7], "field"].tolist() == ["Lon", "Lat", "Lat", "Accuracy"]
    assert rej.loc[[4, 5, 6, 7], "value"].tolist() == ["1.234,5", "52,6,3", "52,", ",5"]
    assert rej.loc[4, "reason"] == (
        "lon is not a number: both '.' and ',' (a thousands separator?): write it with a "
        "decimal comma and no thousands separator, as 1234,5"
    )
    assert rej.loc[5, "reason"] == (
        "lat is not a number: more than one ',' (a decimal comma is written once, as in 52,6345)"
    )
    assert rej.loc[6, "reason"] == "lat is not a number"
    assert rej.loc[7, "reason"] == "accuracy is not a number"

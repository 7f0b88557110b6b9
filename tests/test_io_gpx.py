"""GPX reader on the real gpxpy test files and on hand-made awkward files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from patrolwise.errors import FatalImportError
from patrolwise.io.tracks import read_track_file

NOW = dt.datetime(2026, 1, 1)


def read(path: Path):  # type: ignore[no-untyped-def]
    return read_track_file(path, now=NOW)


def write(tmp_path: Path, text: str, name: str = "t.gpx", bom: bool = False) -> Path:
    p = tmp_path / name
    p.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return p


def test_every_real_file_imports_or_is_rejected_row_by_row(shared_data: Path) -> None:
    files = sorted((shared_data / "gpx").glob("*.gpx"))
    assert len(files) == 7
    for f in files:
        d = read(f)
        assert d.rows_read == len(d.points) + len(d.rejects) > 0
        assert d.rejects["reason"].notna().all() and d.rejects["row"].notna().all()
        assert d.points["t"].notna().all()


def test_broken_1901_clock_is_rejected_as_implausible(shared_data: Path) -> None:
    d = read(shared_data / "gpx" / "gpxpy__Mojstrovka.gpx")
    assert len(d.points) == 0 and len(d.rejects) == 184
    assert (d.rejects["field"] == "time").all()
    assert d.rejects["reason"].str.contains("implausible time before 2000").all()
    # 7-digit fractions are read, and the report shows the time as written
    assert d.rejects["value"].iloc[0] == "1901-12-13T20:45:52.2073437Z"
    assert d.rejects["line"].iloc[0] == 12


def test_garmin_etrex_track(shared_data: Path) -> None:
    d = read(shared_data / "gpx" / "gpxpy__around-visnjan-with-car.gpx")
    assert len(d.points) == 104 and len(d.rejects) == 0
    first = d.points.iloc[0]
    assert first["t"] == pd.Timestamp("2020-12-18 06:15:50")
    assert first["lat"] == pytest.approx(45.2735188510)
    assert first["lon"] == pytest.approx(13.7142099626)
    assert first["altitude"] == pytest.approx(211.15)
    assert d.details["gpx_version"] == "1.1" and d.details["segments"] == 1
    # irregular 1-15 s sampling, in order
    gaps = d.points["t"].diff().dropna().dt.total_seconds()
    assert gaps.min() >= 1 and gaps.max() <= 60


def test_offset_milliseconds_and_lon_before_lat(shared_data: Path) -> None:
    d = read(shared_data / "gpx" / "gpxpy__track-with-less-sec-time.gpx")
    assert list(d.points["t"]) == [
        pd.Timestamp("2015-12-11 14:43:13.000"),  # 15:43:13+01:00
        pd.Timestamp("2015-12-11 14:43:13.994"),
    ]
    assert d.points["lat"].iloc[0] == pytest.approx(57.011456)
    assert d.points["lon"].iloc[0] == pytest.approx(9.992872)


def test_multi_segment_gpx10_with_waypoints(shared_data: Path) -> None:
    d = read(shared_data / "gpx" / "gpxpy__cerknicko-jezero.gpx")
    assert d.details["gpx_version"] == "1.0"
    assert d.details["segments"] == 8 and d.details["waypoints"] == 7
    assert d.details["track_points"] == 296
    # six waypoints carry no time: each is rejected with its own row and reason
    assert len(d.rejects) == 6
    assert set(d.rejects["reason"]) == {"no time: a ping needs the time of its fix"}
    assert len(d.points) == 297


def test_bom_no_namespace_and_extensions_ignored(shared_data: Path) -> None:
    d = read(shared_data / "gpx" / "gpxpy__unicode_with_bom.gpx")
    assert len(d.points) == 1
    p = d.points.iloc[0]
    assert p["t"] == pd.Timestamp("2016-05-27 10:08:47.800")
    assert p["attrs"]["hdop"] == pytest.approx(16.2)
    assert p["accuracy"] == pytest.approx(16.2 * 5)  # estimated from HDOP
    g = read(shared_data / "gpx" / "gpxpy__gpx_with_garmin_extension.gpx")
    assert len(g.points) == 1 and g.points["altitude"].iloc[0] == pytest.approx(3.4)


def test_time_without_zone_is_utc_and_said_so(shared_data: Path) -> None:
    d = read(shared_data / "gpx" / "gpxpy__gpx1.0_with_all_fields.gpx")
    assert d.details["times_without_zone"] == 1
    assert any("no zone: read as UTC" in n for n in d.notes)
    assert pd.Timestamp("2013-01-01 12:00:04") in set(d.points["t"])


GPX11 = """<?xml version="1.0"?>
<gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1">
 <wpt lon="-1.1" lat="52.6"><time>2024-05-01T14:00:00Z</time><name>start</name></wpt>
 <rte><rtept lat="52.61" lon="-1.11"><time>2024-05-01T14:01:00+01:00</time></rtept></rte>
 <trk><trkseg>
  <trkpt lat="52.62" lon="-1.12"><ele>60</ele><time>2024-05-01T14:02:00</time>
   <extensions><time>1999-01-01T00:00:00Z</time><speed>99</speed></extensions></trkpt>
  <trkpt lat="abc" lon="-1.12"><time>2024-05-01T14:03:00Z</time></trkpt>
  <trkpt lat="52.63" lon="-1.13"><time>not a time</time></trkpt>
  <trkpt lat="95" lon="-1.13"><time>2024-05-01T14:05:00Z</time></trkpt>
  <trkpt lat="52.64" lon="-1.14"><time>2030-05-01T14:06:00Z</time></trkpt>
 </trkseg></trk>
</gpx>"""


def test_routes_waypoints_tracks_and_row_reasons(tmp_path: Path) -> None:
    d = read(write(tmp_path, GPX11, bom=True))
    assert d.rows_read == 7
    assert list(d.points["t"]) == [
        pd.Timestamp("2024-05-01 14:00"),
        pd.Timestamp("2024-05-01 13:01"),
        pd.Timestamp("2024-05-01 14:02"),  # extension's time and speed ignored
    ]
    assert [a["kind"] for a in d.points["attrs"]] == ["waypoint", "route", "track"]
    assert d.points["speed"].isna().all()
    rej = d.rejects.set_index("row")
    assert rej.loc[4, "field"] == "lat" and "no readable lat" in rej.loc[4, "reason"]
    assert "unreadable time" in rej.loc[5, "reason"]
    assert rej.loc[6, "field"] == "lat" and "outside -90..90" in rej.loc[6, "reason"]
    assert "future" in rej.loc[7, "reason"]
    assert list(rej["line"]) == [8, 9, 10, 11]


def test_entity_expansion_is_refused(tmp_path: Path) -> None:
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE gpx [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        '<gpx><wpt lat="1" lon="1"><name>&b;</name></wpt></gpx>'
    )
    with pytest.raises(FatalImportError, match="entity"):
        read(write(tmp_path, bomb))


def test_broken_xml_and_wrong_root_are_fatal(tmp_path: Path) -> None:
    with pytest.raises(FatalImportError, match="line 2"):
        read(write(tmp_path, '<gpx version="1.1">\n<trk><trkseg></trk></gpx>'))
    with pytest.raises(FatalImportError, match="not <gpx>"):
        read(write(tmp_path, "<kml></kml>", name="k.gpx"))


def test_unreadable_times_are_not_counted_as_read_without_zone(tmp_path: Path) -> None:
    # found by QA: the note said "2 point times had no zone: read as UTC" for one time without a
    # zone and one unreadable time (rejected, so not read as anything)
    p = write(
        tmp_path,
        '<gpx version="1.1" creator="t"><trk><trkseg>'
        '<trkpt lat="52.63" lon="-1.13"><time>2024-06-03T13:00:00Z</time></trkpt>'
        '<trkpt lat="52.63" lon="-1.13"><time>2024-06-03T13:00:30</time></trkpt>'
        '<trkpt lat="52.63" lon="-1.13"><time>garbage</time></trkpt>'
        "</trkseg></trk></gpx>",
    )
    d = read(p)
    assert len(d.points) == 2 and list(d.rejects["value"]) == ["garbage"]
    assert d.details["times_without_zone"] == 1
    assert any(n.startswith("1 point times had no zone") for n in d.notes), d.notes


def test_an_impossible_date_is_a_rejected_point_not_a_crash(tmp_path: Path) -> None:
    # found by QA: a point dated 30 February (or a 23:59:60 leap second) in an otherwise
    # ordinary file ended the import in a numpy ValueError traceback ('Day out of range')
    p = write(
        tmp_path,
        '<gpx version="1.1" creator="t"><trk><trkseg>'
        '<trkpt lat="52.63" lon="-1.13"><time>2024-06-03T13:00:00Z</time></trkpt>'
        '<trkpt lat="52.63" lon="-1.13"><time>2024-02-30T13:00:00Z</time></trkpt>'
        '<trkpt lat="52.63" lon="-1.13"><time>2024-06-03T13:01:00Z</time></trkpt>'
        "</trkseg></trk></gpx>",
    )
    d = read(p)
    assert list(d.points["t"]) == [
        pd.Timestamp("2024-06-03 13:00:00"),
        pd.Timestamp("2024-06-03 13:01:00"),
    ]
    assert list(d.rejects["value"]) == ["2024-02-30T13:00:00Z"]
    assert "unreadable time" in d.rejects["reason"].iloc[0]


def test_a_windows_1252_file_without_a_declaration_is_read(tmp_path: Path) -> None:
    # found by QA: a GPX saved by a Windows tool in Windows-1252 with no encoding declaration
    # (a track named 'Café') was refused whole as 'not well-formed XML ... invalid token',
    # which does not say the problem is the encoding; the CSV reader falls back to it already
    text = (
        '<?xml version="1.0"?><gpx version="1.1" creator="t"><trk><name>Café</name><trkseg>'
        '<trkpt lat="52.63" lon="-1.13"><time>2024-06-03T13:00:00Z</time></trkpt>'
        "</trkseg></trk></gpx>"
    )
    p = tmp_path / "cp.gpx"
    p.write_bytes(text.encode("cp1252"))
    d = read(p)
    assert len(d.points) == 1
    assert any("Windows-1252" in n for n in d.notes), d.notes
    # a file that declares another encoding is read in it, as before
    p.write_bytes(text.replace("?>", ' encoding="ISO-8859-1"?>', 1).encode("latin-1"))
    assert len(read(p).points) == 1


def test_a_truncated_file_keeps_its_complete_points(shared_data: Path, tmp_path: Path) -> None:
    # a tracker whose battery died mid-write leaves a file that stops inside a point or without
    # its closing tags: it was refused whole as not well-formed XML, losing the patrol. Every
    # point completed before the end is read; the end is one reject, the point after the last
    # complete one
    real = (shared_data / "gpx" / "gpxpy__around-visnjan-with-car.gpx").read_bytes()
    assert len(read(write(tmp_path, real.decode(), "whole.gpx")).points) == 104
    for cut in (len(real) // 2, len(real) // 3 + 7, len(real) - 30):
        head = real[:cut]
        done = head.count(b"</trkpt>")
        inside = head.rfind(b"<trkpt") > head.rfind(b"</trkpt>")
        p = tmp_path / f"cut{cut}.gpx"
        p.write_bytes(head)
        d = read(p)
        assert len(d.points) == done, cut
        (rej,) = d.rejects.to_dict("records")
        assert rej["row"] == done + 1 and rej["field"] == "file"
        assert rej["reason"].startswith("file truncated: ")
        assert ("inside point" in rej["reason"]) == inside, rej
        assert rej["reason"].endswith(f"; {done} points before it read")
        assert d.details["truncated"] and any("truncated" in n for n in d.notes)
    # cut inside the third point, with the NUL bytes a FAT card pads such a file with
    text = (
        '<?xml version="1.0"?>\n<gpx version="1.1" creator="t"><trk><trkseg>\n'
        '<trkpt lat="52.630" lon="-1.13"><time>2024-06-03T13:00:00Z</time></trkpt>\n'
        '<trkpt lat="52.631" lon="-1.13"><time>2024-06-03T13:01:00Z</time></trkpt>\n'
        '<trkpt lat="52.632" lon="-1.13"><time>2024-06-03T13:0'
    )
    p = tmp_path / "padded.gpx"
    p.write_bytes(text.encode() + b"\x00" * 512)
    d = read(p)
    assert list(d.points["lat"]) == [52.630, 52.631]
    (rej,) = d.rejects.to_dict("records")
    assert (rej["row"], rej["line"]) == (3, 5) and "inside point 3" in rej["reason"]
    assert "\x00" not in rej["value"] and rej["value"].endswith("13:0")
    assert any("512 NUL bytes" in n for n in d.notes), d.notes
    # a complete file followed by padding is no truncation
    d = read(write(tmp_path, text + "0:00Z</time></trkpt></trkseg></trk></gpx>\x00\x00", "ok.gpx"))
    assert len(d.points) == 3 and d.rejects.empty and not d.details["truncated"]
    # ends without its closing tags: every point is read, the end still reported
    d = read(write(tmp_path, text[: text.rindex("<trkpt")], "open.gpx"))
    assert len(d.points) == 2
    assert list(d.rejects["row"]) == [3] and "without its closing tags" in d.rejects["reason"][0]
    # a file cut inside a UTF-8 character is still UTF-8, not Windows-1252
    named = (text + "2:00Z</time><name>Café</name></trkpt>").encode()
    p = tmp_path / "cafe.gpx"
    p.write_bytes(named[: named.index("é".encode()) + 1])
    d = read(p)
    assert len(d.points) == 2 and list(d.rejects["row"]) == [3]
    assert not any("Windows-1252" in n for n in d.notes), d.notes


def test_xml_broken_before_its_end_is_still_fatal(tmp_path: Path) -> None:
    # truncation is only a file well-formed up to its end: a mismatched tag in the middle, a file
    # that never opens <gpx>, or another document type still stop the file (nothing written)
    head = '<gpx version="1.1"><trk><trkseg><trkpt lat="52.6" lon="-1.1"></trkpt>'
    for text, match in (
        (head + "</trk><trkpt lat=", "not well-formed"),
        (head + "<trkpt lat='1' lon='1'>\x01", "not well-formed"),
        ('<?xml version="1.0"?>\n<gp', "no <gpx>"),
        ("<kml><Placemark>", "not <gpx>"),
    ):
        with pytest.raises(FatalImportError, match=match):
            read(write(tmp_path, text))


def test_a_fix_dated_past_2262_is_rejected_as_future_not_wrapped(tmp_path: Path) -> None:
    # found by QA: numpy's nanosecond times wrap round past 2262-04-11, so a point dated 2604
    # (a device clock gone wrong) was read as 2019-11-11 00:25:26.29 and stored as a real fix,
    # and one dated 2300 was rejected as 'before 2000'
    p = write(
        tmp_path,
        '<gpx version="1.1" creator="t"><trk><trkseg>'
        '<trkpt lat="52.63" lon="-1.13"><time>2024-06-03T13:00:00Z</time></trkpt>'
        '<trkpt lat="52.63" lon="-1.13"><time>2604-06-01T00:00:00Z</time></trkpt>'
        '<trkpt lat="52.63" lon="-1.13"><time>2300-01-01T00:00:00Z</time></trkpt>'
        "</trkseg></trk></gpx>",
    )
    d = read(p)
    assert list(d.points["t"]) == [pd.Timestamp("2024-06-03 13:00:00")]
    assert list(d.rejects["value"]) == ["2604-06-01T00:00:00Z", "2300-01-01T00:00:00Z"]
    assert d.rejects["reason"].str.contains("more than a day in the future").all()

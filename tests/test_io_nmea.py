"""NMEA 0183 reader: the GPSBabel malformed-time log and hand-made logs."""

from __future__ import annotations

import datetime as dt
from functools import reduce
from pathlib import Path

import pandas as pd
import pytest

from patrolwise.errors import FatalImportError
from patrolwise.io.nmea import checksum_ok, parse_time_field
from patrolwise.io.tracks import KNOTS, read_track_file

NOW = dt.datetime(2026, 1, 1)


def sentence(body: str) -> str:
    cs = reduce(lambda a, c: a ^ ord(c), body, 0)
    return f"${body}*{cs:02X}"


def test_real_log_with_malformed_time_fields(shared_data: Path) -> None:
    d = read_track_file(shared_data / "nmea" / "gpsbabel__nmeadatetime.nmea", now=NOW)
    assert d.details["sentences"] == 38 and d.details["fixes"] == 19
    assert d.details["checksum_failed"] == 0
    assert len(d.points) == 16
    rej = d.rejects
    assert list(rej["row"]) == [17, 33, 37]
    assert list(rej["value"]) == ["222515.x", "222523.0x", ".1"]
    assert (rej["field"] == "time").all()
    p = d.points.iloc[0]
    assert p["t"] == pd.Timestamp("2019-10-23 22:25:07")
    assert p["lat"] == pytest.approx(-(42 + 49.96542 / 60))  # southern hemisphere
    assert p["lon"] == pytest.approx(147 + 26.73195 / 60)
    assert p["speed"] == pytest.approx(0.013 * 1852 / 3600)  # knots -> m/s
    assert p["altitude"] == pytest.approx(30.0)
    assert p["attrs"] == {"hdop": 0.96, "sats": 9.0}
    assert p["accuracy"] == pytest.approx(0.96 * 5)  # estimated from HDOP
    times = set(d.points["t"].dt.strftime("%H:%M:%S.%f"))
    # '222509.', '222510.1', ' 222519', '222517 ' and '222521.0 ' are all readable
    for ok in ("22:25:09.000000", "22:25:10.100000", "22:25:19.000000", "22:25:17.000000"):
        assert ok in times
    assert "22:25:21.000000" in times


def test_time_field_parser() -> None:
    assert parse_time_field("222509.") == dt.time(22, 25, 9)
    assert parse_time_field(" 222512.001") == dt.time(22, 25, 12, 1000)
    assert parse_time_field("222515.x") is None
    assert parse_time_field(".1") is None
    assert parse_time_field("256000") is None


def test_checksums() -> None:
    s = sentence("GPRMC,120000,A,5236.000,N,00107.800,W,1.0,90.0,010524,,,A")
    body, _, cs = s[1:].partition("*")
    assert checksum_ok(body, cs)
    assert not checksum_ok(body, "00")


def test_bad_checksum_dropped_and_status_v_rejected(tmp_path: Path) -> None:
    good = sentence("GPRMC,120000,A,5236.000,N,00107.800,W,10.0,90.0,010524,,,A")
    bad_gga = "$GPGGA,120000,5236.000,N,00107.800,W,1,08,0.9,60.0,M,47.0,M,,*00"
    only_bad = "$GPRMC,120001,A,5236.000,N,00107.800,W,10.0,90.0,010524,,,A*00"
    void = sentence("GPRMC,120002,V,,,,,,,010524,,,N")
    p = tmp_path / "log.nmea"
    p.write_text("\n".join([good, bad_gga, only_bad, void, "$GPGSV,1,1,00*79", "garbage"]) + "\n")
    d = read_track_file(p, now=NOW)
    assert d.details["checksum_failed"] == 2
    assert len(d.points) == 1
    pt = d.points.iloc[0]
    assert pt["t"] == pd.Timestamp("2024-05-01 12:00:00")
    assert pt["speed"] == pytest.approx(10 * KNOTS)
    assert pt["lat"] == pytest.approx(52.6) and pt["lon"] == pytest.approx(-1.13)
    assert pd.isna(pt["altitude"])  # the GGA with the bad checksum was ignored
    reasons = dict(zip(d.rejects["row"], d.rejects["reason"], strict=True))
    assert "checksum" in reasons[3] and "status" in reasons[4]


def test_gga_only_needs_a_date_and_rolls_over_midnight(tmp_path: Path) -> None:
    lines = [
        sentence("GPGGA,235958,5236.000,N,00107.800,W,1,08,0.9,60.0,M,47.0,M,,"),
        sentence("GPGGA,235959.5,5236.001,N,00107.800,W,1,08,0.9,60.0,M,47.0,M,,"),
        sentence("GPGGA,000001,5236.002,N,00107.800,W,1,08,0.9,60.0,M,47.0,M,,"),
        sentence("GPGGA,000002,5236.002,N,00107.800,W,0,00,,,M,,M,,"),
    ]
    p = tmp_path / "gga.nmea"
    p.write_text("\r\n".join(lines))
    with pytest.raises(FatalImportError, match="--date"):
        read_track_file(p, now=NOW)
    d = read_track_file(p, date=dt.date(2024, 3, 30), now=NOW)
    assert list(d.points["t"]) == [
        pd.Timestamp("2024-03-30 23:59:58"),
        pd.Timestamp("2024-03-30 23:59:59.5"),
        pd.Timestamp("2024-03-31 00:00:01"),
    ]
    assert d.points["altitude"].tolist() == [60.0, 60.0, 60.0]
    assert "quality 0" in d.rejects["reason"].iloc[0]


def test_rmc_date_rolls_over(tmp_path: Path) -> None:
    lines = [
        sentence("GPRMC,235959,A,5236.000,N,00107.800,W,0.0,,311224,,,A"),
        sentence("GPGGA,000000,5236.000,N,00107.800,W,1,08,0.9,60.0,M,47.0,M,,"),
        sentence("GPRMC,000001,A,5236.000,N,00107.800,W,0.0,,010125,,,A"),
    ]
    p = tmp_path / "r.nmea"
    p.write_text("\n".join(lines))
    d = read_track_file(p, now=NOW)
    assert list(d.points["t"]) == [
        pd.Timestamp("2024-12-31 23:59:59"),
        pd.Timestamp("2025-01-01 00:00:00"),
        pd.Timestamp("2025-01-01 00:00:01"),
    ]


def test_gga_only_small_step_back_is_not_midnight(tmp_path: Path) -> None:
    # found by QA: one fix repeated 5 s late (235945 after 235950) rolled the date forward, so
    # that fix and every fix after it were dated a day late (midnight landed on the 5th)
    lines = [
        sentence(f"GPGGA,{tod},5236.000,N,00107.800,W,1,08,0.9,60.0,M,47.0,M,,")
        for tod in ("235940", "235950", "235945", "000000", "000010")
    ]
    p = tmp_path / "glitch.nmea"
    p.write_text("\r\n".join(lines))
    d = read_track_file(p, date=dt.date(2024, 6, 3), now=NOW)
    assert list(d.points["t"]) == [
        pd.Timestamp("2024-06-03 23:59:40"),
        pd.Timestamp("2024-06-03 23:59:50"),
        pd.Timestamp("2024-06-03 23:59:45"),
        pd.Timestamp("2024-06-04 00:00:00"),
        pd.Timestamp("2024-06-04 00:00:10"),
    ]


def test_truncated_rmc_date_is_rejected_not_misdated(tmp_path: Path) -> None:
    # found by QA: a log cut off mid-sentence (no checksum left to fail) ended '...,03062', read
    # as 3 June 2002 and imported 22 years early
    lines = [
        sentence("GPRMC,120000,A,5237.800,N,00107.800,W,0.0,,030624,,,A"),
        sentence("GPRMC,120010,A,5237.801,N,00107.800,W,0.0,,030624,,,A"),
        "$GPRMC,120020,A,5237.802,N,00107.800,W,0.0,,03062",
    ]
    p = tmp_path / "cut.nmea"
    p.write_text("\n".join(lines))
    d = read_track_file(p, now=NOW)
    assert list(d.points["t"]) == [
        pd.Timestamp("2024-06-03 12:00:00"),
        pd.Timestamp("2024-06-03 12:00:10"),
    ]
    assert list(d.rejects["field"]) == ["date"] and list(d.rejects["value"]) == ["03062"]


def test_a_long_log_is_read_without_holding_every_sentence(tmp_path: Path) -> None:
    # found by QA: every sentence's fields were kept for a second pass, so memory peaked at ~20x
    # the file and the garbage collector's passes over millions of small lists made reading
    # superlinear (200,000 fixes, about 2 days at 1 Hz: 19 s, against 2.5 s for 20,000)
    import tracemalloc

    t0 = dt.datetime(2024, 6, 3)
    lines = []
    for i in range(20_000):
        t = t0 + dt.timedelta(seconds=i)
        tod, day = t.strftime("%H%M%S"), t.strftime("%d%m%y")
        lines.append(sentence(f"GPRMC,{tod},A,5237.800,N,00107.800,W,0.0,,{day},,,A"))
        lines.append(sentence(f"GPGGA,{tod},5237.800,N,00107.800,W,1,08,0.9,60.0,M,47.0,M,,"))
    data = ("\n".join(lines) + "\n").encode()
    from patrolwise.io.nmea import read_nmea_points

    tracemalloc.start()
    try:
        raw, rejects, _, details = read_nmea_points(data, "long.nmea")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(raw) == 20_000 and rejects.empty and details["fixes"] == 20_000
    assert raw["t"].iloc[-1] == pd.Timestamp("2024-06-03 05:33:19")
    assert peak < 12 * len(data), peak / len(data)


def test_sentences_behind_a_logger_prefix_are_read(tmp_path: Path) -> None:
    # found by QA: Android's GnssLogger (and loggers that stamp each line) write
    # 'NMEA,$GPRMC,...*hh,1717419600000'; every line was skipped as not a sentence and the log
    # refused as 'not an NMEA position log'
    lines = ["# Version: v3.0.0.1", "Fix,GPS,52.63,-1.13,60.0,0.0,5.0,0.0,1717419600000"]
    for i, tod in enumerate(("130000", "130010")):
        rmc = sentence(f"GPRMC,{tod},A,5237.800,N,00107.800,W,0.0,,030624,,,A")
        lines.append(f"NMEA,{rmc},{1717419600000 + i * 10000}")
    lines.append("NMEA,$GPRMC,130020,A,5237.800,N,00107.800,W,0.0,,030624,,,A*00,1717419620000")
    p = tmp_path / "gnss_log.nmea"
    p.write_text("\n".join(lines) + "\n")
    d = read_track_file(p, now=NOW)
    assert list(d.points["t"]) == [
        pd.Timestamp("2024-06-03 13:00:00"),
        pd.Timestamp("2024-06-03 13:00:10"),
    ]
    assert d.details["checksum_failed"] == 1 and d.details["other_lines"] == 2
    # GnssLogger names its files gnss_log_<date>.txt: the sentences inside tell the format
    txt = tmp_path / "gnss_log_2024_06_03.txt"
    txt.write_text("\n".join(lines) + "\n")
    assert read_track_file(txt, now=NOW).format == "nmea"

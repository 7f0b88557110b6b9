"""NMEA 0183 logs: RMC and GGA sentences from GPS receivers and trackers.

A *fix* is the run of consecutive sentences that share one time field (a receiver writes RMC and
GGA for each epoch); each fix is one row of the import, numbered by the line of its first
sentence (which may follow a logger's prefix on its line, as Android's GnssLogger writes
``NMEA,$GPRMC,...``). RMC gives the date, speed (knots, stored as m/s) and course; GGA the altitude, HDOP (accuracy is
estimated as HDOP x 5 m) and satellites. Sentences with a wrong checksum are dropped (counted in the details); a fix with no
valid sentence left, a malformed time field (``222515.x``, ``.1``), no fix (RMC status ``V`` or
GGA quality 0) or an unreadable position is rejected with the reason.

Dates: GGA carries no date. Fixes take the date of the latest RMC sentence, rolling over to the
next day when the time of day goes backwards by more than :data:`MIDNIGHT_STEP` (midnight); a
smaller step back is a fix repeated or written late, not a new day. A GGA-only log needs the UTC
date of its first fix (``--date``); without one nothing can be dated and the file is refused. An
RMC date must be six digits (``ddmmyy``): a log cut off mid-sentence (no checksum left to fail)
can end in a shorter one, which is rejected rather than read as another year.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from functools import reduce
from operator import xor
from typing import Any

import numpy as np
import pandas as pd

from ..errors import FatalImportError
from .tabular import decode
from .tracks import HDOP_METRES, KNOTS, rejects_frame

_TIME = re.compile(r"^(\d{2})(\d{2})(\d{2})(?:\.(\d*))?$")
_DATE = re.compile(r"^\d{6}$")

#: how far the time of day of a GGA-only fix must go back to mean midnight passed: receivers and
#: multiplexers repeat or delay a sentence by seconds, which must not date every later fix a day
#: late; a device off overnight resumes hours earlier in the day, and midnight is ~24 h back
MIDNIGHT_STEP = dt.timedelta(minutes=10)


def _seconds(t: dt.time) -> float:
    return t.hour * 3600 + t.minute * 60 + t.second + t.microsecond / 1e6


def checksum_ok(body: str, given: str) -> bool:
    """XOR of the characters between '$' and '*' equals the two hex digits after '*'.

    XORs the bytes with ``operator.xor`` (a C call per byte): a Python lambda per character
    made the checksum most of the cost of reading a log (about 35 of 100 us per fix).
    """
    try:
        want = int(given.strip()[:2], 16)
    except ValueError:
        return False
    return reduce(xor, body.encode("utf-8", "replace"), 0) == want


def parse_time_field(text: str) -> dt.time | None:
    """'222509', '222509.', '222510.1', ' 222519 ' -> time; '222515.x', '.1' -> None."""
    m = _TIME.match(text.strip())
    if not m:
        return None
    hh, mm, ss, frac = m.groups()
    if int(hh) > 23 or int(mm) > 59 or int(ss) > 60:
        return None
    us = int((frac or "0")[:6].ljust(6, "0"))
    return dt.time(int(hh), int(mm), min(int(ss), 59), us)


def _coord(value: str, hemi: str, deg_digits: int) -> float | None:
    v = value.strip()
    h = hemi.strip().upper()
    try:
        deg = int(v[:deg_digits])
        minutes = float(v[deg_digits:])
    except ValueError:
        return None
    if minutes >= 60 or h not in ("N", "S", "E", "W"):
        return None
    out = deg + minutes / 60.0
    return -out if h in ("S", "W") else out


def _float(v: str) -> float | None:
    try:
        return float(v)
    except ValueError:
        return None


#: the columns of the raw points, kept as lists while reading (a dict per fix costs ~3x the memory)
_COLUMNS = ["row", "t_raw", "t", "lat", "lon", "speed", "heading", "altitude", "accuracy", "attrs"]


def _fixes(text: str, stats: dict[str, int]) -> Iterator[dict[str, Any]]:
    """The log's fixes in order, each handed on as soon as its last sentence is read.

    Streaming matters on long logs: holding every sentence's fields for a second pass kept
    millions of small lists alive, and the garbage collector's passes over them made a log of
    100,000 fixes take ~8x as long as one of 20,000 (a day at 1 Hz is 86,400 fixes).
    """
    g: dict[str, Any] | None = None
    for lineno, line in enumerate(text.splitlines(), start=1):
        s = line.strip()
        if not s:
            continue
        if not s.startswith("$") and not s.startswith("!"):
            # a logger's prefix ('NMEA,$GPRMC,...*hh,<epoch ms>' from Android's GnssLogger):
            # the sentence is read from its '$' (its checksum still guards it)
            at = s.find("$")
            if at < 0 or "*" not in s[at:]:
                stats["other_lines"] += 1
                continue
            s = s[at:]
        body, star, cks = s[1:].partition("*")
        fields = body.split(",")
        kind = fields[0][-3:].upper()
        if kind not in ("RMC", "GGA"):
            stats["other_sentences"] += 1
            continue
        stats["sentences"] += 1
        key = fields[1].strip() if len(fields) > 1 else ""
        if g is None or g["key"] != key:
            if g is not None:
                yield g
            g = {"key": key, "row": lineno, "RMC": None, "GGA": None, "bad_cks": 0}
        if star and not checksum_ok(body, cks):
            stats["checksum_failed"] += 1
            g["bad_cks"] += 1
            continue
        if g[kind] is None:
            g[kind] = fields
    if g is not None:
        yield g


def read_nmea_points(
    data: bytes, name: str, *, date: dt.date | None = None
) -> tuple[pd.DataFrame, pd.DataFrame, list[str], dict[str, Any]]:
    """Parse an NMEA log to raw points (one per fix) and rejects."""
    text = decode(data, name)
    stats = {"sentences": 0, "checksum_failed": 0, "other_sentences": 0, "other_lines": 0}
    n_fixes = 0

    cols: dict[str, list[Any]] = {c: [] for c in _COLUMNS}  # the points, column by column
    rejects: list[dict[str, Any]] = []
    undated: list[dict[str, Any]] = []
    cur_date = date
    prev_tod: dt.time | None = None

    def reject(g: dict[str, Any], field: str, value: str, reason: str) -> None:
        rejects.append(
            {"row": g["row"], "line": g["row"], "field": field, "value": value, "reason": reason}
        )

    for g in _fixes(text, stats):
        n_fixes += 1
        rmc, gga = g["RMC"], g["GGA"]
        if rmc is None and gga is None:
            reject(g, "checksum", g["key"], "every sentence of this fix fails its checksum")
            continue
        tod = parse_time_field(g["key"])
        if tod is None:
            reject(g, "time", g["key"], "malformed time field (want hhmmss or hhmmss.ss)")
            continue
        if rmc is not None and len(rmc) >= 10:
            d = rmc[9].strip()
            try:
                if not _DATE.match(d):
                    raise ValueError(d)
                cur_date = dt.date(
                    2000 + int(d[4:6]) if int(d[4:6]) < 80 else 1900 + int(d[4:6]),
                    int(d[2:4]),
                    int(d[0:2]),
                )
            except ValueError:
                reject(g, "date", d, "RMC date is not ddmmyy")
                continue
        elif (
            cur_date is not None
            and prev_tod is not None
            and _seconds(prev_tod) - _seconds(tod) > MIDNIGHT_STEP.total_seconds()
        ):
            cur_date = cur_date + dt.timedelta(days=1)  # midnight passed between GGA fixes
        prev_tod = tod
        pos: dict[str, Any] = {}
        if rmc is not None and len(rmc) >= 9:
            if rmc[2].strip().upper() != "A":
                reject(g, "status", rmc[2], "no fix (RMC status is not A)")
                continue
            pos["lat"] = _coord(rmc[3], rmc[4], 2)
            pos["lon"] = _coord(rmc[5], rmc[6], 3)
            kn = _float(rmc[7])
            pos["speed"] = kn * KNOTS if kn is not None else None
            pos["heading"] = _float(rmc[8])
        if gga is not None and len(gga) >= 10:
            if gga[6].strip() in ("", "0") and rmc is None:
                reject(g, "quality", gga[6], "no fix (GGA fix quality 0)")
                continue
            if pos.get("lat") is None or pos.get("lon") is None:
                pos["lat"] = _coord(gga[2], gga[3], 2)
                pos["lon"] = _coord(gga[4], gga[5], 3)
            pos["altitude"] = _float(gga[9])
            hdop = _float(gga[8])
            pos["accuracy"] = hdop * HDOP_METRES if hdop is not None else None
            sats = _float(gga[7])
            pos["attrs"] = {
                k: v for k, v in (("hdop", hdop), ("sats", sats)) if v is not None
            } or None
        if pos.get("lat") is None or pos.get("lon") is None:
            reject(
                g, "lat/lon", g["key"], "position is not ddmm.mmmm with N/S and dddmm.mmmm with E/W"
            )
            continue
        rec = {"row": g["row"], "t_raw": g["key"], **pos}
        if cur_date is None:
            undated.append(rec)
            continue
        rec["t"] = dt.datetime.combine(cur_date, tod)
        for c, v in cols.items():
            v.append(rec.get(c))

    notes: list[str] = []
    if undated:
        if not cols["row"] and not any(r["field"] == "date" for r in rejects):
            raise FatalImportError(
                name,
                "NMEA log has GGA fixes but no RMC sentence to date them: pass --date YYYY-MM-DD "
                "(the UTC date of the first fix)",
            )
        for rec in undated:
            rejects.append(
                {
                    "row": rec["row"],
                    "line": rec["row"],
                    "field": "date",
                    "value": rec["t_raw"],
                    "reason": "GGA fix before any RMC date: pass --date for the first fix",
                }
            )
    if stats["checksum_failed"]:
        notes.append(f"{stats['checksum_failed']} sentences failed their checksum and were ignored")
    if not n_fixes:
        raise FatalImportError(name, "no RMC or GGA sentences: not an NMEA position log")
    raw = pd.DataFrame(
        {
            c: pd.Series(
                v, dtype=object if c in ("row", "t", "attrs") else None if c == "t_raw" else float
            )
            for c, v in cols.items()
        },
        columns=_COLUMNS,
    )
    raw["row"] = raw["row"].astype(np.int64)
    raw["t"] = pd.to_datetime(raw["t"])
    raw["line"] = raw["row"]
    return raw, rejects_frame(rejects), notes, {**stats, "fixes": n_fixes}

"""GPX 1.0 and 1.1: track points, route points and waypoints, read with the standard library.

Why not gpxpy: we need only positions and times, line numbers for the rejects report, and safety
against hostile XML (entity expansion), which a small expat handler gives directly. Namespaces are
ignored (GPX 1.0, 1.1 and files with no namespace read the same), attribute order is irrelevant
(``lon`` before ``lat`` is fine), a UTF-8 byte-order mark is skipped, and everything inside
``<extensions>`` is ignored.

Times: per the GPX schema ``<time>`` is UTC; a time written without a zone is therefore read as
UTC (and counted in the notes), and an offset such as ``+01:00`` is converted to UTC.

Truncated files: a tracker whose battery dies mid-write leaves a file that stops inside a point
or before its closing tags (and a FAT card may pad it with NUL bytes). expat reads the file as a
stream, so every point completed before the end is kept, and the end is one reject (the point
number after the last complete one, reason ``file truncated: ...``). Only a file whose bytes are
well-formed up to the end counts as truncated: XML broken in the middle (a tag that does not
match, a stray character) is still fatal, as is a file that never opens ``<gpx>``.
"""

from __future__ import annotations

import codecs
import re
from typing import Any
from xml.parsers import expat

import numpy as np
import pandas as pd

from ..errors import FatalImportError
from ..timeutil import clamp_ns
from .tracks import HDOP_METRES, parse_times, rejects_frame

POINT_TAGS = {"trkpt": "track", "rtept": "route", "wpt": "waypoint"}
VALUE_TAGS = {"time", "ele", "hdop", "speed", "course", "sat", "name"}


class _Forbidden(ValueError):
    pass


def _local(tag: str) -> str:
    """'http://www.topografix.com/GPX/1/1 trkpt' or 'gpxtpx:hr' -> local name."""
    return tag.rsplit(" ", 1)[-1].rsplit(":", 1)[-1]


def read_gpx_points(
    data: bytes, name: str
) -> tuple[pd.DataFrame, pd.DataFrame, list[str], dict[str, Any]]:
    """Parse GPX bytes to raw points and read rejects.

    ``row`` is the point's number in the file (1-based, waypoints, route and track points in file
    order) and ``line`` the line its element starts on (files written on one line have line 1).
    """
    notes: list[str] = []
    padding = 0
    if not data.startswith((b"\xff\xfe", b"\xfe\xff")):  # in UTF-16 a NUL is half a character
        written = data.rstrip(b"\x00")  # a FAT card pads a file cut short with NULs
        padding, data = len(data) - len(written), written
    if _needs_cp1252(data):
        data = data.decode("cp1252", errors="replace").encode("utf-8")
        notes.append("not valid UTF-8 and no encoding declared: read as Windows-1252")
    parser = expat.ParserCreate(namespace_separator=" ")

    def forbid(*_args: object) -> None:
        raise _Forbidden("XML entity declarations are not allowed in GPX files")

    parser.EntityDeclHandler = forbid
    parser.UnparsedEntityDeclHandler = forbid
    parser.ExternalEntityRefHandler = forbid  # type: ignore[assignment]

    recs: list[dict[str, Any]] = []
    rejects: list[dict[str, Any]] = []
    stack: list[str] = []
    cur: dict[str, Any] | None = None
    text: list[str] = []
    counts = {"track": 0, "route": 0, "waypoint": 0, "tracks": 0, "segments": 0, "routes": 0}
    meta: dict[str, Any] = {}
    in_ext = 0

    def start(tag: str, attrs: dict[str, str]) -> None:
        nonlocal cur, in_ext
        name_ = _local(tag)
        stack.append(name_)
        if len(stack) == 1:
            if name_ != "gpx":
                raise FatalImportError(
                    name, f"root element is <{name_}>, not <gpx>: not a GPX file"
                )
            meta["version"] = attrs.get("version")
            meta["creator"] = attrs.get("creator")
            return
        if name_ == "extensions":
            in_ext += 1
            return
        if in_ext:
            return
        if name_ == "trk":
            counts["tracks"] += 1
        elif name_ == "trkseg":
            counts["segments"] += 1
        elif name_ == "rte":
            counts["routes"] += 1
        if name_ in POINT_TAGS and cur is None:
            cur = {
                "row": counts["track"] + counts["route"] + counts["waypoint"] + 1,
                "line": parser.CurrentLineNumber,
                "kind": POINT_TAGS[name_],
                "lat_raw": attrs.get("lat"),
                "lon_raw": attrs.get("lon"),
                "depth": len(stack),
                "segment": counts["segments"],
            }
            counts[POINT_TAGS[name_]] += 1
        elif cur is not None and name_ in VALUE_TAGS and len(stack) == cur["depth"] + 1:
            text.clear()

    def end(tag: str) -> None:
        nonlocal cur, in_ext
        name_ = stack.pop()
        if name_ == "extensions":
            in_ext -= 1
            return
        if in_ext or cur is None:
            return
        if name_ in VALUE_TAGS and len(stack) == cur["depth"]:
            cur[name_] = "".join(text).strip()
        elif name_ in POINT_TAGS and len(stack) == cur["depth"] - 1:
            recs.append(cur)
            cur = None

    def chars(data_: str) -> None:
        if cur is not None and not in_ext:
            text.append(data_)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    truncated: expat.ExpatError | None = None
    try:
        # not final: expat holds back a token the data ends inside, so an error here is XML
        # broken before the end (fatal) and one only at the end is a file cut short
        parser.Parse(data, False)
        try:
            parser.Parse(b"", True)
        except expat.ExpatError as exc:
            truncated = exc
    except _Forbidden as exc:
        raise FatalImportError(name, str(exc)) from exc
    except expat.ExpatError as exc:
        raise FatalImportError(
            name, f"not well-formed XML at line {exc.lineno}, column {exc.offset}: {exc}"
        ) from exc
    if not meta:
        raise FatalImportError(name, "no <gpx> element: not a GPX file")
    if truncated is not None:
        started = counts["track"] + counts["route"] + counts["waypoint"]
        at = f"line {truncated.lineno}, column {truncated.offset}"
        what = (
            f"it ends inside point {started}, which is not imported"
            if cur is not None
            else "it ends without its closing tags"
        )
        read = f"{len(recs)} point{'s' if len(recs) != 1 else ''}"
        tail = data[-60:].decode("utf-8", errors="replace").replace("\x00", "").strip()
        rejects.append(
            {
                "row": started if cur is not None else started + 1,
                "line": cur["line"] if cur is not None else truncated.lineno,
                "field": "file",
                "value": tail[-40:],
                "reason": f"file truncated: {what} ({at}; the tracker stopped writing: a flat "
                f"battery?); {read} before it read",
            }
        )
        notes.append(f"file truncated at {at}: {read} before it read")
    if padding:
        notes.append(f"{padding} NUL bytes at the end ignored (space reserved but never written)")

    n = len(recs)
    row = np.fromiter((r["row"] for r in recs), dtype=np.int64, count=n)
    line = np.fromiter((r["line"] for r in recs), dtype=np.int64, count=n)
    lat = _floats([r["lat_raw"] for r in recs])
    lon = _floats([r["lon_raw"] for r in recs])
    bad = np.isnan(lat) | np.isnan(lon)
    for i in np.flatnonzero(bad):
        r = recs[i]
        which = "lat" if np.isnan(lat[i]) else "lon"
        rejects.append(
            {
                "row": int(r["row"]),
                "line": int(r["line"]),
                "field": which,
                "value": str(r[f"{which}_raw"]),
                "reason": f"{r['kind']} point has no readable {which} attribute",
            }
        )
    keep = ~bad
    kept = [r for r, k in zip(recs, keep, strict=True) if k]
    times = [r.get("time", "") for r in kept]
    t, naive = _gpx_times(times)
    hdop = _floats([r.get("hdop") for r in kept])
    raw = pd.DataFrame(
        {
            "row": row[keep],
            "line": line[keep],
            "t_raw": np.array(times, dtype=object),
            "t": t,
            "lon": lon[keep],
            "lat": lat[keep],
            "altitude": _floats([r.get("ele") for r in kept]),
            "speed": _floats([r.get("speed") for r in kept]),  # GPX 1.0: metres per second
            "heading": _floats([r.get("course") for r in kept]),
            "accuracy": hdop * HDOP_METRES,
            "attrs": np.array(
                [
                    {"kind": r["kind"], **({"hdop": float(h)} if np.isfinite(h) else {})}
                    for r, h in zip(kept, hdop, strict=True)
                ],
                dtype=object,
            ),
        }
    )
    if naive:
        notes.append(f"{naive} point times had no zone: read as UTC, as the GPX standard says")
    details = {
        "gpx_version": meta.get("version"),
        "creator": meta.get("creator"),
        "track_points": counts["track"],
        "route_points": counts["route"],
        "waypoints": counts["waypoint"],
        "tracks": counts["tracks"],
        "segments": counts["segments"],
        "routes": counts["routes"],
        "times_without_zone": naive,
        "truncated": truncated is not None,
    }
    return raw, rejects_frame(rejects), notes, details


_DECLARED = re.compile(rb"^(?:\xef\xbb\xbf)?\s*<\?xml[^>]*encoding\s*=", re.IGNORECASE)


def _needs_cp1252(data: bytes) -> bool:
    """UTF-8 is XML's default, but Windows tools save GPX in Windows-1252 without saying so: a
    track named 'Café' then made the whole file 'not well-formed XML (invalid token)'. True for
    bytes that are not UTF-8 (nor UTF-16, which has its byte order mark) and declare no encoding
    (a declared one is expat's to honour)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or _DECLARED.match(data[:200]):
        return False
    try:
        # not final: a file cut short inside a character is still UTF-8
        codecs.getincrementaldecoder("utf-8")().decode(data, final=False)
    except UnicodeDecodeError:
        return True
    return False


_UTC_ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$")


def _floats(values: list[str | None]) -> np.ndarray:
    """Text numbers to float64, NaN where missing or unreadable (fast path: all readable)."""
    try:
        return np.array([v if v not in (None, "") else "nan" for v in values], dtype=float)
    except ValueError:
        return pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(dtype=float)


def _gpx_times(times: list[str]) -> tuple[np.ndarray, int]:
    """GPX times to naive-UTC datetime64[ns]; (times, how many had no zone).

    Nearly every GPX file writes ``...Z`` times, which numpy parses directly; anything else
    (offsets, no zone, junk) goes through the general parser. So does a file one of whose
    well-shaped times is no instant (30 February, a 23:59:60 leap second): numpy raises on it,
    which ended the import in a traceback; the general parser makes it one unreadable point.
    """
    if times and all(_UTC_ISO.match(s) for s in times):
        try:
            # parsed in microseconds: numpy's nanoseconds wrap round past 2262 (a point dated
            # 2604 became 2019), so a time beyond is clamped and rejected as in the future
            us = np.array([s[:-1] for s in times], dtype="datetime64[us]")
        except ValueError:
            pass
        else:
            return clamp_ns(pd.Series(us)).to_numpy(), 0
    t, naive = parse_times(pd.Series(times, dtype=object))
    return t.to_numpy(dtype="datetime64[ns]"), naive

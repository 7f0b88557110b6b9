"""Track files: format detection, CSV / GeoJSON points, and the checks every track format shares.

Every reader turns a file into one *raw points* table (one row per fix it found, good or bad) plus
the rows it could not even read; :func:`finish_points` then applies the shared checks (time present
and plausible, coordinates in range, projection, readings within the live ingest's limits) and
splits good points from rejects. Each reject
names its row (the line number in the file for GPX, NMEA and CSV, the feature number for
GeoJSON), the field and the reason, so an analyst can open the file and see what was wrong.

Times are returned as naive UTC. Coordinates come as WGS84 lon/lat or projected easting/northing
(for radio and telematics exports in British National Grid) and leave as both.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import FatalImportError, InputError
from ..geo import swapped_lonlat, to_projected, to_wgs84
from ..readings import READINGS, degrees_not_metres, outside_grid, outside_reading
from ..timeutil import TIME_FIRST, TIME_LAST, clamp_ns
from .tabular import (
    data_row_lines,
    decode,
    not_a_number,
    read_bytes,
    read_csv_text,
    read_numbers,
    sniff_delimiter,
)

#: columns of a raw points table (readers may leave optional ones out; ``finish_points`` adds them)
RAW_COLUMNS = [
    "row",
    "line",
    "device",
    "team",
    "staff",
    "t_raw",
    "t",
    "lon",
    "lat",
    "x",
    "y",
    "accuracy",
    "speed",
    "heading",
    "altitude",
    "battery",
    "attrs",
]
#: columns of the good points a reader hands to the store
POINT_COLUMNS = [c for c in RAW_COLUMNS if c not in ("line", "t_raw")]
REJECT_COLUMNS = ["row", "line", "field", "value", "reason"]

#: earliest fix time accepted: GPS receivers with a dead clock report 1901, 1980 or 1999
MIN_TIME = pd.Timestamp("2000-01-01")
#: how far ahead of the server's clock a fix may be (phones with a wrong zone setting)
MAX_AHEAD = pd.Timedelta(days=1)
#: epoch seconds read as a time at most (either sign): those of the times patrolwise reads
EPOCH_SECS = min(-TIME_FIRST.timestamp(), TIME_LAST.timestamp())

#: metres of horizontal error per unit of HDOP (a typical user-equivalent range error): GPX and
#: NMEA give HDOP, not accuracy, so accuracy is estimated as HDOP x 5 m (attrs keep the HDOP)
HDOP_METRES = 5.0
KNOTS = 1852.0 / 3600.0  # m/s per knot
KMH = 1.0 / 3.6  # m/s per km/h
MPH = 0.44704  # m/s per mile per hour

FORMATS = ("gpx", "nmea", "csv", "geojson")


@dataclass
class TrackData:
    """What a reader made of one file: good points, rejects and a few facts worth reporting."""

    path: str
    format: str
    points: pd.DataFrame
    rejects: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def rows_read(self) -> int:
        return len(self.points) + len(self.rejects)


def empty_rejects() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in REJECT_COLUMNS})


def rejects_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    if not records:
        return empty_rejects()
    return pd.DataFrame.from_records(records, columns=REJECT_COLUMNS)


# --------------------------------------------------------------------------------------------
# the shared checks


def finish_points(
    raw: pd.DataFrame,
    read_rejects: pd.DataFrame,
    *,
    path: str,
    crs: str = "EPSG:27700",
    now: dt.datetime | None = None,
    min_time: pd.Timestamp = MIN_TIME,
    bbox: tuple[float, float, float, float] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Apply the checks every format shares; return (good points, all rejects sorted by row).

    Rules, in order (a row is rejected for the first rule it breaks):
    time missing or unreadable; time before ``min_time`` or more than a day after ``now``
    (a broken device clock); no position; a device id with a control character or over 100
    characters; easting and northing both within 180 (degrees, not metres: latitudes and
    longitudes in the easting/northing columns) or outside the area of use of ``crs``
    (:func:`patrolwise.geo.projected_extent`); latitude and longitude both beyond 180 (metres, not
    degrees: eastings and northings in the lat/lon columns); latitude/longitude out of range or
    exactly 0,0 (the "no fix" placeholder of many trackers); latitude and longitude swapped;
    projected coordinates not finite; a reading outside the live ingest's plausible range
    (:data:`patrolwise.readings.READINGS`), checked as speed, accuracy, altitude, heading,
    battery. A reading the file does not give is not checked; a negative speed,
    accuracy, heading or battery is read as unknown, as the live clients mean it.

    The easting/northing rules are the live batch endpoint's (:mod:`patrolwise.readings`) and
    apply wherever the file gives both; with latitude and longitude beside them, projected
    coordinates that cannot be a place in ``crs`` would otherwise be stored as the fix's x/y.

    Swapped is the crime import's rule (:func:`patrolwise.geo.swapped_lonlat`), checked only when
    ``bbox`` (the force area, ``force_bbox`` in the settings) is given: a fix whose (lon, lat) is
    outside it but whose (lat, lon) would be inside is rejected, not swapped back. A fix merely
    outside the force area is kept (patrols cross force borders; test tracks come from anywhere);
    positions given as easting/northing are not checked for a swap.
    """
    df = raw.copy()
    for c in RAW_COLUMNS:
        if c not in df.columns:
            df[c] = None if c in ("device", "team", "staff", "t_raw", "attrs") else np.nan
    if df["line"].isna().all():
        df["line"] = df["row"]
    extra = [
        c for c in ("_f",) if c in df.columns
    ]  # file index when many files are checked at once
    df = df[RAW_COLUMNS + extra].reset_index(drop=True)
    for c in ("lon", "lat", "x", "y", "accuracy", "speed", "heading", "altitude", "battery"):
        df[c] = pd.to_numeric(df[c], errors="coerce").astype(float)
    t = pd.to_datetime(df["t"], errors="coerce")
    if isinstance(t.dtype, pd.DatetimeTZDtype):
        t = t.dt.tz_convert("UTC").dt.tz_localize(None)
    df["t"] = clamp_ns(t).dt.floor("us")
    now_ts = pd.Timestamp(now) if now is not None else pd.Timestamp.now("UTC").tz_localize(None)

    # fill lon/lat from projected coordinates and vice versa
    given_xy = df["x"].notna() & df["y"].notna()
    need_ll = df["lon"].isna() & df["lat"].isna() & given_xy
    given_ll = ~need_ll
    if need_ll.any():
        lon, lat = to_wgs84(df.loc[need_ll, "x"], df.loc[need_ll, "y"], crs)
        df.loc[need_ll, "lon"] = lon
        df.loc[need_ll, "lat"] = lat

    reason = pd.Series(None, index=df.index, dtype=object)
    fld = pd.Series(None, index=df.index, dtype=object)
    value = pd.Series(None, index=df.index, dtype=object)

    def mark(
        mask: pd.Series | np.ndarray, f: str, why: str | pd.Series, val: pd.Series | None = None
    ) -> None:
        """Reject the rows of ``mask`` not rejected yet; ``val`` (all rows, or only those of
        ``mask``) is the value the report shows."""
        m = pd.Series(mask, index=df.index, dtype=bool) & reason.isna()
        if not m.any():
            return
        reason[m] = why[m] if isinstance(why, pd.Series) else why
        fld[m] = f
        if val is not None:
            value[m] = val[m].astype(str)

    t_raw = df["t_raw"].fillna("").astype(str)
    mark(
        df["t"].isna() & (t_raw.str.strip() == ""),
        "time",
        "no time: a ping needs the time of its fix",
    )
    mark(
        df["t"].isna(),
        "time",
        "unreadable time: use ISO 8601 like 2024-05-01T14:02:00Z or epoch seconds",
        t_raw,
    )
    mark(
        df["t"] < min_time,
        "time",
        f"implausible time before {min_time:%Y-%m-%d} (a broken device clock?)",
        t_raw,
    )
    mark(
        df["t"] > now_ts + MAX_AHEAD,
        "time",
        "implausible time more than a day in the future (device clock or time zone wrong?)",
        t_raw,
    )
    mark(
        df["lat"].isna() | df["lon"].isna(),
        "lat/lon",
        "no position (latitude/longitude or easting/northing)",
    )
    # a device id the registry would refuse (store.devices.check_device_id) is this row's fault,
    # not the file's: it stopped the whole file at registration
    dev = df["device"].where(df["device"].notna(), "").astype(str).str.strip()
    mark(
        dev.str.contains("[\x00-\x1f\x7f-\x9f]", regex=True),
        "device",
        "device id contains a control character (a tab, line break or NUL)",
        dev.map(repr),
    )
    mark(dev.str.len() > 100, "device", "device id longer than 100 characters", dev.str[:40])

    def pair(a: str, b: str, m: pd.Series | np.ndarray) -> pd.Series:
        """'a,b' as the report's value, for the rows of ``m`` only."""
        sub = df.loc[m, [a, b]]
        return sub[a].astype(str) + "," + sub[b].astype(str)

    # easting/northing as the live batch endpoint checks them (patrolwise.readings): degrees
    # in both, or no place the grid describes (to_wgs84 made such a fix a point in the sea, or
    # an infinity the latitude rule below then called swapped)
    degrees = given_xy.to_numpy() & degrees_not_metres(df["x"], df["y"])
    mark(
        degrees,
        "easting/northing",
        "easting and northing look like degrees, not metres (latitude/longitude in the "
        "easting/northing columns?): name the columns lat and lon, or map them with "
        "--map lat=COLUMN --map lon=COLUMN",
        pair("x", "y", degrees),
    )
    if given_xy.any():
        bad_x, bad_y, extent = outside_grid(df["x"], df["y"], crs)
        if extent is not None and (bad_x | bad_y).any():
            x0, y0, x1, y1 = extent
            off_grid = (
                f"outside the area of use of {crs} (easting {x0:,.0f}..{x1:,.0f}, northing "
                f"{y0:,.0f}..{y1:,.0f} m): a coordinate of another grid, or a digit too many or "
                "too few?"
            )
            for f, m in (
                ("easting/northing", bad_x & bad_y),
                ("easting", bad_x),
                ("northing", bad_y),
            ):
                m = given_xy.to_numpy() & m
                mark(m, f, f"{f} {off_grid}", pair("x", "y", m))
    # metres, not degrees, in both: projected coordinates in the lat/lon columns (a radio
    # export's eastings and northings); "swapped?" would send the analyst the wrong way
    mark(
        given_ll & (df["lat"].abs() > 180) & (df["lon"].abs() > 180),
        "lat/lon",
        "latitude and longitude look like metres, not degrees (easting/northing in the lat/lon "
        "columns?): name the columns easting and northing, or map them with "
        "--map x=COLUMN --map y=COLUMN",
        df["lat"].astype(str) + "," + df["lon"].astype(str),
    )
    mark(df["lat"].abs() > 90, "lat", "latitude outside -90..90 (lat and lon swapped?)", df["lat"])
    mark(df["lon"].abs() > 180, "lon", "longitude outside -180..180", df["lon"])
    mark(
        (df["lat"] == 0) & (df["lon"] == 0),
        "lat/lon",
        "position 0,0 is a tracker's 'no fix' placeholder",
    )
    if bbox is not None:
        swapped = given_ll & swapped_lonlat(df["lon"], df["lat"], bbox)
        if swapped.any():
            mark(
                swapped,
                "lat/lon",
                "latitude and longitude look swapped: the position is outside the force area "
                f"{bbox} but would be inside it the other way round: swap the lat and lon columns",
                df["lat"].astype(str) + "," + df["lon"].astype(str),
            )

    ok = reason.isna()
    need_xy = ok & (df["x"].isna() | df["y"].isna())
    if need_xy.any():
        x, y = to_projected(df.loc[need_xy, "lon"], df.loc[need_xy, "lat"], crs)
        df.loc[need_xy, "x"] = x
        df.loc[need_xy, "y"] = y
    mark(
        ~(np.isfinite(df["x"]) & np.isfinite(df["y"])),
        "lat/lon",
        f"position cannot be projected to {crs}",
    )
    # negative accuracy, heading, speed, battery mean 'unknown' in most clients
    for c in ("accuracy", "speed", "battery", "heading"):
        df.loc[df[c] < 0, c] = np.nan
    # the live ingest's limits (patrolwise.readings.READINGS), a column at a time; a reading
    # the file does not give (NaN) is not checked
    for c in ("speed", "accuracy", "altitude", "heading", "battery"):
        r = READINGS[c]
        out = outside_reading(c, df[c])
        if out.any():
            shown = pd.Series(
                np.char.add(np.char.mod("%g", df.loc[out, c].to_numpy()), f" {r.unit}"),
                index=df.index[out],
            )
            mark(
                out,
                c,
                f"{c} outside {r.what}: no patrol's GPS reads that (a wrong unit or a broken "
                "sensor?)",
                shown,
            )
    ok = reason.isna()

    bad: pd.DataFrame = pd.DataFrame(
        {
            "row": df.loc[~ok, "row"],
            "line": df.loc[~ok, "line"],
            "field": fld[~ok],
            "value": value[~ok],
            "reason": reason[~ok],
        }
    )
    if extra:
        bad["_f"] = df.loc[~ok, "_f"]
    rejects = pd.concat([read_rejects, bad], ignore_index=True) if len(read_rejects) else bad
    rejects = rejects.sort_values([*extra, "row"], kind="stable").reset_index(drop=True)
    good = df.loc[ok, POINT_COLUMNS + extra].reset_index(drop=True)
    return good, rejects


# --------------------------------------------------------------------------------------------
# column mapping shared by CSV and GeoJSON properties

#: our field -> accepted column names (compared lower-case, without spaces, '_', '-', '.')
ALIASES: dict[str, tuple[str, ...]] = {
    "device": (
        "deviceid",
        "device",
        "callsign",
        "tracker",
        "trackerid",
        "radioid",
        "radio",
        "issi",
        "imei",
        "unit",
        "unitid",
        "vehicle",
        "vehicleid",
        "id",
        "tid",
    ),
    "team": ("team",),
    "staff": ("staff", "officer", "worker", "name"),
    "t": (
        "t",
        "time",
        "timestamp",
        "datetime",
        "datetimeutc",
        "timeutc",
        "utc",
        "fixtime",
        "gpstime",
        "recordedat",
        "devicetime",
        "tst",
    ),
    "date": ("date", "fixdate", "gpsdate"),
    "lat": ("lat", "latitude", "y_lat"),
    "lon": ("lon", "lng", "long", "longitude", "x_lon"),
    "x": ("x", "easting", "east", "eastings"),
    "y": ("y", "northing", "north", "northings"),
    "accuracy": ("accuracy", "acc", "hacc", "horizontalaccuracy", "error", "errorm", "accuracym"),
    "speed": ("speed", "speedms", "speedmps", "velocity"),
    "speed_kmh": ("speedkmh", "speedkph", "vel", "speedkm/h", "speed(km/h)"),
    "speed_mph": ("speedmph", "speed(mph)"),
    "speed_kn": ("speedknots", "speedkn", "speedkts", "speed(knots)"),
    "heading": ("heading", "bearing", "course", "cog", "direction"),
    "altitude": ("altitude", "alt", "ele", "elevation", "height"),
    "battery": ("battery", "batt", "batterylevel", "bat"),
}

#: names a person may give a field in ``--map FIELD=COLUMN``: the messages and ``--help`` say
#: ``--map time=Timestamp``, and eastings are easier to recognise than ``x``
FIELD_NAMES: dict[str, str] = {
    "time": "t",
    "easting": "x",
    "northing": "y",
    "latitude": "lat",
    "longitude": "lon",
}

MAPPABLE = ("time", *(f for f in ALIASES if f != "t"))


def _norm(name: str) -> str:
    return re.sub(r"[\s_\-.]", "", name.strip().lower())


def map_columns(columns: list[str], mapping: dict[str, str] | None, name: str) -> dict[str, str]:
    """Our field -> the file's column. An explicit ``mapping`` wins; otherwise known aliases.

    Mapping keys may be our field names or the plainer names of :data:`FIELD_NAMES` (``time``
    for ``t``, ``easting``/``northing`` for ``x``/``y``).
    """
    keys = {k: k.strip().lower() for k in mapping or {}}
    mapping = {FIELD_NAMES.get(keys[k], keys[k]): v for k, v in (mapping or {}).items()}
    for k, col in mapping.items():
        if k not in ALIASES:
            raise InputError(
                f"unknown field {k!r} in the column mapping: use one of {', '.join(MAPPABLE)}"
            )
        if col not in columns:
            raise FatalImportError(
                name,
                f"mapped column {col!r} (for {k}) is not in the file; columns: {', '.join(columns)}",
            )
    normed = {_norm(c): c for c in reversed(columns)}
    used = set(mapping.values())
    out = dict(mapping)
    for fld, names in ALIASES.items():
        if fld in out:
            continue
        for n in names:
            found = normed.get(_norm(n))
            if found is not None and found not in used:
                out[fld] = found
                used.add(found)
                break
    has_time = "t" in out
    has_ll = "lat" in out and "lon" in out
    has_xy = "x" in out and "y" in out
    if not has_time or not (has_ll or has_xy):
        missing = [] if has_time else ["time"]
        if not (has_ll or has_xy):
            missing.append("lat/lon or easting/northing")
        raise FatalImportError(
            name,
            f"no {' and no '.join(missing)} column among {', '.join(columns) or '(none)'}: "
            "rename the columns or map them, e.g. --map time=Timestamp --map lat=Lat --map lon=Long",
        )
    return out


_ZONE = re.compile(r"(?:Z|[+-]\d\d(?::?\d\d)?)$", re.IGNORECASE)
#: a UTC marker written as a word, or a lower-case z: database and telematics exports write
#: '2024-06-03 13:00:00 UTC', which ISO 8601 parsing refuses; read as 'Z'
_UTC_WORD = re.compile(r"(?:\s*(?:UTC|GMT)|z)$", re.IGNORECASE)
_NUMERIC = re.compile(r"^-?\d+(\.\d+)?$")
_TIME_OF_DAY = re.compile(r"^\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?$")


def _summer_time(
    wall: pd.Series, tz: str, groups: pd.Series | None
) -> tuple[np.ndarray, np.ndarray]:
    """For local wall times (no NaT), whether each is read as the first (summer time) of the
    two instants it names when the clocks go back (the others do not care), and whether the
    file's order left that unsettled.

    A track written in local time says 01:10 twice on the October Sunday. Reading every such
    time as summer time moved the hour after the change onto the hour before it (its fixes
    collided with real ones and were dropped as duplicates). Within each group (a device), in
    file order, the ambiguous times of one night run forwards, step back when the clocks go
    back, and run forwards again: those before the first step back are summer time, those after
    it winter time. A file listed newest first is read the other way round (its direction is
    what most of the group's steps do). With no step back nothing tells: a file holding only
    the repeated hour (the second file of one night) is as likely the hour after the change as
    the hour before it, so those times are returned unsettled (and summer time), not guessed.
    """
    dst = np.ones(len(wall), dtype=bool)
    unsettled = np.zeros(len(wall), dtype=bool)
    amb = wall.dt.tz_localize(tz, ambiguous="NaT", nonexistent="shift_forward").isna()
    amb = amb.to_numpy()
    if not amb.any():
        return dst, unsettled
    g = (
        pd.Series(0, index=wall.index)
        if groups is None
        else groups.reindex(wall.index).fillna("").astype(str)
    )
    diffs = wall.groupby(g.to_numpy(), sort=False).diff()
    ups = (diffs > pd.Timedelta(0)).groupby(g.to_numpy(), sort=False).transform("sum")
    downs = (diffs < pd.Timedelta(0)).groupby(g.to_numpy(), sort=False).transform("sum")
    forwards = (ups >= downs).to_numpy()[amb]
    w = wall[amb]
    key = [g[amb].to_numpy(), w.dt.normalize().to_numpy()]
    step = w.groupby(key, sort=False).diff()
    back = (step < pd.Timedelta(0)).to_numpy()
    ahead = (step > pd.Timedelta(0)).to_numpy()
    switch = pd.Series(np.where(forwards, back, ahead))
    after = switch.groupby(key, sort=False).cumsum().to_numpy() > 0
    dst[amb] = np.where(forwards, ~after, after)
    unsettled[amb] = ~switch.groupby(key, sort=False).transform("any").to_numpy(dtype=bool)
    return dst, unsettled


#: ``--ambiguous``: which pass of the hour repeated when the clocks go back a file's local
#: times are, where the file's order cannot tell (the earlier is summer time)
AMBIGUOUS = ("earlier", "later")


def check_ambiguous(ambiguous: str | None, tz: str | None) -> str | None:
    """``ambiguous`` as :data:`AMBIGUOUS` spells it (None passes), else an InputError.

    Checked before any file is read, as :func:`check_zone`; it settles local times, so it needs
    their zone (``tz``)."""
    if ambiguous is None:
        return None
    a = ambiguous.strip().lower()
    if a not in AMBIGUOUS:
        raise InputError(
            f"--ambiguous {ambiguous!r} is not earlier or later: say which pass of the hour "
            "repeated when the clocks go back the file's local times are"
        )
    if tz is None:
        raise InputError(
            "--ambiguous settles local times written without an offset: give their zone "
            "with --tz (times without one are read as UTC, which never repeats an hour)"
        )
    return a


@dataclass
class Times:
    """What :func:`read_times` made of a column of times.

    - ``t``: naive UTC (NaT where unreadable or unsettled)
    - ``naive``: how many were read without a zone
    - ``unsettled``: rows whose local time falls in the hour repeated when the clocks go back,
      where the file's order cannot tell which pass (no ``ambiguous`` given)
    - ``settled``: how many such times ``ambiguous`` placed
    - ``passes``: the zone's names for the earlier and later pass ('BST', 'GMT'), when any
      time was ambiguous and unsettled or settled
    """

    t: pd.Series
    naive: int
    unsettled: pd.Series
    settled: int = 0
    passes: tuple[str, str] = ("", "")


def _passes(wall: pd.Timestamp, tz: str) -> tuple[str, str]:
    """The zone's names for the two instants an ambiguous wall time names ('BST', 'GMT')."""
    first = wall.tz_localize(tz, ambiguous=True)
    second = wall.tz_localize(tz, ambiguous=False)
    return first.strftime("%Z"), second.strftime("%Z")


def ambiguous_reason(passes: tuple[str, str]) -> str:
    """Why a local time in the repeated hour is rejected, and how to settle it."""
    a, b = passes
    return (
        f"local time in the hour repeated when the clocks go back (it happens twice: first {a}, "
        f"then {b}) and the order of the file cannot tell which: say which pass the file's "
        f"times are with --ambiguous earlier ({a}) or --ambiguous later ({b}), or export "
        "times with their UTC offset"
    )


def ambiguous_note(times: Times, ambiguous: str | None) -> list[str]:
    """The note saying how many repeated-hour times ``--ambiguous`` placed (none: no note)."""
    if not times.settled:
        return []
    which = times.passes[0] if ambiguous == "earlier" else times.passes[1]
    return [
        f"{times.settled} local times in the hour repeated when the clocks go back could not "
        f"be placed by the order of the file: read as the {ambiguous} pass ({which}), as "
        f"--ambiguous {ambiguous} says"
    ]


def parse_times(
    values: pd.Series, tz: str | None = None, groups: pd.Series | None = None
) -> tuple[pd.Series, int]:
    """Text times to naive UTC; returns (times, how many were read without a zone).

    :func:`read_times` without ``ambiguous``: a local time the order of the file cannot place
    in the hour repeated when the clocks go back is NaT.
    """
    got = read_times(values, tz, groups)
    return got.t, got.naive


def read_times(
    values: pd.Series,
    tz: str | None = None,
    groups: pd.Series | None = None,
    ambiguous: str | None = None,
) -> Times:
    """Text times to naive UTC (see :class:`Times`).

    Accepts ISO 8601 (with or without a zone, any fraction; ``UTC`` or ``GMT`` written after
    the time counts as ``Z``), ``yyyy-mm-dd HH:MM:SS``, UK
    ``dd/mm/yyyy HH:MM(:SS)`` and epoch seconds or milliseconds. Times without a zone are taken as
    UTC (what GPS receivers record) unless ``tz`` names the zone they were written in. ``groups``
    (the device of each row) lets the hour repeated when the clocks go back be told apart by
    file order (see :func:`_summer_time`); where the order cannot tell, ``ambiguous``
    (:data:`AMBIGUOUS`) says which pass the times are, else they are left unsettled (NaT).
    """
    s = values.fillna("").astype(str).str.strip()
    unsettled = pd.Series(False, index=s.index)
    settled = 0
    passes = ("", "")
    # a vectorised look at the last characters first (a regex over every row costs ~1.5 s/1M)
    marked = s.str[-3:].str.upper().isin(("UTC", "GMT")) | s.str.endswith("z")
    if marked.any():
        s = s.where(~marked, s[marked].str.replace(_UTC_WORD, "Z", regex=True))
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    nonempty = s != ""
    numeric = nonempty & s.str.match(_NUMERIC)
    if numeric.any():
        v = pd.to_numeric(s[numeric], errors="coerce")
        ms = v.abs() >= 1e11
        # beyond the times a nanosecond can hold (about +-292 years from 1970): implausible
        # either way, rejected as too early or too late, not a traceback (as clamp_ns does)
        secs = v.where(~ms, v / 1000.0).clip(-EPOCH_SECS, EPOCH_SECS)
        out[numeric] = pd.to_datetime(secs, unit="s", errors="coerce").astype("datetime64[ns]")
    text = nonempty & ~numeric
    zoned = text & s.str.contains(_ZONE)
    naive = text & ~zoned
    if zoned.any():
        z = pd.to_datetime(s[zoned], format="ISO8601", utc=True, errors="coerce")
        out[zoned] = clamp_ns(z.dt.tz_localize(None))
    if naive.any():
        # nanoseconds throughout: pandas infers a unit per parse (seconds for all-ISO times
        # without fraction), and a UK time with milliseconds could not then be put in
        # (past 2262, clamped: see clamp_ns)
        n = clamp_ns(pd.to_datetime(s[naive], format="ISO8601", errors="coerce"))
        bad = n.isna()
        for fmt in ("%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S.%f"):
            if not bad.any():
                break
            got = pd.to_datetime(s[naive][bad], format=fmt, errors="coerce")
            n[bad] = clamp_ns(got)
            bad = n.isna()
        if tz and tz.upper() != "UTC":
            ok = n.notna()
            wall = n[ok]
            summer, open_ = _summer_time(wall, tz, None if groups is None else groups[naive][ok])
            if open_.any():
                passes = _passes(wall[open_].iloc[0], tz)
                if ambiguous is not None:
                    summer[open_] = ambiguous == "earlier"
                    settled = int(open_.sum())
            loc = wall.dt.tz_localize(tz, ambiguous=summer, nonexistent="shift_forward")
            n[ok] = loc.dt.tz_convert("UTC").dt.tz_localize(None)
            if ambiguous is None and open_.any():
                unsettled[wall.index[open_]] = True
                n[wall.index[open_]] = pd.NaT
        out[naive] = n
    # only times read count: an unreadable one is rejected, not read as UTC (or as ``tz``)
    return Times(out, int((naive & out.notna()).sum()), unsettled, settled, passes)


def check_zone(tz: str | None) -> str | None:
    """``tz`` if it names a time zone the system knows (None passes), else an InputError.

    Checked before any file is read: an unknown zone otherwise surfaced as a
    ZoneInfoNotFoundError traceback at the first file with a time written without a zone.
    """
    if tz is None:
        return None
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InputError(
            f"--tz {tz!r} is not a time zone: use a name like Europe/London or UTC"
        ) from exc
    return tz


#: speed columns by unit, first found wins, with the factor to metres per second
_SPEEDS = (("speed", 1.0), ("speed_kmh", KMH), ("speed_mph", MPH), ("speed_kn", KNOTS))


def _rejected(
    raw: pd.DataFrame,
    mask: np.ndarray,
    rows_are_lines: bool,
    field: str,
    text: pd.Series,
    reason: str | np.ndarray,
) -> pd.DataFrame:
    """The rejects of the rows under ``mask``: their row (and line) numbers, the field, the
    text as written and why."""
    rows = raw["row"].to_numpy()[mask]
    return pd.DataFrame(
        {
            "row": rows,
            "line": rows if rows_are_lines else None,
            "field": field,
            "value": text.to_numpy()[mask],
            "reason": reason,
        },
        columns=REJECT_COLUMNS,
    )


def table_to_raw(
    df: pd.DataFrame,
    rows: pd.Series | np.ndarray,
    *,
    mapping: dict[str, str] | None,
    name: str,
    tz: str | None = None,
    rows_are_lines: bool = False,
    ambiguous: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """A table of text cells (CSV rows, GeoJSON properties) to raw points via the column mapping.

    A local time the file's order cannot place in the hour repeated when the clocks go back is
    rejected, saying how to settle it, unless ``ambiguous`` does (:func:`read_times`)."""
    cols = map_columns(list(df.columns), mapping, name)
    raw = pd.DataFrame({"row": np.asarray(rows, dtype=np.int64)}, index=df.index)
    if rows_are_lines:
        raw["line"] = raw["row"]
    # unreadable numbers, one frame per field (field by field, then row by row, no Python per
    # row: a file whose accuracy column says 'N/A' throughout was ~20x slower to read per row)
    rejects: list[pd.DataFrame] = []
    t_text = df[cols["t"]].astype(str)
    if "date" in cols:
        # only a bare time of day takes the date column's date: a full timestamp (or epoch)
        # beside a date column stays as it is (prefixing it made every row unreadable)
        bare = t_text.str.strip().str.match(_TIME_OF_DAY)
        dated = df[cols["date"]].astype(str).str.strip() + " " + t_text.str.strip()
        t_text = t_text.where(~bare, dated)
    raw["t_raw"] = t_text
    dev = df[cols["device"]].astype(str).str.strip() if "device" in cols else None
    times = read_times(t_text, tz, dev, ambiguous)
    raw["t"] = times.t
    if times.unsettled.any():
        m = times.unsettled.to_numpy()
        rejects.append(
            _rejected(raw, m, rows_are_lines, "time", t_text, ambiguous_reason(times.passes))
        )
    for fld in ("device", "team", "staff"):
        if fld in cols:
            v = df[cols[fld]].astype(str).str.strip()
            raw[fld] = v.where(v != "", None)
    # the speed in the first unit the file gives, read as every other number (a decimal comma
    # or 'fast' was NaN before: the fix kept, its speed silently unknown to the speed filter)
    speed = next(((k, f) for k, f in _SPEEDS if k in cols), None)
    for fld in ("lat", "lon", "x", "y", "accuracy", "heading", "altitude", "battery", "speed"):
        col_key = speed[0] if fld == "speed" and speed else fld
        if col_key in cols:
            text = df[cols[col_key]].astype(str).str.strip()
            # '52,63': a decimal comma (European exports), by the crime files' strict rule, so
            # '1.234,5' or '52,' is a reject saying why, never a number read one way or another
            num = read_numbers(text, decimal_comma=True)
            bad = np.isnan(num.values) & (text != "").to_numpy()
            if bad.any():
                why = not_a_number(fld, num.why)
                reason = why if isinstance(why, str) else why[bad]
                rejects.append(_rejected(raw, bad, rows_are_lines, cols[col_key], text, reason))
            factor = speed[1] if fld == "speed" and speed else 1.0
            raw[fld] = pd.Series(num.values * factor, index=df.index)
    if speed is None:
        raw["speed"] = np.nan
    rej = empty_rejects()
    if rejects:
        # one reject per row: keep the first problem found (fields in the order above)
        rej = pd.concat(rejects, ignore_index=True).drop_duplicates("row", keep="first")
        rej = rej.reset_index(drop=True)
        raw = raw[~raw["row"].isin(rej["row"])]
    details: dict[str, Any] = {
        "columns": {k: v for k, v in cols.items()},
        "times_without_zone": times.naive,
    }
    if times.settled:
        details["ambiguous_settled"] = times.settled
        details["time_notes"] = ambiguous_note(times, ambiguous)  # the readers' to give
    if "team" in cols:
        teams = raw["team"].dropna().str.lower()
        raw["team"] = teams.reindex(raw.index)
    return raw, rej, details


# --------------------------------------------------------------------------------------------
# CSV and GeoJSON readers


def read_csv_points(
    raw_bytes: bytes,
    name: str,
    *,
    mapping: dict[str, str] | None = None,
    tz: str | None = None,
    ambiguous: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, list[str], dict[str, Any]]:
    """CSV rows (radio and telematics exports, phone-app exports) to raw points.

    Rows are numbered as a spreadsheet shows them: the header is row 1, the first data row 2.
    """
    try:
        df = read_csv_text(raw_bytes, name)
        rows, ragged = data_row_lines(decode(raw_bytes, name), len(df)), empty_rejects()
    except FatalImportError as exc:
        if not isinstance(exc.__cause__, pd.errors.ParserError):
            raise  # empty, or not text
        # the fast parser gives up on a row with too many fields: find those rows one by one
        df, rows, ragged = _csv_with_ragged_rows(raw_bytes, name)
    raw, rejects, details = table_to_raw(
        df, rows, mapping=mapping, name=name, tz=tz, rows_are_lines=True, ambiguous=ambiguous
    )
    if len(ragged):
        rejects = pd.concat([ragged, rejects], ignore_index=True)
    notes = []
    if details["times_without_zone"]:
        notes.append(
            f"{details['times_without_zone']} times had no zone: read as "
            f"{tz or 'UTC'}{'' if tz else ' (pass a time zone if the export is in local time)'}"
        )
    notes += details.pop("time_notes", [])
    return raw, rejects, notes, details


def _csv_with_ragged_rows(
    raw_bytes: bytes, name: str
) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame]:
    """(cells, row numbers, rejects) for a CSV some of whose rows have more fields than the
    header: those rows are rejected, shorter rows padded (as the fast parser does)."""
    # (line a record starts on, record); blank and whitespace-only lines are skipped, as pandas
    # skips them, but still counted, so rows keep their line numbers
    records: list[tuple[int, list[str]]] = []
    text = decode(raw_bytes, name)
    reader = csv.reader(io.StringIO(text), delimiter=sniff_delimiter(text[:65536]))
    line = 1
    try:
        for r in reader:
            if r and not (len(r) == 1 and not r[0].strip()):
                records.append((line, r))
            line = reader.line_num + 1
    except csv.Error as exc:
        raise FatalImportError(name, f"not a readable CSV file: {exc}") from exc
    header = [c.strip() for c in records[0][1]] if records else []
    good: list[list[str]] = []
    rows: list[int] = []
    bad: list[dict[str, Any]] = []
    for i, rec in records[1:]:
        if len(rec) > len(header):
            bad.append(
                {
                    "row": i,
                    "line": i,
                    "field": "(row)",
                    "value": ",".join(rec)[:200],
                    "reason": f"{len(rec)} fields where the header has {len(header)} "
                    "(a stray comma or an unquoted value?)",
                }
            )
            continue
        good.append(rec + [""] * (len(header) - len(rec)))
        rows.append(i)
    df = pd.DataFrame(good, columns=header, dtype=object)
    return df, np.asarray(rows, dtype=np.int64), rejects_frame(bad)


def read_geojson_points(
    raw_bytes: bytes,
    name: str,
    *,
    mapping: dict[str, str] | None = None,
    tz: str | None = None,
    ambiguous: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, list[str], dict[str, Any]]:
    """Point features (RFC 7946: WGS84 lon, lat[, altitude]) with the time and device in properties.

    Rows are feature numbers (1-based). Features that are not points are rejected one by one.
    """
    try:
        doc = json.loads(decode(raw_bytes, name))
    except json.JSONDecodeError as exc:
        raise FatalImportError(name, f"not valid JSON: {exc}") from exc
    if isinstance(doc, dict) and doc.get("type") == "FeatureCollection":
        features = doc.get("features") or []
        if not isinstance(features, list):
            raise FatalImportError(name, "its features are not a list: not GeoJSON")
    elif isinstance(doc, dict) and doc.get("type") == "Feature":
        features = [doc]
    else:
        raise FatalImportError(name, "not a GeoJSON FeatureCollection of points")
    props: list[dict[str, str]] = []
    rows: list[int] = []
    rejects: list[dict[str, Any]] = []
    for i, f in enumerate(features, start=1):
        f = f if isinstance(f, dict) else {}
        g = f.get("geometry")
        geom: dict[str, Any] = g if isinstance(g, dict) else {}
        coords = geom.get("coordinates")
        if geom.get("type") != "Point" or not isinstance(coords, list) or len(coords) < 2:
            rejects.append(
                {
                    "row": i,
                    "field": "geometry",
                    "value": str(geom.get("type")),
                    "reason": "not a Point feature: export one point per fix",
                }
            )
            continue
        fp = f.get("properties") or {}
        if not isinstance(fp, dict):
            rejects.append(
                {
                    "row": i,
                    "field": "properties",
                    "value": str(fp)[:200],
                    "reason": "properties are not an object: the time cannot be read",
                }
            )
            continue
        p = {str(k): "" if v is None else str(v) for k, v in fp.items()}
        p["__lon"], p["__lat"] = str(coords[0]), str(coords[1])
        if len(coords) > 2 and coords[2] is not None:
            p.setdefault("__alt", str(coords[2]))
        props.append(p)
        rows.append(i)
    if not props:
        raw = pd.DataFrame({"row": pd.Series(dtype=np.int64)})
        return raw, rejects_frame(rejects), [], {}
    table = pd.DataFrame.from_records(props).fillna("")
    m = {"lon": "__lon", "lat": "__lat", **(mapping or {})}
    if "__alt" in table.columns and "altitude" not in m:
        m["altitude"] = "__alt"
    # the geometry wins over stray lat/lon/x/y properties
    table = table.drop(
        columns=[c for c in table.columns if _norm(c) in ("x", "y", "easting", "northing")]
    )
    raw, bad, details = table_to_raw(
        table, np.array(rows), mapping=m, name=name, tz=tz, ambiguous=ambiguous
    )
    all_rejects = pd.concat([rejects_frame(rejects), bad], ignore_index=True)
    notes: list[str] = details.pop("time_notes", [])
    src = _geojson_crs(doc, name)
    if src is not None and "lon" in raw and len(raw):
        # coordinates in a projected CRS: x/y in metres, to longitude/latitude here
        lon, lat = to_wgs84(raw["lon"], raw["lat"], src)
        raw["lon"], raw["lat"] = lon, lat
        notes.append(f"coordinates are in {src} (the file's crs member): reprojected")
    return raw, all_rejects, notes, details


_WGS84_NAMES = ("CRS84", "EPSG::4326", "EPSG:4326", "CRS:84")


def _geojson_crs(doc: dict[str, Any], name: str) -> str | None:
    """The CRS a GeoJSON file's old-style ``crs`` member names, when it is not WGS84.

    RFC 7946 dropped ``crs`` (coordinates are WGS84 longitude, latitude), but GDAL and QGIS still
    write one for a layer in another CRS, such as a radio export in British National Grid:
    ignored, its metres were read as degrees and every fix rejected. None for WGS84 or no member;
    a CRS pyproj does not know is fatal.
    """
    crs = doc.get("crs")
    props = crs.get("properties") if isinstance(crs, dict) else None
    text = props.get("name") if isinstance(props, dict) else None
    if not isinstance(text, str) or not text.strip():
        return None
    if text.strip().upper().endswith(_WGS84_NAMES):
        return None
    import pyproj

    try:
        found = pyproj.CRS.from_user_input(text.strip())
    except pyproj.exceptions.CRSError as exc:
        raise FatalImportError(
            name, f"its crs member {text!r} is not a coordinate system pyproj knows"
        ) from exc
    if found.is_geographic and found.equals(pyproj.CRS("EPSG:4326"), ignore_axis_order=True):
        return None
    return found.to_string()


# --------------------------------------------------------------------------------------------
# detection and the one entry point


def detect_format(path: Path, head: bytes) -> str:
    """From the extension, then the content: '<' is GPX, '{' GeoJSON, '$' NMEA, else CSV."""
    ext = path.suffix.lower().lstrip(".")
    if ext == "gpx":
        return "gpx"
    if ext in ("nmea", "nma"):
        return "nmea"
    if ext in ("geojson",):
        return "geojson"
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if text.startswith(b"<"):
        return "gpx"
    if text.startswith(b"{"):
        return "geojson"
    if text.startswith(b"$") or b"\n$GP" in text or b"\n$GN" in text:
        return "nmea"
    # sentences behind a logger's prefix on each line (Android's GnssLogger: 'NMEA,$GPRMC,...')
    if any(
        b"$" + talker + kind in text for talker in (b"GP", b"GN") for kind in (b"RMC,", b"GGA,")
    ):
        return "nmea"
    if ext in ("csv", "txt", "tsv", ""):
        return "csv"
    raise FatalImportError(
        str(path), f"unknown track format {ext!r}: use GPX, NMEA, CSV or GeoJSON points"
    )


@dataclass
class RawTrack:
    """A file parsed but not yet checked (see :func:`finish_points`)."""

    path: str
    format: str
    raw: pd.DataFrame
    rejects: pd.DataFrame
    notes: list[str]
    details: dict[str, Any]


def read_raw_track(
    path: str | Path,
    *,
    format: str | None = None,
    mapping: dict[str, str] | None = None,
    date: dt.date | None = None,
    tz: str | None = None,
    ambiguous: str | None = None,
) -> RawTrack:
    """Parse one track file (format detected unless given) without the shared checks."""
    from .gpx import read_gpx_points
    from .nmea import read_nmea_points

    check_zone(tz)
    ambiguous = check_ambiguous(ambiguous, tz)
    p = Path(path)
    name = str(p)
    data = read_bytes(p)
    fmt = (format or detect_format(p, data[:4096])).lower()
    if fmt not in FORMATS:
        raise InputError(f"unknown track format {fmt!r}: use one of {', '.join(FORMATS)}")
    if not data.strip():
        raise FatalImportError(name, "file is empty: nothing imported")
    if fmt == "gpx":
        raw, rej, notes, details = read_gpx_points(data, name)
    elif fmt == "nmea":
        raw, rej, notes, details = read_nmea_points(data, name, date=date)
    elif fmt == "geojson":
        raw, rej, notes, details = read_geojson_points(
            data, name, mapping=mapping, tz=tz, ambiguous=ambiguous
        )
    else:
        raw, rej, notes, details = read_csv_points(
            data, name, mapping=mapping, tz=tz, ambiguous=ambiguous
        )
    return RawTrack(name, fmt, raw, rej, notes, details)


def read_track_file(
    path: str | Path,
    *,
    format: str | None = None,
    mapping: dict[str, str] | None = None,
    date: dt.date | None = None,
    tz: str | None = None,
    crs: str = "EPSG:27700",
    now: dt.datetime | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    ambiguous: str | None = None,
) -> TrackData:
    """Read one track file into checked points and rejects (nothing is written anywhere).

    ``date`` is the UTC date of the first fix for NMEA logs that carry no dates (GGA only);
    ``tz`` the zone of zone-less CSV times (default UTC); ``ambiguous`` (earlier or later) which
    pass of the hour repeated when the clocks go back those times are where the order of the
    file cannot tell (else they are rejected); ``mapping`` maps our fields to columns;
    ``bbox`` the force area, for the swapped latitude/longitude check (see :func:`finish_points`).
    """
    r = read_raw_track(path, format=format, mapping=mapping, date=date, tz=tz, ambiguous=ambiguous)
    good, rejects = finish_points(r.raw, r.rejects, path=r.path, crs=crs, now=now, bbox=bbox)
    return TrackData(r.path, r.format, good, rejects, r.notes, r.details)

"""A force's own incident extract (CSV or GeoJSON): dates and times, offences, locations.

Layouts differ between forces (Niche, Athena, Connect, Storm exports), so columns are found by
common names or given by a mapping (``--map occurred=Committed From``). Times without a zone are
local wall-clock times in the force's zone and are stored in UTC.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd

from ..errors import FatalImportError, InputError
from ..geo import to_projected, to_wgs84
from ..timeutil import to_utc_naive
from .crime_rows import (
    COLUMNS,
    NUL,
    NUL_REASON,
    REJECT_COLUMNS,
    Occurrences,
    Parsed,
    Rejector,
    check_lonlat,
    content_hash,
    synthetic_keys,
)
from .tabular import (
    has_decimal_comma,
    iter_csv_tables,
    not_a_number,
    point_decimal_commas,
    read_bytes,
    read_numbers,
)

#: rows per chunk: memory stays bounded however many years an extract holds
CHUNK_ROWS = 100_000

#: canonical field -> names we recognise (lower case, spaces/underscores ignored)
ALIASES: dict[str, list[str]] = {
    "incident_id": [
        "incidentid",
        "crimeid",
        "crimeref",
        "crimereference",
        "urn",
        "id",
        "occurrenceid",
        "reference",
    ],
    "occurred": ["occurred", "occurredat", "datetime", "occurrencedate", "committed", "date"],
    "time": ["time", "occurredtime", "occurrencetime"],
    "occurred_from": ["occurredfrom", "committedfrom", "fromdate", "datefrom", "startdate"],
    "occurred_to": ["occurredto", "committedto", "todate", "dateto", "enddate"],
    "offence": [
        "offence",
        "offencedescription",
        "offencename",
        "description",
        "crimetype",
        "offencetype",
    ],
    "ho_code": ["hocode", "homeofficecode", "hooffencecode", "offencecode", "hoclass"],
    "category": ["category", "policeukcategory", "crimegroup", "crimecategory"],
    "lon": ["lon", "longitude", "long", "lng"],
    "lat": ["lat", "latitude"],
    "easting": ["easting", "x", "eastings", "gridx"],
    "northing": ["northing", "y", "northings", "gridy"],
    "location": ["location", "address", "street", "locationdescription"],
}


def _norm(c: str) -> str:
    return "".join(ch for ch in c.lower() if ch.isalnum())


def resolve_columns(
    columns: list[str], mapping: dict[str, str] | None, name: str
) -> dict[str, str]:
    """Canonical field -> column in this file, from the mapping first, then the aliases."""
    found: dict[str, str] = {}
    mapping = mapping or {}
    for field, col in mapping.items():
        if field not in ALIASES:
            raise InputError(
                f"unknown field {field!r} in column mapping; fields are {', '.join(ALIASES)}"
            )
        if col not in columns:
            raise FatalImportError(name, f"mapped column {col!r} (for {field}) is not in the file")
        found[field] = col
    by_norm = {_norm(c): c for c in columns}
    for field, names in ALIASES.items():
        if field in found:
            continue
        for n in names:
            if n in by_norm and by_norm[n] not in found.values():
                found[field] = by_norm[n]
                break
    if "occurred" not in found and "occurred_from" not in found:
        raise FatalImportError(
            name,
            "missing column for the occurrence date-time (occurred, or occurred_from/occurred_to): "
            "use --map occurred=<your column>",
        )
    if "offence" not in found and "ho_code" not in found:
        raise FatalImportError(
            name,
            "missing column for the offence (offence description or ho_code): use --map offence=<your column>",
        )
    if not ({"lon", "lat"} <= found.keys() or {"easting", "northing"} <= found.keys()):
        raise FatalImportError(
            name,
            "missing location columns: need lon/lat or easting/northing (use --map lon=... lat=...)",
        )
    return found


#: a value that is only a month (2023-08, 08/2023) or only a date (no hh:mm, no T14)
_MONTH_ONLY = r"^(?:\d{4}-\d{1,2}|\d{1,2}/\d{4})$"
_HAS_TIME = r"\d:\d\d|T\d\d|\d\s*[aApP]\.?[mM]\.?$"


#: the layouts force extracts use most (Niche, Athena and Excel write British day-first dates),
#: tried as exact formats before dateutil reads whatever is left
_DAY_FIRST = ("%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y", "%d-%m-%Y %H:%M", "%d-%m-%Y")
_YEAR_FIRST = ("%Y/%m/%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d")


def _to_datetime(
    s: pd.Series, formats: tuple[str, ...], *, dayfirst: bool = False, yearfirst: bool = False
) -> pd.Series:
    """``pd.to_datetime(s, format="mixed", dayfirst=..., yearfirst=...)``, with the common layouts parsed first.

    ``format="mixed"`` runs dateutil's parser once per value in Python: about 3,000 rows a
    second, so a year of a force's incidents with British dates ("01/07/2023 14:30") spent
    minutes here. A value matching one of ``formats`` is read by pandas' compiled parser, and
    reads as dateutil would read it (day-first dates in these layouts are unambiguous); only the
    rest goes to dateutil, so odd values parse (or fail) exactly as before.
    """
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    todo = np.ones(len(s), dtype=bool)
    for fmt in formats:
        if not todo.any():
            return out
        t = _ns(pd.to_datetime(s[todo], format=fmt, errors="coerce"))
        hit = t.notna().to_numpy()
        if hit.any():
            idx = np.flatnonzero(todo)[hit]
            out.iloc[idx] = t[hit].to_numpy()
            todo[idx] = False
    if todo.any():
        out.iloc[np.flatnonzero(todo)] = _ns(
            pd.to_datetime(
                s[todo], format="mixed", errors="coerce", dayfirst=dayfirst, yearfirst=yearfirst
            )
        ).to_numpy()
    return out


def _ns(t: pd.Series) -> pd.Series:
    """Parsed times as nanosecond timestamps, NaT where a year is outside 1677-2262.

    pandas parses a typed year such as 0022 or 2300 at a coarser unit; putting it beside the
    other rows raised OutOfBoundsDatetime and the whole import stopped with a traceback. Such a
    value is no date a crime happened on: NaT, so its row is rejected like any unreadable date.
    """
    if t.dtype == "datetime64[ns]":
        return t
    ok = t.notna() & (t >= pd.Timestamp.min) & (t <= pd.Timestamp.max)
    return t.where(ok).astype("datetime64[ns]")


def _parse_times(s: pd.Series, tz: str) -> tuple[pd.Series, np.ndarray, np.ndarray, pd.Series]:
    """Parse local or zoned date-times to naive UTC.

    Returns (start, bad mask, kind, end). ``kind`` is ``datetime``, ``day`` (a date with no time)
    or ``month`` (a bare month), blank for a blank value. For ``day`` and ``month`` values,
    ``start`` is local midnight at the start of the day or month and ``end`` local midnight after
    it, so no caller has to take midnight as the time the crime happened.

    Rows with an explicit offset (``+01:00``, ``Z``) keep their instant; rows without one are local
    wall-clock times in ``tz``. An extract spanning a clock change mixes ``+00:00`` and ``+01:00``,
    so the two kinds are parsed separately rather than as one column.
    """
    s = s.astype(str).str.strip()
    blank = s.eq("").to_numpy()
    # an offset only follows a time: a date alone such as 01-07-2023 ends like one ('-2023')
    has_time = s.str.contains(_HAS_TIME, regex=True).to_numpy()
    zoned = s.str.contains(r"(?:Z|[+-]\d{2}:?\d{2})$", regex=True).to_numpy() & has_time & ~blank
    month_only = s.str.fullmatch(_MONTH_ONLY).to_numpy() & ~blank & ~zoned
    day_only = ~has_time & ~blank & ~zoned & ~month_only
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    end = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    if zoned.any():
        tz_t = pd.to_datetime(s[zoned], format="ISO8601", errors="coerce", utc=True)
        out[zoned] = _ns(tz_t.dt.tz_localize(None)).to_numpy()
    local = ~blank & ~zoned
    if local.any():
        sl = s[local].where(
            ~pd.Series(month_only, index=s.index)[local],
            # 08/2023 -> 2023-08-01 and 2023-8 -> 2023-08-01, so no day is guessed from a month
            s[local].str.replace(
                r"^(\d{1,2})/(\d{4})$|^(\d{4})-(\d{1,2})$",
                lambda m: f"{m[2] or m[3]}-{int(m[1] or m[4]):02d}-01",
                regex=True,
            ),
        )
        t = pd.to_datetime(sl, format="ISO8601", errors="coerce")
        miss = t.isna().to_numpy()
        if miss.any():
            # British day-first (01/07/2023) unless the year comes first: dateutil's day-first
            # reads 2023/07/01 2pm as 7 January
            rest = sl[miss]
            year_first = rest.str.match(r"\d{4}\D").to_numpy()
            alt = pd.Series(pd.NaT, index=rest.index, dtype="datetime64[ns]")
            if year_first.any():
                alt[year_first] = _to_datetime(rest[year_first], _YEAR_FIRST, yearfirst=True)
            if (~year_first).any():
                alt[~year_first] = _to_datetime(rest[~year_first], _DAY_FIRST, dayfirst=True)
            t = t.astype(object)
            t[miss] = alt
            t = pd.to_datetime(t, errors="coerce")
        ok = t.notna()
        if ok.any():
            out.loc[ok[ok].index] = to_utc_naive(t[ok], tz).to_numpy()
        coarse = ok.to_numpy() & (month_only | day_only)[local]
        if coarse.any():
            idx = t.index[coarse]
            start = t[coarse].dt.normalize()
            # the local midnight after the day or month, on whole columns (no per-row offsets)
            is_month = month_only[s.index.get_indexer(idx)]
            after = (start + pd.Timedelta(days=1)).where(
                ~is_month, start + pd.offsets.MonthBegin(1)
            )
            out.loc[idx] = to_utc_naive(start, tz).to_numpy()
            end.loc[idx] = to_utc_naive(after, tz).to_numpy()
    bad = ~blank & out.isna().to_numpy()
    kind = np.where(
        blank | bad, "", np.where(month_only, "month", np.where(day_only, "day", "datetime"))
    )
    return out, bad, kind, end


def read_frames(
    path: Path, chunk_rows: int = CHUNK_ROWS
) -> Iterator[tuple[pd.DataFrame, np.ndarray, list[tuple[int, str]]]]:
    """(rows as strings, each row's number, rows too broken to read as (number, reason)), in
    chunks of about ``chunk_rows`` rows, so memory stays bounded on years of incidents. A CSV
    frame's ``attrs["decimal_comma"]`` says whether its numbers may have a decimal comma (the
    file is separated by semicolons or tabs).

    CSV goes through the same reader as police.uk files, so a row with more or fewer fields than
    the header is rejected by its row number instead of shifting the columns of every row. GeoJSON
    gives its properties plus lon/lat of point geometry; feature N is row N + 1 (one chunk: the
    document is parsed whole).
    """
    if path.suffix.lower() in (".geojson", ".json"):
        yield _read_geojson(path)
        return
    if path.is_dir():
        raise FatalImportError(str(path), "is a folder, not a file")

    def opener() -> IO[bytes]:
        try:
            return path.open("rb")
        except FileNotFoundError as exc:
            raise FatalImportError(str(path), "file not found") from exc
        except OSError as exc:
            raise FatalImportError(str(path), f"cannot read: {exc.strerror}") from exc

    for c in iter_csv_tables(opener, str(path), chunk_rows):
        df = pd.DataFrame(
            {
                name: c.table.column(i).to_numpy(zero_copy_only=False).astype(object)
                for i, name in enumerate(c.table.column_names)
            },
            columns=c.table.column_names,
        )
        # after ';' or a tab, coordinates may be written '52,6345' (European Excel)
        df.attrs["decimal_comma"] = has_decimal_comma(c.delimiter)
        yield df, c.rows.astype(np.int64), c.broken


def _read_geojson(path: Path) -> tuple[pd.DataFrame, np.ndarray, list[tuple[int, str]]]:
    """A GeoJSON extract as :func:`read_frames` gives it (one chunk)."""
    raw = read_bytes(path)
    try:
        doc = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FatalImportError(str(path), f"not valid GeoJSON: {exc}") from exc
    feats = doc.get("features") if isinstance(doc, dict) else None
    if not isinstance(feats, list):
        raise FatalImportError(str(path), "GeoJSON has no 'features' list")
    file_crs = _geojson_crs(doc, str(path))
    recs = []
    not_point: list[str] = []
    for i, f in enumerate(feats, start=1):
        if not isinstance(f, dict) or not isinstance(f.get("properties") or {}, dict):
            raise FatalImportError(
                str(path),
                f"feature {i} is not a GeoJSON Feature object with properties: {str(f)[:80]!r}",
            )
        props = dict(f.get("properties") or {})
        g = f.get("geometry") or {}
        kind = g.get("type") if isinstance(g, dict) else None
        coords = g.get("coordinates") if isinstance(g, dict) else None
        if kind == "MultiPoint" and isinstance(coords, list | tuple) and len(coords) == 1:
            kind, coords = "Point", coords[0]  # some GIS exports write every point so
        if kind == "Point" or not g:
            not_point.append("")
        else:  # a polygon, a line, several points: no one place, and not to be dropped unsaid
            n = len(coords) if kind == "MultiPoint" and isinstance(coords, list) else 0
            not_point.append(f"{kind} of {n} points" if n else str(kind))
            coords = None
        coords = list(coords) if isinstance(coords, list | tuple) else []
        # a short coordinate list keeps what it has, and the row is rejected by the checks
        props["lon"] = str(coords[0]) if len(coords) > 0 else ""
        props["lat"] = str(coords[1]) if len(coords) > 1 else ""
        recs.append({k: "" if v is None else str(v) for k, v in props.items()})
    df = pd.DataFrame(recs).fillna("")
    if file_crs is not None and len(df):
        from pyproj import CRS

        if CRS.from_user_input(file_crs).is_projected:
            # eastings and northings: parse() reads them as such, in the file's grid
            df = df.drop(columns=["lon", "lat"]).assign(easting=df["lon"], northing=df["lat"])
            df.attrs["crs"] = file_crs
        else:  # another datum's longitude/latitude (e.g. ETRS89): to WGS84
            _lonlat_from(df, file_crs)
    # not a column: the row hash (and so the keys of rows without an ID) stays as it was
    df.attrs["not_point"] = np.asarray(not_point, dtype=object)
    return df, np.arange(2, len(df) + 2), []


def _geojson_crs(doc: dict, name: str) -> str | None:
    """The CRS a GeoJSON file's (pre-RFC 7946) ``crs`` member names, when it is not WGS84
    longitude/latitude: UK forces' GIS exports often still write British National Grid this way
    (``urn:ogc:def:crs:EPSG::27700``). None for RFC 7946 files, which are always WGS84."""
    member = doc.get("crs")
    if member is None:
        return None
    props = member.get("properties") if isinstance(member, dict) else None
    text = props.get("name") if isinstance(props, dict) else None
    if not isinstance(text, str) or not text.strip():
        raise FatalImportError(name, f"GeoJSON 'crs' member not understood: {str(member)[:80]!r}")
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        crs = CRS.from_user_input(text.strip())
    except CRSError:
        raise FatalImportError(name, f"GeoJSON 'crs' {text!r} is not a known CRS") from None
    if crs.is_geographic and crs.equals(CRS.from_epsg(4326), ignore_axis_order=True):
        return None
    if crs.to_string() == "OGC:CRS84":
        return None
    return crs.to_wkt()


def _lonlat_from(df: pd.DataFrame, file_crs: str) -> None:
    """Rewrite the lon/lat columns (coordinates as the file gave them) as WGS84 degrees, in
    place; rows without two numbers are left as they are, for the checks to reject."""
    x = pd.to_numeric(df["lon"], errors="coerce").to_numpy(dtype=float)
    y = pd.to_numeric(df["lat"], errors="coerce").to_numpy(dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        return
    lon, lat = to_wgs84(x[ok], y[ok], file_crs)
    idx = df.index[ok]
    df.loc[idx, "lon"] = [repr(float(v)) for v in lon]
    df.loc[idx, "lat"] = [repr(float(v)) for v in lat]


def _points_for_hash(df: pd.DataFrame, cols: dict[str, str]) -> pd.DataFrame:
    """The frame with each coordinate's decimal comma written as a point ('52,6345' ->
    '52.6345'), for the row hash: a semicolon-separated copy of an extract (European Excel's)
    then hashes as its comma-separated original, so its rows are already present, not 'already
    imported with different details', and its rows without an ID (keyed by the hash) are not
    imported twice. Other columns are hashed as written."""
    coords = {cols[f] for f in ("lon", "lat", "easting", "northing") if f in cols}
    return df.assign(**{c: point_decimal_commas(df[c]) for c in coords if c in df.columns})


def incident_key_prefix(force: str | None) -> str:
    """The start of the key of every incident with an ID: ``i:<length of force>:<force>:``.

    Incident IDs are a force's own numbering (two forces both have an ``INC-0001``), so a key of
    the ID alone made the second force's extract count as "already present" and its rows were
    lost. The force's name is in the key, led by its length so that no force name (one with a
    colon in it) can run into the ID. Migration 0010 writes stored keys in this form.
    """
    f = force or ""
    return f"i:{len(f)}:{f}:"


def content_key_suffix(force: str | None) -> str:
    """The end of the key of every incident without an ID: ``:<force>``, after the content key
    ``n:<row hash>:<occurrence>``.

    Such a row is keyed by what it says, and two forces' extracts can say the same thing (an
    offence at the same time and the same place text), so a key of the content alone made the
    second force's row count as "already present" and it was lost. The force goes last, after
    the fixed-width hash and the occurrence number (no colon in either), so the key still reads
    unambiguously whatever the force's name holds, and starts with the row's hash as before.
    Migration 0011 writes stored keys in this form.
    """
    return ":" + (force or "")


@dataclass
class _FileState:
    """What the chunks of one file share: each incident ID's first good row, and how often each
    row without an ID was seen (its occurrence number is part of its key)."""

    first_row: dict[str, int] = dataclasses.field(default_factory=dict)
    occurrences: Occurrences = dataclasses.field(default_factory=Occurrences)


def parse_chunks(
    path: Path,
    *,
    crs: str,
    tz: str,
    bbox: tuple[float, float, float, float] | None,
    mapping: dict[str, str] | None = None,
    force: str | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> Iterator[Parsed]:
    """Validate an incident extract into normalised crime frames, one per chunk of rows.

    The whole file used to be read, validated and held at once, so an import's peak memory grew
    with the file (1.74 GB for 600,000 incidents; 1.26 GB in chunks) and years of a force's
    incidents did not fit a laptop. A chunk at a time, IDs repeated across chunks are still
    caught and keys and row numbers are as for the whole file.
    """
    name = str(path)
    state = _FileState()
    cols: dict[str, str] | None = None
    for df, rownos, broken in read_frames(path, chunk_rows):
        if not len(df.columns) and not len(df) and not broken:
            # a GeoJSON FeatureCollection with no features: no layout to check, zero rows (as a
            # header-only CSV), not 'missing column for the occurrence date-time'
            yield Parsed(pd.DataFrame(columns=[*COLUMNS, "_row"]), _no_rejects(), 0, [], name)
            continue
        if cols is None:
            cols = resolve_columns(list(df.columns), mapping, name)
        yield _parse_frame(
            df, rownos, broken, cols, name, crs=crs, tz=tz, bbox=bbox, force=force, state=state
        )


def _no_rejects() -> pd.DataFrame:
    return pd.DataFrame(columns=REJECT_COLUMNS)


def parse(
    path: Path,
    *,
    crs: str,
    tz: str,
    bbox: tuple[float, float, float, float] | None,
    mapping: dict[str, str] | None = None,
    force: str | None = None,
) -> Parsed:
    """The whole extract as one :class:`Parsed` (small files and tests)."""
    parts = list(parse_chunks(path, crs=crs, tz=tz, bbox=bbox, mapping=mapping, force=force))
    return Parsed(
        pd.concat([p.rows for p in parts], ignore_index=True),
        pd.concat([p.rejects for p in parts], ignore_index=True),
        sum(p.read for p in parts),
        [],
        source=str(path),
    )


def _parse_frame(
    df: pd.DataFrame,
    rownos: np.ndarray,
    broken: list[tuple[int, str]],
    cols: dict[str, str],
    name: str,
    *,
    crs: str,
    tz: str,
    bbox: tuple[float, float, float, float] | None,
    force: str | None,
    state: _FileState,
) -> Parsed:
    n = len(df)
    rej = Rejector(name, n)
    not_point = df.attrs.get("not_point")
    if not_point is not None and len(not_point) == n:
        rej.reject(
            not_point != "",
            rownos,
            "geometry",
            not_point,
            np.array(
                [
                    f"geometry is a {k}, not a Point: give each crime's location as a point"
                    for k in not_point
                ],
                dtype=object,
            ),
        )
    for c in df.columns:
        v = df[c].astype(str)
        if NUL in "".join(v.tolist()):  # one C-speed scan; rows are looked at only on a hit
            rej.reject(v.str.contains(NUL, regex=False).to_numpy(), rownos, c, v, NUL_REASON)
    get = lambda f: df[cols[f]].astype(str) if f in cols else pd.Series("", index=df.index)  # noqa: E731

    occ_s = get("occurred")
    if "time" in cols and "occurred" in cols:
        occ_s = occ_s.str.strip() + " " + get("time").str.strip()
    occ, bad_occ, occ_kind, occ_end = _parse_times(occ_s, tz)
    t_from, bad_from, _, _ = _parse_times(get("occurred_from"), tz)
    t_to, bad_to, to_kind, to_end = _parse_times(get("occurred_to"), tz)
    # a window that ends on a date (or a month) ends when that day (or month) does
    t_to = t_to.where(~np.isin(to_kind, ["day", "month"]), to_end)
    rej.reject(
        bad_occ,
        rownos,
        cols.get("occurred", "occurred"),
        occ_s,
        "date-time not understood (use YYYY-MM-DD HH:MM or DD/MM/YYYY HH:MM)",
    )
    rej.reject(
        bad_from,
        rownos,
        cols.get("occurred_from", "occurred_from"),
        get("occurred_from"),
        "date-time not understood",
    )
    rej.reject(
        bad_to,
        rownos,
        cols.get("occurred_to", "occurred_to"),
        get("occurred_to"),
        "date-time not understood",
    )
    none = occ.isna().to_numpy() & t_from.isna().to_numpy()
    # no time of day is invented: a date alone is the window of that local day, a month alone
    # is month precision (as police.uk), unless the extract gives its own window
    no_window = t_from.isna().to_numpy()
    as_day = (occ_kind == "day") & no_window
    as_month = (occ_kind == "month") & no_window
    month_ref = occ.where(occ.notna(), t_from)
    t_from = t_from.where(~as_day, occ)
    t_to = t_to.where(~as_day, occ_end)
    occ = occ.where(occ_kind == "datetime")
    rej.reject(
        none,
        rownos,
        cols.get("occurred", cols.get("occurred_from", "occurred")),
        occ_s,
        "no occurrence date",
    )
    # a crime cannot have happened after today (a typed year: 01/07/2099); a day of leeway
    # for a clock or zone set wrong at the force
    latest = pd.Timestamp.now(tz="UTC").tz_localize(None) + pd.Timedelta(days=1)
    future = (month_ref > latest).to_numpy()
    if future.any():
        later = f"date is in the future (after {latest:%Y-%m-%d}): no crime has happened then"
        given = occ.notna().to_numpy() | (occ_kind != "")  # the date came from 'occurred'
        rej.reject(future & given, rownos, cols.get("occurred", "occurred"), occ_s, later)
        rej.reject(
            future & ~given,
            rownos,
            cols.get("occurred_from", "occurred_from"),
            get("occurred_from"),
            later,
        )
    backwards = (t_from.notna() & t_to.notna() & (t_to < t_from)).to_numpy()
    rej.reject(
        backwards,
        rownos,
        cols.get("occurred_to", "occurred_to"),
        get("occurred_to"),
        "window ends before it starts",
    )
    offence = get("offence").str.strip()
    ho = get("ho_code").str.strip()
    rej.reject(
        (offence.eq("") & ho.eq("")).to_numpy(),
        rownos,
        cols.get("offence", "offence"),
        offence,
        "no offence given",
    )

    # a semicolon- or tab-separated file may write its coordinates '52,6345' (European Excel)
    comma = bool(df.attrs.get("decimal_comma", False))
    pair_sep = ";" if comma else ","
    if {"lon", "lat"} <= cols.keys():
        lon, lat, has = check_lonlat(
            rej,
            rownos,
            get("lon"),
            get("lat"),
            bbox,
            lon_field=cols["lon"],
            lat_field=cols["lat"],
            decimal_comma=comma,
        )
        x = np.full(n, np.nan)
        y = np.full(n, np.nan)
        ok = has & ~rej.bad
        if ok.any():
            x[ok], y[ok] = to_projected(lon[ok], lat[ok], crs)
    else:
        e_s, n_s = get("easting"), get("northing")
        e_n = read_numbers(e_s, decimal_comma=comma)
        n_n = read_numbers(n_s, decimal_comma=comma)
        x, y = e_n.values, n_n.values
        grid = df.attrs.get("crs")
        if grid is not None:  # a GeoJSON file's own grid: to the configured one (exact if same)
            import pyproj

            if not pyproj.CRS.from_user_input(grid).equals(pyproj.CRS.from_user_input(crs)):
                fin = np.isfinite(x) & np.isfinite(y)
                t = pyproj.Transformer.from_crs(grid, crs, always_xy=True)
                x[fin], y[fin] = t.transform(x[fin], y[fin])
        blank = e_s.str.strip().eq("").to_numpy() & n_s.str.strip().eq("").to_numpy()
        # a comma that is no decimal comma ('458.123,5', '458,123,5'): the field and why
        for field, num, text in (("easting", e_n, e_s), ("northing", n_n, n_s)):
            rej.reject(num.why != "", rownos, cols[field], text, not_a_number(field, num.why))
        rej.reject(
            # 'inf' parses as a float but is no position (else kept as "no location")
            ~blank & ~(np.isfinite(x) & np.isfinite(y)),
            rownos,
            cols["easting"],
            e_s.str.cat(n_s, sep=pair_sep),
            "easting/northing is not a number",
        )
        rej.reject(
            ~blank & (x == 0) & (y == 0),
            rownos,
            cols["easting"],
            e_s.str.cat(n_s, sep=pair_sep),
            "coordinates are (0, 0): leave blank for no location",
        )
        has = ~blank & np.isfinite(x) & np.isfinite(y)
        lon = np.full(n, np.nan)
        lat = np.full(n, np.nan)
        ok = has & ~rej.bad
        if ok.any():
            lon[ok], lat[ok] = to_wgs84(x[ok], y[ok], crs)
            if bbox is not None:
                x0, y0, x1, y1 = bbox
                outside = ok & ~((lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1))
                rej.reject(
                    outside,
                    rownos,
                    cols["easting"],
                    e_s.str.cat(n_s, sep=pair_sep),
                    "location outside the force area (easting/northing swapped or wrong grid?)",
                )
    good = ~rej.bad
    precision = np.where(occ.notna().to_numpy(), "datetime", np.where(as_month, "month", "window"))
    month = month_ref.dt.tz_localize("UTC").dt.tz_convert(tz).dt.strftime("%Y-%m").fillna("")
    iid = get("incident_id").str.strip()
    has_id = iid.ne("").to_numpy()
    # the first row of an ID not rejected for another reason wins, so an incident whose first
    # row was bad (a mistyped date corrected further down) is not lost with it
    # (in this chunk or an earlier one)
    elig = np.flatnonzero(has_id & good)
    ids = iid.iloc[elig]
    earlier = ids.map(state.first_row).to_numpy(dtype=float)
    repeat = ids.duplicated(keep="first").to_numpy() | ~np.isnan(earlier)
    firsts = dict(zip(ids[~repeat], rownos[elig[~repeat]].tolist(), strict=True))
    if repeat.any():
        dup = np.zeros(n, dtype=bool)
        dup[elig[repeat]] = True
        reasons = np.full(n, "", dtype=object)
        reasons[dup] = [
            f"duplicate incident ID in this file: first seen at row "
            f"{state.first_row.get(k) or firsts[k]}"
            for k in ids[repeat]
        ]
        rej.reject(dup, rownos, cols.get("incident_id", "incident_id"), iid, reasons)
    state.first_row.update(firsts)
    good = ~rej.bad
    h = content_hash(_points_for_hash(df, cols) if comma else df)
    key = (incident_key_prefix(force) + iid).where(has_id, "")
    if (~has_id).any():
        idx = np.flatnonzero(~has_id)
        key.iloc[idx] = (  # type: ignore[call-overload]
            synthetic_keys(pd.Series("n", index=idx), h[idx], state.occurrences)
            + content_key_suffix(force)
        ).to_numpy()
    used = set(cols.values())
    extra = [c for c in df.columns if c not in used]
    attrs = (
        pd.Series(df[extra].to_dict(orient="records"))
        if extra
        else pd.Series([None] * n, dtype=object)
    )
    out = pd.DataFrame(
        {
            "crime_key": key,
            "row_hash": h,
            "source_kind": "incidents",
            "crime_id": iid.where(has_id, None),
            "force": force,
            "reported_by": force,
            "month": month,
            "precision": precision,
            "occurred_at": occ,
            "occurred_from": t_from,
            "occurred_to": t_to,
            "category": get("category").replace("", None),
            "offence": offence.replace("", None),
            "ho_code": ho.replace("", None),
            "lon": np.where(has, lon, np.nan),
            "lat": np.where(has, lat, np.nan),
            "x": np.where(has, x, np.nan),
            "y": np.where(has, y, np.nan),
            "mappable": has,
            "location": get("location").replace("", None),
            "lsoa_code": None,
            "lsoa_name": None,
            "outcome": None,
            "context": None,
            "attrs": attrs.to_numpy(),
        },
        columns=COLUMNS,
    )
    out["_row"] = rownos
    rejects = rej.frame()
    if broken:
        rows_b, why = zip(*broken, strict=True)
        rejects = pd.concat(
            [
                rejects,
                pd.DataFrame(
                    {
                        "file": name,
                        "row": list(rows_b),
                        "field": "(row)",
                        "value": "",
                        "reason": list(why),
                    }
                ),
            ],
            ignore_index=True,
        ).sort_values("row", kind="stable")
    return Parsed(out[good].reset_index(drop=True), rejects, n + len(broken), [], source=name)

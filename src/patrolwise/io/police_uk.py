"""police.uk street-level crime files: single monthly CSVs and the archive download (zip).

What real files look like (see ../shared/data/README.md): CRLF line endings, 12 columns, a blank
``Crime ID`` on every anti-social behaviour row, "No Location" rows with empty coordinates (real
crimes: kept, flagged unmappable), "On or near " with no street, coordinates snapped to anonymised
map points, and month precision only. We never invent a day or time.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import FatalImportError
from .crime_rows import (
    COLUMNS,
    NUL,
    NUL_REASON,
    Occurrences,
    Parsed,
    Rejector,
    check_lonlat_values,
    combine_hashes,
    place_hashes,
    project,
    synthetic_keys,
)
from .strhash import hash_strings
from .tabular import (
    CsvChunk,
    Opener,
    has_decimal_comma,
    iter_csv_tables,
    point_decimal_commas,
    read_numbers,
)

HEADER = [
    "Crime ID",
    "Month",
    "Reported by",
    "Falls within",
    "Longitude",
    "Latitude",
    "Location",
    "LSOA code",
    "LSOA name",
    "Crime type",
    "Last outcome category",
    "Context",
]
REQUIRED = ["Month", "Longitude", "Latitude", "Crime type"]
MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
MONTH_REASON = "Month is not a YYYY-MM month"
#: English month names as Excel writes them (not the locale's: ``calendar`` follows the locale)
_MONTH_NAMES = {
    name: i
    for i, full in enumerate(
        (
            "january",
            "february",
            "march",
            "april",
            "may",
            "june",
            "july",
            "august",
            "september",
            "october",
            "november",
            "december",
        ),
        start=1,
    )
    for name in (full, full[:3])
}
#: what Excel makes of ``2022-08`` when a police.uk file is opened and saved: ``Aug-22`` (its
#: mmm-yy), ``Aug-2022`` or ``August 2022``, or the first of the month as a British date
#: (``01/08/2022``, perhaps with a midnight time)
_NAMED_MONTH = re.compile(r"([A-Za-z]+)(?:-(\d{2}|\d{4})| (\d{4}))")
_FIRST_OF_MONTH = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})(?: 00:00(?::00)?)?")
MEMBER = re.compile(r"(^|/)\d{4}-\d{2}/\d{4}-\d{2}-[^/]+-street\.csv$")


def looks_like(columns: list[str]) -> bool:
    marks = {"Crime ID", "Falls within", "Reported by", "LSOA code", "Crime type"}
    return "Month" in columns and len(marks & set(columns)) >= 2


def iter_sources(path: Path) -> Iterator[tuple[str, Opener]]:
    """(name, opener) for a CSV, or for each ``YYYY-MM/YYYY-MM-<force>-street.csv`` in a zip.

    Other members of an archive (outcomes, stop and search) are not street crimes and are skipped.
    Openers return binary streams, so big files are read in chunks, never whole.
    """
    if path.suffix.lower() == ".zip":
        try:
            zf = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, FileNotFoundError) as exc:
            raise FatalImportError(str(path), f"not a readable zip archive: {exc}") from exc
        with zf:
            names = sorted(n for n in zf.namelist() if MEMBER.search(n))
            if not names:
                raise FatalImportError(
                    str(path), "zip holds no YYYY-MM/YYYY-MM-<force>-street.csv files"
                )
            for n in names:
                yield f"{path}!{n}", (lambda n=n: zf.open(n))  # type: ignore[misc]
    else:
        if not path.is_file():
            raise FatalImportError(str(path), "file not found")
        yield str(path), (lambda: path.open("rb"))


def _distinct(arr: pa.Array, *, strip: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(code per row, distinct values): police.uk columns repeat a few thousand values at most,
    so checks, parsing and hashing run once per distinct value, not once per row."""
    if strip:
        arr = pc.utf8_trim_whitespace(arr)
    enc = arr.dictionary_encode()
    codes = enc.indices.to_numpy(zero_copy_only=False).astype(np.intp)
    return codes, np.array(enc.dictionary.to_pylist(), dtype=object)


def _category(codes: np.ndarray, values: np.ndarray, *, blank_is_null: bool) -> pd.Categorical:
    if blank_is_null and len(values):
        codes = np.where(values[codes] == "", -1, codes) if (values == "").any() else codes
    return pd.Categorical.from_codes(codes, categories=pd.Index(values, dtype=object))


#: a coordinate with fewer decimals than police.uk's six: trailing zeros dropped by a save
_TRIMMED = re.compile(r"-?\d+(\.\d{0,5})?")


def _six_decimals(
    distinct: tuple[np.ndarray, np.ndarray], *, decimal_comma: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Coordinate texts as police.uk writes them (six decimals) before they are hashed.

    Excel drops trailing zeros when it saves a CSV ('52.619800' -> '52.6198'), so a police.uk
    file opened and saved hashed differently from the original: its crimes were rejected as
    'already imported with different details' and its anti-social behaviour rows, keyed by
    that hash, imported twice. Only texts with fewer than six decimals change, so every file
    as police.uk publishes it hashes exactly as before. With ``decimal_comma`` (a file separated
    by semicolons or tabs, as European Excel saves one) a decimal comma is first written as a
    point ('52,6198' -> '52.6198' -> '52.619800'), so that copy hashes as the original too.
    """
    codes, values = distinct
    if decimal_comma:
        values = point_decimal_commas(values)
    canon = np.array(
        [f"{float(v):.6f}" if _TRIMMED.fullmatch(v) else v for v in values], dtype=object
    )
    return codes, canon


def read_month(text: str) -> tuple[str | None, str]:
    """A Month cell as ``(YYYY-MM, "")``, or ``(None, reason)`` when it is no month.

    A police.uk file opened and saved in Excel has ``Aug-22``, ``Aug 2022`` or ``01/08/2022``
    where police.uk wrote ``2022-08``, and every row of it was rejected. Those forms read as the
    month they stand for, at month precision (a date's day is never kept). Anything that might
    mean something else is still refused: ``Aug 22`` (the 22nd of August, or 2022?), ``22-Aug``
    (no year), a date that is not the 1st (a day, not a month Excel saved), a month 13.
    """
    if MONTH.fullmatch(text):
        return text, ""
    named = _NAMED_MONTH.fullmatch(text)
    if named:
        m = _MONTH_NAMES.get(named[1].lower())
        year = named[2] or named[3]
        if m is None:
            return None, MONTH_REASON
        y = int(year) + 2000 if len(year) == 2 else int(year)  # police.uk begins in 2010
        return f"{y:04d}-{m:02d}", ""
    first = _FIRST_OF_MONTH.fullmatch(text)
    if first:
        d, m, y = int(first[1]), int(first[2]), int(first[3])
        if not 1 <= m <= 12 or not 1 <= d <= 31:
            return None, MONTH_REASON
        if d != 1:
            return None, (
                f"{MONTH_REASON}: {text} is a day, not a month (Excel saves a month as its "
                "first day, 01/MM/YYYY)"
            )
        return f"{y:04d}-{m:02d}", ""
    if re.fullmatch(r"[A-Za-z]+ \d{1,2}|\d{1,2}[- ][A-Za-z]+", text):
        return None, f"{MONTH_REASON}: {text} has no year, or is a day (use YYYY-MM)"
    return None, MONTH_REASON


def _read_months(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(each distinct Month text as YYYY-MM, its text where unreadable; reason, "" if read)."""
    read = [read_month(v) for v in values]
    canon = np.array([m if m is not None else v for v, (m, _) in zip(values, read, strict=True)])
    return canon.astype(object), np.array([why for _, why in read], dtype=object)


def _excel_months(distinct: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Month texts as police.uk writes them (``2022-08``) before they are hashed, as
    :func:`_six_decimals` does for coordinates: an Excel-saved copy of an imported file then
    hashes as the original, so its crimes are already present, not 'already imported with
    different details', and its anti-social behaviour rows (keyed by the hash) are not imported
    twice. Only texts Excel rewrote change, so every file as police.uk publishes it hashes as
    before."""
    codes, values = distinct
    canon = []
    for v in values:
        m, _ = read_month(v.strip())
        canon.append(m if m is not None and not MONTH.fullmatch(v.strip()) else v)
    return codes, np.array(canon, dtype=object)


def _hash_column(distinct: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """pandas' 64-bit hash of each raw value (what ``hash_pandas_object`` gives the column),
    from the column's (code per row, distinct values)."""
    codes, values = distinct
    return pd.util.hash_array(values, categorize=False)[codes]


class _FileState:
    """What must be remembered across chunks of one file: IDs seen, content-key occurrences.

    The IDs seen are kept as sorted arrays (hash, first row), not a dict: a million-row file
    checked each chunk against a dict of every earlier ID spent ~1.3 s building hash tables and
    Python ints; a binary search of the chunk in the sorted hashes costs a few milliseconds.
    """

    def __init__(self) -> None:
        self.id_hashes = np.zeros(0, dtype=np.int64)  # sorted
        self.id_rows = np.zeros(0, dtype=np.int64)  # the row each was first seen at
        self.occurrences = Occurrences()

    def seen_at(self, keys: np.ndarray) -> np.ndarray:
        """The row each key was first seen at in an earlier chunk, 0 where it was not."""
        if not len(self.id_hashes) or not len(keys):
            return np.zeros(len(keys), dtype=np.int64)
        # the chunk's keys searched in ascending order, so each search starts where the last
        # ended: 4x faster than searching them in file order (random probes of a 1M table)
        o = np.argsort(keys)
        pos = np.empty(len(keys), dtype=np.intp)
        pos[o] = np.searchsorted(self.id_hashes, keys[o])
        pos = np.minimum(pos, len(self.id_hashes) - 1)
        return np.where(self.id_hashes[pos] == keys, self.id_rows[pos], 0)

    def add(self, keys: np.ndarray, rows: np.ndarray) -> None:
        """Remember new keys (none seen before, none repeated) with their rows."""
        k = np.concatenate([self.id_hashes, keys])
        o = np.argsort(k, kind="stable")  # two sorted runs after the first sort: a merge
        self.id_hashes, self.id_rows = k[o], np.concatenate([self.id_rows, rows])[o]


def parse_file(
    open_fn: Opener,
    name: str,
    *,
    crs: str,
    bbox: tuple[float, float, float, float] | None,
    chunksize: int = 100_000,
) -> Iterator[Parsed]:
    """Validate one police.uk CSV into normalised crime frames, one per chunk of rows."""
    state = _FileState()
    try:
        for chunk in iter_csv_tables(open_fn, name, chunksize):
            yield _parse_chunk(chunk, name, crs=crs, bbox=bbox, state=state)
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        # the archive's directory read, but this member's data does not (bad CRC, cut short)
        raise FatalImportError(
            name, f"archive member is damaged ({exc}): download the archive again"
        ) from exc


def parse(
    raw: bytes, name: str, *, crs: str, bbox: tuple[float, float, float, float] | None
) -> Parsed:
    """Validate a whole police.uk CSV held in memory (small files and tests)."""
    parts = list(parse_file(lambda: io.BytesIO(raw), name, crs=crs, bbox=bbox))
    return Parsed(
        pd.concat([p.rows for p in parts], ignore_index=True),
        pd.concat([p.rejects for p in parts], ignore_index=True),
        sum(p.read for p in parts),
        [],
        source=name,
    )


def _parse_chunk(
    chunk: CsvChunk,
    name: str,
    *,
    crs: str,
    bbox: tuple[float, float, float, float] | None,
    state: _FileState,
) -> Parsed:
    table = chunk.table
    missing = [c for c in REQUIRED if c not in table.column_names]
    if missing:
        raise FatalImportError(
            name,
            f"missing column(s) {', '.join(missing)}: is this a police.uk street-level file? "
            f"(expected {', '.join(HEADER)})",
        )
    n = table.num_rows
    col = {
        c: table.column(c).combine_chunks()
        if c in table.column_names
        else pa.array([""] * n, type=pa.string())
        for c in HEADER
    }
    col = {c: a.cast(pa.string()) if a.type != pa.string() else a for c, a in col.items()}
    rownos = chunk.rows
    rej = Rejector(name, n)
    raw = {c: _distinct(col[c]) for c in HEADER if c != "Crime ID"}
    for c in HEADER:
        nul = (
            pc.fill_null(pc.match_substring(col[c], NUL), False).to_numpy(zero_copy_only=False)
            if c == "Crime ID"
            else np.array([NUL in v for v in raw[c][1]], dtype=bool)[raw[c][0]]
        )
        if nul.any():
            rej.reject(nul, rownos, c, col[c].to_numpy(zero_copy_only=False), NUL_REASON)

    m_codes, m_text = _distinct(col["Month"], strip=True)
    month_text = m_text[m_codes] if n else np.empty(0, dtype=object)
    m_canon, m_why = _read_months(m_text)
    ok_u = m_why == ""
    rej.reject(~ok_u[m_codes], rownos, "Month", month_text, m_why[m_codes])
    # one code per month: an Excel-saved 'Aug-22' and '2022-08' in one file are one month
    # (an unreadable text is kept as it is, and no YYYY-MM text is unreadable)
    uniq, inv = np.unique(m_canon.astype(str), return_inverse=True)
    m_vals, m_codes = uniq.astype(object), inv.reshape(-1)[m_codes]
    ok_u = np.array([bool(MONTH.fullmatch(v)) for v in m_vals], dtype=bool)
    month = m_vals[m_codes] if n else np.empty(0, dtype=object)
    # a month still to come is no month a crime was recorded in (a typed year: 2099-01); a day
    # of leeway so no zone's date is refused
    latest = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).strftime("%Y-%m")
    rej.reject(
        (ok_u & (m_vals > latest))[m_codes] if len(m_vals) else np.zeros(n, dtype=bool),
        rownos,
        "Month",
        month_text,
        f"Month is in the future (after {latest}): no crime was recorded then",
    )
    t_codes, t_vals = _distinct(col["Crime type"], strip=True)
    rej.reject(
        (t_vals == "")[t_codes],
        rownos,
        "Crime type",
        lambda: t_vals[t_codes],
        "Crime type is blank",
    )

    lon_c, lon_u = _distinct(col["Longitude"], strip=True)
    lat_c, lat_u = _distinct(col["Latitude"], strip=True)
    # '52,6345' after ';' or a tab (European Excel); each distinct text read once
    comma = has_decimal_comma(chunk.delimiter)
    lon_n = read_numbers(lon_u, decimal_comma=comma)
    lat_n = read_numbers(lat_u, decimal_comma=comma)
    lon_raw, lat_raw = raw["Longitude"], raw["Latitude"]
    lon, lat, has = check_lonlat_values(
        rej,
        rownos,
        lon_n.values[lon_c],
        lat_n.values[lat_c],
        (lon_u == "")[lon_c],
        (lat_u == "")[lat_c],
        lon_text=lambda: lon_raw[1][lon_raw[0]],
        lat_text=lambda: lat_raw[1][lat_raw[0]],
        bbox=bbox,
        lon_why=lon_n.why[lon_c] if (lon_n.why != "").any() else None,
        lat_why=lat_n.why[lat_c] if (lat_n.why != "").any() else None,
        pair_sep=";" if comma else ",",
    )

    # Crime IDs stay Arrow strings, hashed as pandas would in compiled code (no Python string
    # per row, and the GIL free for the import's other threads)
    cid_arr = pc.utf8_trim_whitespace(col["Crime ID"])
    has_id_arr = pc.not_equal(cid_arr, "")
    has_id = has_id_arr.to_numpy(zero_copy_only=False)
    raw_id_hash = hash_strings(col["Crime ID"])
    same_raw = bool(pc.all(pc.equal(cid_arr, col["Crime ID"])).as_py() is not False)
    id_hash = raw_id_hash if same_raw else hash_strings(cid_arr)
    id_key = id_hash.view(np.int64)
    # duplicate IDs within the file, across chunks: the first occurrence that is not rejected
    # for another reason wins (by the ID's 64-bit hash, which is also what the store's unique
    # index is on), so a crime whose first row was bad is not lost with it
    elig = has_id & ~rej.bad
    ids = pd.Series(np.where(elig, id_key, 0))
    first_elig = elig & ~ids.duplicated(keep="first").to_numpy()
    dup = elig & ~first_elig
    earlier = state.seen_at(id_key)
    dup |= elig & (earlier > 0)
    if dup.any():
        # the row of each duplicate's first occurrence: an earlier chunk's, else this chunk's
        first_here = pd.Series(rownos[first_elig], index=id_key[first_elig])
        here = first_here.reindex(id_key[dup]).fillna(0).to_numpy(dtype=np.int64)
        prior = earlier[dup]
        firsts = np.where(prior > 0, prior, here)
        reasons = np.full(n, "", dtype=object)
        reasons[dup] = [f"duplicate Crime ID: first seen at row {r}" for r in firsts.tolist()]
        rej.reject(dup, rownos, "Crime ID", lambda: cid_arr.to_numpy(zero_copy_only=False), reasons)
    new_ids = elig & ~dup  # a rejected row claims no ID: a later good row may
    state.add(id_key[new_ids], rownos[new_ids].astype(np.int64))
    good = ~rej.bad

    h = combine_hashes(
        [
            raw_id_hash
            if c == "Crime ID"
            else _hash_column(
                _six_decimals(raw[c], decimal_comma=comma)
                if c in ("Longitude", "Latitude")
                else _excel_months(raw[c])
                if c == "Month"
                else raw[c],
            )
            for c in HEADER
        ]
    ).view(np.int64)
    key = cid_arr
    key_hash = id_key.copy()
    if (~has_id).any():
        idx = np.flatnonzero(~has_id)
        syn = pa.array(
            synthetic_keys(pd.Series("m" + month[idx]), h[idx], state.occurrences).array
        ).cast(pa.string())
        key = pc.replace_with_mask(cid_arr, pc.invert(has_id_arr), syn)
        key_hash[idx] = hash_strings(syn).view(np.int64)
    x, y = project(lon, lat, has & good, crs)
    f_codes, f_vals = _distinct(col["Falls within"], strip=True)
    r_codes, r_vals = _distinct(col["Reported by"], strip=True)
    out = pd.DataFrame(
        {
            # Arrow-backed text on pandas 3 (object before): the writer takes either
            "crime_key": key.to_pandas(),
            "row_hash": h,
            "source_kind": "police_uk",
            "crime_id": pc.if_else(has_id_arr, cid_arr, None).to_pandas(),
            "force": _category(f_codes, f_vals, blank_is_null=False),
            "reported_by": _category(r_codes, r_vals, blank_is_null=False),
            "month": _category(m_codes, m_vals, blank_is_null=False),
            "precision": "month",
            "occurred_at": pd.NaT,
            "occurred_from": pd.NaT,
            "occurred_to": pd.NaT,
            "category": _category(t_codes, t_vals, blank_is_null=False),
            "offence": None,
            "ho_code": None,
            "lon": np.where(has, lon, np.nan),
            "lat": np.where(has, lat, np.nan),
            "x": x,
            "y": y,
            "mappable": has,
            "location": _category(*raw["Location"], blank_is_null=False),
            "lsoa_code": _category(*raw["LSOA code"], blank_is_null=True),
            "lsoa_name": _category(*raw["LSOA name"], blank_is_null=True),
            "outcome": _category(*raw["Last outcome category"], blank_is_null=True),
            "context": _category(*raw["Context"], blank_is_null=True),
            "attrs": None,
        },
        columns=COLUMNS,
    )
    out["_row"] = rownos
    out["_key_hash"] = key_hash
    out = out[good].reset_index(drop=True)
    # the place key is hashed here, on the reader's thread, off the writer's
    out["_place_hash"] = place_hashes(out)
    rejects = rej.frame()
    if chunk.broken:
        rows, why = zip(*chunk.broken, strict=True)
        broken = pd.DataFrame(
            {"file": name, "row": list(rows), "field": "(row)", "value": "", "reason": list(why)}
        )
        rejects = pd.concat([rejects, broken], ignore_index=True).sort_values("row", kind="stable")
    return Parsed(out, rejects, n + len(chunk.broken), [], source=name)

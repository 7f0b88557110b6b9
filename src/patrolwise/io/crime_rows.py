"""The normalised crime frame every crime reader produces, and the checks they share.

Readers turn a file into this frame plus a rejects frame (row, field, value, reason). Row numbers
are the line a person sees in a spreadsheet: the header is row 1, the first record row 2.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..geo import in_bbox, swapped_lonlat, to_projected
from .tabular import not_a_number, read_numbers

COLUMNS = [
    "crime_key",
    "row_hash",
    "source_kind",
    "crime_id",
    "force",
    "reported_by",
    "month",
    "precision",
    "occurred_at",
    "occurred_from",
    "occurred_to",
    "category",
    "offence",
    "ho_code",
    "lon",
    "lat",
    "x",
    "y",
    "mappable",
    "location",
    "lsoa_code",
    "lsoa_name",
    "outcome",
    "context",
    "attrs",
]
REJECT_COLUMNS = ["file", "row", "field", "value", "reason"]
#: a NUL character: SQLite stores it, PostgreSQL text cannot hold it (its COPY fails the whole
#: file), so readers reject a row holding one, naming the field, on every back end alike
NUL = "\x00"
NUL_REASON = "contains a NUL character (a damaged export?): no database text can hold it"


@dataclass
class Parsed:
    """A reader's result: rows to import (with ``_row``), rejected rows, and notes."""

    rows: pd.DataFrame
    rejects: pd.DataFrame
    read: int
    warnings: list[str]
    #: the source the rows came from: a file, or ``archive.zip!member.csv`` for a zip member
    source: str = ""


class Rejector:
    """Collects rejections; each row is rejected once, for its first problem."""

    def __init__(self, name: str, n: int) -> None:
        self.name = name
        self.bad = np.zeros(n, dtype=bool)
        self.parts: list[pd.DataFrame] = []

    def reject(
        self,
        mask: np.ndarray,
        rownos: np.ndarray,
        field: str,
        values: pd.Series | np.ndarray | Callable[[], pd.Series | np.ndarray],
        reason: str | pd.Series | np.ndarray,
    ) -> None:
        """Reject the rows in ``mask`` not already rejected. ``values`` may be a function, called
        only when some row is rejected (building message values for every row costs)."""
        m = np.asarray(mask, dtype=bool) & ~self.bad
        if not m.any():
            return
        if callable(values):
            values = values()
        vals = np.asarray(values, dtype=object)[m]
        reasons = (
            np.asarray(reason, dtype=object)[m]
            if isinstance(reason, pd.Series | np.ndarray)
            else reason
        )
        self.parts.append(
            pd.DataFrame(
                {
                    "file": self.name,
                    "row": rownos[m],
                    "field": field,
                    "value": vals,
                    "reason": reasons,
                }
            )
        )
        self.bad |= m

    def frame(self) -> pd.DataFrame:
        if not self.parts:
            return pd.DataFrame(columns=REJECT_COLUMNS)
        return pd.concat(self.parts, ignore_index=True).sort_values("row", kind="stable")


def check_lonlat(
    rej: Rejector,
    rownos: np.ndarray,
    lon_s: pd.Series,
    lat_s: pd.Series,
    bbox: tuple[float, float, float, float] | None,
    lon_field: str = "Longitude",
    lat_field: str = "Latitude",
    *,
    decimal_comma: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Parse and check WGS84 coordinates given as text; see :func:`check_lonlat_values`.

    ``decimal_comma``: the file is separated by semicolons or tabs, so ``52,6345`` is a number
    (:func:`~patrolwise.io.tabular.read_numbers`)."""
    lon = read_numbers(lon_s, decimal_comma=decimal_comma)
    lat = read_numbers(lat_s, decimal_comma=decimal_comma)
    return check_lonlat_values(
        rej,
        rownos,
        lon.values,
        lat.values,
        lon_s.str.strip().eq("").to_numpy(),
        lat_s.str.strip().eq("").to_numpy(),
        lon_text=lambda: lon_s.to_numpy(dtype=object),
        lat_text=lambda: lat_s.to_numpy(dtype=object),
        bbox=bbox,
        lon_field=lon_field,
        lat_field=lat_field,
        lon_why=lon.why,
        lat_why=lat.why,
        pair_sep=";" if decimal_comma else ",",
    )


def check_lonlat_values(
    rej: Rejector,
    rownos: np.ndarray,
    lon: np.ndarray,
    lat: np.ndarray,
    lon_blank: np.ndarray,
    lat_blank: np.ndarray,
    *,
    lon_text: Callable[[], np.ndarray],
    lat_text: Callable[[], np.ndarray],
    bbox: tuple[float, float, float, float] | None,
    lon_field: str = "Longitude",
    lat_field: str = "Latitude",
    lon_why: np.ndarray | None = None,
    lat_why: np.ndarray | None = None,
    pair_sep: str = ",",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Check parsed WGS84 coordinates; returns lon, lat and a 'has location' mask.

    ``lon``/``lat`` are NaN where the text was not a number; ``*_blank`` say where it was blank;
    ``*_text`` give the original text for rejects (only called when a row is rejected); ``*_why``
    say more of a value that is no number (:func:`~patrolwise.io.tabular.read_numbers`). Both
    blank means no location (kept: a real crime, unmappable). Anything else must be a real
    position: numbers, not (0, 0), inside the force area, and not latitude/longitude swapped.
    Rejects of the pair give both texts joined by ``pair_sep`` (';' where a comma is a decimal).
    """

    def pair() -> np.ndarray:
        lo, la = lon_text(), lat_text()
        return np.array([f"{a}{pair_sep}{b}" for a, b in zip(lo, la, strict=True)], dtype=object)

    both_blank = lon_blank & lat_blank
    rej.reject(
        lon_blank ^ lat_blank,
        rownos,
        lon_field,
        pair,
        "only one of longitude/latitude given: give both, or neither for no location",
    )
    # not finite, not just NaN: 'inf' and '1e999' parse as floats but are no position, and
    # would otherwise pass as "no location" (kept unmappable, the given position dropped)
    rej.reject(
        ~lon_blank & ~np.isfinite(lon),
        rownos,
        lon_field,
        lon_text,
        not_a_number("longitude", lon_why),
    )
    rej.reject(
        ~lat_blank & ~np.isfinite(lat),
        rownos,
        lat_field,
        lat_text,
        not_a_number("latitude", lat_why),
    )
    has = ~both_blank & np.isfinite(lon) & np.isfinite(lat)
    zero = has & (lon == 0) & (lat == 0)
    rej.reject(
        zero,
        rownos,
        lon_field,
        pair,
        "coordinates are (0, 0), a placeholder for a missing location: leave both blank instead",
    )
    rng = has & ((np.abs(lon) > 180) | (np.abs(lat) > 90))
    rej.reject(rng, rownos, lon_field, pair, "coordinates out of range for longitude/latitude")
    if bbox is not None:
        x0, y0, x1, y1 = bbox
        inside = in_bbox(lon, lat, bbox)
        rej.reject(
            has & swapped_lonlat(lon, lat, bbox),
            rownos,
            lon_field,
            pair,
            "longitude and latitude look swapped: swap the two columns",
        )
        rej.reject(
            has & ~inside,
            rownos,
            lon_field,
            pair,
            f"location outside the force area ({x0}, {y0}, {x1}, {y1})",
        )
    return lon, lat, has


def project(
    lon: np.ndarray, lat: np.ndarray, has: np.ndarray, crs: str
) -> tuple[np.ndarray, np.ndarray]:
    x = np.full(len(lon), np.nan)
    y = np.full(len(lon), np.nan)
    if has.any():
        # each distinct point once: police.uk snaps a force's crimes to a few thousand map
        # points, and PROJ per row was ~0.6 s of a million-row import
        codes, uniq = pd.factorize(lon[has] + 1j * lat[has])
        ux, uy = to_projected(uniq.real, uniq.imag, crs)
        x[has], y[has] = ux[codes], uy[codes]
    return x, y


#: what identifies a crime's place (x and y follow from lon and lat; mappable from their presence)
PLACE_KEY_COLUMNS = ["lon", "lat", "location", "lsoa_code", "lsoa_name"]


def place_hashes(rows: pd.DataFrame) -> np.ndarray:
    """Signed 64-bit content hash of each row's place (what the unique index is on).

    ``pandas.util.hash_pandas_object`` hashes categorical and object columns to the same values,
    so readers may hand over either; blank text and NULL hash differently, as they are stored.
    """
    key = pd.DataFrame(
        {
            "lon": rows["lon"].to_numpy(dtype=float),
            "lat": rows["lat"].to_numpy(dtype=float),
            **{c: rows[c].array for c in PLACE_KEY_COLUMNS[2:]},
        },
    )
    return _hash_key(key, PLACE_KEY_COLUMNS[2:])


def _hash_key(key: pd.DataFrame, text: list[str]) -> np.ndarray:
    """pandas' row hash of ``key``, its ``text`` columns as categories or Python objects with
    None for NULL (the two hash alike, as a NULL read back from the store does)."""
    for c in text:
        if not isinstance(key[c].dtype, pd.CategoricalDtype):
            key[c] = key[c].astype(object).where(key[c].notna(), None)
    return pd.util.hash_pandas_object(key, index=False).to_numpy(dtype=np.uint64).view(np.int64)


#: a crime's repeated labels: what kind of record it is, whose, how precise, what offence and
#: what became of it (stored once per distinct combination, in ``crime_labels``)
LABEL_COLUMNS = [
    "source_kind",
    "force",
    "reported_by",
    "precision",
    "category",
    "offence",
    "ho_code",
    "outcome",
]


def label_hashes(
    rows: pd.DataFrame, text: list[str] = LABEL_COLUMNS, numbers: tuple[str, ...] = ()
) -> np.ndarray:
    """Signed 64-bit content hash of each row's labels: the ``text`` columns (default
    :data:`LABEL_COLUMNS`) and the ``numbers`` columns, hashed as float64 (the store adds the
    harm and its table this way, so an id read back as a float hashes as it was written).

    Like :func:`place_hashes`, categorical and object columns hash alike and NULL differs from
    blank text, so the same labels hash alike whichever reader produced them.
    """
    cols: dict[str, Any] = {c: rows[c].array for c in text}
    cols.update({c: rows[c].to_numpy(dtype=np.float64) for c in numbers})
    # a few hundred combinations over a chunk of 100,000 rows: hashed once each (by the same
    # function, so the values are those of hashing every row) and spread by their row codes,
    # which took a fifth of the time of hashing eight columns row by row
    codes = np.zeros(len(rows), dtype=np.int64)
    radix = 1
    for v in cols.values():
        k, uniq = (
            (v.codes, v.categories)
            if isinstance(v, pd.Categorical)
            else pd.factorize(v, use_na_sentinel=True)
        )
        radix *= len(uniq) + 1
        if radix >= 2**62:  # too many combinations to number (not seen in real files)
            return _hash_key(pd.DataFrame(cols), text)
        codes = codes * (len(uniq) + 1) + (np.asarray(k, dtype=np.int64) + 1)
    inverse, distinct = pd.factorize(codes)
    first = np.empty(len(distinct), dtype=np.intp)
    first[inverse[::-1]] = np.arange(len(codes) - 1, -1, -1)  # each one's first row
    return _hash_key(pd.DataFrame({c: v.take(first) for c, v in cols.items()}), text)[inverse]


def combine_hashes(columns: list[np.ndarray]) -> np.ndarray:
    """Combine per-column uint64 hashes into one per row, exactly as
    ``pandas.util.hash_pandas_object(frame, index=False)`` does (a test holds us to it), so a
    reader may hash each column its own fast way and still produce pandas' row hash.
    """
    n_cols = len(columns)
    mult = np.uint64(1000003)
    out = np.full(len(columns[0]) if n_cols else 0, 0x345678, dtype=np.uint64)
    for i, a in enumerate(columns):
        inverse_i = n_cols - i
        out ^= a.astype(np.uint64, copy=False)
        out *= mult
        mult += np.uint64(82520 + inverse_i + inverse_i)
    out += np.uint64(97531)
    return out


def content_hash(df: pd.DataFrame) -> np.ndarray:
    """A stable 64-bit hash of each row's content (signed, to fit a BIGINT column)."""
    h = pd.util.hash_pandas_object(df, index=False).to_numpy(dtype=np.uint64)
    return h.view(np.int64)


class Occurrences:
    """How often each content hash was seen in the earlier chunks of one file.

    Sorted arrays, not a dict: a police.uk file's anti-social behaviour rows (a quarter of a
    million in a million-row file) were counted one Python dict update per distinct row.
    """

    def __init__(self) -> None:
        self.hashes = np.zeros(0, dtype=np.int64)  # sorted
        self.counts = np.zeros(0, dtype=np.int64)

    def add(self, uniq: np.ndarray, counts: np.ndarray) -> np.ndarray:
        """Count ``counts`` more of each of the sorted distinct hashes ``uniq``; returns how
        many of each were seen before."""
        base = np.zeros(len(uniq), dtype=np.int64)
        found = np.zeros(len(uniq), dtype=bool)
        if len(self.hashes):
            pos = np.minimum(np.searchsorted(self.hashes, uniq), len(self.hashes) - 1)
            found = self.hashes[pos] == uniq
            base[found] = self.counts[pos[found]]
            self.counts[pos[found]] += counts[found]
        if not found.all():
            k = np.concatenate([self.hashes, uniq[~found]])
            o = np.argsort(k, kind="stable")
            self.hashes, self.counts = k[o], np.concatenate([self.counts, counts[~found]])[o]
        return base


_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def hex16(h: np.ndarray) -> pa.Array:
    """Each 64-bit value as 16 lower-case hex digits (``f"{v:016x}"`` of its unsigned value),
    built as one Arrow buffer rather than a Python string a row."""
    u = np.ascontiguousarray(h).view(np.uint64)
    digits = (u[:, None] >> np.arange(60, -4, -4, dtype=np.uint64)) & np.uint64(15)
    chars = np.ascontiguousarray(_HEX[digits.astype(np.intp)])
    offsets = np.arange(0, 16 * (len(u) + 1), 16, dtype=np.int32)
    return pa.StringArray.from_buffers(len(u), pa.py_buffer(offsets), pa.py_buffer(chars))


def synthetic_keys(prefix: pd.Series, h: np.ndarray, seen: Occurrences | None = None) -> pd.Series:
    """Keys for rows with no ID: ``prefix:hash:occurrence`` (content hash in hex, plus the
    occurrence number within the file).

    Identical rows are real (two ASB reports at one snapped point in one month), so the n-th copy
    gets ``:n``; re-importing the same file regenerates the same keys and adds nothing. ``seen``
    carries occurrence counts across the chunks of one file. Built with array operations (the
    occurrence is the row's rank among equal hashes), as Arrow-backed text.
    """
    n_rows = len(h)
    order = np.argsort(h, kind="stable")
    hs = np.asarray(h, dtype=np.int64)[order]
    start = np.ones(n_rows, dtype=bool)
    start[1:] = hs[1:] != hs[:-1]
    first = np.flatnonzero(start)
    group = np.cumsum(start) - 1
    rank = np.arange(n_rows) - first[group]
    if seen is not None and n_rows:
        rank += seen.add(hs[first], np.diff(np.append(first, n_rows)))[group]
    occurrence = np.empty(n_rows, dtype=np.int64)
    occurrence[order] = rank
    keys = pc.binary_join_element_wise(
        pa.array(prefix.to_numpy(dtype=object), type=pa.string()),
        hex16(np.asarray(h, dtype=np.int64)),
        pc.cast(pa.array(occurrence), pa.string()),
        ":",
    )
    return pd.Series(keys.to_pandas(), index=None)

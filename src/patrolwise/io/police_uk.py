"""police.uk street-level crime files: single monthly CSVs and the archive download (zip).

What real files look like (see ../shared/data/README.md): CRLF line endings, 12 columns, a blank
``Crime ID`` on every anti-social behaviour row, "No Location" rows with empty coordinates (real
crimes: kept, flagged unmappable), "On or near " with no street, coordinates snapped to anonymised
map points, and month precision only. We never invent a day or time.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import FatalImportError
from .crime_rows import (
    COLUMNS,
    Parsed,
    Rejector,
    check_lonlat,
    content_hash,
    project,
    synthetic_keys,
)
from .tabular import Opener, iter_csv_chunks

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


def _strip_few(s: pd.Series) -> pd.Series:
    """Strip a column with few distinct values (month, category, force) once per value."""
    codes, uniq = pd.factorize(s)
    stripped = np.array([str(u).strip() for u in uniq], dtype=object)
    return pd.Series(stripped[codes] if len(uniq) else np.array([], dtype=object), index=s.index)


class _FileState:
    """What must be remembered across chunks of one file: IDs seen, content-key occurrences."""

    def __init__(self) -> None:
        self.offset = 0
        self.first_row: dict[str, int] = {}
        self.occurrences: dict[int, int] = {}


def parse_file(
    open_fn: Opener,
    name: str,
    *,
    crs: str,
    bbox: tuple[float, float, float, float] | None,
    chunksize: int = 200_000,
) -> Iterator[Parsed]:
    """Validate one police.uk CSV into normalised crime frames, one per chunk of rows."""
    state = _FileState()
    for df in iter_csv_chunks(open_fn, name, chunksize):
        yield _parse_chunk(df, name, crs=crs, bbox=bbox, state=state)


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
    )


def _parse_chunk(
    df: pd.DataFrame,
    name: str,
    *,
    crs: str,
    bbox: tuple[float, float, float, float] | None,
    state: _FileState,
) -> Parsed:
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise FatalImportError(
            name,
            f"missing column(s) {', '.join(missing)}: is this a police.uk street-level file? "
            f"(expected {', '.join(HEADER)})",
        )
    for c in HEADER:
        if c not in df.columns:
            df[c] = ""
    n = len(df)
    rownos = np.arange(2, n + 2) + state.offset
    state.offset += n
    rej = Rejector(name, n)
    month = _strip_few(df["Month"])
    ok_month = month.str.fullmatch(r"\d{4}-(0[1-9]|1[0-2])").to_numpy(dtype=bool)
    rej.reject(~ok_month, rownos, "Month", month, "Month is not a YYYY-MM month")
    ctype = _strip_few(df["Crime type"])
    rej.reject(ctype.eq("").to_numpy(), rownos, "Crime type", ctype, "Crime type is blank")
    lon, lat, has = check_lonlat(rej, rownos, df["Longitude"], df["Latitude"], bbox)
    cid = df["Crime ID"].str.strip()
    has_id = cid.ne("").to_numpy()
    # duplicate IDs within the file, across chunks: the first occurrence wins
    dup = has_id & cid.duplicated(keep="first").to_numpy()
    if state.first_row:
        dup |= has_id & cid.isin(state.first_row.keys()).to_numpy()
    if dup.any():
        firsts = dict(state.first_row)
        uniq = ~cid.duplicated(keep="first").to_numpy()
        firsts.update(
            {k: r for k, r in zip(cid[uniq], rownos[uniq], strict=True) if k not in firsts}
        )
        earlier = np.array(
            [firsts.get(k, r) for k, r in zip(cid, rownos, strict=True)], dtype=np.int64
        )
        rej.reject(
            dup,
            rownos,
            "Crime ID",
            cid,
            pd.Series([f"duplicate Crime ID: first seen at row {r}" for r in earlier]),
        )
    new_ids = has_id & ~dup
    state.first_row.update(zip(cid[new_ids], rownos[new_ids], strict=True))
    good = ~rej.bad
    h = content_hash(df[HEADER])
    key = cid.to_numpy(dtype=object, copy=True)
    if (~has_id).any():
        idx = np.flatnonzero(~has_id)
        key[idx] = synthetic_keys(("m" + month.iloc[idx]), h[idx], state.occurrences).to_numpy()
    x, y = project(lon, lat, has & good, crs)
    out = pd.DataFrame(
        {
            "crime_key": key,
            "row_hash": h,
            "source_kind": "police_uk",
            "crime_id": cid.where(has_id, None),
            "force": _strip_few(df["Falls within"]),
            "reported_by": _strip_few(df["Reported by"]),
            "month": month,
            "precision": "month",
            "occurred_at": pd.NaT,
            "occurred_from": pd.NaT,
            "occurred_to": pd.NaT,
            "category": ctype,
            "offence": None,
            "ho_code": None,
            "lon": np.where(has, lon, np.nan),
            "lat": np.where(has, lat, np.nan),
            "x": x,
            "y": y,
            "mappable": has,
            "location": df["Location"],
            "lsoa_code": df["LSOA code"].replace("", None),
            "lsoa_name": df["LSOA name"].replace("", None),
            "outcome": df["Last outcome category"].replace("", None),
            "context": df["Context"].replace("", None),
            "attrs": None,
        },
        columns=COLUMNS,
    )
    out["_row"] = rownos
    return Parsed(out[good].reset_index(drop=True), rej.frame(), n, [])

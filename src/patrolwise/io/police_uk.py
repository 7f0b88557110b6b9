"""police.uk street-level crime files: single monthly CSVs and the archive download (zip).

What real files look like (see ../shared/data/README.md): CRLF line endings, 12 columns, a blank
``Crime ID`` on every anti-social behaviour row, "No Location" rows with empty coordinates (real
crimes: kept, flagged unmappable), "On or near " with no street, coordinates snapped to anonymised
map points, and month precision only. We never invent a day or time.
"""

from __future__ import annotations

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
from .tabular import read_bytes, read_csv_text

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


def iter_sources(path: Path) -> Iterator[tuple[str, bytes]]:
    """(name, bytes) for a CSV, or for each ``YYYY-MM/YYYY-MM-<force>-street.csv`` in a zip.

    Other members of an archive (outcomes, stop and search) are not street crimes and are skipped.
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
                yield f"{path}!{n}", zf.read(n)
    else:
        yield str(path), read_bytes(path)


def parse(
    raw: bytes, name: str, *, crs: str, bbox: tuple[float, float, float, float] | None
) -> Parsed:
    """Validate one police.uk CSV into the normalised crime frame."""
    df = read_csv_text(raw, name)
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
    rownos = np.arange(2, n + 2)
    rej = Rejector(name, n)
    month = df["Month"].str.strip()
    ok_month = month.str.fullmatch(r"\d{4}-(0[1-9]|1[0-2])").to_numpy()
    rej.reject(~ok_month, rownos, "Month", month, "Month is not a YYYY-MM month")
    ctype = df["Crime type"].str.strip()
    rej.reject(ctype.eq("").to_numpy(), rownos, "Crime type", ctype, "Crime type is blank")
    lon, lat, has = check_lonlat(rej, rownos, df["Longitude"], df["Latitude"], bbox)
    cid = df["Crime ID"].str.strip()
    has_id = cid.ne("").to_numpy()
    dup = has_id & cid.duplicated(keep="first").to_numpy()
    if dup.any():
        first = pd.Series(rownos, index=df.index).groupby(cid).transform("first").to_numpy()
        rej.reject(
            dup,
            rownos,
            "Crime ID",
            cid,
            pd.Series([f"duplicate Crime ID: first seen at row {r}" for r in first]),
        )
    good = ~rej.bad
    h = content_hash(df[HEADER])
    key = cid.copy()
    if (~has_id).any():
        idx = np.flatnonzero(~has_id)
        key.iloc[idx] = synthetic_keys(("m" + month.iloc[idx]), h[idx]).to_numpy()  # type: ignore[call-overload]
    x, y = project(lon, lat, has & good, crs)
    out = pd.DataFrame(
        {
            "crime_key": key,
            "row_hash": h,
            "source_kind": "police_uk",
            "crime_id": cid.where(has_id, None),
            "force": df["Falls within"].str.strip(),
            "reported_by": df["Reported by"].str.strip(),
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

"""Crime places: each distinct point (and its location text and LSOA) stored once.

police.uk snaps every crime to one of a few thousand anonymised map points per force, and repeats
the point's coordinates, street text and LSOA on every row. Keeping those eight columns in a
``crime_places`` row that crimes point at makes a crime row a third as wide, which is most of what
a bulk insert costs (binding values and writing pages). Places are keyed by a 64-bit hash of their
content, so re-importing a file finds the places it made the first time and adds none.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
from sqlalchemy import Connection

from ..io.crime_rows import place_hashes

#: the place columns of the crime frame, in the order they are hashed and stored
PLACE_COLUMNS = ["lon", "lat", "x", "y", "mappable", "location", "lsoa_code", "lsoa_name"]


def _floats(values: np.ndarray) -> list[object]:
    return [None if np.isnan(v) else float(v) for v in values]


def as_objects(s: pd.Series) -> np.ndarray:
    """Column values as Python objects with None for missing (what DB drivers bind as NULL)."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        # a categorical column (the police.uk reader's repeated text): one take, no NA scan
        cats = np.empty(len(s.cat.categories) + 1, dtype=object)  # code -1 picks the None
        cats[:-1] = s.cat.categories.to_numpy(dtype=object)
        return cats[s.cat.codes.to_numpy()]  # type: ignore[no-any-return]
    # the Series' own missing mask: a bitmap for Arrow-backed text, where pd.isna over the
    # object array tested every string (~0.9 s of a million-row import)
    missing = s.isna().to_numpy(dtype=bool)
    arr = s.to_numpy(dtype=object, copy=True)
    arr[missing] = None
    return arr  # type: ignore[no-any-return]


def store_places(conn: Connection, rows: pd.DataFrame, known: set[int] | None = None) -> None:
    """Store the places of these rows that are not stored yet.

    Crimes refer to their place by its content hash, so nothing has to be read back: only the
    chunk's distinct places touch the database (a few thousand for a police.uk month), inserted
    with ``ON CONFLICT DO NOTHING``. ``known`` carries the hashes one import has already stored,
    so later chunks and months send only the places they add.
    """
    if not len(rows):
        return
    known = set() if known is None else known
    h = (
        rows["_place_hash"].to_numpy(dtype=np.int64)
        if "_place_hash" in rows
        else place_hashes(rows)
    )
    uniq, first = np.unique(h, return_index=True)
    todo = np.array([k not in known for k in uniq.tolist()], dtype=bool)
    if todo.any():
        _store_places(conn, uniq[todo], rows.iloc[first[todo]])
        known.update(uniq[todo].tolist())


def _store_places(conn: Connection, uniq: np.ndarray, places: pd.DataFrame) -> None:
    """Insert these distinct places (hashes ``uniq``) unless already stored."""
    pg = conn.dialect.name == "postgresql"
    mappable = places["mappable"].to_numpy(dtype=bool)
    cols: list[list[object]] = [
        list(uniq.tolist()),
        *[_floats(places[c].to_numpy(dtype=float)) for c in ("lon", "lat", "x", "y")],
        list(mappable.tolist() if pg else mappable.astype(np.int64).tolist()),
        *[as_objects(places[c]).tolist() for c in ("location", "lsoa_code", "lsoa_name")],
    ]
    names = "place_hash, lon, lat, x, y, mappable, location, lsoa_code, lsoa_name"
    raw = conn.connection.driver_connection
    cur = raw.cursor()  # type: ignore[union-attr]
    try:
        if pg:
            # COPY of CSV text from Arrow's writer: psycopg adapting Python lists to arrays
            # was a third of a second per month of places
            table = pa.table(
                {
                    "place_hash": pa.array(uniq, type=pa.int64()),
                    **{
                        c: pa.array(places[c].to_numpy(dtype=float), from_pandas=True)
                        for c in ("lon", "lat", "x", "y")
                    },
                    "mappable": pa.array(mappable),
                    **{
                        c: pa.array(as_objects(places[c]).tolist(), type=pa.string())
                        for c in ("location", "lsoa_code", "lsoa_name")
                    },
                }
            )
            buf = pa.BufferOutputStream()
            pacsv.write_csv(table, buf, pacsv.WriteOptions(include_header=False))
            cur.execute(
                "CREATE TEMP TABLE IF NOT EXISTS _stage_places "
                "(LIKE crime_places INCLUDING DEFAULTS) ON COMMIT DROP"
            )
            cur.execute("TRUNCATE _stage_places")
            with cur.copy(f"COPY _stage_places ({names}) FROM STDIN WITH (FORMAT csv)") as cp:
                cp.write(buf.getvalue().to_pybytes())
            cur.execute(
                f"INSERT INTO crime_places ({names}) SELECT {names} FROM _stage_places "
                "ON CONFLICT (place_hash) DO NOTHING"
            )
        else:
            cur.executemany(
                f"INSERT OR IGNORE INTO crime_places ({names}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                zip(*cols, strict=True),
            )
    finally:
        cur.close()

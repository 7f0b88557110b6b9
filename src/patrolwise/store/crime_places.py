"""Crime places and labels: each distinct point (with its location text and LSOA), and each
distinct combination of a crime's labels (source, force, offence, outcome, harm), stored once.

police.uk snaps every crime to one of a few thousand anonymised map points per force, and repeats
the point's coordinates, street text and LSOA on every row. Keeping those eight columns in a
``crime_places`` row that crimes point at makes a crime row a third as wide, which is most of what
a bulk insert costs (binding values and writing pages); labels, the text every crime of a kind
repeats, narrow it again. Both are keyed by a 64-bit hash of their content, so re-importing a
file finds the places and labels it made the first time and adds none.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
from sqlalchemy import Connection

from ..io.crime_rows import LABEL_COLUMNS, label_hashes, place_hashes

#: the place columns of the crime frame, in the order they are hashed and stored
PLACE_COLUMNS = ["lon", "lat", "x", "y", "mappable", "location", "lsoa_code", "lsoa_name"]


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

    def table(uniq: np.ndarray, places: pd.DataFrame) -> pa.Table:
        return pa.table(
            {
                "place_hash": pa.array(uniq, type=pa.int64()),
                **{
                    c: pa.array(places[c].to_numpy(dtype=float), from_pandas=True)
                    for c in ("lon", "lat", "x", "y")
                },
                "mappable": pa.array(places["mappable"].to_numpy(dtype=bool)),
                **{c: _text(places[c]) for c in ("location", "lsoa_code", "lsoa_name")},
            }
        )

    h = _hashes(rows, "_place_hash", place_hashes)
    store_distinct(conn, "crime_places", rows, h, table, known)


#: a ``crime_labels`` row: the reader's labels and the harm the import gave them (the text
#: columns, then the numbers, as they are hashed)
LABEL_TEXT = [*LABEL_COLUMNS, "harm_status"]
LABEL_NUMBERS = ("harm", "harm_table_id")


def label_row_hashes(rows: pd.DataFrame) -> np.ndarray:
    """Each row's ``crime_labels.label_hash``: its labels with its harm, status and table."""
    return label_hashes(rows, LABEL_TEXT, LABEL_NUMBERS)


def store_labels(conn: Connection, rows: pd.DataFrame, known: set[int] | None = None) -> None:
    """Store the label rows (:data:`LABEL_TEXT`, :data:`LABEL_NUMBERS`) of these rows not
    stored yet, as :func:`store_places` stores places."""

    def table(uniq: np.ndarray, labels: pd.DataFrame) -> pa.Table:
        return pa.table(
            {
                "label_hash": pa.array(uniq, type=pa.int64()),
                **{c: _text(labels[c]) for c in LABEL_TEXT},
                "harm": pa.array(labels["harm"].to_numpy(dtype=float), from_pandas=True),
                "harm_table_id": pa.array(
                    labels["harm_table_id"].to_numpy(dtype=float), from_pandas=True
                ).cast(pa.int64()),
            }
        )

    h = _hashes(rows, "_label_hash", label_row_hashes)
    store_distinct(conn, "crime_labels", rows, h, table, known)


def _hashes(
    rows: pd.DataFrame, column: str, compute: Callable[[pd.DataFrame], np.ndarray]
) -> np.ndarray:
    """The hashes the importer put in ``column``, or computed here (a migration's rows)."""
    return rows[column].to_numpy(dtype=np.int64) if column in rows else compute(rows)


def _text(s: pd.Series) -> pa.Array:
    return pa.array(as_objects(s).tolist(), type=pa.string())


def store_distinct(
    conn: Connection,
    name: str,
    rows: pd.DataFrame,
    hashes: np.ndarray,
    make: Callable[[np.ndarray, pd.DataFrame], pa.Table],
    known: set[int] | None,
) -> None:
    """Insert into table ``name`` one row per distinct hash not in ``known`` (nor stored).

    ``make(uniq, firsts)`` builds the rows to store from the distinct hashes and the first row
    of ``rows`` holding each; its first column is the table's unique hash column.
    """
    if not len(rows):
        return
    known = set() if known is None else known
    uniq, first = np.unique(hashes, return_index=True)
    todo = np.array([k not in known for k in uniq.tolist()], dtype=bool)
    if not todo.any():
        return
    table = make(uniq[todo], rows.iloc[first[todo]])
    names = ", ".join(table.column_names)
    raw = conn.connection.driver_connection
    cur = raw.cursor()  # type: ignore[union-attr]
    try:
        if conn.dialect.name == "postgresql":
            # COPY of CSV text from Arrow's writer: psycopg adapting Python lists to arrays
            # was a third of a second per month of places
            buf = pa.BufferOutputStream()
            pacsv.write_csv(table, buf, pacsv.WriteOptions(include_header=False))
            cur.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS _stage_{name} "
                f"(LIKE {name} INCLUDING DEFAULTS) ON COMMIT DROP"
            )
            cur.execute(f"TRUNCATE _stage_{name}")
            with cur.copy(f"COPY _stage_{name} ({names}) FROM STDIN WITH (FORMAT csv)") as cp:
                cp.write(buf.getvalue().to_pybytes())
            cur.execute(
                f"INSERT INTO {name} ({names}) SELECT {names} FROM _stage_{name} "
                f"ON CONFLICT ({table.column_names[0]}) DO NOTHING"
            )
        else:
            marks = ", ".join("?" * table.num_columns)
            cur.executemany(
                f"INSERT OR IGNORE INTO {name} ({names}) VALUES ({marks})",
                zip(*(c.to_pylist() for c in table.columns), strict=True),
            )
    finally:
        cur.close()
    known.update(uniq[todo].tolist())

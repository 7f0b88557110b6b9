"""Crime import: transactional, idempotent, with every rejected row reported.

One transaction per input path (a zip archive is one path): a fatal error anywhere in it leaves the
database as it was. Rows are keyed (police.uk ``Crime ID``; an incident extract's force and
incident ID; a content hash plus occurrence number for rows with no ID), so importing a file twice
adds nothing. Counts always reconcile:
``read = imported + already_present + rejected``. The rejects report is written once the
transaction has committed, so no report exists for an import that did not happen.

Speed: rows go in by compiled binding on SQLite (:mod:`.sqlite_bulk`) and ``COPY`` on
PostgreSQL, in chunks, with the existence check done only when the insert reports conflicts. Each
distinct place is stored once (:mod:`.crime_places`), so crime rows stay narrow.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import queue
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from sqlalchemy import Connection, text

from ..config import get_settings
from ..errors import FatalImportError
from ..harm import HarmRules, HarmTable
from ..io import incidents, police_uk
from ..io.crime_rows import COLUMNS as CRIME_COLUMNS
from ..io.crime_rows import LABEL_COLUMNS, REJECT_COLUMNS, Parsed, place_hashes
from ..io.rejects_report import write_report
from ..io.tabular import decode, read_header, refuse_not_text, sniff_delimiter
from . import sqlite_bulk
from .crime_places import PLACE_COLUMNS, label_row_hashes, store_labels, store_places
from .db import Store, utcnow
from .harm_tables import default_table_id, load_table

#: columns written to ``crimes``: the reader's columns (minus the text key, which is hashed, and
#: the place and labels, stored once each and referred to by hash) plus what the store adds
#: (key hash, batch; harm goes with the labels)
DB_COLUMNS = [
    "key_hash",
    "row_key",
    "batch_id",
    *[c for c in CRIME_COLUMNS if c not in ("crime_key", "attrs", *PLACE_COLUMNS, *LABEL_COLUMNS)],
    "label_hash",
    "place_hash",
    "attrs",
]
CHUNK = 100_000
#: PostgreSQL advisory lock key of crime imports (any fixed 64-bit number no other lock uses)
IMPORT_LOCK = 0x7061_7472_6F6C_6331  # 'patrolc1'


@dataclass
class ImportSummary:
    """What became of one input path. ``read == imported + already_present + rejected``."""

    file: str
    format: str
    rows_read: int = 0
    imported: int = 0
    already_present: int = 0
    rejected: int = 0
    #: rows without a location among those this run imported (kept: real crimes, unmappable);
    #: rows already present or rejected are not counted, so re-importing a file reports 0 (as in
    #: ``import_batches.unmappable``, which thus adds up over the batches that brought them in)
    unmappable: int = 0
    harm_missing: dict[str, int] = field(default_factory=dict)
    harm_asb: int = 0
    harm_excluded: int = 0
    harm_table: str = ""
    #: the rules applied with the table (ASB floor, proactive exclusion)
    harm_rules: dict[str, Any] = field(default_factory=dict)
    #: what the harm rules could not do with this table (said, never silent)
    harm_notes: list[str] = field(default_factory=list)
    rejects_file: str | None = None
    batch_id: int | None = None
    months: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def sniff_format(path: Path) -> str:
    """``police_uk`` or ``incidents`` from the extension and the header line."""
    if path.suffix.lower() == ".zip":
        return "police_uk"
    if path.suffix.lower() in (".geojson", ".json"):
        return "incidents"
    try:
        with path.open("rb") as fh:
            head = fh.read(4096)
    except FileNotFoundError as exc:
        raise FatalImportError(str(path), "file not found") from exc
    except OSError as exc:
        raise FatalImportError(str(path), f"cannot read: {exc}") from exc
    refuse_not_text(head, str(path))
    first = decode(head, str(path)).splitlines()[0] if head.strip() else ""
    cols = [c.strip().strip('"') for c in first.split(sniff_delimiter(first))]
    return "police_uk" if police_uk.looks_like(cols) else "incidents"


def _sources(
    path: Path, fmt: str, mapping: dict[str, str] | None, force: str | None = None
) -> Iterator[Parsed]:
    """Parsed chunks of one path. ``force`` names whose incident extract it is (default: the
    configured force); a police.uk file names its own force on every row."""
    s = get_settings()
    if fmt == "police_uk":
        for name, opener in police_uk.iter_sources(path):
            yield from police_uk.parse_file(opener, name, crs=s.crs, bbox=s.force_bbox)
    else:
        yield from incidents.parse_chunks(
            path,
            crs=s.crs,
            tz=s.timezone,
            bbox=s.force_bbox,
            mapping=mapping,
            force=force or s.force,
        )


#: how a police.uk file names the columns the store limits in length
_POLICE_UK_FIELD = {
    "crime_id": "Crime ID",
    "force": "Falls within",
    "reported_by": "Reported by",
    "category": "Crime type",
    "lsoa_code": "LSOA code",
    "lsoa_name": "LSOA name",
}


def _length_limits() -> dict[str, int]:
    """Reader column -> the store's maximum length (VARCHAR(n); PostgreSQL enforces it)."""
    from sqlalchemy import String

    from .models import Crime, CrimeLabel, CrimePlace

    limits: dict[str, int] = {}
    for tbl in (Crime.__table__, CrimeLabel.__table__, CrimePlace.__table__):
        for col in tbl.columns:
            if isinstance(col.type, String) and col.type.length and col.name in CRIME_COLUMNS:
                limits[col.name] = int(col.type.length)
    return limits


def reject_overlong(parsed: Parsed, fmt: str) -> Parsed:
    """Rows with a value longer than its column become rejects naming the field.

    SQLite stores any length, PostgreSQL refuses the whole COPY; either way a 5,000-character
    crime type is a bad row, so both back ends reject it the same way, row by row.
    """
    rows = parsed.rows
    if not len(rows):
        return parsed
    bad = np.zeros(len(rows), dtype=bool)
    parts: list[pd.DataFrame] = []
    for col, limit in _length_limits().items():
        if col not in rows.columns:
            continue
        v = rows[col]
        if isinstance(v.dtype, pd.CategoricalDtype):
            cats = v.cat.categories.astype(str)
            long_cat = np.append(cats.str.len().to_numpy() > limit, False)
            codes = v.cat.codes.to_numpy()
            over = long_cat[np.where(codes < 0, len(cats), codes)]
        else:
            # an Arrow-backed text column hands over its buffers as they are (no Python strings)
            strings = (
                pa.array(v.array)
                if isinstance(v.dtype, pd.StringDtype) and v.dtype.storage == "pyarrow"
                else pa.array(v.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
            )
            lens = pc.utf8_length(strings)
            over = pc.fill_null(pc.greater(lens, limit), False).to_numpy(zero_copy_only=False)
        over = over & ~bad
        if over.any():
            field = _POLICE_UK_FIELD.get(col, col) if fmt == "police_uk" else col
            vals = v[over].astype(str)
            parts.append(
                pd.DataFrame(
                    {
                        "file": parsed.source,
                        "row": rows["_row"].to_numpy()[over],
                        "field": field,
                        "value": (vals.str.slice(0, 60) + "...").to_numpy(),
                        "reason": f"{field} is longer than {limit} characters",
                    }
                )
            )
            bad |= over
    if not bad.any():
        return parsed
    rejects = pd.concat([parsed.rejects, *parts], ignore_index=True).sort_values(
        "row", kind="stable"
    )
    return Parsed(
        rows[~bad].reset_index(drop=True), rejects, parsed.read, parsed.warnings, parsed.source
    )


_DONE = object()
T = TypeVar("T")


def prefetched(
    items: Iterator[T], depth: int = 1, meanwhile: Callable[[], object] | None = None
) -> Iterator[T]:
    """The same items, produced one step ahead on a background thread.

    Reading and validating the next chunk (Arrow's reader and numpy release the GIL) overlaps with
    the database taking the current one (SQLite's kernel and PostgreSQL's server run outside the
    GIL). The import chains two: the file is read and checked on one thread and its chunks
    prepared on another, while the caller writes. Each stage holds at most ``depth`` finished
    items waiting for the next. An error in a stage is raised here, in order; if the consumer
    stops early, the stage is told to stop and is waited for. ``meanwhile`` runs on the caller's
    thread while the first item is being produced.
    """
    q: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        q.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(_DONE)
        except BaseException as exc:  # handed to the consumer, raised there
            q.put(exc)

    worker = threading.Thread(target=produce, name="patrolwise-reader", daemon=True)
    worker.start()
    try:
        if meanwhile is not None:
            meanwhile()
        while True:
            item = q.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        while worker.is_alive():
            with contextlib.suppress(queue.Empty):
                q.get(timeout=0.1)
        worker.join()


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def key_hash(keys: pd.Series) -> np.ndarray:
    """Stable signed 64-bit hash of each key string (the unique index is on this)."""
    return pd.util.hash_array(keys.to_numpy(dtype=object), categorize=False).view(np.int64)


def _insert_sqlite(conn: Connection, table: pa.Table) -> int:
    """Insert the chunk's rows, skipping keys already stored; returns the rows inserted.

    :mod:`.sqlite_bulk` binds them from the Arrow columns in compiled code (``executemany``
    where it cannot), inside the import's transaction.
    """
    raw = conn.connection.driver_connection
    # a 128 MB page cache for the bulk insert: each chunk's keys land all over the unique index,
    # and with SQLite's default 8 MB cache a million-row table evicts and rereads its index pages
    # (1.5x slower); memory stays bounded by this cache plus the chunks in flight
    raw.execute("PRAGMA cache_size=-131072")  # type: ignore[union-attr]
    return sqlite_bulk.insert(raw, "INSERT OR IGNORE INTO crimes", table)  # type: ignore[arg-type]


def _arrow_column(values: pd.Series | np.ndarray) -> pa.Array:
    """One DB column as an Arrow array: NaN and None become NULL, categories become text."""
    arr = pa.Array.from_pandas(values)
    if pa.types.is_dictionary(arr.type):
        arr = arr.cast(arr.type.value_type)
    if pa.types.is_timestamp(arr.type):
        arr = arr.cast(pa.timestamp("us"))  # COPY takes at most microseconds
    return arr


def _arrow_rows(rows: pd.DataFrame, batch_id: int) -> pa.Table:
    """The chunk's ``crimes`` rows as an Arrow table, straight from the frame's typed columns
    (PostgreSQL's COPY and SQLite's bulk insert both take it)."""
    n = len(rows)
    cols: dict[str, pa.Array] = {}
    for c in DB_COLUMNS:
        if c in ("place_hash", "label_hash"):
            cols[c] = pa.array(rows[f"_{c}"].to_numpy(dtype=np.int64))
        elif c == "batch_id":
            cols[c] = pa.array(np.full(n, batch_id, dtype=np.int64))
        elif c == "key_hash":
            cols[c] = pa.array(rows["_key_hash"].to_numpy(dtype=np.int64))
        elif c == "row_key":  # the key of a row with no ID (an ID is its own key)
            cols[c] = pc.if_else(
                pa.array(rows["crime_id"].notna().to_numpy()),
                pa.scalar(None, pa.string()),
                _arrow_column(rows["crime_key"].reset_index(drop=True)).cast(pa.string()),
            )
        elif c == "attrs":
            a = rows[c]
            cols[c] = pa.array(
                [None if x is None or x is np.nan else json.dumps(x) for x in a]
                if a.notna().any()
                else [None] * n,
                type=pa.string(),
            )
        else:
            cols[c] = _arrow_column(rows[c].reset_index(drop=True))
    # a column NULL on every row of the chunk is left out of the COPY (it defaults to NULL):
    # police.uk files leave times, offence codes, context and attributes empty
    return pa.table({c: a for c, a in cols.items() if a.null_count < n or n == 0})


def _insert_pg(conn: Connection, table: pa.Table) -> int:
    """COPY the chunk straight into ``crimes``; if a key is already there, insert only the new.

    New data (the usual case) goes in by one COPY inside a savepoint. A key conflict undoes that
    COPY and the chunk goes through a temporary table and ``INSERT ... ON CONFLICT DO NOTHING``.
    The CSV text is written by Arrow's C++ writer (NULL is the unquoted empty field, an empty
    string is written quoted, so both arrive as they are on SQLite), so no Python runs per row.
    """
    import psycopg

    raw = conn.connection.driver_connection
    buf = pa.BufferOutputStream()
    pacsv.write_csv(table, buf, pacsv.WriteOptions(include_header=False, quoting_style="needed"))
    data = buf.getvalue().to_pybytes()
    collist = ", ".join(table.column_names)
    with raw.cursor() as cur:  # type: ignore[union-attr]
        cur.execute("SAVEPOINT pw_crimes_copy")
        try:
            with cur.copy(f"COPY crimes ({collist}) FROM STDIN WITH (FORMAT csv)") as cp:
                cp.write(data)
        except psycopg.errors.UniqueViolation:
            cur.execute("ROLLBACK TO SAVEPOINT pw_crimes_copy")
        else:
            cur.execute("RELEASE SAVEPOINT pw_crimes_copy")
            return table.num_rows
        cur.execute(
            "CREATE TEMP TABLE IF NOT EXISTS _stage_crimes (LIKE crimes INCLUDING DEFAULTS) ON COMMIT DROP"
        )
        cur.execute("TRUNCATE _stage_crimes")
        with cur.copy(f"COPY _stage_crimes ({collist}) FROM STDIN WITH (FORMAT csv)") as cp:
            cp.write(data)
        cur.execute(
            f"INSERT INTO crimes ({collist}) SELECT {collist} FROM _stage_crimes "
            "ON CONFLICT (key_hash) DO NOTHING"
        )
        return int(cur.rowcount)


def _existing(conn: Connection, hashes: np.ndarray, max_id: int) -> pd.DataFrame:
    """Rows that were already in the table before this chunk (id <= max_id) for these keys."""
    raw = conn.connection.driver_connection
    cols = ["key_hash", "row_hash", "month", "key"]
    parts = []
    step = 900 if conn.dialect.name == "sqlite" else 20_000
    mark = "?" if conn.dialect.name == "sqlite" else "%s"
    cur = raw.cursor()  # type: ignore[union-attr]
    try:
        for i in range(0, len(hashes), step):
            chunk = [int(k) for k in hashes[i : i + step]]
            binds = ", ".join([mark] * len(chunk))
            cur.execute(
                "SELECT key_hash, row_hash, month, COALESCE(crime_id, row_key) FROM crimes "
                f"WHERE id <= {int(max_id)} AND key_hash IN ({binds})",
                chunk,
            )
            parts.append(pd.DataFrame(cur.fetchall(), columns=cols))
    finally:
        cur.close()
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)


@dataclass
class _Chunk:
    """Rows ready to write: in key order, with harm, and in the form the database takes."""

    rows: pd.DataFrame
    status: np.ndarray
    payload: pa.Table  # the rows as written
    #: the first row of each distinct place and label (the writer stores those not stored yet)
    places: pd.DataFrame
    labels: pd.DataFrame


def _prepare(rows: pd.DataFrame, batch_id: int, table: HarmTable, table_id: int) -> _Chunk:
    """Everything about a chunk that needs no database: key order, harm, the rows to send.

    Runs on a thread of its own between the reader's and the writer's (see :func:`prefetched`),
    so the writer only talks to the database. Rows go in key order: the unique index then grows
    in runs instead of at random pages, which made SQLite inserts about 1.5x faster. Only the
    rows sent are put in that order, by Arrow's take (outside the GIL); the frame the writer
    counts from stays in file order.
    """
    hashes = (
        rows["_key_hash"].to_numpy(dtype=np.int64)
        if "_key_hash" in rows
        else key_hash(rows["crime_key"])
    )
    order = np.argsort(hashes, kind="stable")
    rows = rows.assign(_key_hash=hashes)
    if "_place_hash" not in rows:
        rows = rows.assign(_place_hash=place_hashes(rows))
    harm, status = table.assign(rows["category"], rows["ho_code"], rows["offence"])
    # the harm goes with the crime's labels (a function of them and the table)
    rows = rows.assign(harm=harm, harm_status=status, harm_table_id=table_id)
    rows = rows.assign(_label_hash=label_row_hashes(rows))
    payload = _arrow_rows(rows, batch_id).take(pa.array(order))
    return _Chunk(rows, status, payload, _firsts(rows, "_place_hash"), _firsts(rows, "_label_hash"))


def _firsts(rows: pd.DataFrame, key: str) -> pd.DataFrame:
    """The first row of each distinct ``key``: a few thousand of a chunk's 100,000 rows, found
    here so the writer's thread only sorts out which are new."""
    return rows[~pd.Index(rows[key].to_numpy()).duplicated()]


def _write_chunk(
    conn: Connection,
    chunk: _Chunk,
    summary: ImportSummary,
    rejects: list[pd.DataFrame],
    name: str,
    known_places: set[int],
    known_labels: set[int],
) -> None:
    rows, status = chunk.rows, chunk.status
    max_id = conn.execute(text("SELECT COALESCE(MAX(id), 0) FROM crimes")).scalar_one()
    if conn.dialect.name == "postgresql":
        inserted = _insert_pg(conn, chunk.payload)
    else:
        inserted = _insert_sqlite(conn, chunk.payload)
    is_new = np.ones(len(rows), dtype=bool)
    if inserted < len(rows):
        hashes = rows["_key_hash"].to_numpy(dtype=np.int64)
        prev = _existing(conn, hashes, max_id)
        prev_month = dict(zip(prev["key_hash"].astype(np.int64), prev["month"], strict=True))
        # each row's stored twin by position, compared as 64-bit integers: mapping the row hashes
        # through a dict gave NaN for the new rows, so the column became float and a stored row
        # beside a new one in a chunk (a file overlapping an earlier import) no longer matched
        # its own hash and was rejected as 'already imported with different details'
        at = pd.Index(prev["key_hash"].to_numpy(dtype=np.int64)).get_indexer(hashes)
        hit = at >= 0
        stored = prev["row_hash"].to_numpy(dtype=np.int64)[np.where(hit, at, 0)] if hit.any() else 0
        same = hit & (stored == rows["row_hash"].to_numpy(dtype=np.int64))
        differ = hit & ~same
        is_new = ~hit
        summary.already_present += int(same.sum())
        if differ.any():
            d = rows[differ]
            rejects.append(
                pd.DataFrame(
                    {
                        "file": name,
                        "row": d["_row"].to_numpy(),
                        "field": "Crime ID",
                        # the ID as the file gives it, not the key (an incident's holds the force)
                        "value": np.where(
                            d["crime_id"].notna(), d["crime_id"], d["crime_key"]
                        ).astype(object),
                        "reason": [
                            f"Crime ID already imported for {prev_month[h]} with different details"
                            for h in hashes[differ]
                        ],
                    }
                )
            )
            summary.rejected += int(differ.sum())
        if int(is_new.sum()) != inserted:  # pragma: no cover - a concurrent writer raced us
            raise FatalImportError(
                name, "rows changed while importing (another import running?): try again"
            )
    # the places and labels of the crimes stored now (no foreign key holds the order); a row
    # already stored, or rejected as differing from it, leaves no place or label behind, so a
    # force is listed only once a crime of it is stored
    new = (chunk.places, chunk.labels)
    if not is_new.all():
        kept = rows[is_new]
        new = (_firsts(kept, "_place_hash"), _firsts(kept, "_label_hash"))
    store_places(conn, new[0], known_places)
    store_labels(conn, new[1], known_labels)
    summary.imported += inserted
    summary.unmappable += int((is_new & ~rows["mappable"].to_numpy(dtype=bool)).sum())
    new_status = status[is_new]
    summary.harm_asb += int((new_status == "asb").sum())
    summary.harm_excluded += int((new_status == "excluded").sum())
    miss = is_new & (status == "missing")
    if miss.any():
        labels = (
            rows.loc[miss, "offence"]
            .fillna(rows.loc[miss, "ho_code"])
            .fillna(rows.loc[miss, "category"])
            .fillna("(blank)")
        )
        for k, v in Counter(labels).items():
            summary.harm_missing[str(k)] = summary.harm_missing.get(str(k), 0) + v


def import_crime_file(
    store: Store,
    path: Path,
    *,
    fmt: str | None = None,
    mapping: dict[str, str] | None = None,
    rules: HarmRules | None = None,
    harm_table_id: int | None = None,
    rejects_dir: Path | None = None,
    progress: Callable[[str, int], None] | None = None,
    force: str | None = None,
) -> ImportSummary:
    """Import one file (or police.uk zip) in one transaction; see the module docstring.

    ``force`` is the force whose incident extract this is (default: the configured force). It is
    stored with each row and is part of each incident's key, so two forces' extracts that both
    number an incident ``INC-0001`` import as two crimes.
    """
    path = Path(path)
    fmt = fmt or sniff_format(path)
    if fmt not in ("police_uk", "incidents"):
        raise FatalImportError(str(path), f"unknown format {fmt!r}: use police_uk or incidents")
    table_id = harm_table_id or default_table_id(store)
    table = load_table(store, table_id, rules)
    summary = ImportSummary(
        file=str(path),
        format=fmt,
        harm_table=f"{table.name} {table.version}",
        harm_rules=table.rules.as_dict(),
    )
    if table.rules.exclude_proactive and not table.values["proactive"].astype(bool).any():
        summary.harm_notes.append(
            f"harm table {summary.harm_table} marks no offence as proactive, so "
            "--exclude-proactive excluded nothing (load the table with --proactive-column)"
        )
    rejects: list[pd.DataFrame] = []
    months: set[str] = set()
    known_places: set[int] = set()
    known_labels: set[int] = set()
    with store.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # one crime import at a time, held to the end of the transaction: two at once each
            # found the other's uncommitted rows mid-way and one failed ('rows changed while
            # importing'), or waited on the other's new places and labels. SQLite's single
            # writer serialises them already.
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": IMPORT_LOCK})
        batch_id = conn.execute(
            text(
                "INSERT INTO import_batches (kind, source, sha256, started_at, rows_read, imported, "
                "already_present, rejected, unmappable) VALUES ('crimes', :s, :h, :t, 0, 0, 0, 0, 0) RETURNING id"
            ),
            {"s": str(path), "h": "", "t": utcnow()},
        ).scalar_one()

        def prepared() -> Iterator[tuple[Parsed, list[_Chunk]]]:
            # two stages on two threads: the next chunk is read and checked while this one is
            # prepared (key order, harm, Arrow columns) and the one before goes into the database
            for parsed in prefetched(_sources(path, fmt, mapping, force)):
                parsed = reject_overlong(parsed, fmt)
                rows = parsed.rows
                yield (
                    parsed,
                    [
                        _prepare(rows.iloc[i : i + CHUNK], batch_id, table, table_id)
                        for i in range(0, len(rows), CHUNK)
                    ],
                )

        digest: list[str] = []

        def meanwhile() -> None:
            """While the first chunk is read (on a 232 MB file the hash takes ~0.15 s, less than
            the first chunk): the file's hash, and SQLite's binder loads its compiled kernel."""
            digest.append(_sha256(path) if path.is_file() else "")
            if conn.dialect.name != "postgresql":
                sqlite_bulk.warm()

        for parsed, chunks in prefetched(prepared(), meanwhile=meanwhile):
            # a zip member's rows are reported under the member, not the archive: row numbers
            # count within the member
            name = parsed.source or str(path)
            summary.rows_read += parsed.read
            summary.rejected += len(parsed.rejects)
            rejects.append(parsed.rejects)
            rows = parsed.rows
            months.update(rows["month"].unique().tolist())
            for chunk in chunks:
                _write_chunk(conn, chunk, summary, rejects, name, known_places, known_labels)
            if progress:
                progress(name, parsed.read)
        summary.batch_id = int(batch_id)
        summary.months = sorted(m for m in months if m)
        rej = (
            pd.concat([r for r in rejects if len(r)], ignore_index=True)
            if any(len(r) for r in rejects)
            else pd.DataFrame(columns=REJECT_COLUMNS)
        )
        assert summary.rows_read == summary.imported + summary.already_present + summary.rejected, (
            summary
        )
        conn.execute(
            text(
                "UPDATE import_batches SET finished_at=:f, rows_read=:r, imported=:i, already_present=:a, "
                "rejected=:j, unmappable=:u, details=:d, sha256=:h WHERE id=:b"
            ),
            {
                "f": utcnow(),
                "h": digest[0],
                "r": summary.rows_read,
                "i": summary.imported,
                "a": summary.already_present,
                "j": summary.rejected,
                "u": summary.unmappable,
                "b": batch_id,
                "d": json.dumps(_details(summary)),
            },
        )
    # the report only once the rows are committed: written before, a commit that failed left a
    # report of rejected rows for an import that never happened
    if len(rej):
        _write_rejects(store, summary, rej, rejects_dir or Path("rejects"), path)
    return summary


def _details(summary: ImportSummary) -> dict[str, Any]:
    """What ``import_batches.details`` records of an import."""
    return {
        "format": summary.format,
        "harm_table": summary.harm_table,
        "harm_rules": summary.harm_rules,
        "harm_missing": summary.harm_missing,
        "rejects_file": summary.rejects_file,
    }


def _write_rejects(
    store: Store, summary: ImportSummary, rej: pd.DataFrame, where: Path, path: Path
) -> None:
    """Write a committed import's rejects report and record its path with the batch.

    The rows are in by now, so a folder that cannot be written is said as such: the import
    happened, and importing the file again (which adds nothing) writes the report.
    """
    try:
        summary.rejects_file = str(write_report(rej, where, path.name))
    except OSError as exc:
        raise FatalImportError(
            str(path),
            f"imported (batch {summary.batch_id}, {summary.imported:,} new row(s)), but its "
            f"rejects report could not be written in {where} ({exc.strerror or exc}): import "
            "it again with --rejects FOLDER naming a folder you can write to (nothing is added "
            "twice)",
        ) from exc
    with store.engine.begin() as conn:
        conn.execute(
            text("UPDATE import_batches SET details=:d WHERE id=:b"),
            {"d": json.dumps(_details(summary)), "b": summary.batch_id},
        )


def check_columns(path: Path, fmt: str, mapping: dict[str, str] | None) -> None:
    """Raise the fatal error a file's header (each member's, for an archive) would raise in the
    import: a missing required column, a mapped column not in the file, an unreadable archive.

    Reads only the start of each CSV (GeoJSON properties are only known from the whole file, so
    those are checked as they are imported).
    """
    if fmt == "police_uk":
        for name, opener in police_uk.iter_sources(path):
            cols = read_header(opener, name)
            missing = [c for c in police_uk.REQUIRED if c not in cols]
            if cols and missing:
                raise FatalImportError(
                    name,
                    f"missing column(s) {', '.join(missing)}: is this a police.uk street-level "
                    f"file? (expected {', '.join(police_uk.HEADER)})",
                )
    elif fmt == "incidents" and path.suffix.lower() not in (".geojson", ".json"):
        cols = read_header(lambda: path.open("rb"), str(path))
        if cols:
            incidents.resolve_columns(cols, mapping, str(path))


def import_crimes(
    store: Store,
    paths: list[Path],
    **kwargs: Any,
) -> list[ImportSummary]:
    """Import several files, one transaction each.

    Every file is checked before any is written: that it exists, is not empty, and that its
    header (each archive member's) has the columns the import needs. A run such as
    ``good.csv bad.csv`` otherwise imported ``good.csv`` and then stopped with one error line
    and no summary, leaving half the run in the database unannounced.
    """
    fmt = kwargs.get("fmt")
    for p in paths:
        p = Path(p)
        if not p.exists():
            raise FatalImportError(str(p), "file not found")
        if p.stat().st_size == 0:
            raise FatalImportError(str(p), "file is empty (0 bytes): nothing imported")
        check_columns(p, fmt or sniff_format(p), kwargs.get("mapping"))
    return [import_crime_file(store, Path(p), **kwargs) for p in paths]

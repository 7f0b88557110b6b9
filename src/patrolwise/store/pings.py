"""Pings repository: fast idempotent bulk insert and loading pings back as a table.

Insert speed matters (a force's year of 5-second fixes is hundreds of millions of rows), so rows
go in with one statement per batch, not one ORM object per ping: SQLite ``executemany`` of
``INSERT OR IGNORE`` in the caller's transaction; PostgreSQL ``COPY`` into a temporary table,
then ``INSERT ... ON CONFLICT DO NOTHING``. The unique ``(device_id, t)`` makes both idempotent,
and the count of rows actually written tells imported from already present.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
from pandas.errors import OutOfBoundsDatetime
from sqlalchemy import Connection, String, case, cast, func, or_, select
from sqlalchemy.sql.elements import ColumnElement

from ..errors import InputError
from ..timeutil import TIME_FIRST, TIME_LAST, clamp_ns, local_days
from .db import Store
from .devices import device_teams
from .models.tracking import Ping

#: columns written, in order
INSERT_COLUMNS = [
    "device_id",
    "team",
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
    "source",
    "attrs",
    "batch_id",
    "received_at",
]
#: columns sent as parameters (``batch_id`` is one per statement)
PARAM_COLUMNS = [c for c in INSERT_COLUMNS if c != "batch_id"]
FLOATS = ["lon", "lat", "x", "y", "accuracy", "speed", "heading", "altitude", "battery"]
#: columns returned by :func:`load_pings` (the pings data contract plus what came with them)
LOAD_COLUMNS = [
    "id",
    "device_id",
    "team",
    "t",
    "x",
    "y",
    "accuracy",
    "lon",
    "lat",
    "speed",
    "heading",
    "altitude",
    "battery",
    "source",
]
_TFMT = "%Y-%m-%d %H:%M:%S.%f"  # SQLAlchemy's SQLite DateTime storage format


def resolve_teams(
    conn: Connection, device_ids: pd.Series, t: pd.Series, tz: str = "Europe/London"
) -> pd.Series:
    """Each ping's team: the device's assignment on the ping's local day, else its own team."""
    teams, assigns = device_teams(conn, device_ids.unique().tolist())
    out = device_ids.map(teams)
    if len(assigns):
        days = pd.Series(local_days(t, tz).to_numpy(), index=t.index)
        for a in assigns.itertuples(index=False):
            m = (device_ids == a.device_id) & (days >= a.start)
            if a.end is not None:
                m &= days <= a.end
            out[m] = str(a.team)
    return out


#: why a ping time outside the times patrolwise reads is refused
_UNREADABLE = (
    f"outside {TIME_FIRST:%Y-%m-%d}..{TIME_LAST:%Y-%m-%d}, the times the store can read back "
    "(a broken device clock?): nothing stored; set such fixes aside before storing"
)


def _frame(
    df: pd.DataFrame, source: str | pd.Series, received_at: dt.datetime | None
) -> pd.DataFrame:
    # one frame built from whole columns: adding columns one by one cost ~10 ms a call in
    # pandas, which was most of the time of a live ingest request carrying a single ping
    n = len(df)
    attrs = df["attrs"] if "attrs" in df else pd.Series(None, index=df.index, dtype=object)
    try:
        t = pd.to_datetime(df["t"])
    except OutOfBoundsDatetime as exc:  # pandas 2 holds nanoseconds only
        raise InputError(f"{exc}: a ping time {_UNREADABLE}") from None
    if isinstance(t.dtype, pd.DatetimeTZDtype):
        # the store holds naive UTC: a zone-aware time formatted as is kept its wall clock
        # (14:02 BST stored as 14:02 UTC, an hour late)
        t = t.dt.tz_convert("UTC").dt.tz_localize(None)
    tv = t.to_numpy()  # numpy: pandas' comparisons cost a live request carrying one ping
    outside = (tv < TIME_FIRST.to_datetime64()) | (tv > TIME_LAST.to_datetime64())
    if outside.any():
        raise InputError(f"ping time {t[outside].iloc[0]} UTC is {_UNREADABLE}")
    cols: dict[str, object] = {
        "device_id": df["device_id"].astype(str).to_numpy(dtype=object),
        "team": df["team"].astype(str).to_numpy(dtype=object),
        "t": t.dt.strftime(_TFMT).to_numpy(dtype=object),
    }
    for c in FLOATS:
        cols[c] = (
            pd.to_numeric(df[c], errors="coerce").to_numpy(dtype=float)
            if c in df
            else np.full(n, np.nan)
        )
    cols["source"] = (
        source.to_numpy(dtype=object)
        if isinstance(source, pd.Series)
        else np.full(n, source, dtype=object)
    )
    cols["attrs"] = np.array(
        [json.dumps(a, default=str) if isinstance(a, dict) and a else None for a in attrs],
        dtype=object,
    )
    cols["received_at"] = np.full(
        n, received_at.strftime(_TFMT) if received_at is not None else None, dtype=object
    )
    return pd.DataFrame(cols, index=df.index)


def insert_pings(
    conn: Connection,
    df: pd.DataFrame,
    *,
    source: str,
    batch_id: int | None = None,
    received_at: dt.datetime | None = None,
) -> int:
    """Insert pings (device_id, team, t naive UTC or zone-aware, lon, lat, x, y, optional
    accuracy, speed m/s, heading, altitude, battery, attrs dict) in the caller's transaction;
    returns rows written.

    Rows whose (device_id, t) is already stored, or repeated within ``df``, are skipped.
    """
    if len(df) == 0:
        return 0
    return insert_prepared(conn, prepare_rows(df, source, received_at), batch_id=batch_id)


def prepare_rows(
    df: pd.DataFrame, source: str | pd.Series, received_at: dt.datetime | None = None
) -> pd.DataFrame:
    """Pings in the exact column order and text forms :func:`insert_prepared` writes.

    Split from the insert so an import of many files converts once and inserts slices (with
    their own ``batch_id``) in one transaction per file.
    """
    return _frame(df, source, received_at)


def insert_prepared(
    conn: Connection,
    rows: pd.DataFrame,
    *,
    batch_id: int | None = None,
    params: list[tuple[object, ...]] | None = None,
) -> int:
    """Insert rows from :func:`prepare_rows` (``params``: their :func:`sqlite_params`, if already
    made) under ``batch_id``; returns rows written (duplicates skipped)."""
    if len(rows) == 0:
        return 0
    if conn.dialect.name == "postgresql":
        return _insert_pg(conn, rows, batch_id)
    return _insert_sqlite(conn, params if params is not None else sqlite_params(rows), batch_id)


def sqlite_params(rows: pd.DataFrame) -> list[tuple[object, ...]]:
    """Rows from :func:`prepare_rows` as DB-API tuples (NaN -> NULL), without pandas per row."""
    cols = []
    for c in PARAM_COLUMNS:
        a = rows[c].to_numpy(dtype=object, copy=True)
        a[pd.isna(a)] = None
        cols.append(a.tolist())
    return list(zip(*cols, strict=True))


def _insert_sqlite(conn: Connection, params: list[tuple[object, ...]], batch_id: int | None) -> int:
    bid = "NULL" if batch_id is None else str(int(batch_id))
    sql = (
        f"INSERT OR IGNORE INTO pings ({', '.join(PARAM_COLUMNS)}, batch_id) "
        f"VALUES ({', '.join('?' for _ in PARAM_COLUMNS)}, {bid})"
    )
    # in index order: each B-tree insert then lands next to the previous one (about 2x faster
    # than arrival order for many devices); the first of two equal (device_id, t) still wins
    ordered = sorted(params, key=lambda p: (p[0], p[2]))
    cur = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cur.execute("PRAGMA cache_size = -65536")  # 64 MB page cache for big batches
        cur.executemany(sql, ordered)
        return int(cur.rowcount)
    finally:
        cur.close()


_PG_TEMP = """
CREATE TEMP TABLE IF NOT EXISTS _pw_pings_in (
  device_id varchar(100), team varchar(20), t timestamp, lon float8, lat float8, x float8,
  y float8, accuracy float8, speed float8, heading float8, altitude float8, battery float8,
  source varchar(20), attrs text, received_at timestamp
) ON COMMIT DROP
"""


def _insert_pg(conn: Connection, rows: pd.DataFrame, batch_id: int | None) -> int:
    buf = io.StringIO()
    rows[PARAM_COLUMNS].to_csv(buf, index=False, header=False, na_rep="", float_format="%.17g")
    cols = ", ".join(PARAM_COLUMNS)
    bid = "NULL" if batch_id is None else str(int(batch_id))
    pg = conn.connection.driver_connection
    with pg.cursor() as cur:  # type: ignore[union-attr]
        cur.execute(_PG_TEMP)
        cur.execute("TRUNCATE _pw_pings_in")
        with cur.copy(f"COPY _pw_pings_in ({cols}) FROM STDIN (FORMAT csv)") as cp:
            cp.write(buf.getvalue())
        sel = cols.replace("attrs", "attrs::jsonb")
        cur.execute(
            f"INSERT INTO pings ({cols}, batch_id) SELECT {sel}, {bid} FROM _pw_pings_in "
            "ON CONFLICT (device_id, t) DO NOTHING"
        )
        return int(cur.rowcount)


def _bounds(
    start: dt.date | dt.datetime | None, end: dt.date | dt.datetime | None, tz: str
) -> tuple[dt.datetime | None, dt.datetime | None]:
    """Dates are local days (inclusive); datetimes are naive UTC or zone-aware (start inclusive,
    end exclusive). A zone-aware bound is converted to naive UTC here: SQLite compared it with
    the stored times by its wall clock, an hour off in summer."""
    from ..timeutil import local_window_utc

    def utc(t: dt.datetime) -> dt.datetime:
        return t.astimezone(dt.UTC).replace(tzinfo=None) if t.tzinfo is not None else t

    lo = hi = None
    if start is not None:
        if isinstance(start, dt.datetime):
            lo = utc(start)
        else:
            lo = local_window_utc(start, dt.time(0), dt.time(0, 0, 1), tz)[0].replace(tzinfo=None)
    if end is not None:
        if isinstance(end, dt.datetime):
            hi = utc(end)
        else:
            nxt = end + dt.timedelta(days=1)
            hi = local_window_utc(nxt, dt.time(0), dt.time(0, 0, 1), tz)[0].replace(tzinfo=None)
    return lo, hi


def stored_times(values: pd.Series) -> pd.Series:
    """Stored times (SQLite's text, PostgreSQL's datetimes) as naive-UTC ``datetime64[ns]``.

    A time after 2262-04-11 (or before 1677) in the table made the read fail with pandas'
    OutOfBoundsDatetime: every dosage run over it stopped. Such a fix can only come from a
    broken clock (imports and live ingest refuse one, :func:`insert_pings` too, but another tool
    or an older version may have written it), so it is read as 2262-04-10 (or 1677-09-22:
    :func:`patrolwise.timeutil.clamp_ns`), still in order, and cleaning flags it ``future``
    (``too_old``) like any fix from a clock far ahead.
    """
    try:
        t = pd.to_datetime(values, format="ISO8601")
    except OutOfBoundsDatetime:  # pandas 2 parses to nanoseconds only: numpy's microseconds
        t = pd.Series(
            np.array([v if isinstance(v, dt.datetime) else str(v) for v in values], "M8[us]"),
            index=values.index,
        )
    return clamp_ns(t)


def load_pings(
    store: Store,
    start: dt.date | dt.datetime | None = None,
    end: dt.date | dt.datetime | None = None,
    devices: Iterable[str] | None = None,
    team: str | None = None,
    *,
    tz: str | None = None,
    with_attrs: bool = False,
    with_flags: bool = False,
) -> pd.DataFrame:
    """Pings as a table sorted by device and time (``t`` naive UTC; x/y in the store's CRS).

    ``start``/``end`` as dates select whole local days (inclusive, in the force's zone, right
    across clock changes); as datetimes they are naive UTC (or zone-aware) bounds, start
    inclusive, end exclusive. ``with_flags`` adds ``device_flag``: the device itself marked the
    fix unreliable (:func:`device_flag`), read in the database without decoding attributes.
    """
    from ..config import get_settings

    zone = tz or get_settings().timezone
    lo, hi = _bounds(start, end, zone)
    sqlite = store.dialect == "sqlite"
    cols = [getattr(Ping, c) for c in LOAD_COLUMNS]
    if sqlite:
        cols[LOAD_COLUMNS.index("t")] = cast(Ping.t, String).label("t")
    names = list(LOAD_COLUMNS)
    if with_attrs:
        cols.append(Ping.attrs)
        names.append("attrs")
    if with_flags:
        cols.append(device_flag().label("device_flag"))
        names.append("device_flag")
    q = select(*cols)
    if lo is not None:
        q = q.where(Ping.t >= lo)
    if hi is not None:
        q = q.where(Ping.t < hi)
    if devices is not None:
        q = q.where(Ping.device_id.in_(list(devices)))
    if team is not None:
        q = q.where(Ping.team == team)
    q = q.order_by(Ping.device_id, Ping.t)
    with store.engine.connect() as conn:
        # raw DB-API rows: SQLAlchemy Row objects cost pandas a failed attribute lookup per row
        result = conn.execute(q)
        df = pd.DataFrame.from_records(result.cursor.fetchall(), columns=names)  # type: ignore[union-attr]
        result.close()
    df["t"] = stored_times(df["t"])
    for c in ("x", "y", "accuracy", "lon", "lat", "speed", "heading", "altitude", "battery"):
        df[c] = pd.to_numeric(df[c]).astype(float)
    if with_attrs and sqlite:
        df["attrs"] = [json.loads(a) if isinstance(a, str) else a for a in df["attrs"]]
    if with_flags:
        df["device_flag"] = df["device_flag"].fillna(0).astype(bool)
    return df


#: what a device writes in a fix it does not vouch for: Traccar Client 9's ``mock`` (the phone's
#: location came from a mock-location app) and OsmAnd's ``valid`` (false: no fix, the last
#: position repeated), as stored attributes (JSON booleans, or the text an app sent)
MOCK_TRUE = ("true", "1", "1.0")
VALID_FALSE = ("false", "0", "0.0")


def device_flag() -> ColumnElement[int]:
    """SQL for 1 when a stored fix's attributes say the device does not vouch for it (a mock
    location, or ``valid=false``), else 0. Such a fix must not count as patrol presence: a mock
    location is exactly what a tracker is there to rule out."""
    # SQLite's json_extract gives 1/0 for JSON booleans, PostgreSQL's ->> 'true'/'false'
    mock = func.lower(func.trim(Ping.attrs["mock"].as_string()))
    valid = func.lower(func.trim(Ping.attrs["valid"].as_string()))
    return case((or_(mock.in_(MOCK_TRUE), valid.in_(VALID_FALSE)), 1), else_=0)


#: columns :func:`ping_pieces` reads: what cleaning and dosage use, and nothing else (the
#: position in degrees, speed, battery and source would double the memory of a piece)
PIECE_COLUMNS = ["device_id", "team", "t", "x", "y", "accuracy"]
#: rows turned into a frame at a time while a piece is read: the driver's row tuples cost
#: ~400 bytes a ping, the frame's columns a sixth of that
FETCH_ROWS = 100_000


@contextmanager
def snapshot(store: Store) -> Iterator[Connection]:
    """One connection that sees the same pings for every query made on it.

    The pieces of one dosage run are read by several queries; on PostgreSQL a repeatable-read
    transaction keeps a tracker posting meanwhile from adding fixes to a device between the count
    and the read. (SQLite readers see each statement's own snapshot: a fix arriving mid-run is
    measured if its device's piece is read after it, as it would be by a later run.)
    """
    with store.engine.connect() as conn:  # read only: closing it rolls back
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        yield conn


def device_ping_counts(
    conn: Connection,
    start: dt.date | dt.datetime | None = None,
    end: dt.date | dt.datetime | None = None,
    *,
    tz: str | None = None,
) -> pd.Series:
    """Pings per device between ``start`` and ``end`` (as :func:`load_pings` reads them),
    indexed by device id in sorted order: one aggregate over the ``(device_id, t)`` index, the
    plan of a piecewise read (:func:`patrolwise.track.pieces.plan_pieces`)."""
    from ..config import get_settings

    lo, hi = _bounds(start, end, tz or get_settings().timezone)
    q = select(Ping.device_id, func.count()).group_by(Ping.device_id)
    if lo is not None:
        q = q.where(Ping.t >= lo)
    if hi is not None:
        q = q.where(Ping.t < hi)
    rows = conn.execute(q).all()
    counts = pd.Series(
        [int(n) for _, n in rows], index=[str(d) for d, _ in rows], dtype=np.int64, name="pings"
    )
    return counts.sort_index()


def load_piece(
    conn: Connection,
    devices: list[str],
    start: dt.date | dt.datetime | None = None,
    end: dt.date | dt.datetime | None = None,
    *,
    tz: str | None = None,
) -> pd.DataFrame:
    """Every ping of ``devices`` between ``start`` and ``end``, with only what cleaning and
    dosage read (:data:`PIECE_COLUMNS` and ``device_flag``), sorted by device and time.

    The same values as :func:`load_pings` (``with_flags=True``) gives in those columns, turned
    into columns :data:`FETCH_ROWS` rows at a time, so the driver's row tuples (~400 bytes a
    ping) never hold the whole piece. (On PostgreSQL the driver receives the piece's result at
    once, as compact text, about the size of the piece's columns.)
    """
    from ..config import get_settings

    lo, hi = _bounds(start, end, tz or get_settings().timezone)
    sqlite = conn.dialect.name == "sqlite"
    cols = [getattr(Ping, c) for c in PIECE_COLUMNS]
    if sqlite:
        cols[PIECE_COLUMNS.index("t")] = cast(Ping.t, String).label("t")
    names = [*PIECE_COLUMNS, "device_flag"]
    q = select(*cols, device_flag().label("device_flag")).where(Ping.device_id.in_(devices))
    if lo is not None:
        q = q.where(Ping.t >= lo)
    if hi is not None:
        q = q.where(Ping.t < hi)
    q = q.order_by(Ping.device_id, Ping.t)
    parts = []
    result = conn.execute(q)
    try:
        # raw DB-API rows, as load_pings reads them: SQLAlchemy's Row objects cost pandas a
        # failed attribute lookup per row (slower by half)
        cur = result.cursor
        while rows := cur.fetchmany(FETCH_ROWS):  # type: ignore[union-attr]
            parts.append(_piece_frame(rows, names))
            del rows
    finally:
        result.close()
    if not parts:
        return _piece_frame([], names)
    return parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)


def _piece_frame(rows: Sequence[Any], names: list[str]) -> pd.DataFrame:
    """DB-API rows as typed columns, as :func:`load_pings` types them."""
    df = pd.DataFrame.from_records(rows, columns=names)
    df["t"] = stored_times(df["t"])
    for c in ("x", "y", "accuracy"):
        df[c] = pd.to_numeric(df[c]).astype(float)
    df["device_flag"] = df["device_flag"].fillna(0).astype(bool)
    return df


def registry_teams(conn: Connection, pings: pd.DataFrame, tz: str) -> pd.DataFrame:
    """Pings with their teams as the device registry has them now: the device's team, and its
    dated assignments over it.

    A ping's team is stored when it arrives; a loan recorded later (``devices assign``, as the
    import's note advises) left the borrowed tracker's minutes with its old team, which could
    also show as a never-together breach. Pings of devices the registry does not know keep
    their stored team.
    """
    if pings.empty:
        return pings
    from ..track_import import apply_assignments

    known, assigns = device_teams(conn, pings["device_id"].unique().tolist())
    base = pings["device_id"].map(known)
    pings = pings.assign(team=base.where(base.notna(), pings["team"]))
    return pings.assign(team=apply_assignments(pings, assigns, tz))


def ping_pieces(
    conn: Connection,
    pieces: list[list[str]],
    start: dt.date | dt.datetime | None = None,
    end: dt.date | dt.datetime | None = None,
    *,
    tz: str | None = None,
) -> list[Callable[[], pd.DataFrame]]:
    """A reader for each group of devices: called, it reads their pings (:func:`load_piece`,
    teams from :func:`registry_teams`).

    Readers, not a generator of frames: a generator holds the piece it yielded until asked for
    the next, so the raw piece stayed in memory beside its cleaned copy all through its scan.
    """
    from ..config import get_settings

    zone = tz or get_settings().timezone

    def reader(devices: list[str]) -> Callable[[], pd.DataFrame]:
        return lambda: registry_teams(conn, load_piece(conn, devices, start, end, tz=zone), zone)

    return [reader(devices) for devices in pieces]

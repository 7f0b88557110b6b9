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
from collections.abc import Iterable

import numpy as np
import pandas as pd
from sqlalchemy import Connection, String, case, cast, func, or_, select
from sqlalchemy.sql.elements import ColumnElement

from ..timeutil import local_days
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


def _frame(
    df: pd.DataFrame, source: str | pd.Series, received_at: dt.datetime | None
) -> pd.DataFrame:
    # one frame built from whole columns: adding columns one by one cost ~10 ms a call in
    # pandas, which was most of the time of a live ingest request carrying a single ping
    n = len(df)
    attrs = df["attrs"] if "attrs" in df else pd.Series(None, index=df.index, dtype=object)
    t = pd.to_datetime(df["t"])
    if isinstance(t.dtype, pd.DatetimeTZDtype):
        # the store holds naive UTC: a zone-aware time formatted as is kept its wall clock
        # (14:02 BST stored as 14:02 UTC, an hour late)
        t = t.dt.tz_convert("UTC").dt.tz_localize(None)
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
    df["t"] = pd.to_datetime(df["t"], format="ISO8601").astype("datetime64[ns]")
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

"""Engines and schema management. SQLite (WAL) by default, PostgreSQL for multi-user deployments."""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
import threading
import time
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.orm import Session, sessionmaker

from ..config import get_settings
from ..errors import StoreError

MIGRATIONS = Path(__file__).parent / "migrations"


def normalise_url(url: str | None) -> str:
    """A bare file path means SQLite; ``postgresql://`` means psycopg 3."""
    if not url:
        url = get_settings().database_url
    if "://" not in url:
        if re.match(r"[^/@]*:[^/@]*@", url):
            # 'user:password@host/db' typed without 'postgresql://' was taken as a SQLite file
            # name and echoed, password and all, in the error that followed
            raise StoreError(
                "the database URL looks like user:password@host without its scheme: write "
                "postgresql://user:password@host/dbname (a file path needs no scheme)"
            )
        url = f"sqlite:///{url}"
    scheme, rest = url.split("://", 1)
    if not scheme.startswith("sqlite") and rest.split("/", 1)[0].count("@") > 1:
        # 'user:p@ss@host': the URL splits at the last '@', so the password's tail was taken as
        # part of the host name and echoed in the error that followed
        raise StoreError(
            "the database URL has more than one '@' before the host: write an '@' in the user "
            "name or password as %40 (postgresql://user:p%40ss@host/dbname)"
        )
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + rest
    return url


#: SQLite page size of new databases: with 16 KiB pages SQLite's own bulk insert of a million
#: ready police.uk crime rows (benchmarks/import_crimes.py's floor) took 1.19x less time than with
#: the 4 KiB default (1.47x with the wider rows of before): fewer B-tree pages to split and WAL
#: frames to write and checkpoint
PAGE_SIZE = 16384
#: how long a SQLite connection waits for another writer's lock before giving up
BUSY_SECONDS = 30


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    cur = dbapi_conn.cursor()
    # before WAL, which writes a new file's header: the page size of a database not yet written
    # (a no-op on an existing one, which keeps the size it was made with)
    cur.execute(f"PRAGMA page_size={PAGE_SIZE}")
    # a file already in WAL mode (every one after its first connection) is left as it is:
    # switching waits for no lock, so a second command starting while the first creates the
    # schema failed with 'database is locked'; a new file still being set up is retried
    if str(cur.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
        deadline = time.monotonic() + BUSY_SECONDS
        while True:
            try:
                cur.execute("PRAGMA journal_mode=WAL")
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={BUSY_SECONDS * 1000}")
    cur.close()


def make_engine(url: str | None = None) -> Engine:
    """An engine for ``url`` (default: settings), with SQLite tuned for WAL and foreign keys."""
    u = normalise_url(url)
    try:
        if u.startswith("sqlite"):
            engine = create_engine(u, connect_args={"timeout": BUSY_SECONDS})
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            engine = create_engine(u, pool_pre_ping=True)
    except (ArgumentError, NoSuchModuleError, ImportError, ValueError) as exc:
        # a mistyped scheme ('postgress://', 'mysql://') or a malformed URL (a port that is not
        # a number) was a traceback; the URL itself is not echoed, as it may hold a password
        scheme = u.split("://", 1)[0]
        what = (
            f"its scheme {scheme!r} is not supported"
            if isinstance(exc, NoSuchModuleError | ImportError)
            else "it is malformed"
        )
        raise StoreError(
            f"cannot use the database URL ({scheme}://...): {what}; give a file path such as "
            "patrolwise.db, sqlite:///path/to/file.db or postgresql://user@host/dbname"
        ) from None
    return engine


def alembic_config(url: str):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return cfg


#: PostgreSQL advisory lock key of schema upgrades (a fixed 64-bit number no other lock uses)
MIGRATE_LOCK = 0x7061_7472_6F6C_6D31  # 'patrolm1'
#: one schema upgrade at a time in this process, whatever the database: Alembic runs migrations
#: through module-wide proxies (``alembic.context``, ``alembic.op``), so two threads upgrading two
#: new files at once each ran part of the other's ('table alembic_version already exists',
#: KeyError 'script'). Taken before the database's own lock, always in that order.
_MIGRATING = threading.Lock()


#: PostgreSQL advisory lock key of area writes (saving hot spots and other areas)
AREAS_LOCK = 0x7061_7472_6F6C_6131  # 'patrola1'
#: PostgreSQL advisory lock key of randomised patrol-day writes (an assignment under a seed)
ASSIGNMENTS_LOCK = 0x7061_7472_6F6C_7231  # 'patrolr1'
#: PostgreSQL advisory lock key of dosage runs' visit writes (days replaced, then filled)
VISITS_LOCK = 0x7061_7472_6F6C_7631  # 'patrolv1'
#: PostgreSQL advisory lock key of retention passes over people (closing the inactive)
PEOPLE_LOCK = 0x7061_7472_6F6C_7031  # 'patrolp1'


def take_write_turn(conn: Connection, key: int) -> None:
    """Make this transaction the only writer of its kind until it ends, before it reads.

    For writes that look rows up and then insert or update them (an area saved again is
    updated, not duplicated): two at once both looked, found nothing and both inserted, and the
    second failed on a unique constraint, or, where the key holds a NULL (which a unique
    constraint never matches), stored a duplicate. PostgreSQL: the advisory transaction lock
    ``key`` (other writers of this kind wait; readers do not). SQLite: the database's write lock
    taken now (``BEGIN IMMEDIATE``) rather than at the first write, so the look-up already sees
    every committed row; it must be the transaction's first statement.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def init_db(url: str | None = None) -> str:
    """Create or upgrade the schema to the newest migration; returns the revision reached."""
    from alembic import command
    from alembic.runtime.migration import MigrationContext

    u = normalise_url(url)
    engine = make_engine(u)
    try:
        with _MIGRATING, engine.begin() as conn:
            # one upgrade at a time, to the end of its transaction: two first commands on a new
            # database (two analysts, two service workers) both created the tables and one
            # failed ('relation already exists', 'table areas already exists'); the second now
            # waits and finds the schema ready
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATE_LOCK})
            else:
                # SQLite's write lock, taken first: the DDL then runs in this transaction too
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            cfg = alembic_config(u)
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "heads")
        with engine.connect() as conn:
            rev = ",".join(sorted(MigrationContext.configure(conn).get_current_heads()))
    except Exception as exc:  # pragma: no cover - exercised with a dead server
        # one line: the driver's own message (SQLAlchemy's wrapper adds a second line, a link
        # to its docs; libpq's message runs over several), its whitespace collapsed
        detail = " ".join(str(getattr(exc, "orig", None) or exc).split())
        raise StoreError(
            f"cannot initialise database {make_url(u).render_as_string()}: {detail}"
        ) from exc
    finally:
        engine.dispose()
    return rev


class Store:
    """A handle on one database: an engine, a session factory and a schema check."""

    def __init__(self, url: str | None = None, *, create: bool = True) -> None:
        self.url = normalise_url(url)
        if create:
            init_db(self.url)
        self.engine = make_engine(self.url)
        if not create and "crimes" not in inspect(self.engine).get_table_names():
            raise StoreError(
                f"{make_url(self.url).render_as_string()} has no patrolwise schema: run `patrolwise init`"
            )
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def session(self) -> Session:
        return self.sessions()

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def utcnow() -> dt.datetime:
    """Naive UTC now, the storage convention."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)

"""The compiled SQLite binder stores exactly what the standard library's executemany stores."""

from __future__ import annotations

import hashlib
import math
import sqlite3
import sys
from pathlib import Path

import hypothesis.strategies as st
import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings

from patrolwise.store import Store, sqlite_bulk
from patrolwise.store.crime_import import import_crimes

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "police-uk"
ROWS_SQL = "SELECT *, typeof(i), typeof(f), typeof(s), typeof(d), typeof(t), typeof(b) FROM t"


def _conn(path: Path) -> sqlite3.Connection:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE t (i BIGINT, f FLOAT, s TEXT, d TEXT, t DATETIME, b BOOLEAN)")
    con.execute("CREATE UNIQUE INDEX ux ON t (i)")
    return con


def _store_both(tmp_path: Path, table: pa.Table, monkeypatch: pytest.MonkeyPatch) -> list[list]:
    out = []
    for switch in ("1", "0"):
        monkeypatch.setenv(sqlite_bulk.ENV_SWITCH, switch)
        con = _conn(tmp_path / f"bulk{switch}.db")
        con.execute("BEGIN")
        assert (sqlite_bulk.bulk_handle(con) is not None) == (switch == "1")
        n = sqlite_bulk.insert(con, "INSERT OR IGNORE INTO t", table)
        con.commit()
        out.append([n, con.execute(ROWS_SQL).fetchall()])
        con.close()
    return out


def test_binder_stores_what_executemany_stores(tmp_path, monkeypatch):
    table = pa.table(
        {
            "i": pa.array([2**63 - 1, -(2**63), None, 0, 7], pa.int64()),
            "f": pa.array([1.5, math.nan, None, -0.0, 1e300]),
            "s": pa.array(["x", "", None, "Łódź – ünïcödé ✓", "a\x00b"]),
            "d": pa.array(["p", "q", "p", None, "q"]).dictionary_encode(),
            "t": pa.array(
                np.array(
                    [
                        "2024-03-31T01:02:03.5",
                        "NaT",
                        "2024-10-27T01:30",
                        "1900-01-01",
                        "2262-01-01",
                    ],
                    dtype="datetime64[ms]",
                )
            ),
            "b": pa.array([True, False, None, True, False]),
        }
    )
    (n1, bulk), (n0, plain) = _store_both(tmp_path, table, monkeypatch)
    assert n1 == n0 == 5
    assert bulk == plain
    # the known answers, not only agreement: NaN and None are NULL, '' stays text, times are
    # SQLAlchemy's storage format, booleans 0/1
    assert bulk[0][:6] == (2**63 - 1, 1.5, "x", "p", "2024-03-31 01:02:03.500000", 1)
    assert bulk[1][1] is None and bulk[1][2] == "" and bulk[1][8] == "text"
    assert bulk[2] == (None,) * 3 + ("p", "2024-10-27 01:30:00.000000", None) + (
        "null",
        "null",
        "null",
        "text",
        "text",
        "null",
    )
    assert bulk[4][2] == "a\x00b"


def test_binder_skips_conflicts_and_counts_what_went_in(tmp_path, monkeypatch):
    table = pa.table({"i": pa.array([1, 2, 1, 3, 2], pa.int64()), "s": pa.array(list("abcde"))})
    for switch in ("1", "0"):
        monkeypatch.setenv(sqlite_bulk.ENV_SWITCH, switch)
        con = _conn(tmp_path / f"c{switch}.db")
        con.execute("BEGIN")
        assert sqlite_bulk.insert(con, "INSERT OR IGNORE INTO t", table) == 3
        assert con.execute("SELECT i, s FROM t ORDER BY i").fetchall() == [
            (1, "a"),
            (2, "b"),
            (3, "d"),
        ]
        con.rollback()


@pytest.mark.parametrize("per_step", [1, 7, 64])
def test_binder_error_names_the_row_and_rolls_back_with_the_transaction(
    tmp_path, monkeypatch, per_step
):
    """A failing row is named exactly, whether it came in a step of several rows or alone."""
    monkeypatch.setattr(sqlite_bulk, "ROWS_PER_STEP", per_step)
    con = _conn(tmp_path / "e.db")
    con.execute("BEGIN")
    con.execute("INSERT INTO t (i) VALUES (500)")
    # 150 rows (steps of 64 leave 22 over); row 100 holds the key already stored
    table = pa.table({"i": pa.array([*range(1, 100), 500, *range(1001, 1051)], pa.int64())})
    assert sqlite_bulk.bulk_handle(con) is not None
    with pytest.raises(
        sqlite3.IntegrityError, match=r"UNIQUE constraint failed: t\.i \(row 100 of 150\)"
    ):
        sqlite_bulk.insert(con, "INSERT INTO t", table)
    # the rows before it are in, as one insert a row would leave them, until the rollback
    assert con.execute("SELECT count(*), max(i) FROM t WHERE i < 500").fetchone() == (99, 99)
    con.rollback()
    assert con.execute("SELECT count(*) FROM t").fetchone() == (0,)


@pytest.mark.parametrize("per_step", [1, 3, 64])
def test_rows_per_step_change_nothing_stored(tmp_path, monkeypatch, per_step):
    rng = np.random.default_rng(per_step)
    keys = rng.integers(0, 300, 1000)  # repeats: OR IGNORE keeps the first of each
    table = pa.table(
        {"i": pa.array(keys, pa.int64()), "s": pa.array([f"r{k}" for k in range(1000)])}
    )
    monkeypatch.setattr(sqlite_bulk, "ROWS_PER_STEP", per_step)
    con = _conn(tmp_path / "k.db")
    con.execute("BEGIN")
    n = sqlite_bulk.insert(con, "INSERT OR IGNORE INTO t", table)
    _, first = np.unique(keys, return_index=True)
    assert n == len(first)
    got = con.execute("SELECT i, s FROM t ORDER BY rowid").fetchall()
    assert got == [(int(keys[j]), f"r{j}") for j in sorted(first)]


def _no_kernel(*args, **kwargs):
    raise AssertionError("the compiled kernel ran")


def test_binder_is_not_used_outside_a_transaction(tmp_path, monkeypatch):
    """Outside a transaction each step would commit on its own: the standard path runs."""
    con = _conn(tmp_path / "a.db")
    con.commit()
    assert not con.in_transaction
    monkeypatch.setattr(sqlite_bulk, "_run", _no_kernel)
    assert sqlite_bulk.insert(con, "INSERT INTO t", pa.table({"i": pa.array([1], pa.int64())})) == 1


def test_a_kernel_that_cannot_load_falls_back_to_executemany(tmp_path, monkeypatch):
    monkeypatch.setattr(sqlite_bulk, "_run", _no_kernel)
    monkeypatch.setattr(sqlite_bulk, "_KERNEL_OK", None)
    con = _conn(tmp_path / "w.db")
    con.execute("BEGIN")
    assert sqlite_bulk.bulk_handle(con) is not None
    table = pa.table({"i": pa.array([1, 2], pa.int64()), "s": pa.array(["a", None])})
    assert sqlite_bulk.insert(con, "INSERT INTO t", table) == 2
    assert sqlite_bulk._KERNEL_OK is False
    assert con.execute("SELECT i, s FROM t").fetchall() == [(1, "a"), (2, None)]


@pytest.mark.parametrize("per_step", [1, 64])
def test_a_transaction_sqlite_rolled_back_is_an_error_not_rows_committed_one_by_one(
    tmp_path, monkeypatch, per_step
):
    """SQLite may roll the whole transaction back on an error (here a RAISE(ROLLBACK) trigger,
    as a full disk would): nothing may then be inserted row by row in autocommit."""
    monkeypatch.setattr(sqlite_bulk, "ROWS_PER_STEP", per_step)
    con = _conn(tmp_path / "r.db")
    con.execute(
        "CREATE TRIGGER stop BEFORE INSERT ON t WHEN NEW.i = 100 "
        "BEGIN SELECT RAISE(ROLLBACK, 'stopped'); END"
    )
    con.commit()
    con.execute("BEGIN")
    con.execute("INSERT INTO t (i) VALUES (-1)")
    table = pa.table({"i": pa.array(range(1, 151), pa.int64())})
    with pytest.raises(sqlite3.OperationalError, match="stopped .*rolled the transaction back"):
        sqlite_bulk.insert(con, "INSERT INTO t", table)
    assert not con.in_transaction
    assert con.execute("SELECT count(*) FROM t").fetchone() == (0,)


@pytest.mark.skipif(
    sys.platform != "linux" or sys.version_info[:2] not in sqlite_bulk._KNOWN_PYTHONS,
    reason="the binder is confirmed on Linux CPython of known object layouts",
)
def test_binder_is_confirmed_on_this_platform(tmp_path):
    """Where CI runs (Linux CPython linked to libsqlite3) the fast path must be the one used."""
    con = _conn(tmp_path / "h.db")
    con.execute("BEGIN")
    db = sqlite_bulk.bulk_handle(con)
    assert db is not None
    other = _conn(tmp_path / "other.db")
    other.execute("BEGIN")
    assert sqlite_bulk.bulk_handle(other) not in (None, db)


texts = st.one_of(st.none(), st.text(st.characters(exclude_categories=["Cs"]), max_size=12))
floats = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True))
ints = st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1))


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.tuples(ints, floats, texts), max_size=30))
def test_binder_matches_executemany_on_any_values(tmp_path, monkeypatch, rows):
    table = pa.table(
        {
            "i": pa.array([r[0] for r in rows], pa.int64()),
            "f": pa.array([r[1] for r in rows], pa.float64()),
            "s": pa.array([r[2] for r in rows], pa.string()),
        }
    )
    for p in tmp_path.glob("bulk*.db"):
        p.unlink()
    (n1, bulk), (n0, plain) = _store_both(tmp_path, table, monkeypatch)
    assert n1 == n0
    assert bulk == plain or _same_with_nan(bulk, plain)


def _same_with_nan(a: list, b: list) -> bool:
    return len(a) == len(b) and all(
        all(x == y or (x != x and y != y) for x, y in zip(r, s, strict=True))
        for r, s in zip(a, b, strict=True)
    )


@pytest.mark.skipif(not SHARED.exists(), reason="needs ../shared/data")
def test_crime_import_stores_the_same_rows_either_way(tmp_path, monkeypatch):
    """A real police.uk month through the binder and through executemany: identical tables."""
    dumps = []
    for switch in ("1", "0"):
        monkeypatch.setenv(sqlite_bulk.ENV_SWITCH, switch)
        store = Store(f"sqlite:///{tmp_path / f'crimes{switch}.db'}")
        (res,) = import_crimes(
            store, [SHARED / "2022-08-leicestershire-street.csv"], rejects_dir=tmp_path
        )
        assert res.imported > 10_000
        # the file's hash, computed while its first chunk was read, is the batch's
        src = SHARED / "2022-08-leicestershire-street.csv"
        with store.engine.connect() as conn:
            stored = conn.exec_driver_sql(
                "SELECT sha256 FROM import_batches WHERE id = ?", (res.batch_id,)
            ).scalar_one()
        assert stored == hashlib.sha256(src.read_bytes()).hexdigest()
        with store.engine.connect() as conn:
            raw = conn.connection.driver_connection
            cols = [r[1] for r in raw.execute("PRAGMA table_info(crimes)") if r[1] != "batch_id"]
            dumps.append(
                raw.execute(f"SELECT {', '.join(cols)} FROM crimes ORDER BY id").fetchall()
            )
        store.close()
    assert dumps[0] == dumps[1]

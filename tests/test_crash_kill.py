"""A killed import leaves the store as it was.

``test_crash_mid_import_leaves_database_unchanged`` raises inside the importer; this kills the
process outright (``kill -9``: the OOM killer, a power cut, a closed laptop), in the middle of
the transaction, and then checks what a user would find: the same rows, no stray batch, a
database that opens and passes its integrity check, and an import that runs cleanly again.
The kill is only sent once the importer is seen to hold the write lock (SQLite) or a lock on
``crimes`` (PostgreSQL, taken by the first COPY), so the test cannot pass by killing a process
that had not started writing.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

from patrolwise.store import Store
from patrolwise.store.crime_import import import_crimes
from patrolwise.store.models import Crime, ImportBatch


def _writing(url: str) -> bool:
    """Whether another connection is inside a write transaction on the crimes store."""
    if url.startswith("sqlite"):
        con = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=0, isolation_level=None)
        try:
            con.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as e:
            assert "locked" in str(e) or "busy" in str(e), e
            return True
        else:
            con.execute("ROLLBACK")
            return False
        finally:
            con.close()
    eng = create_engine(url)
    try:
        with eng.connect() as c:
            held = c.execute(
                text(
                    # pg_locks lists every database's locks, and each test database is a clone
                    # of one template, so its crimes table has the same oid in all of them: only
                    # this database's locks count (other tests may import on the same server)
                    "SELECT count(*) FROM pg_locks l JOIN pg_class r ON r.oid = l.relation "
                    "WHERE r.relname = 'crimes' AND l.mode = 'RowExclusiveLock' "
                    "AND l.database = (SELECT oid FROM pg_database "
                    "WHERE datname = current_database()) "
                    "AND l.pid <> pg_backend_pid()"
                )
            ).scalar_one()
        return bool(held)
    finally:
        eng.dispose()


def _counts(url: str) -> tuple[int, int]:
    with Store(url, create=False) as store, store.session() as s:
        return (
            s.scalar(select(func.count()).select_from(Crime)) or 0,
            s.scalar(select(func.count()).select_from(ImportBatch)) or 0,
        )


def test_killed_crime_import_leaves_store_unchanged(
    store_url: str, tmp_path: Path, shared_data: Path
) -> None:
    month = shared_data / "police-uk" / "2022-08-leicestershire-street.csv"
    archive = shared_data / "police-uk" / "leicestershire-2020-11-to-2022-10.zip"
    with Store(store_url) as store:
        import_crimes(store, [month], rejects_dir=tmp_path)
    before = _counts(store_url)
    assert before[0] == 10_373 and before[1] == 1

    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "patrolwise.cli",
            "--db",
            store_url,
            "import",
            "crimes",
            str(archive),
        ],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        while not _writing(store_url):
            assert proc.poll() is None, "the import ended before it could be killed"
            assert time.monotonic() < deadline, "the import never started writing"
            time.sleep(0.02)
        time.sleep(0.3)  # well into the archive's 24 months, far from their commit
        assert proc.poll() is None, "the import ended before it could be killed"
        proc.kill()
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -9

    assert _counts(store_url) == before
    if store_url.startswith("sqlite"):
        con = sqlite3.connect(store_url.removeprefix("sqlite:///"))
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        con.close()

    # and the archive imports cleanly afterwards, its August 2022 already present
    with Store(store_url) as store:
        (s,) = import_crimes(store, [archive], rejects_dir=tmp_path)
    assert s.rows_read == s.imported + s.already_present + s.rejected
    assert s.already_present == 10_373
    assert _counts(store_url) == (before[0] + s.imported, 2)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))

"""Two first commands at once on a new database (two analysts, or two service workers
starting): both find the schema ready, neither fails half-way through creating it."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text


def _two_inits(url: str, cwd: Path) -> None:
    """Run ``patrolwise init`` twice at the same moment; both must succeed."""
    cmd = [sys.executable, "-m", "patrolwise.cli", "--db", url, "init"]
    runs = [
        subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=120) for p in runs]
    for p, (_out, err) in zip(runs, outs, strict=True):
        assert p.returncode == 0, err
        assert "database ready at schema revision" in err  # messages go to stderr
    eng = create_engine(url)
    with eng.connect() as c:
        heads = c.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    eng.dispose()
    assert len(heads) == 1


def test_two_inits_at_once_on_a_new_sqlite_file(tmp_path: Path) -> None:
    # the second waited for no lock: 'table areas already exists' or 'database is locked'
    for i in range(3):  # a race: three new files
        _two_inits(f"sqlite:///{tmp_path / f'new{i}.db'}", tmp_path)


def test_two_inits_at_once_on_a_new_postgresql_database(pg_server: object, tmp_path: Path) -> None:
    if pg_server is None:
        pytest.skip("no PostgreSQL server available")
    base = pg_server.url  # type: ignore[attr-defined]
    name = "t_init_" + uuid.uuid4().hex[:10]
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f"CREATE DATABASE {name}"))  # empty: no schema yet
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    try:
        _two_inits(url, tmp_path)
    finally:
        with admin.connect() as c:
            c.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def test_threads_of_one_process_open_new_files_at_once(tmp_path: Path) -> None:
    """Three threads of one process (a service's workers, each opening its own new file): Alembic
    runs migrations through module-wide proxies, so before the process-wide lock each ran part of
    another's ('table alembic_version already exists', KeyError 'script')."""
    import threading

    from patrolwise.store.db import Store

    for round_ in range(3):
        urls = [f"sqlite:///{tmp_path / f'r{round_}-{k}.db'}" for k in range(3)]
        errors: list[str] = []
        start = threading.Barrier(len(urls))

        def open_new(url: str, start: threading.Barrier, errors: list[str]) -> None:
            start.wait()
            try:
                Store(url).close()
            except Exception as exc:  # reported below, with the others
                errors.append(f"{url}: {exc}")

        threads = [threading.Thread(target=open_new, args=(u, start, errors)) for u in urls]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert errors == []
        for url in urls:
            eng = create_engine(url)
            with eng.connect() as c:
                heads = c.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
                assert "crimes" in c.exec_driver_sql(
                    "SELECT group_concat(name) FROM sqlite_master WHERE type = 'table'"
                ).scalar_one().split(",")
            eng.dispose()
            assert len(heads) == 1

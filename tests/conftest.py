"""Shared fixtures: a database per test on SQLite and on a real PostgreSQL server.

``store_url`` is parametrised over both back ends; its PostgreSQL half carries the ``postgres``
marker (``-m "not postgres"`` leaves it out). With ``CI=true`` a missing PostgreSQL is a failure,
not a skip: CI must prove the PostgreSQL path, and the property tests draw a fixed sequence of
examples (Hypothesis's ``ci`` profile).

Under pytest-xdist (``-n 2``) every session fixture runs once per worker process: each worker
starts its own PostgreSQL server (own data folder, socket folder and port) and its own template
database, so workers share no database state. Against one existing server
(``PATROLWISE_TEST_PG_URL``) the template's name is unique to the session for the same reason.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from patrolwise.config import reset_settings
from patrolwise.store import init_db

from .pgserver import PgServer

# CI runs the property tests on a fixed sequence of examples (a red run must say something about
# the change, not about which examples a run happened to draw) and keeps no example database in
# the clean clone; runs elsewhere draw new examples each time, and shrink and keep what fails.
# A slow CI machine is no reason to fail a test: the health check on data generation time is off.
settings.register_profile(
    "ci", derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow]
)
if os.environ.get("CI") == "true":
    settings.load_profile("ci")

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
DATA = SHARED / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not DATA.exists():
        pytest.fail(f"{DATA} not found: ../shared/data must sit beside the clone")
    return DATA


@pytest.fixture(autouse=True)
def _clean_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    # every test runs in its own folder: default outputs (./rejects, ./patrolwise.db) land there
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATROLWISE_SECRET_KEY", "test-secret-key-not-for-production")
    monkeypatch.delenv("PATROLWISE_DATABASE_URL", raising=False)
    reset_settings()
    yield
    reset_settings()


@dataclass(frozen=True)
class PgBase:
    """A running server's admin URL and the migrated template database cloned for each test."""

    url: str
    template: str


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgBase | None]:
    server = PgServer()
    try:
        url = server.start()
    except Exception as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL could not start in CI: {exc}")
        url = None
    if url is None:
        yield None
        server.stop()
        return
    # a template database with the schema applied, cloned per test (fast); named for this
    # session, as xdist workers (or other checkouts) may share one PATROLWISE_TEST_PG_URL server
    template = "pw_template_" + uuid.uuid4().hex[:12]
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f"CREATE DATABASE {template}"))
    admin.dispose()
    tmpl = make_url(url).set(database=template).render_as_string(hide_password=False)
    eng = create_engine(tmpl, isolation_level="AUTOCOMMIT")
    # the store keeps geometry as WKT and runs without PostGIS; CI installs it (the issue's
    # deployment) and must show it loads, so only a local run without the package goes on
    strict = os.environ.get("CI") == "true"
    with eng.connect() as c, contextlib.suppress(*(() if strict else (Exception,))):
        c.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
    eng.dispose()
    init_db(tmpl)
    try:
        yield PgBase(url, template)
    finally:
        _drop_pg_db(url, template)
        server.stop()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    init_db(f"sqlite:///{path}")
    return path


def _pg_db(base: PgBase) -> tuple[str, str]:
    name = "t_" + uuid.uuid4().hex[:12]
    admin = create_engine(base.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f"CREATE DATABASE {name} TEMPLATE {base.template}"))
    admin.dispose()
    return name, make_url(base.url).set(database=name).render_as_string(hide_password=False)


def _drop_pg_db(base_url: str, name: str) -> None:
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> Iterator[str]:
    """A fresh, migrated database URL; each test using it runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "patrolwise.db"
        shutil.copy(sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    base = request.getfixturevalue("pg_server")
    if base is None:
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL is required in CI (CI=true) but no server is available")
        pytest.skip("no PostgreSQL server available (install postgresql to run these)")
    name, url = _pg_db(base)
    yield url
    _drop_pg_db(base.url, name)


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    """A fresh SQLite database, for tests that are about the library, not the back end."""
    path = tmp_path / "patrolwise.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"

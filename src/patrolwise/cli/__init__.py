"""The ``patrolwise`` command: one sub-command group per stage, thin over the library and store.

Importing this package must stay cheap (``--help`` and every command pay for it): the stage
modules import pandas, the store, the settings and the libraries inside the commands that use
them, never at module level (tests/test_cli_startup.py checks this)."""

from __future__ import annotations

import os
import sys

import typer

from ..errors import PatrolwiseError
from . import demo, dosage, engage, evaluate, hotspots, imports, plan, serve, track
from .common import console, error_line

app = typer.Typer(
    name="patrolwise",
    help="Target, track and test patrols of crime hot spots.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root(
    db: str | None = typer.Option(
        None,
        "--db",
        help="database URL or SQLite file (default: PATROLWISE_DATABASE_URL or ./patrolwise.db)",
    ),
) -> None:
    if db:
        from ..config import reset_settings

        os.environ["PATROLWISE_DATABASE_URL"] = db
        reset_settings()


@app.command("init")
def init_cmd() -> None:
    """Create or upgrade the database schema."""
    from ..store import init_db

    rev = init_db(None)
    console.print(f"database ready at schema revision {rev}")


for _mod in (imports, hotspots, track, dosage, plan, engage, evaluate, serve, demo):
    _mod.register(app)


def main() -> None:
    """Entry point: library errors become one clear line and exit code 2."""
    try:
        app()
    except PatrolwiseError as exc:
        error_line(exc)
        sys.exit(2)

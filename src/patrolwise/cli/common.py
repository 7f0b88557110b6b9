"""Shared CLI plumbing: opening the store, printing JSON, turning errors into one line."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.text import Text

if TYPE_CHECKING:
    from rich.progress import Progress, ProgressColumn

    from ..store import Store

console = Console(stderr=True)
out = Console()


def open_store(create: bool = True) -> Store:
    """The store named by ``--db`` / ``PATROLWISE_DATABASE_URL`` (default ./patrolwise.db).

    The store (SQLAlchemy, pandas, geopandas) is imported here, not with the CLI: ``--help`` and
    every command that fails before touching the database start without it."""
    from ..store import Store

    return Store(None, create=create)


def progress(*columns: str | ProgressColumn, hide: bool = False) -> Progress:
    """A transient Rich progress bar on stderr, shown only on a terminal.

    On a pipe or a log file Rich cannot redraw a bar: it printed nothing useful and left a blank
    line where the bar had been, above the one ``error:`` line a script reads (``hide``: not
    wanted at all, e.g. with ``--json``)."""
    from rich.progress import Progress

    return Progress(
        *columns, console=console, transient=True, disable=hide or not console.is_terminal
    )


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, default=str) + "\n")
    sys.stdout.flush()


def error_line(message: object) -> None:
    """One ``error: ...`` line on stderr. The message is plain text, never Rich markup: it
    carries what the user typed (a device id ``x[/y]``, a file name ``[draft].csv``), and
    markup in it raised MarkupError in place of the one-line error."""
    console.print(
        Text.assemble(("error:", "red"), " ", str(message)), highlight=False, soft_wrap=True
    )


def fail(message: str, code: int = 2) -> None:
    error_line(message)
    raise typer.Exit(code)

"""Shared CLI plumbing: opening the store, printing JSON, turning errors into one line."""

from __future__ import annotations

import json
import sys
from typing import Any

import typer
from rich.console import Console

from ..store import Store

console = Console(stderr=True)
out = Console()


def open_store(create: bool = True) -> Store:
    """The store named by ``--db`` / ``PATROLWISE_DATABASE_URL`` (default ./patrolwise.db)."""
    return Store(None, create=create)


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, default=str) + "\n")
    sys.stdout.flush()


def fail(message: str, code: int = 2) -> None:
    console.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)

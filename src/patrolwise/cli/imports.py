"""``patrolwise import ...``: crimes and harm tables."""

from __future__ import annotations

import typer


def register(root: typer.Typer) -> None:
    """Attach import commands."""

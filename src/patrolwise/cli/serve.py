"""CLI commands of the serve stage."""

from __future__ import annotations

import typer


def register(root: typer.Typer) -> None:
    """Attach this stage's commands to the root app."""

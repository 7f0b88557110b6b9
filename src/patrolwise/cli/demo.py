"""``patrolwise demo``: the whole story on the synthetic city."""

from __future__ import annotations

from pathlib import Path

import typer

from .common import console


def register(root: typer.Typer) -> None:
    """Attach the demo command."""

    @root.command("demo")
    def demo_cmd(
        out: Path = typer.Option(
            Path("demo-out"), "--out", help="folder for the database, data and report"
        ),
        seed: int = typer.Option(0, help="seed of the synthetic city"),
        effect: float = typer.Option(0.30, help="planted reduction on outreach patrol days"),
        track_days: int = typer.Option(28, help="days of GPS tracks to simulate"),
    ) -> None:
        """Build the synthetic city, import it through the real paths, run every stage, write report.html."""
        from ..demo import run_demo

        with console.status("running the demo") as status:

            def say(msg: str) -> None:
                status.update(msg or "finishing")
                console.print(msg, highlight=False)

            run_demo(out, seed=seed, effect=effect, track_days=track_days, say=say)

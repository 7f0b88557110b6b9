"""``patrolwise serve``: the web service (live GPS ingest now; the dashboard grows it)."""

from __future__ import annotations

import typer


def register(root: typer.Typer) -> None:
    """Attach the serve command."""

    @root.command("serve")
    def serve_cmd(
        host: str = typer.Option(
            "127.0.0.1", "--host", help="address to listen on (0.0.0.0 for all)"
        ),
        port: int = typer.Option(8000, "--port"),
    ) -> None:
        """Run the web service (ingest endpoints for Traccar Client, OsmAnd, OwnTracks, batches)."""
        import uvicorn

        from ..web.app import create_app

        uvicorn.run(create_app(), host=host, port=port, log_level="info")

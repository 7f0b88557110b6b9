"""``patrolwise serve``: the web service (live GPS ingest now; the dashboard grows it)."""

from __future__ import annotations

import os
from pathlib import Path

import typer
from rich.text import Text

from .common import console, fail


def register(root: typer.Typer) -> None:
    """Attach the serve command."""

    @root.command("serve")
    def serve_cmd(
        host: str = typer.Option(
            "127.0.0.1", "--host", help="address to listen on (0.0.0.0 for all)"
        ),
        port: int = typer.Option(8000, "--port"),
        ssl_certfile: Path | None = typer.Option(
            None,
            "--ssl-certfile",
            help="serve HTTPS with this PEM certificate (chain); needs --ssl-keyfile",
        ),
        ssl_keyfile: Path | None = typer.Option(
            None,
            "--ssl-keyfile",
            help="the certificate's PEM private key; if it is encrypted, put its password in "
            "PATROLWISE_SSL_KEYFILE_PASSWORD",
        ),
    ) -> None:
        """Run the web service (ingest endpoints for Traccar Client, OsmAnd, OwnTracks, batches)."""
        from ..errors import ConfigError
        from ..web.tls import PASSWORD_ENV, check_cert_and_key, plain_http_warning

        # the certificate and key are checked before the app loads: a wrong file is one line
        # now, not a traceback from inside uvicorn after the database is opened
        certfile = str(ssl_certfile) if ssl_certfile is not None else None
        keyfile = str(ssl_keyfile) if ssl_keyfile is not None else None
        password = os.environ.get(PASSWORD_ENV) or None
        try:
            tls = check_cert_and_key(certfile, keyfile, password)
        except ConfigError as exc:
            fail(str(exc))
        warning = None if tls else plain_http_warning(host)
        if warning:
            console.print(
                Text.assemble(("warning:", "yellow"), " ", warning), highlight=False, soft_wrap=True
            )

        import uvicorn

        from ..web.app import create_app

        # uvicorn's "Uvicorn running on https://..." line names the scheme
        uvicorn.run(
            create_app(),
            host=host,
            port=port,
            log_level="info",
            ssl_certfile=certfile if tls else None,
            ssl_keyfile=keyfile if tls else None,
            ssl_keyfile_password=password if tls else None,
        )

"""Start a throw-away PostgreSQL server for the test session (a real server, not a mock).

Order of preference: ``PATROLWISE_TEST_PG_URL`` (an existing server), else initdb + pg_ctl from the
Debian packages into a temporary folder on a free loopback port. Running as root, the server runs
as the ``postgres`` system user (initdb refuses root).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def _bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgServer:
    def __init__(self) -> None:
        self.dir: Path | None = None
        self.url: str | None = None
        self._as: list[str] = []
        self._bin: Path | None = None

    def start(self) -> str | None:
        env_url = os.environ.get("PATROLWISE_TEST_PG_URL")
        if env_url:
            self.url = env_url
            return env_url
        bindir = _bindir()
        if bindir is None:
            return None
        self._bin = bindir
        self.dir = Path(tempfile.mkdtemp(prefix="patrolwise-pg-"))
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
            self._as = ["runuser", "-u", "postgres", "--"]
        data = self.dir / "data"
        subprocess.run(
            [
                *self._as,
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
        )
        # the port is free when chosen, but another process (a second xdist worker starting its
        # own server, a web test's uvicorn) may take it before the postmaster binds: try again
        for attempt in range(5):
            port = _free_port()
            opts = f"-p {port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c synchronous_commit=off"
            started = subprocess.run(
                [
                    *self._as,
                    str(bindir / "pg_ctl"),
                    "-D",
                    str(data),
                    "-o",
                    opts,
                    "-w",
                    "-l",
                    str(self.dir / "log"),
                    "start",
                ],
                capture_output=True,
            )
            if started.returncode == 0:
                break
            log = (self.dir / "log").read_text(errors="replace")
            if attempt == 4 or "could not bind" not in log:
                raise RuntimeError(f"pg_ctl start failed: {log[-2000:]}")
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
        deadline = time.time() + 20
        import psycopg

        while True:
            try:
                psycopg.connect(f"host=127.0.0.1 port={port} user=postgres dbname=postgres").close()
                break
            except psycopg.OperationalError:
                if time.time() > deadline:
                    raise
                time.sleep(0.2)
        return self.url

    def stop(self) -> None:
        if self.dir is not None and self._bin is not None:
            subprocess.run(
                [
                    *self._as,
                    str(self._bin / "pg_ctl"),
                    "-D",
                    str(self.dir / "data"),
                    "-m",
                    "immediate",
                    "stop",
                ],
                capture_output=True,
            )
            shutil.rmtree(self.dir, ignore_errors=True)

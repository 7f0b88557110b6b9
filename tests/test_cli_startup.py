"""The CLI starts without the heavy libraries: ``patrolwise --help`` and every command pay for
importing ``patrolwise.cli``, and the test suite runs many CLI subprocesses. The commands import
pandas, the store and the stage libraries when they run; a module-level import of one of them
in ``patrolwise.cli`` (or in a module it imports) fails here."""

from __future__ import annotations

import ast
import os
import subprocess
import sys

HEAVY = (
    "pandas",
    "geopandas",
    "sqlalchemy",
    "numba",
    "shapely",
    "pyarrow",
    "statsmodels",
    "scipy",
    "fastapi",
)


def test_importing_the_cli_loads_no_heavy_library() -> None:
    code = f"import sys, patrolwise.cli; print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    r = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert ast.literal_eval(r.stdout.strip()) == []


def test_help_lists_every_command_group() -> None:
    r = subprocess.run(
        [sys.executable, "-m", "patrolwise.cli", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "120"},
    )
    assert r.returncode == 0, r.stderr
    listed = {line.strip("│ ").split(" ")[0] for line in r.stdout.splitlines()}
    for name in (
        "init",
        "serve",
        "demo",
        "import",
        "harm",
        "crimes",
        "hotspots",
        "track",
        "devices",
        "dosage",
        "plan",
        "engage",
        "debrief",
        "evaluate",
        "rates",
    ):
        assert name in listed, f"{name!r} missing from `patrolwise --help`:\n{r.stdout}"

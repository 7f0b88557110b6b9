"""The crime-import benchmark, run small: it must run end to end and print its ratios.

The full run (1M rows) is `python benchmarks/import_crimes.py`; its figures are in
docs/benchmarks.md. Here only that the script works, on both stores, with every peer.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_import_benchmark_runs_small(shared_data: Path) -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "import_crimes.py"), "--rows", "3000"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    text = out.stdout
    assert "3,000 police.uk-shaped rows" in text
    for name in (
        "patrolwise sqlite",
        "patrolwise postgresql",
        "pandas+to_sql sqlite (sqlite3)",
        "pandas+to_sql postgresql",
        "duckdb",
    ):
        assert name in text
    assert "postgresql patrolwise / pandas+to_sql (SQLAlchemy engine) =" in text
    assert "patrolwise / pandas+to_sql (plain sqlite3 connection) =" in text

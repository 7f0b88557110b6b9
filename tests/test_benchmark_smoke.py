"""The crime-import and dosage benchmarks, run small: they must run end to end and print ratios.

The full runs (1M rows; 1M and 10M pings) are `python benchmarks/import_crimes.py` and
`python benchmarks/dosage.py`; their figures are in docs/benchmarks.md. Here only that the
scripts work, with every peer (both stores for the import).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_benchmark(script: str, *args: str, timeout: int) -> str:
    """Run ``benchmarks/<script>`` in a fresh process (as a user would) and return its output;
    a failure shows the end of its stderr."""
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


@pytest.mark.slow
def test_import_benchmark_runs_small(shared_data: Path) -> None:
    text = run_benchmark("import_crimes.py", "--rows", "3000", timeout=600)
    assert "3,000 police.uk-shaped rows" in text
    for name in (
        "patrolwise sqlite",
        "patrolwise postgresql",
        "pandas+to_sql sqlite (sqlite3)",
        "pandas+to_sql postgresql",
        "duckdb",
        "sqlite floor",
    ):
        assert name in text
    assert "SQLite's own floor (INSERT ... SELECT of ready rows)" in text
    # the floor copied the rows patrolwise stored (an empty copy would be a vacuous floor)
    floor = next(line for line in text.splitlines() if line.strip().startswith("sqlite floor"))
    assert int(floor.split()[4].replace(",", "")) > 0  # rows/s: it copied rows
    assert "postgresql patrolwise / pandas+to_sql (SQLAlchemy engine) =" in text
    assert "patrolwise / pandas+to_sql (plain sqlite3 connection) =" in text


@pytest.mark.slow
def test_dosage_benchmark_runs_small() -> None:
    """The dosage benchmark's short form: every peer runs, the ratios print, and the Dask runs
    (1 and 2 worker processes, and Dask threads) agree with the single process."""
    text = run_benchmark("dosage.py", "--smoke", timeout=900)
    for size in ("200,000 pings, 7 hot spots", "200,000 pings, 100 hot spots"):
        assert size in text
    for name in (
        "geopandas sjoin within + groupby (counts)",
        "patrolwise dosage, 1 thread, cold",
        "patrolwise dosage, 2 threads, cold",
        "patrolwise dosage, 1 thread, warm",
        "patrolwise dosage, 2 threads, warm",
        "MovingPandas clip per polygon (300 pings only)",
        "Dask LocalCluster, 1 worker(s)",
        "Dask LocalCluster, 2 worker(s)",
    ):
        assert name in text
    assert text.count("identical to single process: True") == 2
    assert "2 workers vs 1:" in text
    # every patrolwise row carries its ratio to the peer timed in the same run
    ratios = [line for line in text.splitlines() if "patrolwise dosage" in line]
    assert len(ratios) == 2 * 4 + 1 and all(line.rstrip().endswith("x") for line in ratios)

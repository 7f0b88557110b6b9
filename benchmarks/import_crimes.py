"""Crime import throughput: patrolwise against pandas.read_csv + to_sql and DuckDB read_csv.

Makes a police.uk-shaped CSV of N rows by resampling the real Leicestershire file (fresh Crime
IDs, ASB rows kept blank), then imports it in separate processes so peak memory is each one's own:

- patrolwise (validation, harm, de-duplication, rejects) into SQLite and into PostgreSQL;
- pandas.read_csv + DataFrame.to_sql into SQLite and into PostgreSQL (no validation at all), through
  a SQLAlchemy engine as pandas' documentation shows, and into SQLite also through a plain
  ``sqlite3`` connection (pandas' own executemany path, about twice as fast);
- DuckDB read_csv into a table (columnar engine, no validation): the ceiling, not the goal;
- SQLite's own floor: the rows patrolwise stored, already built, copied by one ``INSERT ... SELECT``
  from an attached database into a fresh patrolwise schema (same keys, indexes, WAL and page
  cache) and committed. No Python runs per row and nothing is read, checked or hashed: no SQLite
  importer that keeps our keyed table can be faster than this, so its ratio to the peer bounds
  the ratio any importer can reach.

Goal (issue 2): patrolwise at least 3x pandas + to_sql on SQLite and on PostgreSQL.

    python benchmarks/import_crimes.py            # 1,000,000 rows
    python benchmarks/import_crimes.py --quick    # 100,000 rows
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "police-uk"


def make_file(rows: int, path: Path) -> None:
    import numpy as np
    import pandas as pd

    src = pd.concat(
        [
            pd.read_csv(
                SHARED / f"2022-{m:02d}-leicestershire-street.csv", dtype=str, keep_default_na=False
            )
            for m in (8, 9, 10)
        ]
    )
    rng = np.random.default_rng(0)
    df = src.iloc[rng.integers(0, len(src), rows)].reset_index(drop=True)
    has = df["Crime ID"] != ""
    ids = pd.Series([f"{i:064x}" for i in rng.integers(0, 2**62, rows)])
    df.loc[has, "Crime ID"] = ids[has]
    df["Month"] = [f"20{18 + (i % 60) // 12}-{(i % 12) + 1:02d}" for i in range(rows)]
    df.to_csv(path, index=False, lineterminator="\r\n")


def run_variant(variant: str, file: Path, url: str) -> dict[str, float]:
    t = time.perf_counter()
    if variant.startswith("patrolwise"):
        from patrolwise.store import Store
        from patrolwise.store.crime_import import import_crimes

        store = Store(url)
        t = time.perf_counter()
        res = import_crimes(store, [file], rejects_dir=file.parent / "rejects")
        n = res[0].imported
    elif variant.startswith("pandas"):
        import sqlite3

        import pandas as pd
        from sqlalchemy import create_engine

        con: Any = (
            sqlite3.connect(url.removeprefix("sqlite:///"))
            if variant.endswith("(sqlite3)")
            else create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
        )
        t = time.perf_counter()
        df = pd.read_csv(file)
        df.to_sql("crimes_pandas", con, if_exists="replace", index=False, chunksize=100_000)
        if isinstance(con, sqlite3.Connection):
            con.commit()
        n = len(df)
    elif variant == "sqlite floor":
        import sqlite3

        from patrolwise.store import Store

        Store(url).close()  # the schema, as the import finds it
        con = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        con.execute("PRAGMA synchronous=NORMAL")
        con.execute("PRAGMA cache_size=-131072")  # the import's bulk-insert cache
        con.execute(f"ATTACH '{file}' AS done")
        t = time.perf_counter()
        con.execute("BEGIN IMMEDIATE")
        con.execute("INSERT INTO crime_places SELECT * FROM done.crime_places")
        con.execute("INSERT INTO crime_labels SELECT * FROM done.crime_labels")
        con.execute("INSERT INTO crimes SELECT * FROM done.crimes ORDER BY id")
        con.execute("COMMIT")
        n = con.execute("SELECT count(*) FROM crimes").fetchone()[0]
    elif variant == "duckdb":
        import duckdb

        con = duckdb.connect(url)
        t = time.perf_counter()
        con.execute(f"CREATE TABLE crimes AS SELECT * FROM read_csv('{file}')")
        n = con.execute("SELECT count(*) FROM crimes").fetchone()[0]  # type: ignore[index]
    else:
        raise SystemExit(f"unknown variant {variant}")
    secs = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": secs, "rows": float(n), "peak_mb": peak}


def child(variant: str, file: Path, url: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--run", variant, "--file", str(file), "--url", url],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--no-postgres", action="store_true")
    ap.add_argument("--run")
    ap.add_argument("--file")
    ap.add_argument("--url")
    a = ap.parse_args()
    if a.run:
        print(json.dumps(run_variant(a.run, Path(a.file), a.url)))
        return
    rows = 100_000 if a.quick else a.rows
    sys.path.insert(0, str(ROOT / "tests"))
    tmp = Path(tempfile.mkdtemp(prefix="pw-bench-"))
    file = tmp / "crimes.csv"
    make_file(rows, file)
    print(f"{rows:,} police.uk-shaped rows ({file.stat().st_size / 1e6:.0f} MB)")
    pg = None
    pg_url = None
    if not a.no_postgres:
        from pgserver import PgServer  # type: ignore[import-not-found]

        pg = PgServer()
        pg_url = pg.start()
    results: dict[str, dict[str, float]] = {}
    try:
        plan = [
            ("patrolwise sqlite", file, f"sqlite:///{tmp / 'pw.db'}"),
            ("sqlite floor", tmp / "pw.db", f"sqlite:///{tmp / 'floor.db'}"),
            ("pandas+to_sql sqlite", file, f"sqlite:///{tmp / 'pd.db'}"),
            ("pandas+to_sql sqlite (sqlite3)", file, f"sqlite:///{tmp / 'pd3.db'}"),
            ("duckdb", file, str(tmp / "duck.db")),
        ]
        if pg_url:
            plan += [
                ("patrolwise postgresql", file, pg_url),
                ("pandas+to_sql postgresql", file, pg_url),
            ]
        for name, src, url in plan:
            results[name] = r = child(name, src, url)
            print(
                f"  {name:30s} {r['seconds']:7.2f} s  {r['rows'] / r['seconds']:>12,.0f} rows/s  peak {r['peak_mb']:,.0f} MB"
            )
    finally:
        if pg is not None:
            pg.stop()
    print("ratios (rows/s of patrolwise over the peer; goal >= 3x pandas+to_sql):")
    for backend in ("sqlite", "postgresql"):
        ours = results.get(f"patrolwise {backend}")
        peer = results.get(f"pandas+to_sql {backend}")
        if ours and peer:
            ratio = (ours["rows"] / ours["seconds"]) / (peer["rows"] / peer["seconds"])
            print(f"  {backend:10s} patrolwise / pandas+to_sql (SQLAlchemy engine) = {ratio:.2f}x")
    ours, peer = results.get("patrolwise sqlite"), results.get("pandas+to_sql sqlite (sqlite3)")
    if ours and peer:
        ratio = (ours["rows"] / ours["seconds"]) / (peer["rows"] / peer["seconds"])
        print(
            f"  {'sqlite':10s} patrolwise / pandas+to_sql (plain sqlite3 connection) = {ratio:.2f}x"
        )
    floor = results.get("sqlite floor")
    if floor and peer:
        ratio = (floor["rows"] / floor["seconds"]) / (peer["rows"] / peer["seconds"])
        print(
            f"  {'sqlite':10s} SQLite's own floor (INSERT ... SELECT of ready rows) / pandas+to_sql "
            f"(plain sqlite3) = {ratio:.2f}x: the most any importer into this table can reach"
        )
    duck = results["duckdb"]
    ours = results["patrolwise sqlite"]
    print(
        f"  sqlite     patrolwise / duckdb          = {(ours['rows'] / ours['seconds']) / (duck['rows'] / duck['seconds']):.2f}x"
    )
    os.system(f"rm -rf {tmp}")


if __name__ == "__main__":
    main()

"""Bulk ping insert: patrolwise ``insert_pings`` against pandas ``DataFrame.to_sql``.

The peer is what a user would write: ``to_sql(..., if_exists="append", method="multi")`` into
the same ``pings`` table. Note the peer is *not* idempotent (it fails on the unique
``(device_id, t)`` when a file is imported twice); patrolwise skips duplicates and counts them.

    python benchmarks/pings_insert.py [--quick] [--pg URL]

Prints seconds, rows per second, the ratio (peer time / patrolwise time) and peak memory.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from patrolwise.store import Store
from patrolwise.store.devices import add_device
from patrolwise.store.pings import insert_pings


def make_pings(n: int, devices: int = 50, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    dev = rng.integers(0, devices, n)
    t = pd.Timestamp("2024-05-01") + pd.to_timedelta(np.arange(n) * 100, unit="ms")
    return pd.DataFrame(
        {
            "device_id": [f"D{d:03d}" for d in dev],
            "team": np.where(dev % 2 == 0, "outreach", "police"),
            "t": t,
            "lon": -1.13 + rng.normal(0, 0.01, n),
            "lat": 52.63 + rng.normal(0, 0.01, n),
            "x": 458000 + rng.normal(0, 700, n),
            "y": 304000 + rng.normal(0, 700, n),
            "accuracy": rng.uniform(3, 30, n),
            "speed": rng.uniform(0, 2, n),
            "heading": np.nan,
            "altitude": np.nan,
            "battery": np.nan,
        }
    )


def fresh(url: str | None, folder: Path, name: str, devices: int) -> Store:
    st = Store(url or f"sqlite:///{folder / name}.db")
    for d in range(devices):
        add_device(st, f"D{d:03d}", "outreach" if d % 2 == 0 else "police", with_secret=False)
    return st


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="100k rows instead of 1M")
    ap.add_argument("--pg", help="a PostgreSQL URL to run against (an empty database)")
    args = ap.parse_args()
    n = 100_000 if args.quick else 1_000_000
    df = make_pings(n)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        st = fresh(args.pg, folder, "pw", 50)
        t0 = time.perf_counter()
        with st.engine.begin() as conn:
            written = insert_pings(conn, df, source="bench")
        ours = time.perf_counter() - t0
        t0 = time.perf_counter()
        with st.engine.begin() as conn:
            again = insert_pings(conn, df, source="bench")
        rerun = time.perf_counter() - t0
        assert written == n and again == 0
        mem_ours = peak_mb()
        st.close()
        if args.pg:
            print("(peer skipped on PostgreSQL: it would need a second empty database)")
            print(f"patrolwise  {n:>9,} rows  {ours:7.2f} s  {n / ours:>10,.0f} rows/s")
            return
        peer_store = fresh(None, folder, "peer", 50)
        peer_df = df.assign(source="bench")
        t0 = time.perf_counter()
        peer_df.to_sql(
            "pings",
            peer_store.engine,
            if_exists="append",
            index=False,
            method="multi",
            chunksize=900 // 13,
        )
        peer = time.perf_counter() - t0
        peer_store.close()
    print(f"rows: {n:,} on SQLite (WAL), unique (device_id, t), 3 indexes")
    print(f"patrolwise insert_pings   {ours:7.2f} s  {n / ours:>10,.0f} rows/s")
    print(f"patrolwise re-insert      {rerun:7.2f} s  (all {n:,} skipped as already present)")
    print(f"pandas to_sql (multi)     {peer:7.2f} s  {n / peer:>10,.0f} rows/s")
    print(f"ratio peer/patrolwise     {peer / ours:7.2f}x   peak memory {mem_ours:,.0f} MB")


if __name__ == "__main__":
    main()

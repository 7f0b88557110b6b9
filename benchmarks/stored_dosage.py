"""Dosage over the stored pings: memory and time, read in pieces against all at once.

The peer is what ``patrolwise dosage`` did before: every ping of the period loaded as one frame
(``load_pings``), teams from the registry, cleaned, measured. patrolwise now reads a piece of
whole devices at a time (``stored_dosage.measure_stored``). Each run is a fresh process, so its
peak resident memory (``VmHWM``) is its own; the store is the synthetic city's tracked days with
every tracker copied ``--copies`` times (a force with many devices).

    python benchmarks/stored_dosage.py [--copies 70] [--chunk 1000000 --chunk 250000] [--pg URL]

Prints pings, peak memory above the libraries' own, seconds, and the ratios (peer / patrolwise).
The answers are checked equal (visits, unknown gaps, tracked spans, stats).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def _hwm_mb() -> float:
    """Peak resident memory of this process so far, MB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status (Linux only)")


def fill(url: str, copies: int, seed: int = 7) -> int:
    """The city's four tracked days, each tracker ``copies`` times, a few metres apart."""
    from patrolwise.store import Store, init_db
    from patrolwise.store.areas import add_areas
    from patrolwise.store.devices import ensure_devices
    from patrolwise.store.pings import insert_pings
    from patrolwise.synth import make_city

    init_db(url)
    city = make_city(seed, track_days=4, during_weeks=1)
    rng = np.random.default_rng(seed)
    with Store(url) as st:
        add_areas(st, city.hotspots[["name", "geometry"]])
        n = 0
        for k in range(copies):  # one copy at a time: the benchmark's own memory stays small
            p = city.pings.copy()
            p["device_id"] = p["device_id"] + f"-{k:03d}"
            p["x"] += rng.normal(0, 3, len(p))
            p["y"] += rng.normal(0, 3, len(p))
            with st.engine.begin() as conn:
                ensure_devices(conn, dict(zip(p["device_id"], p["team"], strict=True)))
                n += insert_pings(conn, p, source="benchmark")
    return n


def all_at_once(st: Any, params: Any) -> tuple[Any, int]:
    """The peer: ``patrolwise dosage`` before pieces (no dates: every stored ping)."""
    from patrolwise.store.areas import load_areas
    from patrolwise.store.devices import device_teams, list_devices
    from patrolwise.store.pings import load_pings
    from patrolwise.track.cleaning import clean_pings, device_start_dates
    from patrolwise.track.dosage import compute_dosage, on_active_days
    from patrolwise.track_import import apply_assignments

    hs = load_areas(st, "hotspot")
    pings = load_pings(st, with_flags=True)
    with st.engine.connect() as conn:
        known, assigns = device_teams(conn, pings["device_id"].unique().tolist())
    base = pings["device_id"].map(known)
    pings = pings.assign(team=base.where(base.notna(), pings["team"]))
    pings = pings.assign(team=apply_assignments(pings, assigns, params.tz))
    cleaned = clean_pings(pings, device_since=device_start_dates(list_devices(st)), tz=params.tz)
    res = compute_dosage(cleaned, hs, params)
    res.visits = on_active_days(res.visits, hs)
    res.unknown = on_active_days(res.unknown, hs)
    res.stats["cleaning"] = cleaned.attrs["cleaning"]
    return res, len(pings)


def one_run(url: str, how: str, out: str) -> None:
    """Measure once in this (fresh) process; write the answer and the peak to ``out``."""
    from patrolwise.store import Store
    from patrolwise.track.dosage import DosageParams

    params = DosageParams()
    base = _hwm_mb()
    with Store(url) as st:
        t0 = time.perf_counter()
        if how == "all":
            res, n = all_at_once(st, params)
        else:
            from patrolwise.stored_dosage import measure_stored

            m = measure_stored(st, None, None, params, chunk_pings=int(how))
            res, n = m.result, m.pings
        took = time.perf_counter() - t0
    peak = _hwm_mb() - base
    folder = Path(out)
    for name in ("visits", "unknown", "tracked"):
        getattr(res, name).to_pickle(folder / f"{how}-{name}.pkl")
    (folder / f"{how}.json").write_text(
        json.dumps({"pings": n, "peak_mb": peak, "s": took, "stats": res.stats}, default=str)
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--copies", type=int, default=70, help="copies of each tracker (70: 1.35M)")
    ap.add_argument("--chunk", type=int, action="append", help="pings per piece (repeatable)")
    ap.add_argument("--pg", help="an empty PostgreSQL database's URL, instead of a SQLite file")
    ap.add_argument("--one", nargs=3, help=argparse.SUPPRESS)  # url, how, folder: a child run
    a = ap.parse_args()
    if a.one:
        one_run(*a.one)
        return
    chunks = a.chunk or [1_000_000, 250_000]
    with tempfile.TemporaryDirectory() as tmp:
        url = a.pg or f"sqlite:///{tmp}/bench.db"
        t0 = time.perf_counter()
        n = fill(url, a.copies)
        print(f"{n:,} pings of {a.copies * 6} trackers stored in {time.perf_counter() - t0:.0f} s")
        runs: dict[str, dict[str, Any]] = {}
        for how in ["all", *map(str, chunks)]:
            subprocess.run([sys.executable, __file__, "--one", url, how, tmp], check=True)
            runs[how] = json.loads((Path(tmp) / f"{how}.json").read_text())
            for name in ("visits", "unknown", "tracked"):
                pd.testing.assert_frame_equal(
                    pd.read_pickle(Path(tmp) / f"{how}-{name}.pkl"),
                    pd.read_pickle(Path(tmp) / f"all-{name}.pkl"),
                )
            assert runs[how]["stats"] == runs["all"]["stats"], how
        peer = runs["all"]
        print(f"{'run':<34}{'pings':>12}{'peak MB':>10}{'s':>8}")
        for how, r in runs.items():
            label = "all at once (peer)" if how == "all" else f"patrolwise, pieces of {int(how):,}"
            print(f"{label:<34}{r['pings']:>12,}{r['peak_mb']:>10.0f}{r['s']:>8.1f}")
        for how in map(str, chunks):
            r = runs[how]
            print(
                f"pieces of {int(how):,}: memory peer / patrolwise = "
                f"{peer['peak_mb'] / max(r['peak_mb'], 1):.1f}, time = {peer['s'] / r['s']:.2f}"
            )
        print("answers identical: visits, unknown gaps, tracked spans, stats")


if __name__ == "__main__":
    main()

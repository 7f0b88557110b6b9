"""Speed of three hot paths QA found slow, each against the path it replaced, in one run.

The unit tests check that the slow path is no longer taken (a spy on it); the times live here,
never in a timed unit test:

* cleaning pings that come from the store in (device, time) order skips the four-key sort:
  peer, the same pings shuffled (the sort runs);
* a track CSV whose accuracy column says 'N/A' throughout rejects every row without Python per
  row: peer, the same file with a number there (ratio per row, ~20x before the fix);
* British day-first incident dates parse by exact formats in pandas' compiled parser: peer,
  ``pd.to_datetime(format="mixed", dayfirst=True)`` (dateutil per value, the path it replaced).

Prints seconds, rows per second, the ratio (patrolwise time / peer time: below 1 is faster) and
peak memory.

    .venv/bin/python benchmarks/hot_paths.py [--quick]
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from patrolwise.io.incidents import _parse_times
from patrolwise.io.tracks import read_csv_points
from patrolwise.track.cleaning import clean_pings

NOW = dt.datetime(2025, 1, 1)


def best(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, float]:
    """Best of ``repeat`` wall times, and the peak traced memory of one run (MB)."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return min(times), peak


def row(name: str, n: int, ours: tuple[float, float], peer: tuple[float, float]) -> None:
    print(
        f"{name:<34} {n:>9,} rows  patrolwise {ours[0]:7.3f} s {n / ours[0]:>12,.0f}/s "
        f"{ours[1]:7.1f} MB | peer {peer[0]:7.3f} s {peer[1]:7.1f} MB "
        f"| ratio {ours[0] / peer[0]:.2f}"
    )


def cleaning(devices: int, per_device: int) -> None:
    start = pd.Timestamp("2024-06-03")
    t = pd.date_range(start, periods=per_device, freq="10s")
    rng = np.random.default_rng(0)
    parts = [
        pd.DataFrame(
            {
                "device_id": f"D{d:03d}",
                "team": "outreach",
                "t": t,
                "x": np.arange(per_device) * 10.0 + rng.normal(0, 1, per_device),
                "y": rng.normal(0, 1, per_device),
                "accuracy": 8.0,
            }
        )
        for d in range(devices)
    ]
    in_order = pd.concat(parts, ignore_index=True)
    shuffled = in_order.sample(frac=1, random_state=1).reset_index(drop=True)
    row(
        "clean pings in order / shuffled",
        len(in_order),
        best(lambda: clean_pings(in_order, now=NOW)),
        best(lambda: clean_pings(shuffled, now=NOW)),
    )


def unreadable_numbers(n: int) -> None:
    body = "".join(
        f"PC{i % 7},2024-06-03T13:{(i // 60) % 60:02d}:{i % 60:02d}Z,52.63,-1.13,{{acc}}\n"
        for i in range(n)
    )
    head = "callsign,time,lat,lon,accuracy\n"
    clean, na = (f"{head}{body}".replace("{acc}", v).encode() for v in ("8", "N/A"))
    row(
        "track CSV all 'N/A' / clean",
        n,
        best(lambda: read_csv_points(na, "x.csv")),
        best(lambda: read_csv_points(clean, "x.csv")),
    )


def day_first_dates(n: int) -> None:
    stamps = pd.Timestamp("2021-01-01") + pd.to_timedelta(range(0, n * 37, 37), unit="min")
    stamps = stamps[~stamps.hour.isin([1, 2])]  # clear of the clock changes' missing hour
    s = pd.Series(stamps.strftime("%d/%m/%Y %H:%M"))
    row(
        "day-first dates / dateutil mixed",
        len(s),
        best(lambda: _parse_times(s, "Europe/London")),
        best(lambda: pd.to_datetime(s, format="mixed", dayfirst=True), repeat=1),
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (a few seconds)")
    a = ap.parse_args()
    k = 10 if a.quick else 1
    cleaning(20, 100_000 // k)
    unreadable_numbers(200_000 // k)
    day_first_dates(200_000 // k)


if __name__ == "__main__":
    main()

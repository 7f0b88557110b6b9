"""Plan stage benchmark: exact route ordering against brute force, and a year of plans.

Peer for the route: enumerating every permutation with itertools (what a spreadsheet macro or a
quick script does). Peer for the randomisation: a per-block Python loop with random.sample.
Prints patrolwise time / peer time as a ratio (below 1 = patrolwise faster) and peak memory.

    .venv/bin/python benchmarks/bench_plan.py [--quick]
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import random
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from patrolwise.plan.randomise import randomise_days
from patrolwise.plan.routing import efficient_order, route_cost, straight_line_minutes
from patrolwise.plan.schedule import PlanRequest, make_plan


def timed(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    tracemalloc.start()
    t = time.perf_counter()
    out = fn()
    el = time.perf_counter() - t
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return el, peak, out


def brute_force(travel: np.ndarray) -> list[int]:
    n = len(travel)
    best = min(itertools.permutations(range(n)), key=lambda p: route_cost(list(p), travel))
    return list(best)


def naive_randomise(ids: list[int], days: list[dt.date], p: float, seed: int) -> int:
    rnd = random.Random(seed)
    n = 0
    for a in ids:
        for wd in range(7):
            block = [d for d in days if d.weekday() == wd]
            k = int(p * len(block) + rnd.random())
            n += len(rnd.sample(block, k)) + 0 * a
    return n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    n = 8 if args.quick else 9
    rng = np.random.default_rng(0)
    travel = straight_line_minutes(rng.uniform(0, 1500, size=(n, 2)))
    t_pw, m_pw, o_pw = timed(lambda: efficient_order(travel))
    t_bf, m_bf, o_bf = timed(lambda: brute_force(travel))
    assert abs(route_cost(o_pw, travel) - route_cost(o_bf, travel)) < 1e-9
    print(
        f"route, {n} stops: patrolwise {t_pw:.3f}s ({m_pw:.1f} MiB) vs itertools brute force "
        f"{t_bf:.3f}s ({m_bf:.1f} MiB): ratio {t_pw / t_bf:.3f}"
    )

    years = 1 if args.quick else 10
    start = dt.date(2024, 1, 1)
    end = start + dt.timedelta(days=365 * years - 1)
    days = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
    ids = list(range(1, 8))
    t_pw, m_pw, a = timed(lambda: randomise_days(ids, start, end, 0.5, seed=1))
    t_nv, m_nv, _ = timed(lambda: naive_randomise(ids, days, 0.5, 1))
    print(
        f"randomise, 7 hot spots x {len(days)} days: patrolwise {t_pw:.3f}s ({m_pw:.1f} MiB) vs "
        f"per-block random.sample {t_nv:.3f}s ({m_nv:.1f} MiB): ratio {t_pw / t_nv:.3f}"
    )

    hs = gpd.GeoDataFrame(
        {"area_id": ids, "name": [f"H{i}" for i in ids]},
        geometry=[
            shapely.Point(458000 + 300 * np.cos(i), 304000 + 300 * np.sin(i)).buffer(40)
            for i in ids
        ],
        crs="EPSG:27700",
    )
    pend = start + dt.timedelta(days=(30 if args.quick else 365) - 1)
    t_o, m_o, out = timed(
        lambda: make_plan(
            hs, PlanRequest("outreach", start, pend, order="random", seed=2), patrol_days=a
        )
    )
    t_p, m_p, pol = timed(
        lambda: make_plan(hs, PlanRequest("police", start, pend, seed=3), avoid=out.visits)
    )
    print(
        f"plans for {(pend - start).days + 1} days: outreach {len(out.visits)} visits {t_o:.2f}s "
        f"({m_o:.1f} MiB); police kept 30 min apart {len(pol.visits)} visits {t_p:.2f}s ({m_p:.1f} MiB)"
    )


if __name__ == "__main__":
    main()

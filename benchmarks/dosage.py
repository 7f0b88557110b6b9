"""Benchmark: patrolwise dosage against geopandas and MovingPandas, and Dask 2 workers against 1.

Peers, as a user would write them:

- geopandas: ``sjoin(points, hotspots, predicate="within")`` then a pandas ``groupby`` counting
  pings per hot spot (counts only: no visits, no minutes). Points are built before the clock
  starts, which flatters geopandas; at 1M pings it gets the best of three runs, each on a new
  points frame (a frame keeps the STRtree its first join built).
- MovingPandas: a ``TrajectoryCollection`` per device, ``clip``-ped by each hot spot polygon
  (time in zone). It is slow (about a minute for 20,000 pings and 7 hot spots here), so it runs
  once, on a small sample (labelled), with 7 hot spots only, and its rate is compared.

patrolwise runs the full dosage (exact geometry, visits with minutes, gaps and midnight splits,
streamed in 1M-ping chunks) on the same pings: on one thread, and with the index build and the
chunks on every core by Dask's threaded scheduler (the compiled kernels release the GIL); each
*cold* (the hot spots indexed inside the timed call) and *warm* (the hot spot set
prepared by an earlier call is reused: :mod:`patrolwise.track.prepared` keeps it by content, as
a dashboard refreshing, or the next day's run over the same hot spots, finds it). geopandas'
``within`` join builds its STRtree over the points, which are new each day, so it has no warm
case: it is timed as a user runs it. Each row is compared with geopandas timed in the same run;
pings/s per core shows what the extra cores add. patrolwise times are the best of 9 calls at
1M pings and of 3 at 10M.

The hot path is compiled by numba (``cache=True``): the first call on a machine compiles the
kernels and every later process loads them from ``__pycache__``. Timed runs are warmed up first
(a small dosage run before the clock); the one-off costs are printed once at the start: compiling
from scratch (a fresh cache directory) and loading from the cache in a new process.

Peak memory is tracemalloc's peak of Python and numpy allocations during the call (GEOS memory,
and the working buffers numba's kernels allocate, are not seen by tracemalloc). Usage::

    python benchmarks/dosage.py           # 1M and 10M pings x 7, 100, 1000 hot spots, Dask on 10M
    python benchmarks/dosage.py --quick   # 1M pings, Dask on 1M
    python benchmarks/dosage.py --smoke   # 200,000 pings: that it runs (the test suite does)
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
import warnings
from collections.abc import Callable
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from patrolwise.track.dosage import (
    DosageParams,
    compute_dosage,
    default_workers,
    finalise,
    prepare_hotspots,
    scan_chunks,
    stitch,
)
from patrolwise.track.prepared import clear_cache

CITY = 10_000.0  # a 10 km square city centre
X0, Y0 = 450_000.0, 300_000.0


def make_hotspots(n: int, seed: int = 0) -> gpd.GeoDataFrame:
    """Street-scale hot spots (60-160 m across): circles, rectangles and hexagons."""
    rng = np.random.default_rng(seed)
    spread = CITY if n > 20 else 1500.0
    cx = X0 + CITY / 2 + rng.uniform(-spread / 2, spread / 2, n)
    cy = Y0 + CITY / 2 + rng.uniform(-spread / 2, spread / 2, n)
    geoms = []
    for i in range(n):
        r = rng.uniform(30, 80)
        if i % 3 == 0:
            g = shapely.Point(cx[i], cy[i]).buffer(r)
        elif i % 3 == 1:
            g = shapely.box(cx[i] - r, cy[i] - r / 2, cx[i] + r, cy[i] + r / 2)
        else:
            g = shapely.Point(cx[i], cy[i]).buffer(r, quad_segs=2)
        geoms.append(g)
    return gpd.GeoDataFrame({"area_id": np.arange(1, n + 1)}, geometry=geoms, crs="EPSG:27700")


def make_pings(n: int, hotspots: gpd.GeoDataFrame, seed: int = 1) -> dict[str, np.ndarray]:
    """Foot patrol tracks: each device walks between hot spots (1.3 m/s, a fix every 10 s) and
    lingers in them, so pings cluster in and around hot spots as real patrol data does."""
    rng = np.random.default_rng(seed)
    per_dev = 20_000
    n_dev = max(1, n // per_dev)
    c = shapely.centroid(np.asarray(hotspots.geometry.values))
    hx, hy = shapely.get_x(c), shapely.get_y(c)
    x = np.empty(n)
    y = np.empty(n)
    from scipy.spatial import cKDTree

    k = min(8, len(hx))
    near = cKDTree(np.c_[hx, hy]).query(np.c_[hx, hy], k=k)[1].reshape(len(hx), k)
    for d in range(n_dev):
        lo, hi = d * per_dev, min(n, (d + 1) * per_dev) if d < n_dev - 1 else n
        m = hi - lo
        # legs of 120 fixes (20 min): walk to a nearby hot spot for 60, wander in it for 60
        legs = m // 120 + 2
        tgt = np.empty(legs, dtype=np.int64)
        tgt[0] = rng.integers(0, len(hx))
        pick = rng.integers(0, k, legs)
        for i in range(1, legs):
            tgt[i] = near[tgt[i - 1], pick[i]]
        step = rng.normal(0, 4, (m, 2))
        px, py = np.cumsum(step[:, 0]), np.cumsum(step[:, 1])
        leg = np.arange(m) // 120
        frac = np.minimum((np.arange(m) % 120) / 60.0, 1.0)
        a, b = tgt[leg], tgt[leg + 1]
        bx = hx[a] + (hx[b] - hx[a]) * frac
        by = hy[a] + (hy[b] - hy[a]) * frac
        x[lo:hi] = bx + px - px[leg * 120]
        y[lo:hi] = by + py - py[leg * 120]
    unit = np.repeat(np.arange(n_dev, dtype=np.int64), per_dev)[:n]
    if len(unit) < n:
        unit = np.concatenate([unit, np.full(n - len(unit), n_dev - 1)])
    t = np.datetime64("2024-06-03T13:00", "ms").astype(np.int64) + (
        (np.arange(n) - np.searchsorted(unit, unit)) * 10_000
    )
    return {"unit": unit, "t": t.astype(np.int64), "x": x, "y": y, "n_dev": np.array(n_dev)}


def patrolwise_dosage(  # type: ignore[no-untyped-def]
    p: dict[str, np.ndarray],
    hs: gpd.GeoDataFrame,
    chunk: int = 1 << 20,
    workers: int = 1,
    cold: bool = True,
):
    """The full dosage; ``workers`` > 1 builds the index and scans chunks on Dask's threaded
    scheduler. ``cold``: the hot spots' index is built in the call (the prepared-set cache is
    emptied first); else the set prepared by an earlier call is taken, as a service answering
    again, or the next day's run over the same hot spots, does."""
    params = DosageParams()
    if cold:
        clear_cache()
    h = prepare_hotspots(hs, params.buffer_m, workers)
    scans = scan_chunks(p["unit"], p["t"], p["x"], p["y"], h, params, chunk, workers)
    units = pd.DataFrame({"device_id": [f"D{i}" for i in range(int(p["n_dev"]))], "team": "police"})
    return finalise(stitch(scans, params.max_gap_ms), params, units, h.area_ids)


def geopandas_counts(pts: gpd.GeoDataFrame, hs: gpd.GeoDataFrame) -> pd.Series:
    j = gpd.sjoin(pts, hs, predicate="within", how="inner")
    return j.groupby("area_id").size()


def movingpandas_clip(df: pd.DataFrame, hs: gpd.GeoDataFrame) -> float:
    import movingpandas as mpd

    gdf = gpd.GeoDataFrame(
        df[["device_id", "t"]], geometry=gpd.points_from_xy(df["x"], df["y"]), crs="EPSG:27700"
    )
    tc = mpd.TrajectoryCollection(gdf, "device_id", t="t")
    total = 0.0
    for poly in hs.geometry:
        clipped = tc.clip(poly)
        for traj in clipped.trajectories:
            total += traj.get_duration().total_seconds()
    return total / 60.0


def measure(
    fn: Callable[[Any], Any], repeat: int = 1, setup: Callable[[], Any] = lambda: None
) -> tuple[float, float, Any]:
    """(best seconds of ``repeat`` calls ``fn(setup())``, peak MB by tracemalloc in a separate
    run, result). ``setup`` runs before each clock starts (fresh inputs: geopandas keeps the
    spatial index it builds on a frame, so each of its runs gets a new frame)."""
    gc.collect()
    best = np.inf
    out = None
    for _ in range(repeat):
        arg = setup()
        t0 = time.perf_counter()
        out = fn(arg)
        best = min(best, time.perf_counter() - t0)
        del arg
    del out
    gc.collect()
    arg = setup()
    tracemalloc.start()
    out = fn(arg)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return best, peak / 2**20, out


def row(name: str, n: int, secs: float, mb: float, ref: float | None = None) -> str:
    rate = n / secs
    ratio = "" if ref is None else f"{ref / secs:8.1f}x"
    mem = "        - " if np.isnan(mb) else f"{mb:9.0f}"
    return f"  {name:<44} {secs:9.3f} s {rate / 1e6:9.2f} M pings/s {mem} MB {ratio}"


COLD = """
import sys, time
t0 = time.perf_counter()
sys.path.insert(0, {here!r})
from dosage import make_hotspots, make_pings, patrolwise_dosage
hs = make_hotspots(7)
p = make_pings(20_000, hs)
t1 = time.perf_counter()
patrolwise_dosage(p, hs)
t2 = time.perf_counter()
patrolwise_dosage(p, hs)
t3 = time.perf_counter()
print((t2 - t1) - (t3 - t2))
"""


def jit_cold_start() -> None:
    """One-off JIT costs, each in a fresh process: compile with an empty numba cache, then load
    from that cache (first call minus a warm call on 20,000 pings)."""
    here = os.path.dirname(os.path.abspath(__file__))
    code = COLD.format(here=here)
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        out = []
        for _ in range(2):
            r = subprocess.run(
                [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
            )
            out.append(float(r.stdout.strip().splitlines()[-1]))
    print(
        f"JIT one-off cost (not in the timings below): compile {out[0]:.1f} s on first use, "
        f"{out[1]:.2f} s to load the cached kernels in a new process\n"
    )


def bench_engine(sizes: list[int], spots: list[int], mp_pings: int) -> None:
    cores = max(2, default_workers())  # on a 1-core machine the "2 threads" rows share it
    print("patrolwise full dosage vs geopandas sjoin counts (ratio = geopandas s / patrolwise s)")
    print(
        f"patrolwise on 1 thread, then on all {cores} cores (index build and chunks on Dask's"
        " threaded scheduler);\ncold: hot spots indexed in the timed call; warm: the set"
        " prepared by an earlier call is reused (a service, or the next day's run)\n"
    )
    warm = make_hotspots(7)
    patrolwise_dosage(make_pings(20_000, warm), warm)  # compiled kernels loaded before the clock
    for h in spots:
        hs = make_hotspots(h)
        for n in sizes:
            p = make_pings(n, hs)
            print(f"{n:,} pings, {h} hot spots")
            # best of several runs for both sides at 1M (a run is short and the machine's speed
            # wanders); one geopandas run at 10M (12 s each)
            reps = 3 if n <= 2_000_000 else 1
            g_s, g_mb, counts = measure(
                lambda pts, hs=hs: geopandas_counts(pts, hs),
                repeat=reps,
                setup=lambda p=p: gpd.GeoDataFrame(
                    geometry=gpd.points_from_xy(p["x"], p["y"]), crs="EPSG:27700"
                ),
            )
            gc.collect()
            timed = {}
            for cold in (True, False):
                for w in (1, cores):
                    prepare_hotspots(hs, DosageParams().buffer_m)  # the kept set, for warm runs
                    timed[cold, w] = measure(
                        lambda _, p=p, hs=hs, w=w, cold=cold: patrolwise_dosage(
                            p, hs, workers=w, cold=cold
                        ),
                        repeat=3 * reps,
                    )
            res = timed[True, 1][2]
            print(row("geopandas sjoin within + groupby (counts)", n, g_s, g_mb))
            for cold, how in ((True, "cold"), (False, "warm")):
                for w in (1, cores):
                    secs, mb, _ = timed[cold, w]
                    what = "1 thread" if w == 1 else f"{w} threads"
                    print(row(f"patrolwise dosage, {what}, {how}", n, secs, mb, g_s))
            for cold, how in ((True, "cold"), (False, "warm")):
                s1, sk = timed[cold, 1][0], timed[cold, cores][0]
                print(
                    f"    per core, {how}: {n / s1 / 1e6:.2f} M pings/s on 1 thread, "
                    f"{n / sk / cores / 1e6:.2f} M pings/s on each of {cores} "
                    f"({s1 / sk:.2f}x the 1-thread speed)"
                )
            inside = int(counts.sum())
            print(
                f"    {inside:,} pings in hot spots (exact); {len(res.visits):,} visits, "
                f"{res.visits['minutes'].sum():,.0f} minutes"
            )
            if n == min(sizes) and h == min(spots):
                m = min(mp_pings, n)
                df = pd.DataFrame(
                    {
                        "device_id": p["unit"][:m],
                        "t": p["t"][:m].astype("datetime64[ms]"),
                        "x": p["x"][:m],
                        "y": p["y"][:m],
                    }
                )
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    # one run only (it is slow), timed with tracemalloc on
                    tracemalloc.start()
                    t0 = time.perf_counter()
                    movingpandas_clip(df, hs)
                    m_s = time.perf_counter() - t0
                    m_mb = tracemalloc.get_traced_memory()[1] / 2**20
                    tracemalloc.stop()
                sub = {k: (v[:m] if v.ndim else v) for k, v in p.items()}
                w2, w2mb, _ = measure(
                    lambda _, sub=sub, hs=hs: patrolwise_dosage(sub, hs), repeat=3
                )
                print(row(f"MovingPandas clip per polygon ({m:,} pings only)", m, m_s, m_mb))
                print(row(f"patrolwise dosage (same {m:,} pings)", m, w2, w2mb, m_s))
            del p
            gc.collect()
        print()


def bench_dask(n: int) -> None:
    from distributed import Client, LocalCluster

    from patrolwise.track.scaleout import dosage_from_archive, write_archive

    hs = make_hotspots(100)
    p = make_pings(n, hs)
    # 25 days: split each device's track into day partitions
    per_day = 20_000 // 5
    day = (np.arange(n) % 20_000) // per_day
    t = p["t"] + day * 86_400_000
    df = pd.DataFrame(
        {
            "device_id": pd.Categorical([f"D{u:04d}" for u in range(int(p["n_dev"]))])[p["unit"]],
            "team": "police",
            "t": t.astype("datetime64[ms]"),
            "x": p["x"],
            "y": p["y"],
        }
    )
    params = DosageParams()
    h = prepare_hotspots(hs, params.buffer_m)
    with tempfile.TemporaryDirectory() as root:
        t0 = time.perf_counter()
        write_archive(df, root)
        print(
            f"Dask scale-out on {n:,} pings (archive written in {time.perf_counter() - t0:.1f} s)"
        )
        t0 = time.perf_counter()
        single = compute_dosage(df, h, params)
        s_single = time.perf_counter() - t0
        t0 = time.perf_counter()
        local = dosage_from_archive(root, h, params)
        s_local = time.perf_counter() - t0
        print(row("single process, frame in memory", n, s_single, float("nan")))
        print(row("archive streamed in-process", n, s_local, float("nan")))
        times = {}
        for workers in (1, 2):
            with (
                LocalCluster(
                    n_workers=workers,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    # a worker's heartbeat racing the cluster's close logs a harmless traceback
                    silence_logs=logging.CRITICAL,
                ) as lc,
                Client(lc) as client,
            ):
                dosage_from_archive(root, h, params, client=client)  # warm the workers
                t0 = time.perf_counter()
                res = dosage_from_archive(root, h, params, client=client)
                times[workers] = time.perf_counter() - t0
            same = res.visits.drop(columns="visit_id").equals(
                single.visits.drop(columns="visit_id")
            )
            print(
                row(f"Dask LocalCluster, {workers} worker(s)", n, times[workers], float("nan"))
                + f"  identical to single process: {same}"
            )
        print(
            f"  2 workers vs 1: {times[1] / times[2]:.2f}x faster; {local.stats['visits']} visits"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="1M pings only; Dask on 1M")
    ap.add_argument(
        "--smoke",
        action="store_true",
        help="200,000 pings, 7 and 100 hot spots, no JIT cold start: that it runs (tests)",
    )
    a = ap.parse_args()
    if a.smoke:
        bench_engine([200_000], [7, 100], mp_pings=300)
        bench_dask(200_000)
        return
    sizes = [1_000_000] if a.quick else [1_000_000, 10_000_000]
    jit_cold_start()
    bench_engine(sizes, [7, 100, 1000], mp_pings=5_000 if a.quick else 20_000)
    bench_dask(1_000_000 if a.quick else 10_000_000)


if __name__ == "__main__":
    main()

"""Benchmark: patrolwise Gi* against PySAL esda, and patrolwise KDE against scipy gaussian_kde.

    .venv/bin/python benchmarks/hotspots.py            # full run (esda at 1M cells: ~30 s+)
    .venv/bin/python benchmarks/hotspots.py --quick    # esda at 1M and gaussian_kde on the
                                                       # full grid extrapolated, clearly labelled

Gi*: grids of 10k, 100k and 1M cells with Poisson counts. esda is run as a user would: build
``lat2W(rook=False)`` queen weights, then ``G_Local(y, w, transform="B", star=True,
permutations=0)``; its time includes the weights. patrolwise ``gistar_grid_z`` needs no weights.
Both give the same z-scores (checked here to 1e-9). The floor is a plain numpy 3x3 box sum
(nine shifted slices of a padded array). Goals at 1M cells: >= 2,000x esda, <= 3x the floor.

KDE: 100k clustered points, Gaussian kernel with scipy's own (Scott) bandwidth matrix, evaluated
at the 40,000 centres of a 200 x 200 grid. Goals: >= 700x gaussian_kde, max relative error < 0.5%.

Each measurement runs in a fresh process so its peak memory (max RSS) is its own.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import sys
import time
import warnings
from typing import Any

import numpy as np

SIZES = [(100, 100), (317, 317), (1000, 1000)]


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _counts(nr: int, nc: int) -> np.ndarray:
    rng = np.random.default_rng(nr * nc)
    return rng.poisson(0.3, nr * nc).astype(float)


def job_esda(nr: int, nc: int) -> dict[str, Any]:
    import esda
    import libpysal

    y = _counts(nr, nc)
    base = _rss_mb()
    t0 = time.perf_counter()
    w = libpysal.weights.lat2W(nr, nc, rook=False)
    t1 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = esda.G_Local(y, w, transform="B", star=True, permutations=0)
    t2 = time.perf_counter()
    np.save(f"/tmp/pw_bench_esda_{nr}x{nc}.npy", g.Zs)
    return {"weights_s": t1 - t0, "stat_s": t2 - t1, "total_s": t2 - t0, "peak_mb": _rss_mb(),
            "base_mb": base}  # fmt: skip


def _best(fn: Any, repeats: int = 7) -> float:
    fn()
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def job_pw(nr: int, nc: int) -> dict[str, Any]:
    from patrolwise.target.gistar import gistar_grid_z, infer
    from patrolwise.target.grid import Grid

    y = _counts(nr, nc)
    g = Grid(0.0, 0.0, 50.0, nr, nc)
    base = _rss_mb()
    z_s = _best(lambda: gistar_grid_z(g, y))
    z = gistar_grid_z(g, y)
    full_s = _best(lambda: infer(y, gistar_grid_z(g, y)), repeats=3)
    a = y.reshape(nr, nc)

    def floor() -> np.ndarray:
        p = np.pad(a, 1)
        s = p[:-2, :-2] + p[:-2, 1:-1]
        for i, j in ((0, 2), (1, 0), (1, 1), (1, 2), (2, 0), (2, 1), (2, 2)):
            s += p[i : i + nr, j : j + nc]
        return s

    floor_s = _best(floor)
    np.save(f"/tmp/pw_bench_pw_{nr}x{nc}.npy", z)
    return {"z_s": z_s, "full_s": full_s, "floor_s": floor_s, "peak_mb": _rss_mb(),
            "base_mb": base}  # fmt: skip


def _kde_data(n: int = 100_000) -> np.ndarray:
    rng = np.random.default_rng(0)
    cent = rng.uniform(0, 5000, (30, 2))
    k = rng.integers(0, 30, n)
    pts = cent[k] + rng.normal(0, rng.uniform(30, 300, 30)[k][:, None], (n, 2))
    bg = rng.random(n) < 0.3
    pts[bg] = rng.uniform(0, 5000, (int(bg.sum()), 2))
    return pts + np.array([450000.0, 300000.0])


def _kde_grid(pts: np.ndarray, side: int) -> Any:
    from patrolwise.target.grid import Grid

    x0, y0 = pts.min(axis=0)
    cell = float(max(np.ptp(pts[:, 0]), np.ptp(pts[:, 1]))) / (side - 0.5)
    return Grid(float(x0) - cell / 4, float(y0) - cell / 4, cell, side, side)


def job_scipy_kde(side: int, subset: int | None) -> dict[str, Any]:
    """gaussian_kde at every cell centre, or (--quick) at ``subset`` random centres, its time
    scaled up to the whole grid (labelled as extrapolated)."""
    from scipy.stats import gaussian_kde

    pts = _kde_data()
    g = _kde_grid(pts, side)
    cx, cy = g.centres()
    idx = np.arange(g.n)
    if subset is not None:
        idx = np.sort(np.random.default_rng(1).choice(g.n, subset, replace=False))
    base = _rss_mb()
    t = time.perf_counter()
    kd = gaussian_kde(pts.T)
    ref = np.full(g.n, np.nan)
    ref[idx] = kd(np.vstack([cx[idx], cy[idx]]))
    s = (time.perf_counter() - t) * g.n / len(idx)
    np.save(f"/tmp/pw_bench_kde_{side}.npy", ref)
    np.save(f"/tmp/pw_bench_kde_cov_{side}.npy", kd.covariance)
    return {"s": s, "peak_mb": _rss_mb(), "base_mb": base}


def job_pw_kde(side: int) -> dict[str, Any]:
    from patrolwise.target.kde import kde_grid

    pts = _kde_data()
    g = _kde_grid(pts, side)
    cov = np.load(f"/tmp/pw_bench_kde_cov_{side}.npy")
    base = _rss_mb()
    n = len(pts)

    def go() -> np.ndarray:
        return kde_grid(g, pts[:, 0], pts[:, 1], kernel="gaussian", cov=cov) / n

    s = _best(go, repeats=5)
    est = go()
    ref = np.load(f"/tmp/pw_bench_kde_{side}.npy")
    ok = np.isfinite(ref)
    est, ref = est[ok], ref[ok]
    rel = np.abs(est - ref) / ref
    return {"s": s, "peak_mb": _rss_mb(), "base_mb": base, "max_rel": float(rel.max()),
            "max_abs_over_peak": float(np.abs(est - ref).max() / ref.max())}  # fmt: skip


def run(fn: Any, *args: Any) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    with ctx.Pool(1) as pool:
        return dict(pool.apply(fn, args))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--quick", action="store_true", help="extrapolate esda at 1M cells and gaussian_kde"
    )
    args = ap.parse_args()
    ok = True
    print("Gi* z-scores: patrolwise gistar_grid_z vs esda G_Local(star=True, 'B') + lat2W")
    print(f"{'cells':>9} {'esda s':>9} {'(weights)':>9} {'pw ms':>8} {'ratio':>9} "
          f"{'floor ms':>9} {'pw/floor':>8} {'max|dz|':>9} {'esda MB':>8} {'pw MB':>7}")  # fmt: skip
    per_cell = None
    for nr, nc in SIZES:
        n = nr * nc
        pw = run(job_pw, nr, nc)
        extrapolated = args.quick and n >= 1_000_000
        if extrapolated:
            assert per_cell is not None
            es = {"total_s": per_cell[0] * n, "weights_s": per_cell[1] * n, "peak_mb": float("nan")}
            dz = float("nan")
        else:
            es = run(job_esda, nr, nc)
            per_cell = (es["total_s"] / n, es["weights_s"] / n)
            dz = float(np.abs(np.load(f"/tmp/pw_bench_pw_{nr}x{nc}.npy")
                              - np.load(f"/tmp/pw_bench_esda_{nr}x{nc}.npy")).max())  # fmt: skip
            ok &= dz < 1e-9
        ratio = es["total_s"] / pw["z_s"]
        label = " (esda EXTRAPOLATED from 100k, --quick)" if extrapolated else ""
        print(f"{n:>9,} {es['total_s']:>9.2f} {es['weights_s']:>9.2f} {pw['z_s'] * 1e3:>8.2f} "
              f"{ratio:>8,.0f}x {pw['floor_s'] * 1e3:>9.2f} {pw['z_s'] / pw['floor_s']:>8.2f} "
              f"{dz:>9.1e} {es['peak_mb']:>8,.0f} {pw['peak_mb']:>7,.0f}{label}")  # fmt: skip
        if n >= 1_000_000:
            g1 = ratio >= 2000
            g2 = pw["z_s"] <= 3 * pw["floor_s"]
            ok &= g1 and g2
            print(f"  goal >= 2,000x esda at 1M cells: {'MET' if g1 else 'MISSED'} ({ratio:,.0f}x)"
                  f"{label}")  # fmt: skip
            print(f"  goal <= 3x numpy 3x3 box sum: {'MET' if g2 else 'MISSED'} "
                  f"({pw['z_s'] / pw['floor_s']:.2f}x)")  # fmt: skip
            print(
                f"  (z + two-sided p + BH FDR + classes at 1M cells: {pw['full_s'] * 1e3:.0f} ms)"
            )
    print()
    side = 200
    print(f"KDE: 100k points on a {side}x{side} grid, Gaussian, scipy's bandwidth matrix")
    subset = 2000 if args.quick else None
    sc = run(job_scipy_kde, side, subset)
    pk = run(job_pw_kde, side)
    ratio = sc["s"] / pk["s"]
    label = (
        f" (EXTRAPOLATED from {subset:,} of {side * side:,} cells, --quick; errors on those)"
        if subset
        else ""
    )
    print(f"  scipy gaussian_kde: {sc['s']:.2f} s, peak {sc['peak_mb']:,.0f} MB{label}")
    print(f"  patrolwise kde_grid: {pk['s'] * 1e3:.1f} ms, peak {pk['peak_mb']:,.0f} MB")
    print(f"  ratio {ratio:,.0f}x; max relative error {pk['max_rel']:.2e} (every cell); "
          f"max error / peak {pk['max_abs_over_peak']:.1e}")  # fmt: skip
    g1, g2 = ratio >= 700, pk["max_rel"] < 0.005
    ok &= g1 and g2
    print(f"  goal >= 700x gaussian_kde: {'MET' if g1 else 'MISSED'}; "
          f"goal max relative error < 0.5%: {'MET' if g2 else 'MISSED'}")  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

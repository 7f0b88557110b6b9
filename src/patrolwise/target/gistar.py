"""Getis-Ord Gi* hot spot statistic with binary weights that include the unit itself.

What it computes (Getis & Ord 1992; Ord & Getis 1995), for unit i with value y_i (count or harm),
n units, binary weights w_ij = 1 for j within the neighbour distance of i (i itself included)
and k_i = sum_j w_ij::

    ybar = sum(y) / n          s = sqrt(sum(y^2) / n - ybar^2)      (population s.d.)
    z_i  = (sum_j w_ij y_j - ybar k_i) / (s sqrt((n k_i - k_i^2) / (n - 1)))

This is ArcGIS Pro "Hot Spot Analysis (Getis-Ord Gi*)" with fixed distance band weights, PySAL
``esda.G_Local(y, w, transform="B", star=True).Zs`` (note esda's default transform is "R",
row-standardised, which gives different z-scores) and ``spdep::localG`` with ``include.self()``
as used by sfhotspot's ``hotspot_gistar``. p-values are two-sided, as ArcGIS and sfhotspot
report them: esda's ``p_norm`` is one-sided, so ours equals ``2 * p_norm``.

Grids use vectorised box sums over shifted arrays (no weights matrix at all); user polygons and
street segments use a scipy.sparse weights matrix.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray
from scipy.special import ndtr

from ..errors import InputError
from .grid import Grid

FDR_METHODS = ("bh", "bonferroni", "none")
CLASSES = ("hot", "cold", "not significant")


# ----------------------------------------------------------------------------- box sums on grids


def _disk_half_widths(radius_cells: float) -> list[tuple[int, int]]:
    """(row offset, half width in columns) of every row of a disk of the given radius."""
    r = int(math.floor(radius_cells + 1e-9))
    out = []
    for dy in range(-r, r + 1):
        h = int(math.floor(math.sqrt(max(radius_cells**2 - dy * dy, 0.0)) + 1e-9))
        out.append((dy, h))
    return out


def _row_box(a: NDArray[np.float64], h: int) -> NDArray[np.float64]:
    """Sum over columns c-h..c+h (zero outside), by shifted adds for small h, cumsum otherwise."""
    if h == 0:
        return a.copy()
    nc = a.shape[1]
    if h <= 3:
        out = a.copy()
        for s in range(1, h + 1):
            if s >= nc:
                break
            out[:, s:] += a[:, :-s]
            out[:, :-s] += a[:, s:]
        return out
    cs = np.zeros((a.shape[0], nc + 1), dtype=a.dtype)
    np.cumsum(a, axis=1, out=cs[:, 1:])
    lo = np.clip(np.arange(nc) - h, 0, nc)
    hi = np.clip(np.arange(nc) + h + 1, 0, nc)
    return cs[:, hi] - cs[:, lo]


def _col_box(a: NDArray[np.float64], v: int) -> NDArray[np.float64]:
    """Sum over rows r-v..r+v (zero outside); contiguous row slices, no transpose."""
    out = a.copy()
    for dy in range(1, v + 1):
        _shift_rows_add(out, a, dy)
        _shift_rows_add(out, a, -dy)
    return out


def _shift_rows_add(out: NDArray[np.float64], a: NDArray[np.float64], dy: int) -> None:
    """out[r] += a[r + dy] where r + dy is inside the grid."""
    if dy == 0:
        out += a
    elif dy > 0:
        if dy < a.shape[0]:
            out[:-dy] += a[dy:]
    elif -dy < a.shape[0]:
        out[-dy:] += a[:dy]


def square_window_sum(a: NDArray[np.float64], radius_cells: float) -> NDArray[np.float64]:
    """Sum of ``a`` over every cell whose centre is within ``radius_cells`` of each cell centre.

    A 3x3 window (radius sqrt(2)) is separable: two row adds then two column adds.
    """
    runs = _disk_half_widths(radius_cells)
    widths = {h for _, h in runs}
    if len(widths) == 1:  # a rectangle: separable
        h = widths.pop()
        rows = _row_box(a, h)
        v = runs[-1][0]
        if v == 0:
            return rows
        return _col_box(rows, v)
    by_h: dict[int, NDArray[np.float64]] = {}
    out = np.zeros_like(a)
    for dy, h in runs:
        if h not in by_h:
            by_h[h] = _row_box(a, h)
        _shift_rows_add(out, by_h[h], dy)
    return out


def _count_1d(n: int, h: int) -> NDArray[np.float64]:
    """Number of indices within h of each index of a length-n line."""
    i = np.arange(n)
    return (np.minimum(i + h, n - 1) - np.maximum(i - h, 0) + 1).astype(float)


def square_window_count(
    nrows: int,
    ncols: int,
    radius_cells: float,
    *,
    rows: slice = slice(None),
    cols: slice = slice(None),
) -> NDArray[np.float64]:
    """k_i: number of grid cells within the radius of each cell (edges have fewer), for the
    block ``[rows, cols]`` of the grid (default: all of it)."""
    r = np.arange(nrows)[rows]
    k = np.zeros((r.size, np.arange(ncols)[cols].size))
    for dy, h in _disk_half_widths(radius_cells):
        rows_ok = ((r + dy >= 0) & (r + dy < nrows)).astype(float)
        k += np.outer(rows_ok, _count_1d(ncols, h)[cols])
    return k


def hex_window_sum(a: NDArray[np.float64]) -> NDArray[np.float64]:
    """Sum of ``a`` over each hexagon and its six neighbours (odd-r offset layout)."""
    out = _row_box(a, 1)
    # pair sums of a row, as seen from the row above/below: even target rows take (c-1, c),
    # odd target rows take (c, c+1)
    left = a.copy()
    left[:, 1:] += a[:, :-1]
    right = a.copy()
    right[:, :-1] += a[:, 1:]
    even = np.zeros(a.shape[0], dtype=bool)
    even[0::2] = True
    for dy in (-1, 1):
        src_rows = np.arange(a.shape[0]) + dy
        ok = (src_rows >= 0) & (src_rows < a.shape[0])
        tgt_even = np.where(ok & even)[0]
        tgt_odd = np.where(ok & ~even)[0]
        out[tgt_even] += left[tgt_even + dy]
        out[tgt_odd] += right[tgt_odd + dy]
    return out


# ----------------------------------------------------------------------------- the statistic


def _moments(y: NDArray[np.float64]) -> tuple[int, float, float]:
    y = y.ravel()
    n = y.size
    if n < 3:
        raise InputError(f"Gi* needs at least 3 units, got {n}: use a smaller cell or more data")
    ybar = float(y.sum() / n)
    var = float(np.einsum("i,i->", y, y) / n - ybar * ybar)  # no BLAS threads
    if not var > 1e-12 * max(ybar * ybar, 1e-300):
        raise InputError(
            "every unit has the same value (for example all crimes in one cell of a one-cell "
            "grid, or no crimes): Gi* is undefined; use a smaller cell or more data"
        )
    return n, ybar, math.sqrt(var)


def gistar_z(y: ArrayLike, w: sp.spmatrix | sp.sparray) -> NDArray[np.float64]:
    """Gi* z-scores for values ``y`` and a binary weights matrix ``w`` (self included).

    ``w`` is any scipy sparse matrix with 1 where unit j is a neighbour of unit i (the diagonal
    must be 1: build it with ``units.neighbour_weights``).
    """
    ya = np.asarray(y, dtype=float).ravel()
    n, ybar, s = _moments(ya)
    w = sp.csr_array(w)
    if w.shape != (n, n):
        raise InputError(f"weights are {w.shape[0]}x{w.shape[1]} but there are {n} units")
    lag = w @ ya
    k = np.asarray(w.sum(axis=1), dtype=float).ravel()
    den = s * np.sqrt((n * k - k * k) / (n - 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (lag - ybar * k) / den
    return np.where(den > 0, z, 0.0)


def gistar_grid_z(grid: Grid, y: ArrayLike, radius: float | None = None) -> NDArray[np.float64]:
    """Gi* z-scores on a full grid, neighbours = cells whose centres are within ``radius`` metres
    (default: adjacent cells, i.e. a 3x3 window on squares, 6 neighbours on hexagons).

    Vectorised: box sums over shifted arrays, the cardinalities k_i from 1-D counts, and z
    computed for the interior with one constant k, then the edge bands fixed up.
    """
    ya = np.asarray(y, dtype=float).reshape(grid.nrows, grid.ncols)
    n, ybar, s = _moments(ya)
    if grid.shape == "hex":
        if radius is not None and abs(radius - grid.cell) > 1e-6 * grid.cell:
            raise InputError(
                "on a hexagonal grid the neighbour distance must be one cell (adjacent hexagons); "
                "for wider neighbourhoods use a square grid or user units"
            )
        lag = hex_window_sum(ya)
        k = hex_window_sum(np.ones_like(ya))
        den = s * np.sqrt((n * k - k * k) / (n - 1))
        with np.errstate(divide="ignore", invalid="ignore"):
            zh = (lag - ybar * k) / den
        return np.where(den > 0, zh, 0.0).ravel()  # a window holding the whole grid: z = 0
    rc = math.sqrt(2.0) if radius is None else radius / grid.cell
    if rc < 1.0 - 1e-9:
        raise InputError(
            f"neighbour distance {radius} m is less than one cell ({grid.cell:g} m): no cell "
            "would have neighbours; use at least the cell size"
        )
    lag = square_window_sum(ya, rc)
    runs = _disk_half_widths(rc)
    kfull = float(sum(2 * h + 1 for _, h in runs))
    # a grid no bigger than the window has no interior cell, or one whose window is the whole
    # grid (k = n, z = 0 as in gistar_z)
    scale = 1.0 / (s * math.sqrt((n * kfull - kfull * kfull) / (n - 1))) if kfull < n else 0.0
    b = runs[-1][0]
    bw = max(h for _, h in runs)
    nr, nc = grid.nrows, grid.ncols
    bands = [
        (slice(0, min(b, nr)), slice(None)),
        (slice(max(nr - b, 0), nr), slice(None)),
        (slice(None), slice(0, min(bw, nc))),
        (slice(None), slice(max(nc - bw, 0), nc)),
    ]
    # edge bands first (small), with their own cardinalities
    fixed = []
    for rs, cs in bands:
        ke = square_window_count(nr, nc, rc, rows=rs, cols=cs)
        with np.errstate(divide="ignore", invalid="ignore"):
            ze = (lag[rs, cs] - ybar * ke) / (s * np.sqrt((n * ke - ke * ke) / (n - 1)))
        fixed.append(np.where(ke < n, ze, 0.0))
    # interior: every cell has the full window, one constant k; computed in place
    z = lag
    z *= scale
    z -= ybar * kfull * scale
    for (rs, cs), ze in zip(bands, fixed, strict=True):
        z[rs, cs] = ze
    return z.ravel()


# ----------------------------------------------------------------------------- inference


def p_two_sided(z: ArrayLike) -> NDArray[np.float64]:
    """Two-sided normal p-value, 2 * (1 - Phi(|z|))."""
    za = np.abs(np.asarray(z, dtype=float))
    return 2.0 * ndtr(-za)


def adjust_p(p: ArrayLike, method: str = "bh") -> NDArray[np.float64]:
    """Multiple-testing adjustment: Benjamini-Hochberg FDR (default), Bonferroni, or none."""
    from statsmodels.stats.multitest import multipletests

    pa = np.asarray(p, dtype=float)
    if method == "none":
        return pa.copy()
    if method not in FDR_METHODS:
        raise InputError(f"p-value adjustment {method!r} is not one of {', '.join(FDR_METHODS)}")
    sm = {"bh": "fdr_bh", "bonferroni": "bonferroni"}[method]
    return np.asarray(multipletests(pa, method=sm)[1], dtype=float)


def classify(z: ArrayLike, p_adj: ArrayLike, alpha: float = 0.05) -> NDArray[np.object_]:
    """'hot' (z > 0, adjusted p < alpha), 'cold' (z < 0, adjusted p < alpha), else 'not significant'."""
    za = np.asarray(z, dtype=float)
    sig = np.asarray(p_adj, dtype=float) < alpha
    out = np.full(za.shape, CLASSES[2], dtype=object)
    out[sig & (za > 0)] = CLASSES[0]
    out[sig & (za < 0)] = CLASSES[1]
    return out


def permutation_p(
    y: ArrayLike,
    lag: ArrayLike,
    k: ArrayLike,
    permutations: int = 999,
    seed: int | None = 0,
    chunk: int = 2048,
) -> NDArray[np.float64]:
    """Two-sided conditional-permutation pseudo p-values for Gi* (seeded, vectorised).

    For each unit i its own value is held fixed and its k_i - 1 neighbours are replaced by values
    drawn without replacement from the other n - 1 units. As in esda's ``crand``, one set of
    random draws is shared by all units (each unit skips its own index), which makes the test
    vectorisable. With L = number of permuted lags >= the observed one,
    ``p = min(1, 2 (min(L, P - L) + 1) / (P + 1))``, i.e. ``2 * esda p_sim``.
    """
    ya = np.asarray(y, dtype=float).ravel()
    lag_a = np.asarray(lag, dtype=float).ravel()
    ka = np.asarray(k, dtype=np.int64).ravel()
    n = ya.size
    if permutations < 1:
        raise InputError("the number of permutations must be at least 1")
    kmax = int(ka.max()) - 1
    if kmax >= n:
        raise InputError("neighbourhoods cover every unit: permutation test impossible")
    rng = np.random.default_rng(seed)
    # (P, kmax) draws without replacement from 0..n-2 (the other units)
    rids = (
        np.argsort(rng.random((permutations, n - 1)), axis=1)[:, :kmax]
        if n - 1 <= 4096
        else (_draw_without_replacement(rng, n - 1, kmax, permutations))
    )
    larger = np.zeros(n, dtype=np.int64)
    col = np.arange(kmax)
    for lo in range(0, n, chunk):
        hi = min(n, lo + chunk)
        i = np.arange(lo, hi)
        idx = rids[None, :, :] + (rids[None, :, :] >= i[:, None, None])  # skip own index
        vals = ya[idx]  # (c, P, kmax)
        mask = col[None, :] < (ka[lo:hi] - 1)[:, None]  # (c, kmax)
        sims = (vals * mask[:, None, :]).sum(axis=2) + ya[lo:hi, None]
        larger[lo:hi] = (sims >= lag_a[lo:hi, None] - 1e-12 * np.abs(lag_a[lo:hi, None])).sum(1)
    folded = np.minimum(larger, permutations - larger)
    return np.minimum(1.0, 2.0 * (folded + 1) / (permutations + 1))


def _draw_without_replacement(
    rng: np.random.Generator, n: int, k: int, times: int
) -> NDArray[np.int64]:
    """``times`` independent draws of k distinct integers from 0..n-1 (k small, n large)."""
    out = rng.integers(0, n, size=(times, k))
    for _ in range(100):
        srt = np.sort(out, axis=1)
        dup = (srt[:, 1:] == srt[:, :-1]).any(axis=1)
        if not dup.any():
            return out
        out[dup] = rng.integers(0, n, size=(int(dup.sum()), k))
    raise InputError("could not draw distinct permutation indices")  # pragma: no cover


@dataclass
class GiStarResult:
    """z, p (two-sided), adjusted p and class per unit, with the settings that produced them."""

    z: NDArray[np.float64]
    p: NDArray[np.float64]
    p_adj: NDArray[np.float64]
    cls: NDArray[np.object_]
    p_method: str
    fdr: str
    alpha: float

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame({"z": self.z, "p": self.p, "p_adj": self.p_adj, "class": self.cls})


def infer(
    y: ArrayLike,
    z: NDArray[np.float64],
    *,
    lag: ArrayLike | None = None,
    k: ArrayLike | None = None,
    permutations: int = 0,
    seed: int | None = 0,
    fdr: str = "bh",
    alpha: float = 0.05,
) -> GiStarResult:
    """p-values (analytical normal by default, permutation when ``permutations`` > 0),
    adjustment and classes for Gi* z-scores."""
    if not 0 < alpha < 1:
        raise InputError(f"alpha must be between 0 and 1, not {alpha}")
    if permutations < 0:
        # would fall through to normal p-values while the analyst asked for a permutation test
        raise InputError(f"--permutations must be 0 (normal p-values) or more, not {permutations}")
    if permutations > 0:
        if lag is None or k is None:
            raise InputError("permutation p-values need the lags and cardinalities")
        p = permutation_p(y, lag, k, permutations, seed)
        how = f"conditional permutation ({permutations}, seed {seed})"
    else:
        p = p_two_sided(z)
        how = "normal (two-sided)"
    p_adj = adjust_p(p, fdr)
    return GiStarResult(z, p, p_adj, classify(z, p_adj, alpha), how, fdr, alpha)


def grid_lag_and_k(
    grid: Grid, y: ArrayLike, radius: float | None = None
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Neighbourhood sums and cardinalities on a grid (for permutation tests)."""
    ya = np.asarray(y, dtype=float).reshape(grid.nrows, grid.ncols)
    if grid.shape == "hex":
        return hex_window_sum(ya).ravel(), hex_window_sum(np.ones_like(ya)).ravel()
    rc = math.sqrt(2.0) if radius is None else radius / grid.cell
    return (
        square_window_sum(ya, rc).ravel(),
        square_window_count(grid.nrows, grid.ncols, rc).ravel(),
    )

"""Gi*: agreement with PySAL esda G_Local(star=True, transform="B") to 1e-9, esda's published
example values, p-values and FDR, permutations, and harm really flowing into the statistic."""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from patrolwise.errors import InputError
from patrolwise.target import gistar as gs
from patrolwise.target.grid import Grid
from patrolwise.target.surface import find_surface
from patrolwise.target.units import centroid_weights, neighbour_weights

esda = pytest.importorskip("esda")
libpysal = pytest.importorskip("libpysal")


def _esda(y: np.ndarray, w: object, permutations: int = 0, seed: int | None = None) -> object:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return esda.G_Local(y, w, transform="B", star=True, permutations=permutations, seed=seed)


ESDA_PLAIN = """
import sys, warnings
sys.modules["numba"] = None  # esda and libpysal fall back to their plain numpy code
import numpy as np, libpysal, esda
y = np.load(sys.argv[1])
w = libpysal.weights.lat2W(int(sys.argv[2]), int(sys.argv[2]), rook=False)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    e = esda.G_Local(y, w, transform="B", star=True, permutations=999, seed=int(sys.argv[3]))
np.save(sys.argv[1], e.p_sim)
"""


def _esda_p_sim_plain(y: np.ndarray, side: int, seed: int) -> np.ndarray:
    """esda's permutation p-values from its plain numpy path, in a process where numba cannot be
    imported.

    With numba installed (patrolwise's dosage kernels need it) esda's conditional randomisation
    runs jitted with numba's own random streams, and its G*(star=True) pseudo p-values then stray
    far beyond Monte Carlo error (up to 0.3 here, where 19,999 draws of ours agree with 999 of
    ours within 0.07), so the reference is the numpy path the test was written against."""
    import os
    import subprocess
    import sys
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        f = os.path.join(d, "y.npy")
        np.save(f, y)
        subprocess.run([sys.executable, "-c", ESDA_PLAIN, f, str(side), str(seed)], check=True)
        return np.asarray(np.load(f))


def test_published_esda_example() -> None:
    """The G* values printed in esda's G_Local docstring (binary weights, star=True)."""
    pts = np.array([(10, 10), (20, 10), (40, 10), (15, 20), (30, 20), (30, 30)], dtype=float)
    y = np.array([2, 3, 3.2, 5, 8, 7])
    w = centroid_weights(pts[:, 0], pts[:, 1], 15.0)
    z = gs.gistar_z(y, w)
    published = [-1.39727626, -0.28917762, 0.65064964, -0.28917762, 1.23452088, 2.02424331]
    assert z == pytest.approx(published, abs=1e-8)


def test_hand_computed_formula() -> None:
    """Four units in a line, each neighbouring the next: z by hand from Ord & Getis (1995)."""
    y = np.array([1.0, 2.0, 6.0, 3.0])
    w = np.array([[1, 1, 0, 0], [1, 1, 1, 0], [0, 1, 1, 1], [0, 0, 1, 1]], dtype=float)
    # n = 4, mean 3, s^2 = (1 + 4 + 36 + 9) / 4 - 9 = 3.5
    # unit 0: sum 3, k = 2: z = (3 - 3 * 2) / (sqrt(3.5) * sqrt((4 * 2 - 4) / 3))
    # unit 2: sum 11, k = 3: z = (11 - 9) / (sqrt(3.5) * sqrt((12 - 9) / 3))
    z = gs.gistar_z(y, w)
    assert z[0] == pytest.approx(-3 / (np.sqrt(3.5) * np.sqrt(4 / 3)), abs=1e-12)
    assert z[2] == pytest.approx(2 / np.sqrt(3.5), abs=1e-12)


@pytest.mark.parametrize(
    ("nrows", "ncols", "radius"),
    [(30, 41, None), (25, 18, 100.0), (17, 23, 150.0), (40, 40, 250.0)],
)
def test_square_grid_matches_esda(nrows: int, ncols: int, radius: float | None) -> None:
    rng = np.random.default_rng(nrows * ncols)
    g = Grid(458000.0, 304000.0, 50.0, nrows, ncols)
    counts = rng.poisson(0.8, g.n).astype(float)
    harm = counts * rng.gamma(0.5, 40.0, g.n)  # floating harm, many zeros
    cx, cy = g.centres()
    d = radius if radius is not None else 50.0 * np.sqrt(2.0)
    w = libpysal.weights.DistanceBand(
        np.column_stack([cx, cy]), threshold=d * (1 + 1e-9), binary=True, silence_warnings=True
    )
    for y in (counts, harm):
        ours = gs.gistar_grid_z(g, y, radius)
        assert np.abs(ours - _esda(y, w).Zs).max() < 1e-9


def test_queen_grid_matches_esda_lat2w() -> None:
    """As a user of PySAL builds lattice weights: lat2W(rook=False), ids row-major."""
    rng = np.random.default_rng(5)
    g = Grid(0.0, 0.0, 25.0, 33, 27)
    y = rng.negative_binomial(1, 0.6, g.n).astype(float)
    w = libpysal.weights.lat2W(g.nrows, g.ncols, rook=False)
    assert np.abs(gs.gistar_grid_z(g, y) - _esda(y, w).Zs).max() < 1e-9


def test_hex_grid_matches_esda() -> None:
    rng = np.random.default_rng(7)
    g = Grid(458000.0, 304000.0, 40.0, 21, 26, "hex")
    y = rng.poisson(1.2, g.n) * rng.gamma(1.0, 10.0, g.n)
    cx, cy = g.centres()
    w = libpysal.weights.DistanceBand(
        np.column_stack([cx, cy]), threshold=40.0 * 1.0001, binary=True, silence_warnings=True
    )
    assert min(w.cardinalities.values()) >= 2 and max(w.cardinalities.values()) == 6
    assert np.abs(gs.gistar_grid_z(g, y) - _esda(y, w).Zs).max() < 1e-9


def test_polygon_units_match_esda() -> None:
    """Irregular polygons: our STRtree weights against libpysal Queen contiguity."""
    rng = np.random.default_rng(3)
    # a 9 x 9 block of squares with jittered interior vertices shared between neighbours
    xs = np.arange(10) * 60.0 + 458000.0
    ys = np.arange(10) * 60.0 + 304000.0
    vx = xs[None, :] + np.pad(rng.uniform(-15, 15, (8, 8)), 1)
    vy = ys[:, None] + np.pad(rng.uniform(-15, 15, (8, 8)), 1)
    polys = [
        shapely.Polygon(
            [
                (vx[r, c], vy[r, c]),
                (vx[r, c + 1], vy[r, c + 1]),
                (vx[r + 1, c + 1], vy[r + 1, c + 1]),
                (vx[r + 1, c], vy[r + 1, c]),
            ]
        )
        for r in range(9)
        for c in range(9)
    ]
    gdf = pd.DataFrame({"geometry": polys})
    import geopandas as gpd

    gdf = gpd.GeoDataFrame(gdf, geometry="geometry", crs="EPSG:27700")
    y = rng.poisson(2.0, len(polys)).astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wq = libpysal.weights.Queen.from_dataframe(gdf, use_index=False)
    ours = gs.gistar_z(y, neighbour_weights(np.asarray(polys), 0.0))
    assert np.abs(ours - _esda(y, wq).Zs).max() < 1e-9


def test_two_sided_p_is_twice_esda_p_norm() -> None:
    rng = np.random.default_rng(11)
    g = Grid(0.0, 0.0, 10.0, 15, 15)
    y = rng.poisson(1.0, g.n).astype(float)
    w = libpysal.weights.lat2W(15, 15, rook=False)
    e = _esda(y, w)
    assert gs.p_two_sided(gs.gistar_grid_z(g, y)) == pytest.approx(2 * e.p_norm, abs=1e-12)


def test_fdr_adjustments_by_hand() -> None:
    p = np.array([0.01, 0.04, 0.03, 0.2])
    # Benjamini-Hochberg: sorted 0.01, 0.03, 0.04, 0.2 -> p*m/rank = .04, .06, .0533, .2,
    # then cumulative minimum from the top: .04, .0533, .0533, .2
    assert gs.adjust_p(p, "bh") == pytest.approx([0.04, 0.16 / 3, 0.16 / 3, 0.2])
    assert gs.adjust_p(p, "bonferroni") == pytest.approx([0.04, 0.16, 0.12, 0.8])
    assert gs.adjust_p(p, "none") == pytest.approx(p)
    with pytest.raises(InputError, match="adjustment"):
        gs.adjust_p(p, "holm-ish")
    cls = gs.classify([3.0, -3.0, 3.0, 0.1], [0.01, 0.01, 0.2, 0.9])
    assert cls.tolist() == ["hot", "cold", "not significant", "not significant"]


def test_permutation_p_seeded_and_agrees_with_esda() -> None:
    rng = np.random.default_rng(2)
    g = Grid(0.0, 0.0, 10.0, 20, 20)
    # continuous values: with counts many permuted Gi* tie the observed one exactly, and how a
    # tie counts is a convention (and floating-point luck), not what this test is about
    y = rng.gamma(0.7, 1.0, g.n)
    y[[189, 190, 209, 210]] += 6  # a planted cluster
    lag, k = gs.grid_lag_and_k(g, y)
    p1 = gs.permutation_p(y, lag, k, 999, seed=1)
    p2 = gs.permutation_p(y, lag, k, 999, seed=1)
    assert (p1 == p2).all()
    assert p1[[189, 190, 209, 210]].max() <= 0.01  # planted cells: almost no draw as extreme
    ref = np.minimum(1.0, 2 * _esda_p_sim_plain(y, 20, seed=1))
    # different random draws: agreement within Monte Carlo error (sd of a difference of two
    # 999-draw two-sided p-values is up to ~0.045)
    assert np.abs(p1 - ref).max() < 0.15
    assert np.abs(p1 - ref).mean() < 0.04


def test_harm_flows_into_gistar() -> None:
    """Many low-harm crimes in the west, few high-harm ones in the east: a count Gi* finds the
    west hot, a harm Gi* the east (sfhotspot once computed Gi* on counts whatever the weight)."""
    rng = np.random.default_rng(0)
    bx, by = rng.uniform(458000, 460000, 400), rng.uniform(304000, 306000, 400)
    west = (np.full(60, 458325.0), np.full(60, 305025.0), np.full(60, 1.0))
    east = (np.full(6, 459625.0), np.full(6, 305025.0), np.full(6, 500.0))
    crimes = pd.DataFrame(
        {
            "x": np.concatenate([bx, west[0], east[0]]),
            "y": np.concatenate([by, west[1], east[1]]),
            "harm": np.concatenate([np.ones(400), west[2], east[2]]),
        }
    )
    by_count = find_surface(crimes, method="gistar", weight="count", cell=50.0)
    by_harm = find_surface(crimes, method="gistar", weight="harm", cell=50.0)
    g = by_count.grid
    assert g is not None
    w_id, e_id = g.locate([458325.0, 459625.0], [305025.0, 305025.0])
    c, h = by_count.table, by_harm.table
    assert c.loc[w_id, "class"] == "hot" and h.loc[w_id, "class"] != "hot"
    assert h.loc[e_id, "class"] == "hot" and c.loc[e_id, "class"] != "hot"
    assert h.loc[e_id, "z"] > c.loc[e_id, "z"] + 5


def test_constant_values_refused() -> None:
    g = Grid(0.0, 0.0, 10.0, 5, 5)
    with pytest.raises(InputError, match="same value"):
        gs.gistar_grid_z(g, np.ones(25))
    with pytest.raises(InputError, match="less than one cell"):
        gs.gistar_grid_z(g, np.arange(25.0), radius=5.0)


def test_surface_paths_hex_units_and_permutations() -> None:
    """Every route through find_surface gives the same z as the direct sparse computation."""
    rng = np.random.default_rng(9)
    crimes = pd.DataFrame(
        {
            "x": np.concatenate([rng.uniform(458000, 459000, 300), np.full(25, 458510.0)]),
            "y": np.concatenate([rng.uniform(304000, 305000, 300), np.full(25, 304510.0)]),
            "harm": rng.gamma(1.0, 5.0, 325),
        }
    )
    hexes = find_surface(crimes, method="gistar", weight="harm", shape="hex", cell=60.0)
    g = hexes.grid
    assert g is not None
    cx, cy = g.centres()
    w = centroid_weights(cx, cy, 60.0)
    assert np.abs(hexes.table["z"] - gs.gistar_z(hexes.table["value"], w)).max() < 1e-9
    hot = int(g.locate([458510.0], [304510.0])[0])
    assert hexes.table.loc[hot, "class"] == "hot"
    perm = find_surface(crimes, method="gistar", weight="harm", cell=60.0, permutations=199, seed=3)
    assert "permutation" in perm.params["p_values"]
    assert perm.table["p"].min() >= 2 / 200 - 1e-12  # the smallest possible pseudo p-value
    sq = perm.grid
    assert sq is not None
    units = gpd.GeoDataFrame(
        {"name": [str(i) for i in range(sq.n)]}, geometry=sq.polygons(), crs="EPSG:27700"
    )
    via_units = find_surface(
        crimes, method="gistar", weight="harm", units=units, permutations=199, seed=3
    )
    assert np.abs(via_units.table["z"] - perm.table["z"]).max() < 1e-9
    assert (via_units.table["p"] == perm.table["p"]).all()


@pytest.mark.parametrize(
    ("nrows", "ncols", "radius", "shape"),
    [(2, 2, None, "square"), (1, 4, 150.0, "square"), (3, 3, None, "square"), (2, 2, None, "hex")],
)
def test_grids_smaller_than_the_neighbourhood_give_the_formula_not_a_traceback(
    nrows: int, ncols: int, radius: float | None, shape: str
) -> None:
    """Two crimes 500 m apart gave a 2 x 2 grid, smaller than a 3 x 3 window: gistar_grid_z
    computed the interior scale sqrt((n k - k^2) / (n - 1)) with k > n and raised 'math domain
    error' (a traceback from hotspots find). A cell whose window is the whole grid has z = 0, as
    in gistar_z; the rest follow the formula with their own k."""
    g = Grid(0.0, 0.0, 50.0, nrows, ncols, shape)
    y = np.arange(g.n, dtype=float) ** 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        z = gs.gistar_grid_z(g, y, radius)
    cx, cy = g.centres()
    d = radius if radius is not None else 50.0 * (np.sqrt(2.0) if shape == "square" else 1.0)
    dist = np.hypot(cx[:, None] - cx[None, :], cy[:, None] - cy[None, :])
    w = (dist <= d * (1 + 1e-9)).astype(float)
    assert np.allclose(z, gs.gistar_z(y, w), atol=1e-12)
    crimes = pd.DataFrame({"x": [458000.0, 458500.0], "y": [304000.0, 304000.0], "harm": 1.0})
    s = find_surface(crimes, method="gistar", weight="count")
    assert np.isfinite(s.table["z"]).all()


def test_negative_permutations_are_refused() -> None:
    """'--permutations -999' (a stray minus) silently gave normal p-values, as 0 does, so the
    analyst believed a permutation test had been run. A negative count is one clear line."""
    y = np.array([0.0, 1.0, 5.0, 2.0, 0.0, 9.0])
    w = np.ones((6, 6))
    z = gs.gistar_z(y, w)
    with pytest.raises(InputError, match="--permutations must be 0 .* or more, not -999"):
        gs.infer(y, z, permutations=-999)
    assert gs.infer(y, z, permutations=0).p_method == "normal (two-sided)"

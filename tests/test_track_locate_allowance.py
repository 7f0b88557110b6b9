"""The locate index with a GPS error allowance against ``shapely.dwithin``, the definition it
implements (``intersects`` with no allowance): pings exactly at the allowance from vertices and edges, a hair either side, in holes,
multipolygons and overlaps, for allowances smaller and larger than a cell; and the cell
classification the speed rests on (a sure cell is wholly within, an outside cell wholly beyond)."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from patrolwise.track import locate_kernels
from patrolwise.track.locate import AMBIGUOUS, OUTSIDE, build_index, locate, locate_labels

from .test_track_kernels import _polygons, _tiny


def _dwithin(polys: list[shapely.Geometry], px: np.ndarray, py: np.ndarray, buf: float) -> set:
    g = np.asarray(polys, dtype=object)
    pts = shapely.points(px, py)
    ok = np.isfinite(px) & np.isfinite(py)
    ii, kk = np.meshgrid(np.flatnonzero(ok), np.arange(len(g)), indexing="ij")
    with np.errstate(over="ignore"):  # GEOS squares -1e300
        if buf > 0:
            hit = shapely.dwithin(g[kk.ravel()], pts[ii.ravel()], buf)
        else:  # no allowance: intersects (dwithin 0 rounds points a hair off onto the edge)
            hit = shapely.intersects(g[kk.ravel()], pts[ii.ravel()])
    return set(zip(ii.ravel()[hit].tolist(), kk.ravel()[hit].tolist(), strict=True))


def _at_distance(polys: list[shapely.Geometry], buf: float, rng: np.random.Generator) -> np.ndarray:
    """Points at the allowance from the polygons, and a hair either side: each vertex moved by
    ``buf`` in a random direction and along the axes, and the points of the buffered boundary."""
    g = np.asarray(polys, dtype=object)
    v = shapely.get_coordinates(g)
    ang = rng.uniform(0, 2 * np.pi, len(v))
    out = [v + buf * np.c_[np.cos(ang), np.sin(ang)]]
    for d in ((buf, 0.0), (-buf, 0.0), (0.0, buf), (0.0, -buf)):
        out.append(v + d)
    if buf > 0:
        ring = shapely.get_coordinates(shapely.boundary(shapely.buffer(g, buf, quad_segs=16)))
        out.append(ring)
    pts = np.concatenate(out)
    pts = pts[rng.permutation(len(pts))[:1500]]
    return np.concatenate([pts, np.nextafter(pts, np.inf), pts * (1 + 1e-15), pts + 1e-7])


@settings(max_examples=40, deadline=None)
@given(
    st.integers(0, 2**31 - 1),
    st.sampled_from([0.0, 0.3, 2.5, 10.0, 17.3]),
    st.sampled_from([None, 0.5, 1.0, 3.0, 7.3]),
)
def test_locate_equals_shapely_dwithin(seed: int, buf: float, cell: float | None) -> None:
    rng = np.random.default_rng(seed)
    polys = _polygons(rng) + _tiny(rng)
    idx = build_index(polys, buf, cell=cell)
    g = np.asarray(polys, dtype=object)
    on = shapely.get_coordinates(shapely.segmentize(shapely.boundary(g), 2.0))
    lattice = np.c_[rng.integers(-200, 1100, 3000), rng.integers(-200, 1100, 3000)] / 4.0
    odd = [[np.nan, 5.0], [np.inf, 3.0], [-np.inf, 3.0], [5.0, -np.inf], [-1e300, 0.0]]
    pts = np.concatenate(
        [rng.uniform(-40, 280, (3000, 2)), on, lattice, _at_distance(polys, buf, rng), odd]
    )
    px, py = pts[:, 0].copy(), pts[:, 1].copy()
    ping, poly = locate(idx, px, py)
    got = set(zip(ping.tolist(), poly.tolist(), strict=True))
    assert len(got) == len(ping)
    assert got == _dwithin(polys, px, py, buf)
    assert (np.lexsort((ping, poly)) == np.arange(len(ping))).all()
    first, e_ping, e_poly = locate_labels(idx, px, py)
    # first is the lowest polygon holding the ping, the extra pairs the rest, in ping order
    lowest = {}
    for i, k in sorted(got):
        lowest.setdefault(i, k)
    assert {i: int(k) for i, k in enumerate(first.tolist()) if k >= 0} == lowest
    assert (np.diff(e_ping) >= 0).all()


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**31 - 1), st.sampled_from([0.0, 1.0, 10.0]), st.sampled_from([1.0, 3.0]))
def test_sure_cells_are_wholly_within_and_outside_cells_wholly_beyond(
    seed: int, buf: float, cell: float
) -> None:
    """Sample every labelled cell near the polygons at its corners, centre and random points:
    a cell labelled with a polygon is within the allowance of it all over and of no other; a
    cell labelled outside is beyond every polygon's allowance all over. Ambiguous cells keep
    their candidates in ascending order."""
    rng = np.random.default_rng(seed)
    polys = _polygons(rng)
    if not polys:
        return
    idx = build_index(polys, buf, cell=cell)
    g = np.asarray(polys, dtype=object)
    cells = rng.permutation(idx.nx * idx.ny)[:400]
    u = np.r_[0.0, 1.0 - 1e-9, 0.5, rng.uniform(0, 1, 6)]
    vv = np.r_[0.0, 1.0 - 1e-9, 0.5, rng.uniform(0, 1, 6)]
    for c in cells.tolist():
        lab = int(idx.label[c])
        ci, cj = c % idx.nx, c // idx.nx
        qx = idx.x0 + (ci + np.repeat(u, len(vv))) * idx.cell
        qy = idx.y0 + (cj + np.tile(vv, len(u))) * idx.cell
        within = shapely.dwithin(g[:, None], shapely.points(qx, qy)[None, :], buf)
        if lab >= 0:
            assert within[lab].all()
            assert not np.delete(within, lab, axis=0).any()
        elif lab == OUTSIDE:
            assert not within.any()
        else:
            o = AMBIGUOUS - lab
            ri = idx.rec.view(np.int64)
            nc = int(ri[o])
            o += 1
            cand = []
            for _ in range(nc):  # decode the record: each candidate and the length of its block
                cand.append(int(ri[o] & 0xFFFFFFFF))
                sure, nn = (ri[o] >> 32) & 1, int(ri[o] >> 34)
                o += 1 if sure else 5 + (nn + 1) // 2
            assert (np.diff(cand) > 0).all() and 1 <= nc <= idx.depth
            # no polygon outside the candidates holds any point of the cell
            assert not np.delete(within, cand, axis=0).any()


@pytest.mark.parametrize("buf", [0.0, 0.25, 2.0])
def test_cell_centres_on_edges_take_another_reference_point(buf: float) -> None:
    """A box whose edges run through cell centres (the grid starts two cells below the lowest
    bound, 0 here, so centres lie at -1.5 + i): every point of a fine lattice still gets GEOS's
    answer, and none of them needed GEOS to settle it."""
    polys = [shapely.box(0.0, 0.0, 0.1, 0.1), shapely.box(1.5, 1.5, 5.5, 5.5)]
    idx = build_index(polys, buf, cell=1.0)
    assert idx.x0 == -2.0 - buf  # centres at x0 + 0.5 + i: the box's edges among them
    assert np.isin(1.5, idx.x0 + 0.5 + np.arange(idx.nx)) == (buf != 0.25)
    gx, gy = np.meshgrid(np.linspace(-3, 9, 241), np.linspace(-3, 9, 241))
    px, py = gx.ravel(), gy.ravel()
    ping, poly = locate(idx, px, py)
    assert set(zip(ping.tolist(), poly.tolist(), strict=True)) == _dwithin(polys, px, py, buf)
    _, _, doubt = locate_kernels.locate_labels(
        px, py, idx.x0, idx.y0, 1.0 / idx.cell, idx.nx, idx.ny, idx.label, idx.rec,
        idx.edges, idx.sure_d2, idx.doubt_d2,
    )  # fmt: skip
    # only pairs on the allowance's edge itself (to a nanometre) may go to GEOS
    g = np.asarray(polys, dtype=object)[doubt[1]]
    d = shapely.distance(shapely.boundary(g), shapely.points(px[doubt[0]], py[doubt[0]]))
    assert (np.abs(d - buf) <= 2 * locate_kernels.DOUBT).all()


def test_street_scale_hot_spots_with_the_default_allowance() -> None:
    """1,000 street-scale hot spots and 200,000 patrol pings clustered in and around them (the
    benchmark's city): the default 10 m allowance, pairs equal to an STRtree dwithin query."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from dosage import make_hotspots, make_pings

    hs = make_hotspots(1000)
    p = make_pings(200_000, hs)
    g = np.asarray(hs.geometry.values)
    one = build_index(g, 10.0, workers=1)
    for workers in (1, 2, 3):
        idx = build_index(g, 10.0, workers=workers)
        # bands of grid rows (eight here) are fixed by the hot spots, not by the threads: the
        # records written side by side are those one thread writes, byte for byte
        assert np.array_equal(idx.label, one.label) and idx.depth == one.depth
        assert np.array_equal(idx.rec.view(np.int64), one.rec.view(np.int64))
        ping, poly = locate(idx, p["x"], p["y"])
        pi, gi = shapely.STRtree(g).query(
            shapely.points(p["x"], p["y"]), predicate="dwithin", distance=10.0
        )
        o = np.lexsort((pi, gi))
        assert ping.tolist() == pi[o].tolist() and poly.tolist() == gi[o].tolist()


def test_doubt_margin_is_far_below_gps_error_and_far_above_rounding() -> None:
    assert 1e-12 < locate_kernels.DOUBT < locate_kernels.SLACK <= 1e-6

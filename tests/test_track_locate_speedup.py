"""Where a raster index could go wrong: lines through vertices (crossings met exactly), points
on cell borders (the cell a ping lands in decides which record tests it), and pings far outside
the grid, clipped into its outer ring."""

from __future__ import annotations

import numpy as np
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from patrolwise.track.locate import build_index, locate_labels

from .test_track_kernels import _polygons, _tiny, _truth


def _pairs(first: np.ndarray, e_ping: np.ndarray, e_poly: np.ndarray) -> set[tuple[int, int]]:
    pairs = {(i, int(k)) for i, k in enumerate(first.tolist()) if k >= 0}
    pairs |= set(zip(e_ping.tolist(), e_poly.tolist(), strict=True))
    assert len(pairs) == int((first >= 0).sum()) + len(e_ping)
    return pairs


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**31 - 1), st.sampled_from([None, 0.5, 1.0, 3.0, 7.3]))
def test_rays_through_vertices_and_cell_borders_equal_shapely(
    seed: int, cell: float | None
) -> None:
    """Points on the horizontal line through every vertex (so edges right of the point start or
    end exactly on its ray), at every cell border of the grid, a hair either side of it, at the
    vertices' x, and far outside the grid on both sides."""
    rng = np.random.default_rng(seed)
    polys = _polygons(rng) + _tiny(rng)
    idx = build_index(polys, cell=cell)
    verts = shapely.get_coordinates(np.asarray(polys, dtype=object))
    ys = np.unique(verts[:, 1])
    ys = ys[rng.permutation(len(ys))[:60]]
    borders = idx.x0 + np.arange(idx.nx + 1) * idx.cell
    borders = borders[rng.permutation(len(borders))[:80]]
    far = np.array([idx.x0 - 1e6, idx.x0 + (idx.nx + 5) * idx.cell])
    xs = np.concatenate(
        [borders, np.nextafter(borders, -np.inf), np.nextafter(borders, np.inf), borders + 1e-9]
        + [verts[rng.permutation(len(verts))[:80], 0], far]
    )
    px = np.repeat(xs, len(ys))
    py = np.tile(ys, len(xs))
    # and vertical lines through vertices at every cell border in y
    yb = idx.y0 + np.arange(idx.ny + 1) * idx.cell
    yb = np.concatenate([yb, np.nextafter(yb, -np.inf), [idx.y0 - 1e6]])
    vx = verts[rng.permutation(len(verts))[:40], 0]
    px = np.concatenate([px, np.repeat(vx, len(yb))])
    py = np.concatenate([py, np.tile(yb, len(vx))])
    got = _pairs(*locate_labels(idx, px, py))
    assert got == _truth(polys, px, py)

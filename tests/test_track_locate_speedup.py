"""The per-cell records of the locate index (``kernels.cell_records``): each ambiguous cell keeps
only the edges meeting it and the crossing parity of the edges right of it, as breakpoints in y.
These tests aim at what that shortcut could get wrong: rays through vertices of far edges (a
breakpoint met exactly), points on cell borders (the cell a ping lands in decides which edges
count as near), and pings far outside the grid, clipped into its outer ring."""

from __future__ import annotations

import numpy as np
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from patrolwise.track import kernels
from patrolwise.track.locate import AMBIGUOUS, build_index, locate_labels, slot_of

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


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**31 - 1), st.sampled_from([0.5, 1.0, 3.0]))
def test_records_hold_the_candidates_and_the_row_parity(seed: int, cell: float) -> None:
    """Decoding every record: its slot's candidates in order (those shown to miss the cell
    dropped), sure flags as the CSR says or shown, and for points in the cell, the record's test
    (near edges plus breakpoint parity; sure: inside; dropped: outside) gives what the full row's
    crossing-number test gives, pair by pair."""
    rng = np.random.default_rng(seed)
    polys = _polygons(rng)
    if not polys:
        return
    idx = build_index(polys, cell=cell)
    ri = idx.rec.view(np.int64)
    amb = np.flatnonzero(idx.label <= AMBIGUOUS)
    slots = slot_of(idx, idx.label[amb])
    # one record a slot (slots whose cell turned out plain have none)
    assert len(np.unique(slots)) == len(slots) and (slots < len(idx.cand_ptr) - 1).all()
    compared = 0
    for c in amb[rng.permutation(len(amb))[:150]].tolist():
        s = int(slot_of(idx, idx.label[[c]])[0])
        o = AMBIGUOUS - int(idx.label[c])
        nc = int(ri[o] & 0xFFFFFFFF)
        lo, hi = idx.cand_ptr[s], idx.cand_ptr[s + 1]
        assert 1 <= nc <= hi - lo
        ci, cj = c % idx.nx, c // idx.nx
        u = np.r_[0.0, 1.0, rng.uniform(0, 1, 30)]
        qx = idx.x0 + (ci + rng.permutation(u)) * idx.cell
        qy = idx.y0 + (cj + u) * idx.cell
        o += 1
        kept = {}  # polygon -> (header words, offset of its edges)
        for _ in range(nc):
            w0, w1 = int(ri[o]), int(ri[o + 1])
            kept[w0 & 0xFFFFFFFF] = (w0, w1, o + 2)
            o += 2 + 4 * (w1 & 0xFFFFFFFF) + (w1 >> 32)
        assert list(kept) == sorted(kept) and set(kept) <= set(idx.cand_idx[lo:hi].tolist())
        for j in range(lo, hi):
            k = int(idx.cand_idx[j])
            w0, w1, at = kept.get(k, (0, 0, 0))  # a dropped candidate: outside all over
            nn, nb = w1 & 0xFFFFFFFF, w1 >> 32
            if idx.cand_sure[j]:
                assert (w0 >> 32) & 1 and nn == 0 and nb == 0
            bps = idx.rec[at + 4 * nn : at + 4 * nn + nb]
            assert (np.diff(bps) > 0).all()  # sorted, pairs cancelled
            in_rows = idx.row_lo[k] <= cj <= idx.row_hi[k]  # else no edge of k meets the row
            es = idx.row_base[k] + cj - idx.row_lo[k] if in_rows else 0
            for x, y in zip(qx.tolist(), qy.tolist(), strict=True):
                row = int(np.clip(np.floor((y - idx.y0) / idx.cell), 0, idx.ny - 1))
                col = int(np.clip(np.floor((x - idx.x0) / idx.cell), 0, idx.nx - 1))
                if (row, col) != (cj, ci):
                    continue  # on the far border: the neighbour's record decides
                want = 0
                if in_rows:
                    want = kernels.point_in_row(
                        idx.seg, int(idx.edge_ptr[es]), int(idx.edge_ptr[es + 1]), x, y
                    )
                if (w0 >> 32) & 1:
                    got = 1
                elif k not in kept:
                    got = 0
                else:
                    got = kernels.point_near(idx.rec, at, nn, x, y)
                    if got == 2:
                        got = 1
                    elif got >= 0:
                        got ^= ((w0 >> 33) & 1) ^ (int((bps <= y).sum()) & 1)
                if want >= 0 and got >= 0:
                    assert got == want, (c, k, x, y)
                    compared += 1
    assert compared > 0 or len(amb) == 0 or idx.cand_sure.all()

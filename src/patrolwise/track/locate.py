"""Which hot spots contain each ping: a raster index for speed, exact geometry at the edges.

A plain raster lookup is fast but miscounts pings near polygon edges (up to ~2% at street scale),
and ``geopandas.sjoin`` is exact but slow (an R-tree query per point). We do both: a grid over the
hot spots' bounding box labels every cell as *outside all*, *inside exactly one polygon with no
edge in it*, or *ambiguous* (an edge passes through it, or it lies inside several overlapping
polygons). Pings in the first two kinds of cell are decided by one array lookup; only pings in
ambiguous cells get an exact test against the cell's candidate polygons. Optionally
(``build_index(fine=4)``) each ambiguous cell gets a second, finer raster
(:func:`patrolwise.track.kernels.build_fine`, one compiled pass) saying which of its candidates
hold each subcell no boundary passes through, so only pings in subcells an edge may cross (about
a fifth of the ambiguous ones at ``fine=4``) get the exact test.

The exact test is our own crossing-number test, GEOS's ``RayCrossingCounter`` rule for rule
(boundary points count as inside, as ``shapely.intersects_xy`` says). A horizontal ray to the right
only meets edges that cross the ping's grid row, so the index keeps, per polygon and row, the few
edges crossing that row (by decreasing max x). From those, each ambiguous cell gets one
contiguous *record* (:func:`patrolwise.track.kernels.cell_records`), which its label points at:
per candidate, only the edges whose x-range meets the cell (tested in full) and the crossing
parity of the edges wholly right of it, which for a point in the cell is a step function of y
alone (a few breakpoints, usually none). A ping in an ambiguous cell thus reads its label and
one run of memory, and tests one or two edges, not the whole row. Orientation
signs too close to zero for float arithmetic to be sure of (points on or within ~1e-12 m of an
edge) are settled by ``shapely.intersects_xy`` itself, so the answer equals the exact
point-in-polygon answer.

:func:`locate_labels` (what dosage uses) and :func:`locate` run the lookup and the test in one
compiled pass per chunk (:mod:`patrolwise.track.kernels`); :func:`locate_numpy` is the same
algorithm on numpy arrays of (ping, edge) pairs, kept as the reference the kernel is tested
against.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray

from ..errors import InputError
from . import kernels as _k

OUTSIDE = -1
AMBIGUOUS = -2
#: upper bound on raster cells (int32 labels: 4 bytes a cell), index under ~100 MB
MAX_CELLS = 16_000_000
#: default cell size keeps the polygons' bounding boxes under this many cells (build time). At
#: 1,000 street-scale hot spots 100,000 gives ~12 m cells: the build takes ~8 ms less than at
#: 250,000 (~7.8 m cells), while locate stays within a few percent, as the smaller raster
#: (fewer cache misses per ping) and the cheap per-cell records offset the wider edge band
WINDOW_CELLS = 100_000
#: default subcells per side of the fine raster inside each ambiguous cell (a power of two; 0:
#: none). Off by default: with 4, 80% of the pings in ambiguous cells are decided by lookup, but
#: since each ambiguous cell has its own record (one or two edges to test) the exact test costs
#: no more than the fine lookup: at 10M pings x 1,000 hot spots, locate took 297 ms with
#: ``fine=4``, 314 ms with 2, 254 ms without, and the build ~20 ms more. Kept for experiments.
FINE = 0
#: upper bound on the fine raster (one byte a subcell): halve FINE until it fits, else none
MAX_FINE_BYTES = 64_000_000


@dataclass(frozen=True)
class AreaIndex:
    """A raster index over a set of polygons (already buffered), ready for :func:`locate`."""

    geoms: NDArray[np.object_]  # shapely polygons (for the rare near-degenerate exact test)
    x0: float
    y0: float
    cell: float
    nx: int
    ny: int
    # ny*nx: polygon index, OUTSIDE, or for an ambiguous cell AMBIGUOUS - (the offset of its
    # record in rec): one lookup per ping says all the raster knows
    label: NDArray[np.int32]
    # CSR over the raster's ambiguous cells (slots): candidate polygons; a cell's slot is its
    # record's first word >> 32 (see slot_of). Slots whose cell the records showed to be plain
    # (kernels.cell_records) keep their row, so max candidates per cell is still an upper bound
    cand_ptr: NDArray[np.int64]
    cand_idx: NDArray[np.int32]
    cand_sure: NDArray[np.bool_]  # the cell lies wholly inside that candidate: no test needed
    # per ambiguous cell, one contiguous record (kernels.cell_records): its candidates, each
    # with the few edges the exact test needs in that cell and the crossing parity of the rest
    rec: NDArray[np.float64]
    # edges crossing each (polygon, grid row): CSR over rows row_lo[k]..row_hi[k] of polygon k
    row_lo: NDArray[np.int64]
    row_hi: NDArray[np.int64]
    row_base: NDArray[np.int64]  # polygon k's rows start at row_base[k] in edge_ptr
    edge_ptr: NDArray[np.int64]
    seg: NDArray[np.float64]  # (n_edge_rows, 8): ax, ay, bx, by, min y, max y, max x, 0
    # fine raster of the ambiguous cells (kernels.build_fine): fine_f x fine_f subcells each
    # (fine_f == 0: none): bit j set when the cell's candidate j holds the whole subcell,
    # kernels.FINE_TEST when a boundary may cross it (test every candidate)
    fine: NDArray[np.uint8]
    fine_f: int


def build_index(
    geoms: list[shapely.Geometry] | NDArray[np.object_],
    cell: float | None = None,
    max_cells: int = MAX_CELLS,
    fine: int = FINE,
) -> AreaIndex:
    """Index polygons. ``cell`` (metres) defaults to 1/20 of the median polygon width, so the
    ambiguous band holds a few percent of each polygon's pings, enlarged if the polygons'
    bounding boxes would exceed :data:`WINDOW_CELLS` cells or the grid ``max_cells``. ``fine``
    (a power of two, 0 for none) subcells a side refine each ambiguous cell, halved while the
    fine raster would exceed :data:`MAX_FINE_BYTES`."""
    g = np.asarray(geoms, dtype=object)
    if len(g) == 0:
        raise InputError("no hot spots to measure dosage in: import or detect hot spots first")
    if shapely.is_missing(g).any() or shapely.is_empty(g).any():
        raise InputError("a hot spot has an empty geometry")
    bounds = shapely.bounds(g)
    x0, y0 = bounds[:, 0].min(), bounds[:, 1].min()
    x1, y1 = bounds[:, 2].max(), bounds[:, 3].max()
    if cell is None:
        widths = np.sqrt(np.maximum(shapely.area(g), 1.0))
        cell = max(float(np.median(widths)) / 20.0, 0.5)
        # building costs ~30 ns a window cell: keep the windows of many hot spots under
        # WINDOW_CELLS (the exact test, compiled, makes the wider edge band cheap)
        box = (bounds[:, 2] - bounds[:, 0]) * (bounds[:, 3] - bounds[:, 1])
        cell = max(cell, float(np.sqrt(box.sum() / WINDOW_CELLS)))
    w, h = max(x1 - x0, cell), max(y1 - y0, cell)
    while (w / cell + 1) * (h / cell + 1) > max_cells:
        cell *= 1.25
    # one spare ring of OUTSIDE cells: locate clips coordinates into the grid instead of masking
    x0, y0 = x0 - cell, y0 - cell
    nx = int(np.floor(w / cell)) + 3
    ny = int(np.floor(h / cell)) + 3

    a, b, owner = _ring_edges(g)
    row_lo, row_hi, row_base, edge_ptr, seg = _row_edges(a, b, owner, len(g), y0, cell, ny)

    # each polygon's window: the cells of its bounding box plus one ring
    win = np.stack(
        [
            np.clip((bounds[:, 0] - x0) // cell - 1, 0, nx - 1),
            np.clip((bounds[:, 1] - y0) // cell - 1, 0, ny - 1),
            np.clip((bounds[:, 2] - x0) // cell + 1, 0, nx - 1),
            np.clip((bounds[:, 3] - y0) // cell + 1, 0, ny - 1),
        ],
        axis=1,
    ).astype(np.int64)
    e_ptr = np.zeros(len(g) + 1, dtype=np.int64)
    np.cumsum(np.bincount(owner, minlength=len(g)), out=e_ptr[1:])
    label = np.full(nx * ny, OUTSIDE, dtype=np.int32)
    ptr, cand_idx, cand_sure, cand_elo, cand_ehi, slot_cell = _k.build_labels(
        a, b, e_ptr, win, float(x0), float(y0), float(cell), nx, ny,
        row_lo, row_hi, row_base, edge_ptr, seg, label,
    )  # fmt: skip
    nslot = len(ptr) - 1
    while fine > 1 and nslot * fine * fine > MAX_FINE_BYTES:
        fine //= 2
    if fine & (fine - 1):
        raise ValueError(f"fine must be a power of two, got {fine}")
    fine = fine if fine > 1 else 0
    fine_raster = np.zeros(0, dtype=np.uint8)
    if fine:
        fine_raster = _k.build_fine(
            a, b, win, label, nx, nslot, ptr, cand_idx, cand_sure, row_lo, row_hi, row_base,
            edge_ptr, seg, float(x0), float(y0), 1.0 / float(cell), fine,
        )  # fmt: skip
    # after build_fine (which reads slot labels): ambiguous labels now point at the records
    rec = _k.cell_records(
        label, slot_cell, nx, ny, float(x0), float(y0), float(cell), ptr, cand_idx, cand_sure,
        cand_elo, cand_ehi, seg,
    )  # fmt: skip
    return AreaIndex(
        geoms=g,
        x0=float(x0),
        y0=float(y0),
        cell=float(cell),
        nx=nx,
        ny=ny,
        label=label,
        cand_ptr=ptr,
        cand_idx=cand_idx,
        cand_sure=cand_sure,
        rec=rec,
        row_lo=row_lo,
        row_hi=row_hi,
        row_base=row_base,
        edge_ptr=edge_ptr,
        seg=seg,
        fine=fine_raster,
        fine_f=fine,
    )


def slot_of(index: AreaIndex, lab: NDArray[np.int32]) -> NDArray[np.int64]:
    """The slots (rows of the candidate CSR) of ambiguous cells, from their labels."""
    return index.rec.view(np.int64)[AMBIGUOUS - lab.astype(np.int64)] >> 32


def _ring_edges(
    g: NDArray[np.object_],
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int64]]:
    """Every ring edge of every polygon: start points, end points (n, 2) and owning polygon
    (ascending)."""
    if (shapely.get_type_id(g) == shapely.GeometryType.POLYGON).all():
        parts, part_owner = g, np.arange(len(g))  # get_parts would copy every polygon
    else:
        parts, part_owner = shapely.get_parts(g, return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    xy, ring_of = shapely.get_coordinates(rings, return_index=True)
    # consecutive vertices of one (closed) ring: an edge (row numbers and take, not a 2-D
    # boolean mask, which costs ~2 ms at 1,000 hot spots)
    at = np.flatnonzero(ring_of[1:] == ring_of[:-1])
    a = np.take(xy, at, axis=0)
    b = np.take(xy, at + 1, axis=0)
    owner = part_owner[ring_part[ring_of[at]]].astype(np.int64)
    return a, b, owner


def _row_edges(
    a: NDArray[np.float64],
    b: NDArray[np.float64],
    owner: NDArray[np.int64],
    npoly: int,
    y0: float,
    cell: float,
    ny: int,
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], NDArray]:
    """Per polygon and grid row, the ring edges whose y-range meets the row.

    Rows are computed as in :func:`locate` (``(y - y0) / cell``, floored): subtraction and
    multiplication are monotone in floating point, so a ping with ``ymin <= y <= ymax`` always
    lands in a row between the edge's first and last rows, and no edge the ray test needs is
    missed."""
    inv = 1.0 / cell
    r0 = np.clip(np.floor((np.minimum(a[:, 1], b[:, 1]) - y0) * inv), 0, ny - 1).astype(np.int64)
    r1 = np.clip(np.floor((np.maximum(a[:, 1], b[:, 1]) - y0) * inv), 0, ny - 1).astype(np.int64)
    row_lo = np.full(npoly, ny, dtype=np.int64)
    row_hi = np.full(npoly, -1, dtype=np.int64)
    np.minimum.at(row_lo, owner, r0)
    np.maximum.at(row_hi, owner, r1)
    nrows = np.maximum(row_hi - row_lo + 1, 0)
    row_base = np.concatenate([[0], np.cumsum(nrows)[:-1]]).astype(np.int64)
    # within a row, edges by decreasing max x: a test stops at the first edge wholly left of the
    # point (no later edge can be crossed by the ray or hold the point)
    edge_ptr, seg = _k.row_table(a, b, owner, r0, r1, row_lo, row_base, int(nrows.sum()))
    return row_lo, row_hi, row_base, edge_ptr, seg


def _inside_exact(
    index: AreaIndex,
    px: NDArray[np.float64],
    py: NDArray[np.float64],
    k: NDArray[np.int64],
    row: NDArray[np.int64],
) -> NDArray[np.bool_]:
    """Is point i in (or on the boundary of) polygon k[i]? GEOS's ray-crossing rules, vectorised.

    ``row`` is the grid row the point was located in. Per (point, edge): an edge wholly left of
    the point is skipped; the point equal to the edge's end vertex, or on a horizontal edge, is on
    the boundary; otherwise an edge straddling the point's y (upward edges include their start,
    downward edges their end) is crossed when the point lies left of it (upward direction), and a
    zero orientation puts the point on the boundary. Near-zero orientations that float arithmetic
    cannot sign for sure go to shapely.
    """
    lo, hi = index.row_lo[k], index.row_hi[k]
    ok = (row >= lo) & (row <= hi)
    slot = np.where(ok, index.row_base[k] + row - lo, 0)
    start = index.edge_ptr[slot]
    count = np.where(ok, index.edge_ptr[slot + 1] - start, 0)
    pair = np.repeat(np.arange(len(k)), count)
    e = np.repeat(start, count) + (
        np.arange(len(pair)) - np.repeat(np.cumsum(count) - count, count)
    )
    # only edges whose y-range holds the point and that reach right of it can matter (a rule
    # below needs one of these); dropping the rest first halves the work on the arrays
    seg = index.seg
    qx, qy = px[pair], py[pair]
    keep = np.flatnonzero((seg[e, 4] <= qy) & (seg[e, 5] >= qy) & (seg[e, 6] >= qx))
    e, pair, qx, qy = e[keep], pair[keep], qx[keep], qy[keep]
    ax, ay, bx, by = (seg[e, i] for i in range(4))
    at_end = (qx == bx) & (qy == by)
    horiz = (ay == qy) & (by == qy)
    on_h = horiz & (qx >= np.minimum(ax, bx)) & (qx <= np.maximum(ax, bx))
    straddle = ~at_end & ~horiz & ((ay > qy) != (by > qy))
    # orientation of (a, b, q) as GEOS's filter computes it
    dl = (ax - qx) * (by - qy)
    dr = (ay - qy) * (bx - qx)
    det = dl - dr
    unsure = straddle & (np.abs(det) <= 1e-12 * (np.abs(dl) + np.abs(dr)))
    up = by > ay
    cross = straddle & ~unsure & ((det > 0) == up)
    on = at_end | on_h
    n = len(k)
    crossings = np.bincount(pair[cross], minlength=n)
    boundary = np.bincount(pair[on], minlength=n) > 0
    inside = (boundary | (crossings % 2 == 1)) & np.isfinite(px) & np.isfinite(py)
    doubt = np.unique(pair[unsure])
    if len(doubt):
        inside[doubt] = shapely.intersects_xy(index.geoms[k[doubt]], px[doubt], py[doubt])
    return inside


def locate_labels(
    index: AreaIndex, x: NDArray[np.float64], y: NDArray[np.float64]
) -> tuple[NDArray[np.int32], NDArray[np.int64], NDArray[np.int64]]:
    """The polygon holding each ping, in ping order: ``(first, extra_ping, extra_poly)``.

    ``first[i]`` is a polygon containing ping i (or -1); pings inside several overlapping
    polygons add their other polygons as ``(extra_ping, extra_poly)`` pairs, sorted by ping. One
    compiled pass (:func:`patrolwise.track.kernels.locate_labels`); the rare pairs whose float
    orientation is too close to zero to sign are settled by ``shapely.intersects_xy``.
    """
    first, extra, doubt = _k.locate_labels(
        np.ascontiguousarray(x, dtype=np.float64),
        np.ascontiguousarray(y, dtype=np.float64),
        index.x0,
        index.y0,
        1.0 / index.cell,
        index.nx,
        index.ny,
        index.label,
        index.rec,
        index.rec.view(np.int64),
        index.cand_ptr,
        index.cand_idx,
        index.fine,
        index.fine_f,
    )
    e_ping, e_poly = extra[0], extra[1]
    if doubt.shape[1]:
        d_ping, d_poly = doubt[0], doubt[1]
        xs = np.asarray(x, dtype=np.float64)[d_ping]
        ys = np.asarray(y, dtype=np.float64)[d_ping]
        yes = shapely.intersects_xy(index.geoms[d_poly], xs, ys)
        for p, k in zip(d_ping[yes].tolist(), d_poly[yes].tolist(), strict=True):
            if first[p] < 0:
                first[p] = k
            else:
                e_ping = np.append(e_ping, p)
                e_poly = np.append(e_poly, k)
        o = np.lexsort((e_poly, e_ping))
        e_ping, e_poly = e_ping[o], e_poly[o]
    return first, e_ping, e_poly


def locate(
    index: AreaIndex, x: NDArray[np.float64], y: NDArray[np.float64]
) -> tuple[NDArray[np.int64], NDArray[np.int32]]:
    """Every (ping, polygon) pair with the ping inside (or on the edge of) the polygon.

    Returns ``(ping_idx, poly_idx)`` sorted by polygon then ping. Pings outside every polygon
    produce no pair, so the output is small.
    """
    first, e_ping, e_poly = locate_labels(index, x, y)
    ping = np.flatnonzero(first >= 0)
    poly = first[ping]
    if len(e_ping):  # pings inside several overlapping polygons
        ping = np.concatenate([ping, e_ping])
        poly = np.concatenate([poly, e_poly.astype(np.int32)])
        order = np.lexsort((ping, poly))
    else:
        narrow = np.int16 if len(index.geoms) < 32_000 else np.int32
        order = np.argsort(poly.astype(narrow), kind="stable")  # radix: ping order kept
    return ping[order], poly[order].astype(np.int32, copy=False)


def locate_numpy(
    index: AreaIndex, x: NDArray[np.float64], y: NDArray[np.float64]
) -> tuple[NDArray[np.int64], NDArray[np.int32]]:
    """:func:`locate` in numpy alone (the reference the compiled kernel is tested against)."""
    inv = 1.0 / index.cell
    fx = np.subtract(x, index.x0)
    fx *= inv
    np.fmax(fx, 0.0, out=fx)  # fmax/fmin send NaN to the border ring (never inside)
    np.fmin(fx, index.nx - 1.0, out=fx)
    fy = np.subtract(y, index.y0)
    fy *= inv
    np.fmax(fy, 0.0, out=fy)
    np.fmin(fy, index.ny - 1.0, out=fy)
    rows = fy.astype(np.int32)  # MAX_CELLS < 2**31
    cells = rows * np.int32(index.nx)
    cells += fx.astype(np.int32)
    lab = index.label[cells]
    p_amb = np.flatnonzero(lab <= AMBIGUOUS)
    slot = slot_of(index, lab[p_amb])
    start = index.cand_ptr[slot]
    count = index.cand_ptr[slot + 1] - start
    rep_p = np.repeat(p_amb, count)
    # positions within the CSR: start of each run plus 0..count-1
    offs = np.arange(len(rep_p)) - np.repeat(np.cumsum(count) - count, count)
    at = np.repeat(start, count) + offs
    cand = index.cand_idx[at]
    narrow = np.int16 if len(index.geoms) < 32_000 else np.int32
    hit = index.cand_sure[at]
    test = np.flatnonzero(~hit)
    tp = rep_p[test]
    hit[test] = _inside_exact(
        index, x[tp], y[tp], cand[test].astype(np.int64), rows[tp].astype(np.int64)
    )
    p_hit, k_hit = rep_p[hit], cand[hit]
    # common case: each ping in at most one polygon; fold the exact hits into the dense labels so
    # one stable sort by polygon keeps ping order. A ping hit twice shows up as an overwrite.
    dense = np.maximum(lab, OUTSIDE)  # sure cells keep their polygon; AMBIGUOUS -> OUTSIDE
    dense[p_hit] = k_hit
    lost = dense[p_hit] != k_hit  # hits overwritten by another polygon's hit on the same ping
    ping = np.flatnonzero(dense >= 0)
    poly = dense[ping]
    if lost.any():  # pings inside several overlapping polygons: add the overwritten pairs
        ping = np.concatenate([ping, p_hit[lost]])
        poly = np.concatenate([poly, k_hit[lost]])
    order = np.argsort(poly.astype(narrow, copy=False), kind="stable")  # radix: ping order kept
    ping, poly = ping[order], poly[order]
    if lost.any():  # restore ping order inside the (few) polygons that received added pairs
        ks = np.unique(k_hit[lost])
        for a, b in zip(
            np.searchsorted(poly, ks), np.searchsorted(poly, ks, side="right"), strict=True
        ):
            ping[a:b] = np.sort(ping[a:b])
    return ping, poly.astype(np.int32, copy=False)

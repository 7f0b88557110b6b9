"""Which hot spots contain each ping: a raster index for speed, exact geometry at the edges.

A plain raster lookup is fast but miscounts pings near polygon edges (up to ~2% at street scale),
and ``geopandas.sjoin`` is exact but slow (an R-tree query per point). We do both: a grid over the
hot spots' bounding box labels every cell as *outside all*, *inside exactly one polygon with no
edge in it*, or *ambiguous* (an edge passes through it, or it lies inside several overlapping
polygons). Pings in the first two kinds of cell are decided by one array lookup; only pings in
ambiguous cells get an exact test against the cell's candidate polygons.

The exact test is our own vectorised crossing-number test, GEOS's ``RayCrossingCounter`` rule for
rule (boundary points count as inside, as ``shapely.intersects_xy`` says), run on numpy arrays of
(ping, edge) pairs. A horizontal ray to the right only meets edges that cross the ping's grid row,
so the index keeps, per polygon and row, the few edges crossing that row: a test costs a handful
of edges instead of a call into GEOS per ping (~4x cheaper). Orientation signs too close to zero
for float arithmetic to be sure of (points on or within ~1e-12 m of an edge) are settled by
``shapely.intersects_xy`` itself, so the answer equals the exact point-in-polygon answer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray

from ..errors import InputError

OUTSIDE = -1
AMBIGUOUS = -2
#: upper bound on raster cells (int16 labels + int32 slots: 6 bytes a cell), index under ~100 MB
MAX_CELLS = 16_000_000


@dataclass(frozen=True)
class AreaIndex:
    """A raster index over a set of polygons (already buffered), ready for :func:`locate`."""

    geoms: NDArray[np.object_]  # shapely polygons (for the rare near-degenerate exact test)
    x0: float
    y0: float
    cell: float
    nx: int
    ny: int
    # ny*nx: polygon index, OUTSIDE or AMBIGUOUS; int16 below 32,767 polygons (half the cache
    # misses of the one random lookup every ping makes)
    label: NDArray[np.signedinteger]
    cand_ptr: NDArray[np.int64]  # CSR over ambiguous cells: candidate polygons
    cand_idx: NDArray[np.int32]
    cand_sure: NDArray[np.bool_]  # the cell lies wholly inside that candidate: no test needed
    amb_slot: NDArray[np.int32]  # ny*nx: row of the cell in the CSR, -1 if not ambiguous
    # edges crossing each (polygon, grid row): CSR over rows row_lo[k]..row_hi[k] of polygon k
    row_lo: NDArray[np.int64]
    row_hi: NDArray[np.int64]
    row_base: NDArray[np.int64]  # polygon k's rows start at row_base[k] in edge_ptr
    edge_ptr: NDArray[np.int64]
    seg: NDArray[np.float64]  # (7, n_edge_rows): ax, ay, bx, by, min y, max y, max x


def build_index(
    geoms: list[shapely.Geometry] | NDArray[np.object_],
    cell: float | None = None,
    max_cells: int = MAX_CELLS,
) -> AreaIndex:
    """Index polygons. ``cell`` (metres) defaults to 1/20 of the median polygon width, so the
    ambiguous band holds a few percent of each polygon's pings, enlarged if the grid would exceed
    ``max_cells``."""
    g = np.asarray(geoms, dtype=object)
    if len(g) == 0:
        raise InputError("no hot spots to measure dosage in: import or detect hot spots first")
    if any(x is None or shapely.is_empty(x) for x in g):
        raise InputError("a hot spot has an empty geometry")
    bounds = shapely.bounds(g)
    x0, y0 = bounds[:, 0].min(), bounds[:, 1].min()
    x1, y1 = bounds[:, 2].max(), bounds[:, 3].max()
    if cell is None:
        widths = np.sqrt(np.maximum(shapely.area(g), 1.0))
        cell = max(float(np.median(widths)) / 20.0, 0.5)
    w, h = max(x1 - x0, cell), max(y1 - y0, cell)
    while (w / cell + 1) * (h / cell + 1) > max_cells:
        cell *= 1.25
    # one spare ring of OUTSIDE cells: locate clips coordinates into the grid instead of masking
    x0, y0 = x0 - cell, y0 - cell
    nx = int(np.floor(w / cell)) + 3
    ny = int(np.floor(h / cell)) + 3
    ncell = nx * ny
    pid = np.arange(len(g), dtype=np.int64)

    row_lo, row_hi, row_base, edge_ptr, seg = _row_edges(g, y0, cell, ny)

    # Each polygon's window: the cells of its bounding box plus one ring, flattened row-major,
    # polygon after polygon (``off``: a cell's offset inside its window).
    i0 = np.clip((bounds[:, 0] - x0) // cell - 1, 0, nx - 1).astype(np.int64)
    j0 = np.clip((bounds[:, 1] - y0) // cell - 1, 0, ny - 1).astype(np.int64)
    i1 = np.clip((bounds[:, 2] - x0) // cell + 1, 0, nx - 1).astype(np.int64)
    j1 = np.clip((bounds[:, 3] - y0) // cell + 1, 0, ny - 1).astype(np.int64)
    wi = i1 - i0 + 1
    size = wi * (j1 - j0 + 1)
    base = np.cumsum(size) - size
    wp = np.repeat(pid, size)
    off = np.arange(int(size.sum()), dtype=np.int64) - np.repeat(base, size)
    wc = (
        (np.repeat(j0, size) + off // np.repeat(wi, size)) * nx
        + np.repeat(i0, size)
        + off % np.repeat(wi, size)
    )

    # Edge cells. The boundary is sampled every cell/2 metres, so every boundary point lies within
    # cell/4 of a sample; the cells meeting the square of half-width cell/4 around each sample
    # therefore include every cell the boundary passes through (a conservative, thin band). They
    # lie inside the window (the bounding box grown by a whole cell), where they are marked.
    step = cell / 2.0
    pts, owner = shapely.get_coordinates(
        shapely.segmentize(shapely.boundary(g), step), return_index=True
    )
    h4 = cell / 4.0
    is_edge_w = np.zeros(len(wp), dtype=bool)
    oi0, oi1, oj0, oj1, ow = i0[owner], i1[owner], j0[owner], j1[owner], wi[owner]
    obase = base[owner] - oj0 * ow - oi0
    for ox in (-h4, h4):
        ci = np.clip(((pts[:, 0] + ox - x0) // cell).astype(np.int64), oi0, oi1) + obase
        for oy in (-h4, h4):
            cj = np.clip(((pts[:, 1] + oy - y0) // cell).astype(np.int64), oj0, oj1)
            is_edge_w[cj * ow + ci] = True
    ep, ec = wp[is_edge_w], wc[is_edge_w]

    # Window cells off the edge band are wholly inside or outside: one centre test each, by a
    # scanline along each row's centre line (crossing parity) rather than a GEOS call per cell.
    off_edge = ~is_edge_w
    centre_in = _centre_parity(
        (row_lo, row_hi, edge_ptr, seg), (i0, j0, i1, wi, size), off, float(x0), float(y0), cell
    )
    wp, wc = wp[off_edge], wc[off_edge]
    inside = centre_in[off_edge]
    ic, ip = wc[inside], wp[inside]

    # how many polygons claim each cell (as edge or interior)
    claims = np.bincount(np.concatenate([ec, ic]), minlength=ncell)
    is_edge = np.zeros(ncell, dtype=bool)
    is_edge[ec] = True
    label: NDArray[np.signedinteger] = np.full(
        ncell, OUTSIDE, dtype=np.int16 if len(g) < 32_767 else np.int32
    )
    single_in = (claims == 1) & ~is_edge
    label[ic[single_in[ic]]] = ip[single_in[ic]].astype(label.dtype)
    amb = claims.astype(bool) & ~single_in
    label[amb] = AMBIGUOUS
    # CSR of candidate polygons for ambiguous cells
    all_c = np.concatenate([ec, ic])
    all_p = np.concatenate([ep, ip])
    # a cell wholly inside a polygon (no edge of it in the cell) needs no test for that polygon
    all_s = np.concatenate([np.zeros(len(ec), bool), np.ones(len(ic), bool)])
    keep = amb[all_c]
    all_c, all_p, all_s = all_c[keep], all_p[keep], all_s[keep]
    amb_cells = np.flatnonzero(amb)
    amb_slot = np.full(ncell, -1, dtype=np.int32)
    amb_slot[amb_cells] = np.arange(len(amb_cells), dtype=np.int32)
    slot = amb_slot[all_c]
    order = np.lexsort((all_p, slot))
    slot, all_p, all_s = slot[order], all_p[order], all_s[order]
    counts = np.bincount(slot, minlength=len(amb_cells))
    ptr = np.zeros(len(amb_cells) + 1, dtype=np.int64)
    np.cumsum(counts, out=ptr[1:])
    return AreaIndex(
        geoms=g,
        x0=float(x0),
        y0=float(y0),
        cell=float(cell),
        nx=nx,
        ny=ny,
        label=label,
        cand_ptr=ptr,
        cand_idx=all_p.astype(np.int32),
        cand_sure=all_s,
        amb_slot=amb_slot,
        row_lo=row_lo,
        row_hi=row_hi,
        row_base=row_base,
        edge_ptr=edge_ptr,
        seg=seg,
    )


def _row_edges(
    g: NDArray[np.object_], y0: float, cell: float, ny: int
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], NDArray]:
    """Per polygon and grid row, the ring edges whose y-range meets the row.

    Rows are computed as in :func:`locate` (``(y - y0) / cell``, floored): subtraction and
    multiplication are monotone in floating point, so a ping with ``ymin <= y <= ymax`` always
    lands in a row between the edge's first and last rows, and no edge the ray test needs is
    missed."""
    if (shapely.get_type_id(g) == shapely.GeometryType.POLYGON).all():
        parts, part_owner = g, np.arange(len(g))  # get_parts would copy every polygon
    else:
        parts, part_owner = shapely.get_parts(g, return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    xy, ring_of = shapely.get_coordinates(rings, return_index=True)
    same = ring_of[1:] == ring_of[:-1]  # consecutive vertices of one (closed) ring: an edge
    a, b = xy[:-1][same], xy[1:][same]
    owner = part_owner[ring_part[ring_of[:-1][same]]].astype(np.int64)
    inv = 1.0 / cell
    r0 = np.clip(np.floor((np.minimum(a[:, 1], b[:, 1]) - y0) * inv), 0, ny - 1).astype(np.int64)
    r1 = np.clip(np.floor((np.maximum(a[:, 1], b[:, 1]) - y0) * inv), 0, ny - 1).astype(np.int64)
    npoly = len(g)
    row_lo = np.full(npoly, ny, dtype=np.int64)
    row_hi = np.full(npoly, -1, dtype=np.int64)
    np.minimum.at(row_lo, owner, r0)
    np.maximum.at(row_hi, owner, r1)
    nrows = np.maximum(row_hi - row_lo + 1, 0)
    row_base = np.concatenate([[0], np.cumsum(nrows)[:-1]]).astype(np.int64)
    span = r1 - r0 + 1
    e = np.repeat(np.arange(len(a)), span)
    row = r0[e] + np.arange(len(e)) - np.repeat(np.cumsum(span) - span, span)
    slot = row_base[owner[e]] + row - row_lo[owner[e]]
    order = np.argsort(slot, kind="stable")
    slot, e = slot[order], e[order]
    edge_ptr = np.zeros(int(nrows.sum()) + 1, dtype=np.int64)
    np.cumsum(np.bincount(slot, minlength=int(nrows.sum())), out=edge_ptr[1:])
    ax, ay, bx, by = a[e, 0], a[e, 1], b[e, 0], b[e, 1]
    # contiguous rows (fast gathers): ax, ay, bx, by, min y, max y, max x
    seg = np.stack([ax, ay, bx, by, np.minimum(ay, by), np.maximum(ay, by), np.maximum(ax, bx)])
    return row_lo, row_hi, row_base, edge_ptr, seg


def _centre_parity(
    rows: tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]],
    win: tuple[
        NDArray[np.int64],
        NDArray[np.int64],
        NDArray[np.int64],
        NDArray[np.int64],
        NDArray[np.int64],
    ],
    off: NDArray[np.int64],
    x0: float,
    y0: float,
    cell: float,
) -> NDArray[np.bool_]:
    """Is each window cell's centre inside its polygon? (windows flattened row-major, polygon
    after polygon, ``off`` the offset of each cell inside its window.)

    Each edge crossing a row's centre line flips the inside/outside state of every cell centre
    to its right; a prefix sum along the row gives the parity. Only used for cells the boundary
    does not pass through, whose centres are at least half a cell from any crossing, so float
    rounding of the crossing point cannot change the answer.
    """
    row_lo, row_hi, edge_ptr, seg = rows
    i0, j0, i1, wi, size = win
    nrows = np.maximum(row_hi - row_lo + 1, 0)
    slot_k = np.repeat(np.arange(len(nrows)), nrows)
    slot_j = row_lo[slot_k] + np.arange(len(slot_k)) - np.repeat(np.cumsum(nrows) - nrows, nrows)
    per_slot = np.diff(edge_ptr)
    ek = np.repeat(slot_k, per_slot)
    ej = np.repeat(slot_j, per_slot)
    ax, ay, bx, by = seg[:4]
    yc = y0 + (ej + 0.5) * cell
    cut = (ay > yc) != (by > yc)
    ek, ej, ax, ay, bx, by, yc = (v[cut] for v in (ek, ej, ax, ay, bx, by, yc))
    xs = ax + (yc - ay) * (bx - ax) / (by - ay)
    # first column whose centre lies right of the crossing
    col = np.floor((xs - x0) / cell - 0.5).astype(np.int64) + 1
    col = np.clip(col, i0[ek], i1[ek] + 1)
    ok = (col <= i1[ek]) & (ej >= j0[ek]) & (ej < j0[ek] + size[ek] // wi[ek])
    base = np.cumsum(size) - size
    flat = base[ek] + (ej - j0[ek]) * wi[ek] + (col - i0[ek])
    total = int(size.sum())
    flips = np.bincount(flat[ok], minlength=total)
    cs = np.cumsum(flips)
    excl = cs - flips  # flips strictly before each cell
    wkp = np.repeat(np.arange(len(size)), size)
    row_start = np.arange(total) - off % wi[wkp]
    return ((cs - excl[row_start]) & 1).astype(bool)


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
    keep = np.flatnonzero((seg[4][e] <= qy) & (seg[5][e] >= qy) & (seg[6][e] >= qx))
    e, pair, qx, qy = e[keep], pair[keep], qx[keep], qy[keep]
    ax, ay, bx, by = (seg[i][e] for i in range(4))
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


def locate(
    index: AreaIndex, x: NDArray[np.float64], y: NDArray[np.float64]
) -> tuple[NDArray[np.int64], NDArray[np.int32]]:
    """Every (ping, polygon) pair with the ping inside (or on the edge of) the polygon.

    Returns ``(ping_idx, poly_idx)`` sorted by polygon then ping, the order the visit finder
    wants. Pings outside every polygon produce no pair, so the output is small.
    """
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
    p_amb = np.flatnonzero(lab == AMBIGUOUS)
    slot = index.amb_slot[cells[p_amb]]
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

"""Which hot spots hold each ping: a raster index for speed, exact geometry near the edges.

A ping counts in a hot spot when it lies in the polygon or within the GPS error allowance of it:
exactly ``shapely.dwithin(polygon, ping, buffer_m)``, and with no allowance
``shapely.intersects_xy`` (points on the boundary count; GEOS's distance would round a point a
hair off the boundary onto it). A plain raster lookup is fast but miscounts pings near the edges (up to ~2%
at street scale), and ``geopandas.sjoin`` is exact but slow (a tree query per point). We do both:
a grid over the hot spots labels each cell *outside all*, *wholly in exactly one hot spot*, or
*ambiguous* (near the edge of the allowance, or in several overlapping hot spots). Pings in the
first two kinds of cell are decided by one array lookup; only pings in ambiguous cells get an
exact test, against the few edges the cell's record keeps for each candidate.

The polygons are not buffered: distance to the polygon changes by at most a cell's
half-diagonal within the cell, so each cell is classified from the distance of its centre
(:mod:`patrolwise.track.locate_kernels` says how, and why float rounding never decides). GEOS
buffers of 1,000 hot spots took longer than measuring a million pings in them, and a buffer is
an approximation (its round joins are chords, up to ~5 cm inside the true allowance at 10 m);
the distance test is exact. Pairs within a nanometre of the allowance are settled by
``shapely.dwithin`` itself, so the answer is GEOS's.

:func:`locate_labels` (what dosage uses) and :func:`locate` run the lookup and the test in one
compiled pass per chunk; the tests hold both against ``shapely.dwithin``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray

from ..errors import InputError
from . import locate_kernels as _lk
from .parallel import map_shares

OUTSIDE = -1
AMBIGUOUS = -2
#: upper bound on raster cells (int32 labels: 4 bytes a cell), index under ~100 MB
MAX_CELLS = 16_000_000
#: default cell size keeps the cells of the hot spots' windows (bounding boxes grown by the
#: allowance) under this many: building costs ~100 ns a window cell, and at 1,000 street-scale
#: hot spots 100,000 gives ~12 m cells, whose ambiguous band holds ~30% of patrol pings
WINDOW_CELLS = 100_000
#: hot spots per band of grid rows indexed as one task (fewer: one band, one thread; a
#: thread's start costs more)
SPLIT_BUILD = 64
#: at most this many bands (a fixed number, so the index does not depend on the threads)
MAX_BANDS = 8


@dataclass(frozen=True)
class AreaIndex:
    """A raster index over a set of polygons and an allowance, ready for :func:`locate`."""

    geoms: NDArray[np.object_]  # shapely polygons (for the rare pairs GEOS settles)
    buffer_m: float
    x0: float
    y0: float
    cell: float
    nx: int
    ny: int
    # ny*nx: polygon index, OUTSIDE, or for an ambiguous cell AMBIGUOUS - (the offset of its
    # record in rec): one lookup per ping says all the raster knows
    label: NDArray[np.int32]
    # per ambiguous cell, one contiguous record (locate_kernels.near_fill): its candidates,
    # each sure or with a reference point and the few edges the exact test needs
    rec: NDArray[np.float64]
    # every ring edge (ax, ay, bx, by), one 32-byte row each: records name their kept edges by
    # row here
    edges: NDArray[np.float64]
    depth: int  # the most candidate polygons any cell has (at least 1)

    @property
    def sure_d2(self) -> float:
        """Squared distance at or below which a ping is surely within the allowance."""
        b = self.buffer_m - _lk.DOUBT
        return b * b if b > 0 else -1.0

    @property
    def doubt_d2(self) -> float:
        """Squared distance above which a ping is surely beyond the allowance."""
        b = self.buffer_m + _lk.DOUBT
        return b * b


def build_index(
    geoms: list[shapely.Geometry] | NDArray[np.object_],
    buffer_m: float = 0.0,
    cell: float | None = None,
    max_cells: int = MAX_CELLS,
    workers: int = 1,
) -> AreaIndex:
    """Index polygons for pings within ``buffer_m`` metres of them. ``cell`` (metres) defaults
    to 1/20 of the median polygon width, enlarged while the windows would exceed
    :data:`WINDOW_CELLS` cells or the grid ``max_cells``. ``workers`` threads classify the
    cells (bands of grid rows split between them; the index is the same for any number)."""
    g = np.asarray(geoms, dtype=object)
    if len(g) == 0:
        raise InputError("no hot spots to measure dosage in: import or detect hot spots first")
    if shapely.is_missing(g).any() or shapely.is_empty(g).any():
        raise InputError("a hot spot has an empty geometry")
    buf = float(buffer_m)
    if not (np.isfinite(buf) and buf >= 0):
        raise InputError(f"the allowance around hot spots must be >= 0 metres, got {buffer_m}")
    bounds = shapely.bounds(g)
    bounds[:, :2] -= buf
    bounds[:, 2:] += buf
    x0, y0 = bounds[:, 0].min(), bounds[:, 1].min()
    x1, y1 = bounds[:, 2].max(), bounds[:, 3].max()
    if cell is None:
        widths = np.sqrt(np.maximum(shapely.area(g), 1.0))
        cell = max(float(np.median(widths)) / 20.0, 0.5)
        box = (bounds[:, 2] - bounds[:, 0]) * (bounds[:, 3] - bounds[:, 1])
        cell = max(cell, float(np.sqrt(box.sum() / WINDOW_CELLS)))
    w, h = max(x1 - x0, cell), max(y1 - y0, cell)
    while (w / cell + 1) * (h / cell + 1) > max_cells:
        cell *= 1.25
    # two spare rings: the outer ring, where locate clips far-away pings, lies in no window
    # (always OUTSIDE)
    x0, y0 = x0 - 2 * cell, y0 - 2 * cell
    nx = int(np.floor(w / cell)) + 5
    ny = int(np.floor(h / cell)) + 5
    edges, owner = _ring_edges(g)
    # each polygon's window: the cells meeting its box grown by the allowance and a micrometre,
    # found as locate finds a ping's cell (float subtraction and scaling are monotone, so a ping
    # within the allowance never lands outside its polygon's window)
    inv = 1.0 / cell
    grown = bounds + np.array([-1.0, -1.0, 1.0, 1.0]) * _lk.SLACK
    win = np.stack(
        [
            np.clip(np.floor((grown[:, 0] - x0) * inv), 1, nx - 2),
            np.clip(np.floor((grown[:, 1] - y0) * inv), 1, ny - 2),
            np.clip(np.floor((grown[:, 2] - x0) * inv), 1, nx - 2),
            np.clip(np.floor((grown[:, 3] - y0) * inv), 1, ny - 2),
        ],
        axis=1,
    ).astype(np.int64)
    e_ptr = np.zeros(len(g) + 1, dtype=np.int64)
    np.cumsum(np.bincount(owner, minlength=len(g)), out=e_ptr[1:])
    # bands of grid rows with about equal window cells each, one task each: every cell lies in
    # one band, so a band's pairs and records need nothing from another, and no pass over all
    # of them is left serial. The bands depend on the hot spots alone, never on ``workers``, so
    # the index is the same, byte for byte, on any number of threads.
    width = win[:, 2] - win[:, 0] + 1
    per_row = np.zeros(ny + 1, dtype=np.int64)
    np.add.at(per_row, win[:, 1], width)
    np.add.at(per_row, win[:, 3] + 1, -width)
    per_row = np.cumsum(per_row[:ny])  # window cells in each grid row
    room_row = np.concatenate([[0], np.cumsum(per_row)])
    n_bands = max(1, min(MAX_BANDS, len(g) // SPLIT_BUILD))
    cuts = np.searchsorted(room_row[1:], np.linspace(0, room_row[-1], n_bands + 1)[1:-1])
    rows = sorted({0, *(int(c) + 1 for c in cuts), ny})
    bands = [(j0, j1 - 1) for j0, j1 in zip(rows[:-1], rows[1:], strict=True) if j1 > j0]
    grid = (float(x0), float(y0), float(cell), nx, buf)
    # every buffer a band needs is made on the thread that fills it: pages are faulted in on
    # every core at once, and freed there, rather than all in this thread (faulting and freeing
    # the buffers of 1,000 hot spots here took about as long as classifying their cells)
    label = np.empty(nx * ny, dtype=np.int32)

    def pairs(jb0: int, jb1: int) -> tuple[list[Any], int, int]:
        room = int(room_row[jb1 + 1] - room_row[jb0])  # pairs at most: the band's window cells
        p_cell = np.empty(room, dtype=np.int32)
        p_poly = np.empty(room, dtype=np.int32)
        p_flag = np.empty(room, dtype=np.int32)
        p_ref = np.empty((room, 4), dtype=np.float64)  # rows never written cost no memory
        n, kept = _lk.near_pairs(
            edges, e_ptr, win, jb0, jb1, *grid, p_cell, p_poly, p_flag, p_ref, 0
        )
        size, depth = _lk.near_count(p_cell, p_flag, n, label, jb0 * nx, (jb1 + 1) * nx)
        return [p_cell, p_poly, p_flag, p_ref, n, kept], size, depth

    counted = map_shares(pairs, bands, workers)
    # the bands' records one after another in one array (each band checked its own size; the
    # whole must fit the int32 labels too)
    sizes = [size for _, size, _ in counted]
    if sum(sizes) > 2**31 - 3:
        raise ValueError("cell records too large for int32 labels: use a larger cell")
    rec = np.empty(sum(sizes), dtype=np.float64)
    starts = np.concatenate([[0], np.cumsum(sizes)]).tolist()

    def fill(held: list[Any], base: int) -> int:
        p_cell, p_poly, p_flag, p_ref, n, kept = held
        held.clear()  # the pairs are freed on this thread, when this task ends
        end = _lk.near_fill(rec, base, p_cell, p_poly, p_flag, p_ref, n, kept, label)
        return int(end) - base

    wrote = map_shares(
        fill, [(held, base) for (held, _, _), base in zip(counted, starts, strict=False)], workers
    )
    if wrote != sizes:  # not an assert: `python -O` would drop it, leaving bytes unwritten
        raise RuntimeError(f"index bands wrote {wrote} record words, counted {sizes}")
    depth = max(d for _, _, d in counted)
    return AreaIndex(
        geoms=g,
        buffer_m=buf,
        x0=float(x0),
        y0=float(y0),
        cell=float(cell),
        nx=nx,
        ny=ny,
        label=label,
        rec=rec,
        edges=edges,
        depth=int(depth),
    )


def _ring_edges(g: NDArray[np.object_]) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Every ring edge of every polygon, one row each ``(ax, ay, bx, by)`` (start and end
    points), and its polygon (ascending)."""
    if (shapely.get_type_id(g) == shapely.GeometryType.POLYGON).all():
        if not shapely.get_num_interior_rings(g).any():
            # one ring each (hot spots rarely have holes): its coordinates are the polygon's,
            # without making ring objects (~4x faster at 1,000 hot spots)
            xy, ring_of = shapely.get_coordinates(g, return_index=True)
            at = np.flatnonzero(ring_of[1:] == ring_of[:-1])
            return _edge_rows(xy, at), ring_of[at]
        parts, part_owner = g, np.arange(len(g))  # get_parts would copy every polygon
    else:
        parts, part_owner = shapely.get_parts(g, return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    xy, ring_of = shapely.get_coordinates(rings, return_index=True)
    # consecutive vertices of one (closed) ring: an edge (row numbers, not a 2-D boolean mask,
    # which costs ~2 ms at 1,000 hot spots)
    at = np.flatnonzero(ring_of[1:] == ring_of[:-1])
    return _edge_rows(xy, at), part_owner[ring_part[ring_of[at]]].astype(np.int64)


def _edge_rows(xy: NDArray[np.float64], at: NDArray[np.intp]) -> NDArray[np.float64]:
    """Rows ``(xy[at], xy[at + 1])``: an edge's four coordinates in one 32-byte row, as the
    kernels read them."""
    # vertex i and i + 1 are four consecutive floats: one strided view, one gather
    pairs = np.lib.stride_tricks.sliding_window_view(np.ascontiguousarray(xy).ravel(), 4)[::2]
    return np.take(pairs, at, axis=0)


def locate_labels(
    index: AreaIndex, x: NDArray[np.float64], y: NDArray[np.float64]
) -> tuple[NDArray[np.int32], NDArray[np.int64], NDArray[np.int64]]:
    """The polygon holding each ping, in ping order: ``(first, extra_ping, extra_poly)``.

    ``first[i]`` is the lowest-numbered polygon holding ping i (or -1); pings in several
    overlapping polygons add their other polygons as ``(extra_ping, extra_poly)`` pairs, sorted
    by ping. One compiled pass (:func:`patrolwise.track.locate_kernels.locate_labels`); the rare
    pairs within a nanometre of the allowance are settled by ``shapely.dwithin`` (with no
    allowance, ``shapely.intersects_xy``).
    """
    first, extra, doubt = _lk.locate_labels(
        np.ascontiguousarray(x, dtype=np.float64),
        np.ascontiguousarray(y, dtype=np.float64),
        index.x0,
        index.y0,
        1.0 / index.cell,
        index.nx,
        index.ny,
        index.label,
        index.rec,
        index.edges,
        index.sure_d2,
        index.doubt_d2,
    )
    e_ping, e_poly = extra[0], extra[1]
    if doubt.shape[1]:
        d_ping, d_poly = doubt[0], doubt[1]
        xs = np.asarray(x, dtype=np.float64)[d_ping]
        ys = np.asarray(y, dtype=np.float64)[d_ping]
        if index.buffer_m > 0:
            yes = shapely.dwithin(index.geoms[d_poly], shapely.points(xs, ys), index.buffer_m)
        else:  # GEOS's distance can round a point a hair off the boundary onto it
            yes = shapely.intersects_xy(index.geoms[d_poly], xs, ys)
        # candidates are tested in ascending polygon order, so a settled pair may come before
        # the ping's first: rebuild that ping's pairs in order
        p_new = np.concatenate([e_ping, d_ping[yes]])
        k_new = np.concatenate([e_poly, d_poly[yes]])
        has = np.flatnonzero(first >= 0)
        touched = np.unique(d_ping[yes])
        mine = has[np.isin(has, touched)]
        p_all = np.concatenate([p_new, mine])
        k_all = np.concatenate([k_new, first[mine].astype(np.int64)])
        o = np.lexsort((k_all, p_all))
        p_all, k_all = p_all[o], k_all[o]
        lead = np.ones(len(p_all), dtype=bool)
        lead[1:] = p_all[1:] != p_all[:-1]
        # the lowest polygon of each touched ping is its first; the rest are extra pairs
        lead_t = lead & np.isin(p_all, touched)
        first[p_all[lead_t]] = k_all[lead_t]
        e_ping, e_poly = p_all[~lead_t], k_all[~lead_t]
    return first, e_ping, e_poly


def locate(
    index: AreaIndex, x: NDArray[np.float64], y: NDArray[np.float64]
) -> tuple[NDArray[np.int64], NDArray[np.int32]]:
    """Every (ping, polygon) pair with the ping within the allowance of the polygon.

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

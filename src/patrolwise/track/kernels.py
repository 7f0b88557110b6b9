"""Compiled (numba) kernels for the dosage hot path: one pass over the pings each.

Why compiled: the numpy pipeline spends most of its time building and sorting temporary arrays
(a (ping, candidate) pair per ambiguous ping, a (ping, edge) pair per test, two radix sorts to
bring pairs back into polygon-then-ping order), not on arithmetic. A loop that walks the pings in
the order they come (sorted by device and time) needs none of that: a ping's cell, its candidate
polygons, the few edges of its grid row and the visit state of its device are all at hand, and
the only memory written is one int32 label per ping.

Two kernels, both ``cache=True`` (compiled once per machine, then loaded from ``__pycache__``)
and ``nogil=True`` (Dask or thread pools can run chunks side by side):

- :func:`locate_labels`: raster cell -> (fine subcell) -> the cell's record (candidates, each
  with the edges that meet the cell and the crossing parity of those right of it, built by
  :func:`cell_records`) -> exact crossing-number test, GEOS's rules
  exactly as :func:`patrolwise.track.locate._inside_exact` applies them. Orientations too close
  to zero to sign in floating point are returned as *doubts* for ``shapely.intersects_xy``.
- :func:`scan_runs`: the visit state machine over those labels: runs inside hot spots, tracked
  spans and per-device edges, as :func:`patrolwise.track.dosage.scan_chunk` defines them.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray

#: columns of the run table :func:`scan_runs` returns (all int64)
RUN_COLS = ("unit", "poly", "t0", "t1", "n", "at_first", "at_last", "p0", "p1")
#: status codes of :func:`scan_runs`
SORTED, UNSORTED = 0, 1
#: fine-raster code of a subcell an edge may cross, or inside several candidates: test them all
FINE_TEST = 255
#: index of the lowest set bit of a byte (fine-raster candidate masks)
_LOW_BIT = np.array([(b & -b).bit_length() - 1 for b in range(256)], dtype=np.int64)


@njit(cache=True, nogil=True, inline="always")
def point_in_row(seg: NDArray[np.float64], lo: int, hi: int, qx: float, qy: float) -> int:
    """Crossing-number test of point (qx, qy) against the edges ``seg[lo:hi]`` (the polygon's
    edges crossing the point's grid row, by decreasing max x): 1 inside or on the boundary, 0
    outside, -1 unsure.

    Rule for rule :func:`patrolwise.track.locate._inside_exact`: edges not spanning qy or wholly
    left of the point are skipped; the point equal to an edge's end vertex, or on a horizontal
    edge, is on the boundary (every ring is closed, so every vertex is some edge's end); an edge
    straddling qy (half-open, so a vertex on the ray counts once) is crossed when the point lies
    on its left (for upward edges) or right (downward). An orientation whose magnitude is within
    1e-12 of the terms it came from cannot be signed for sure: unless the point is found on the
    boundary, the answer is then "unsure" (-1) and goes to GEOS.
    """
    crossings = 0
    unsure = 0
    for e in range(lo, hi):
        if seg[e, 6] < qx:
            break  # this edge and the rest (sorted by max x, decreasing) lie wholly left
        ax = seg[e, 0]
        ay = seg[e, 1]
        bx = seg[e, 2]
        by = seg[e, 3]
        if qy == by and (qx == bx or (ay == qy and min(ax, bx) <= qx <= max(ax, bx))):
            return 1  # on the end vertex or on a horizontal edge (rare: a branch is fine)
        # the rest without branches (edges fail the tests unpredictably): straddling qy implies
        # the edge's y-range holds qy
        st = (ay > qy) != (by > qy)
        dl = (ax - qx) * (by - qy)
        dr = (ay - qy) * (bx - qx)
        det = dl - dr
        uns = st & (abs(det) <= 1e-12 * (abs(dl) + abs(dr)))
        crossings += st & ~uns & ((det > 0) == (by > ay))
        unsure |= uns
    if unsure:
        return -1
    return crossings & 1


@njit(cache=True, nogil=True, inline="always")
def point_near(rec: NDArray[np.float64], o: int, nn: int, qx: float, qy: float) -> int:
    """:func:`point_in_row`'s rules over the ``nn`` edges stored at ``rec[o:o + 4 * nn]``
    (ax, ay, bx, by each) of one cell record: 2 on the boundary, else the parity of the
    crossings (0 or 1), or -1 unsure.

    No edge is skipped as wholly left of the point: such an edge straddling qy has orientation
    terms of opposite signs (the determinant is their sum in magnitude), so it is never crossed
    nor unsure, and a cell's few edges are cheaper tested than branched over.
    """
    crossings = 0
    unsure = 0
    for t in range(nn):
        p = o + 4 * t
        ax = rec[p]
        ay = rec[p + 1]
        bx = rec[p + 2]
        by = rec[p + 3]
        if qy == by and (qx == bx or (ay == qy and min(ax, bx) <= qx <= max(ax, bx))):
            return 2  # on the end vertex or on a horizontal edge
        st = (ay > qy) != (by > qy)
        dl = (ax - qx) * (by - qy)
        dr = (ay - qy) * (bx - qx)
        det = dl - dr
        uns = st & (abs(det) <= 1e-12 * (abs(dl) + abs(dr)))
        crossings += st & ~uns & ((det > 0) == (by > ay))
        unsure |= uns
    if unsure:
        return -1
    return crossings & 1


@njit(cache=True, nogil=True)
def _locate(
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    x0: float,
    y0: float,
    inv: float,
    nx: int,
    ny: int,
    label: NDArray[np.int32],
    rec: NDArray[np.float64],
    ri: NDArray[np.int64],
    cand_ptr: NDArray[np.int64],
    cand_idx: NDArray[np.int32],
    fine: NDArray[np.uint8],
    f: int,
    first: NDArray[np.int32],
    extra: NDArray[np.int64],
    doubt: NDArray[np.int64],
) -> tuple[int, int]:
    """:func:`locate_labels` into caller's buffers: returns how many extra and doubt pairs there
    are (only those that fit are written; the caller retries with room for all). Buffers are
    never reallocated in the loop: a reassigned array costs reference-count traffic per ping.

    ``rec`` holds the cell records of :func:`cell_records` and ``ri`` is the same memory viewed
    as int64 (header words). Cells are computed exactly as
    :func:`patrolwise.track.locate.locate_numpy` does (far-away pings clip into the grid's outer
    ring, whose records assume nothing about where in the cell a ping lies), so a ping is tested
    in the cell whose record was built for it. NaN and infinite coordinates are in no polygon.
    """
    n = len(x)
    ne = 0
    nd = 0
    xmax = nx - 1.0
    ymax = ny - 1.0
    for i in range(n):
        qx = x[i]
        qy = y[i]
        if not (np.isfinite(qx) and np.isfinite(qy)):
            first[i] = -1  # NaN or infinite: in no polygon (the border ring may be ambiguous)
            continue
        fx = (qx - x0) * inv
        fy = (qy - y0) * inv
        if not fx >= 0.0:
            fx = 0.0
        elif fx > xmax:
            fx = xmax
        if not fy >= 0.0:
            fy = 0.0
        elif fy > ymax:
            fy = ymax
        ci = np.int64(fx)
        cj = np.int64(fy)
        lab = label[cj * nx + ci]
        if lab >= 0:
            first[i] = lab
            continue
        first[i] = -1
        if lab == -1:
            continue
        o = -2 - int(lab)  # the cell's record
        if f:  # the cell's fine raster decides most pings near, not on, an edge
            s = ri[o] >> 32
            u = min(np.int64((fx - ci) * f), f - 1)
            v = min(np.int64((fy - cj) * f), f - 1)
            code = fine[(s * f + v) * f + u]
            if code == 0:
                continue  # in none of the candidates
            if code != FINE_TEST:  # bit j: candidate j holds the whole subcell
                j = cand_ptr[s]
                first[i] = cand_idx[j + _LOW_BIT[code]]  # lowest polygon first
                code &= code - 1
                while code:  # inside overlapping candidates: the others as extra pairs
                    if ne < extra.shape[1]:
                        extra[0, ne] = i
                        extra[1, ne] = cand_idx[j + _LOW_BIT[code]]
                    ne += 1
                    code &= code - 1
                continue
        nc = ri[o] & 0xFFFFFFFF
        o += 1
        found = -1
        for _ in range(nc):
            w0 = ri[o]
            w1 = ri[o + 1]
            o += 2
            k = w0 & 0xFFFFFFFF
            if (w0 >> 32) & 1:
                ans = 1  # the cell lies wholly inside k
            else:
                nn = w1 & 0xFFFFFFFF
                nb = w1 >> 32
                ans = point_near(rec, o, nn, qx, qy)
                o += 4 * nn
                if ans == 2:
                    ans = 1
                elif ans >= 0:  # edges wholly right of the cell: crossed iff straddling qy
                    par = (w0 >> 33) & 1
                    for b in range(nb):
                        par ^= rec[o + b] <= qy
                    ans ^= par
                o += nb
            if ans == 1:
                if found < 0:
                    found = k
                    first[i] = k
                else:
                    if ne < extra.shape[1]:
                        extra[0, ne] = i
                        extra[1, ne] = k
                    ne += 1
            elif ans < 0:
                if nd < doubt.shape[1]:
                    doubt[0, nd] = i
                    doubt[1, nd] = k
                nd += 1
    return ne, nd


@njit(cache=True, nogil=True)
def locate_labels(
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    x0: float,
    y0: float,
    inv: float,
    nx: int,
    ny: int,
    label: NDArray[np.int32],
    rec: NDArray[np.float64],
    ri: NDArray[np.int64],
    cand_ptr: NDArray[np.int64],
    cand_idx: NDArray[np.int32],
    fine: NDArray[np.uint8],
    f: int,
) -> tuple[NDArray[np.int32], NDArray[np.int64], NDArray[np.int64]]:
    """The polygon containing each ping, in one pass: ``(first, extra, doubt)``.

    ``first[i]`` is the lowest-numbered polygon found to contain ping i (-1: none); ``extra``
    (2, m) holds further (ping, polygon) pairs, in ping order, for pings inside overlapping
    polygons; ``doubt`` (2, d) the (ping, polygon) pairs the float test could not decide.
    """
    n = len(x)
    first = np.empty(n, dtype=np.int32)
    cap_e = n // 4 + 64  # overlapping hot spots: 1,000 street-scale ones give ~n/8 pairs
    cap_d = 64
    while True:
        extra = np.empty((2, cap_e), dtype=np.int64)
        doubt = np.empty((2, cap_d), dtype=np.int64)
        ne, nd = _locate(
            x, y, x0, y0, inv, nx, ny, label, rec, ri, cand_ptr, cand_idx, fine, f, first,
            extra, doubt,
        )  # fmt: skip
        if ne <= cap_e and nd <= cap_d:
            return first, extra[:, :ne].copy(), doubt[:, :nd].copy()
        cap_e = max(cap_e, ne)
        cap_d = max(cap_d, nd)


@njit(cache=True, nogil=True)
def cell_records(
    label: NDArray[np.int32],
    slot_cell: NDArray[np.int64],
    nx: int,
    ny: int,
    x0: float,
    y0: float,
    cell: float,
    cand_ptr: NDArray[np.int64],
    cand_idx: NDArray[np.int32],
    cand_sure: NDArray[np.bool_],
    cand_elo: NDArray[np.int64],
    cand_ehi: NDArray[np.int64],
    seg: NDArray[np.float64],
) -> NDArray[np.float64]:
    """One contiguous record per ambiguous cell, and its offset written into ``label`` (an
    ambiguous cell's label becomes ``-2 - offset``): a ping in such a cell reads the label, then
    one run of memory, where five CSR arrays and the shared edge table cost a cache miss each.

    Record (float64; header words are int64 in the same memory): ``ncand | slot << 32``, then
    per candidate (ascending polygon) ``poly | sure << 32 | base << 33``, ``nn | nb << 32``, the
    ``nn`` *near* edges (ax, ay, bx, by) and the ``nb`` breakpoints.

    Of the candidate's edges filed under the cell's row (``seg[cand_elo:cand_ehi]``, by
    decreasing max x), only edges whose x-range meets the cell's are *near* and tested in full.
    Edges wholly left of the cell are never crossed by a ray from a point in it. An edge wholly
    right of the cell is crossed exactly when ``min y <= qy < max y`` (the point is strictly left
    of both its ends, so the orientation's two terms have opposite signs: never zero, never
    unsure, never a boundary hit), so their crossing parity is a step function of qy: it flips
    at every min y and max y. ``base`` is the flips below the cell, the breakpoints the flips
    inside it (sorted; a value met twice, e.g. the shared vertex of two such edges, cancels).
    The cell's bounds are widened by far more than the rounding of ``(x - x0) * inv`` (1e-6
    cell and 1e-12 of the coordinates' magnitude), and the outer ring's cells, where far-away
    pings are clipped to, are unbounded outwards.

    A candidate none of whose edges meets the cell and with no breakpoint holds the whole cell
    or none of it (``base``): it becomes sure, or is dropped. A cell left with no candidate, or
    with one sure candidate, is not ambiguous after all and gets a plain label (OUTSIDE or that
    polygon): about a sixth of the band the conservative raster marks.
    """
    nslot = len(cand_ptr) - 1
    at = np.empty(nslot, dtype=np.int64)
    # room for the worst case (every edge near, or two breakpoints): untouched pages of the
    # spare room cost nothing, and one pass over the edges instead of two (sizes, contents)
    # halves the time
    bound = 1 + nslot + 2 * len(cand_idx)
    for j in range(len(cand_idx)):
        bound += 4 * (cand_ehi[j] - cand_elo[j])
    rec = np.empty(bound, dtype=np.float64)
    size = _records(
        rec,
        rec.view(np.int64),
        at,
        slot_cell,
        nx,
        ny,
        x0,
        y0,
        cell,
        cand_ptr,
        cand_idx,
        cand_sure,
        cand_elo,
        cand_ehi,
        seg,
    )
    if size > 2**31 - 3:
        raise ValueError("cell records too large for int32 labels: use a larger cell")
    rec = rec[:size]  # a view: a copy would cost more than the spare room's address space
    for s in range(nslot):
        label[slot_cell[s]] = at[s]
    return rec


@njit(cache=True, nogil=True)
def _records(
    rec: NDArray[np.float64],
    ri: NDArray[np.int64],
    at: NDArray[np.int64],
    slot_cell: NDArray[np.int64],
    nx: int,
    ny: int,
    x0: float,
    y0: float,
    cell: float,
    cand_ptr: NDArray[np.int64],
    cand_idx: NDArray[np.int32],
    cand_sure: NDArray[np.bool_],
    cand_elo: NDArray[np.int64],
    cand_ehi: NDArray[np.int64],
    seg: NDArray[np.float64],
) -> int:
    """:func:`cell_records` into ``rec`` (large enough) and ``at`` (each slot's cell's final
    label: ``-2 - offset`` of its record, or a plain label): returns the records' total size. A function of its own: numba reference-counts an array that a loop
    reassigns on every access."""
    nslot = len(cand_ptr) - 1
    mx = 1e-6 * cell + 1e-12 * (abs(x0) + nx * cell)
    my = 1e-6 * cell + 1e-12 * (abs(y0) + ny * cell)
    most = 1
    for j in range(len(cand_elo)):
        most = max(most, cand_ehi[j] - cand_elo[j])
    bp = np.empty(2 * most, dtype=np.float64)
    near = np.empty(most, dtype=np.int64)
    o = 0
    cj = 0
    for s in range(nslot):
        c = slot_cell[s]
        while c >= (cj + 1) * nx:  # slots go row by row: no integer division per slot
            cj += 1
        ci = c - cj * nx
        xl = x0 + ci * cell - mx if ci > 0 else -np.inf
        xr = x0 + (ci + 1) * cell + mx if ci < nx - 1 else np.inf
        yb = y0 + cj * cell - my if cj > 0 else -np.inf
        yt = y0 + (cj + 1) * cell + my if cj < ny - 1 else np.inf
        start = o
        o += 1
        nc = 0  # candidates kept
        only = -1  # the last one wholly holding the cell
        for j in range(cand_ptr[s], cand_ptr[s + 1]):
            k = int(cand_idx[j])
            if cand_sure[j]:
                ri[o] = k | (1 << 32)
                ri[o + 1] = 0
                o += 2
                nc += 1
                only = k
                continue
            nn = 0
            nb = 0
            base = 0
            for e in range(cand_elo[j], cand_ehi[j]):
                if seg[e, 6] < xl:
                    break  # this and the rest lie wholly left of the cell
                if seg[e, 7] <= xr:
                    near[nn] = e
                    nn += 1
                    continue
                for d in range(4, 6):
                    v = seg[e, d]
                    if v < yb:
                        base ^= 1
                    elif v <= yt:
                        q = nb  # insertion sort: a few values
                        while q > 0 and bp[q - 1] > v:
                            bp[q] = bp[q - 1]
                            q -= 1
                        bp[q] = v
                        nb += 1
            m = 0
            q = 0
            while q < nb:  # keep the values met an odd number of times
                r = q
                while r < nb and bp[r] == bp[q]:
                    r += 1
                if (r - q) & 1:
                    bp[m] = bp[q]
                    m += 1
                q = r
            nb = m
            if nn == 0 and nb == 0:  # no edge of k meets the cell: in it all over, or not at all
                if base:
                    ri[o] = k | (1 << 32)
                    ri[o + 1] = 0
                    o += 2
                    nc += 1
                    only = k
                continue
            nc += 1
            only = -1
            ri[o] = k | (base << 33)
            ri[o + 1] = nn | (nb << 32)
            for t in range(nn):
                e = near[t]
                for d in range(4):
                    rec[o + 2 + 4 * t + d] = seg[e, d]
            for t in range(nb):
                rec[o + 2 + 4 * nn + t] = bp[t]
            o += 2 + 4 * nn + nb
        ri[start] = nc | (s << 32)
        if nc == 0:  # in no candidate after all
            at[s] = -1
            o = start
        elif nc == 1 and only >= 0:  # wholly in one polygon and in none of the others
            at[s] = only
            o = start
        else:
            at[s] = -2 - start
    return o


@njit(cache=True, nogil=True)
def scan_runs(
    unit: NDArray[np.int64],
    t: NDArray[np.int64],
    first: NDArray[np.int32],
    extra_ping: NDArray[np.int64],
    extra_poly: NDArray[np.int64],
    max_gap: int,
    max_depth: int,
) -> tuple[int, NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], int]:
    """Runs, spans and device edges of pings sorted by (unit, t), in one pass.

    Returns ``(status, runs, spans, edges, n_duplicates)``: ``runs`` (9, r) with the rows of
    :data:`RUN_COLS` in the order runs end; ``spans`` (6, s) unit, t0, t1, n, at_first, at_last;
    ``edges`` (3, u) unit, first t, last t. ``status`` is :data:`UNSORTED` (and the tables are
    empty) if the pings are not sorted.

    The rules are those of the array code it replaces: a fix with the same unit and time as the
    fix kept before it is a duplicate and skipped; the track breaks between consecutive kept
    fixes of different units or more than ``max_gap`` apart; a run is a maximal sequence of
    consecutive kept fixes inside one polygon with no break, a span the same over any place. A
    ping may lie in up to ``max_depth`` overlapping polygons (``first`` plus the ``extra`` pairs,
    sorted by ping), each with its own run.
    """
    n = len(t)
    cap_r = n // 16 + 256
    cap_s = n // 64 + 64
    cap_u = n // 1024 + 16
    while True:
        runs = np.empty((9, cap_r), dtype=np.int64)
        spans = np.empty((6, cap_s), dtype=np.int64)
        edges = np.empty((3, cap_u), dtype=np.int64)
        status, nr, ns, nu, n_dup = _scan(
            unit, t, first, extra_ping, extra_poly, max_gap, max_depth, runs, spans, edges
        )
        if status != SORTED:
            return status, runs[:, :0].copy(), spans[:, :0].copy(), edges[:, :0].copy(), 0
        if nr <= cap_r and ns <= cap_s and nu <= cap_u:
            return status, runs[:, :nr].copy(), spans[:, :ns].copy(), edges[:, :nu].copy(), n_dup
        cap_r = max(cap_r, nr)
        cap_s = max(cap_s, ns)
        cap_u = max(cap_u, nu)


@njit(cache=True, nogil=True)
def _scan(
    unit: NDArray[np.int64],
    t: NDArray[np.int64],
    first: NDArray[np.int32],
    extra_ping: NDArray[np.int64],
    extra_poly: NDArray[np.int64],
    max_gap: int,
    max_depth: int,
    runs: NDArray[np.int64],
    spans: NDArray[np.int64],
    edges: NDArray[np.int64],
) -> tuple[int, int, int, int, int]:
    """:func:`scan_runs` into caller's buffers; returns (status, runs, spans, edges, duplicates)
    counts. Rows beyond a buffer's capacity are counted, not written (the caller retries)."""
    n = len(t)
    nr = 0
    ns = 0
    nu = 0
    n_dup = 0
    # open runs: polygon, t0, n, at_first, first ping
    a_poly = np.empty(max_depth, dtype=np.int64)
    a_t0 = np.empty(max_depth, dtype=np.int64)
    a_n = np.empty(max_depth, dtype=np.int64)
    a_first = np.empty(max_depth, dtype=np.int64)
    a_p0 = np.empty(max_depth, dtype=np.int64)
    na = 0
    here = np.empty(max_depth, dtype=np.int64)  # polygons holding the current ping
    s_t0 = 0
    s_n = 0
    s_first = 0
    dev_t0 = 0
    prev = -1  # last kept ping
    j = 0  # next extra pair
    ne = len(extra_ping)
    for i in range(n):
        u = unit[i]
        ti = t[i]
        newdev = 1
        if prev >= 0:
            pu = unit[prev]
            pt = t[prev]
            if u < pu or (u == pu and ti < pt):
                return UNSORTED, 0, 0, 0, 0
            newdev = 1 if u != pu else 0
            if newdev == 0 and ti == pt:  # duplicate: keep the first fix
                n_dup += 1
                while j < ne and extra_ping[j] <= i:
                    j += 1
                continue
            if newdev == 1 or ti - pt > max_gap:
                # close the span and every open run at the previous fix
                _put(spans, ns, pu, s_t0, pt, s_n, s_first, newdev)
                ns += 1
                for a in range(na):
                    _put_run(runs, nr, pu, a_poly[a], a_t0[a], pt, a_n[a], a_first[a], newdev)
                    _put_at(runs, nr, a_p0[a], prev)
                    nr += 1
                na = 0
                s_n = 0
                if newdev == 1:
                    _put3(edges, nu, pu, dev_t0, pt)
                    nu += 1
        if newdev == 1:
            dev_t0 = ti
        if s_n == 0:
            s_t0 = ti
            s_first = newdev
        s_n += 1
        # fast paths (most pings): no extra pair, and outside with no run open, or inside the
        # one polygon whose run is open
        if j >= ne or extra_ping[j] > i:
            fi = first[i]
            if fi < 0 and na == 0:
                prev = i
                continue
            if na == 1 and fi == a_poly[0]:
                a_n[0] += 1
                prev = i
                continue
        # polygons holding this ping
        nh = 0
        if first[i] >= 0:
            here[0] = first[i]
            nh = 1
        while j < ne and extra_ping[j] < i:
            j += 1
        while j < ne and extra_ping[j] == i:
            here[nh] = extra_poly[j]
            nh += 1
            j += 1
        # close open runs whose polygon does not hold this ping; extend the others
        keep = 0
        for a in range(na):
            hit = False
            for h in range(nh):
                if here[h] == a_poly[a]:
                    hit = True
                    break
            if hit:
                a_poly[keep] = a_poly[a]
                a_t0[keep] = a_t0[a]
                a_n[keep] = a_n[a] + 1
                a_first[keep] = a_first[a]
                a_p0[keep] = a_p0[a]
                keep += 1
            else:
                _put_run(runs, nr, u, a_poly[a], a_t0[a], t[prev], a_n[a], a_first[a], 0)
                _put_at(runs, nr, a_p0[a], prev)
                nr += 1
        # open runs for polygons not already open
        for h in range(nh):
            known = False
            for a in range(keep):
                if a_poly[a] == here[h]:
                    known = True
                    break
            if not known:
                a_poly[keep] = here[h]
                a_t0[keep] = ti
                a_n[keep] = 1
                a_first[keep] = newdev
                a_p0[keep] = i
                keep += 1
        na = keep
        prev = i
    if prev >= 0:
        pu = unit[prev]
        pt = t[prev]
        _put(spans, ns, pu, s_t0, pt, s_n, s_first, 1)
        ns += 1
        for a in range(na):
            _put_run(runs, nr, pu, a_poly[a], a_t0[a], pt, a_n[a], a_first[a], 1)
            _put_at(runs, nr, a_p0[a], prev)
            nr += 1
        _put3(edges, nu, pu, dev_t0, pt)
        nu += 1
    return SORTED, nr, ns, nu, n_dup


@njit(cache=True, nogil=True, inline="always")
def _put_run(
    runs: NDArray[np.int64],
    r: int,
    u: int,
    poly: int,
    t0: int,
    t1: int,
    n: int,
    at_first: int,
    at_last: int,
) -> None:
    """Row r of the run table, if it fits."""
    if r < runs.shape[1]:
        runs[0, r] = u
        runs[1, r] = poly
        runs[2, r] = t0
        runs[3, r] = t1
        runs[4, r] = n
        runs[5, r] = at_first
        runs[6, r] = at_last


@njit(cache=True, nogil=True, inline="always")
def _put_at(runs: NDArray[np.int64], r: int, p0: int, p1: int) -> None:
    """First and last ping of run r, if it fits."""
    if r < runs.shape[1]:
        runs[7, r] = p0
        runs[8, r] = p1


@njit(cache=True, nogil=True, inline="always")
def _put(
    spans: NDArray[np.int64], r: int, u: int, t0: int, t1: int, n: int, a: int, b: int
) -> None:
    """Row r of the span table, if it fits."""
    if r < spans.shape[1]:
        spans[0, r] = u
        spans[1, r] = t0
        spans[2, r] = t1
        spans[3, r] = n
        spans[4, r] = a
        spans[5, r] = b


@njit(cache=True, nogil=True, inline="always")
def _put3(edges: NDArray[np.int64], r: int, u: int, t0: int, t1: int) -> None:
    """Row r of the device edge table, if it fits."""
    if r < edges.shape[1]:
        edges[0, r] = u
        edges[1, r] = t0
        edges[2, r] = t1


@njit(cache=True, nogil=True)
def is_sorted(unit: NDArray[np.int64], t: NDArray[np.int64]) -> bool:
    """Are pings sorted by (unit, t) with no exact duplicate time in a unit? One pass, no
    temporaries (the check :func:`patrolwise.track.dosage.sort_pings` makes before sorting)."""
    for i in range(1, len(t)):
        if unit[i] < unit[i - 1] or (unit[i] == unit[i - 1] and t[i] <= t[i - 1]):
            return False
    return True


@njit(cache=True, nogil=True)
def build_labels(
    ea: NDArray[np.float64],
    eb: NDArray[np.float64],
    e_ptr: NDArray[np.int64],
    win: NDArray[np.int64],
    x0: float,
    y0: float,
    cell: float,
    nx: int,
    ny: int,
    row_lo: NDArray[np.int64],
    row_hi: NDArray[np.int64],
    row_base: NDArray[np.int64],
    edge_ptr: NDArray[np.int64],
    seg: NDArray[np.float64],
    label: NDArray[np.int32],
) -> tuple[
    NDArray[np.int64],
    NDArray[np.int32],
    NDArray[np.bool_],
    NDArray[np.int64],
    NDArray[np.int64],
    NDArray[np.int64],
]:
    """Fill the raster ``label`` (all OUTSIDE on entry) and the candidate lists of ambiguous
    cells: ``(cand_ptr, cand_idx, cand_sure, cand_elo, cand_ehi, slot_cell)``, as
    :func:`patrolwise.track.locate.build_index` defines them (before :func:`cell_records`
    points the ambiguous labels at records).

    Polygon k's ring edges are ``ea/eb[e_ptr[k]:e_ptr[k+1]]`` (start and end points), its window
    ``win[k] = (i0, j0, i1, j1)`` (bounding box plus one ring of cells). Per window cell: *edge*
    if the boundary may pass through it: each edge is sampled at most half a cell apart, so
    every boundary point lies within a quarter cell of a sample, and the cells meeting the
    square of half-width 0.2501 cell around each sample (the cells of its four corners) are
    marked, a thin conservative band; otherwise *inside* or *outside* by the crossing parity of the cell centre
    along its row's centre line (at least half a cell from any crossing, so float rounding of the
    crossing cannot flip it). A cell claimed by exactly one polygon and not on an edge takes that
    polygon's number; cells on an edge or claimed by several polygons are ambiguous (label
    ``-2 - slot``, slots numbered row by row), with their candidate polygons in ascending order (``cand_sure``: the cell is
    wholly inside that one; ``cand_elo:cand_ehi``: its edges crossing the cell's row), and
    ``slot_cell``, each slot's cell.
    Why compiled: the array version built a row of temporaries per window cell and sample
    (~0.2 s for 1,000 hot spots); this is one pass over each window.
    """
    npoly = win.shape[0]
    sizes = np.empty(npoly + 1, dtype=np.int64)
    sizes[0] = 0
    for k in range(npoly):
        w = win[k, 2] - win[k, 0] + 1
        h = win[k, 3] - win[k, 1] + 1
        sizes[k + 1] = sizes[k] + w * h
    state = np.zeros(sizes[npoly], dtype=np.uint8)  # 0 outside, 1 edge, 2 inside
    inv = 1.0 / cell
    H = 0.2501
    ncell = nx * ny
    claims = np.zeros(ncell, dtype=np.uint8)
    for k in range(npoly):
        i0, j0, i1, j1 = win[k, 0], win[k, 1], win[k, 2], win[k, 3]
        wi = i1 - i0 + 1
        base = sizes[k]
        # edge band, in cell units: samples at most half a cell apart, so every boundary point
        # is within a quarter cell of one; the square of half-width H (a quarter cell and a
        # margin far above float rounding) around each sample is marked through its corners.
        # An edge starting where the previous one ended skips its first sample (the previous
        # edge's last, up to rounding the margin covers): a third fewer samples. Coordinates
        # in cell units are positive here (the grid has a spare ring), so int() floors.
        for e in range(e_ptr[k], e_ptr[k + 1]):
            ax = (ea[e, 0] - x0) * inv
            ay = (ea[e, 1] - y0) * inv
            dx = (eb[e, 0] - x0) * inv - ax
            dy = (eb[e, 1] - y0) * inv - ay
            m = max(1, int(np.ceil(2.0 * np.hypot(dx, dy))))
            joined = e > e_ptr[k] and eb[e - 1, 0] == ea[e, 0] and eb[e - 1, 1] == ea[e, 1]
            for q in range(1 if joined else 0, m + 1):
                f = q / m
                px = ax + dx * f
                py = ay + dy * f
                cx0 = min(max(int(px - H), i0), i1) - i0
                cx1 = min(max(int(px + H), i0), i1) - i0
                cy0 = min(max(int(py - H), j0), j1) - j0
                cy1 = min(max(int(py + H), j0), j1) - j0
                state[base + cy0 * wi + cx0] = 1
                state[base + cy0 * wi + cx1] = 1
                state[base + cy1 * wi + cx0] = 1
                state[base + cy1 * wi + cx1] = 1
        # centre parity of the other cells, row by row
        lo, hi = row_lo[k], row_hi[k]
        for j in range(max(j0, lo), min(j1, hi) + 1):
            yc = y0 + (j + 0.5) * cell
            slot = row_base[k] + j - lo
            rb = base + (j - j0) * wi
            for e in range(edge_ptr[slot], edge_ptr[slot + 1]):
                ax, ay, bx, by = seg[e, 0], seg[e, 1], seg[e, 2], seg[e, 3]
                if (ay > yc) != (by > yc):
                    xs = ax + (yc - ay) * (bx - ax) / (by - ay)
                    col = int(np.floor((xs - x0) / cell - 0.5)) + 1
                    if col < i0:
                        col = i0
                    if col <= i1:
                        state[rb + col - i0] ^= 4  # flip bit, folded below
            par = 0
            for i in range(wi):
                v = state[rb + i]
                par ^= v >> 2
                v &= 3
                if v == 0 and par:
                    v = 2
                state[rb + i] = v
    # The grid passes run row by row over the polygons whose window covers the row (in ascending
    # polygon order), not polygon by polygon: a window row is a few dozen cells, and visiting the
    # large grid arrays one window at a time costs a cache and TLB miss per window row.
    rp = np.zeros(ny + 1, dtype=np.int64)
    for k in range(npoly):
        for j in range(win[k, 1], win[k, 3] + 1):
            rp[j + 1] += 1
    for j in range(ny):
        rp[j + 1] += rp[j]
    rk = np.empty(rp[ny], dtype=np.int64)
    at = rp[:-1].copy()
    for k in range(npoly):
        for j in range(win[k, 1], win[k, 3] + 1):
            rk[at[j]] = k
            at[j] += 1
    # per grid row: claims of the row's cells, then slots (numbered as met, row by row) and
    # candidate counts for the ambiguous ones, labels for the others
    cand_n = np.zeros(sizes[npoly] + 1, dtype=np.int64)  # candidates per slot (<= window cells)
    slot_cell = np.empty(sizes[npoly] + 1, dtype=np.int64)  # each slot's cell
    nslot = 0
    for j in range(ny):
        for q in range(rp[j], rp[j + 1]):
            k = rk[q]
            i0 = win[k, 0]
            wi = win[k, 2] - i0 + 1
            rb = sizes[k] + (j - win[k, 1]) * wi
            cb = j * nx + i0
            for i in range(wi):  # without branches (the loop vectorises)
                v = state[rb + i]
                # an edge cell (1) is ambiguous (2) whoever else claims it; inside (2) adds one
                cl = claims[cb + i] + (v >> 1)
                cl = max(cl, (v & 1) << 1)
                claims[cb + i] = min(cl, 2)
        for q in range(rp[j], rp[j + 1]):
            k = rk[q]
            i0 = win[k, 0]
            wi = win[k, 2] - i0 + 1
            rb = sizes[k] + (j - win[k, 1]) * wi
            cb = j * nx + i0
            for i in range(wi):
                if state[rb + i]:
                    c = cb + i
                    if claims[c] == 2:
                        if label[c] == -1:
                            label[c] = -2 - nslot
                            slot_cell[nslot] = c
                            nslot += 1
                        cand_n[-2 - label[c]] += 1
                    else:
                        label[c] = k
    cand_ptr = np.zeros(nslot + 1, dtype=np.int64)
    cand_ptr[1:] = cand_n[:nslot]
    for s in range(nslot):
        cand_ptr[s + 1] += cand_ptr[s]
    fill = cand_ptr[:-1].copy()
    cand_idx = np.empty(cand_ptr[nslot], dtype=np.int32)
    cand_sure = np.empty(cand_ptr[nslot], dtype=np.bool_)
    # the candidate's edges crossing the cell's row, so a test needs no further lookups
    cand_elo = np.zeros(cand_ptr[nslot], dtype=np.int64)
    cand_ehi = np.zeros(cand_ptr[nslot], dtype=np.int64)
    for j in range(ny):
        for q in range(rp[j], rp[j + 1]):
            k = rk[q]
            i0 = win[k, 0]
            wi = win[k, 2] - i0 + 1
            rb = sizes[k] + (j - win[k, 1]) * wi
            cb = j * nx + i0
            for i in range(wi):
                v = state[rb + i]
                if v:
                    c = cb + i
                    if claims[c] == 2:
                        s = -2 - label[c]
                        f = fill[s]
                        cand_idx[f] = k
                        cand_sure[f] = v == 2
                        if row_lo[k] <= j <= row_hi[k]:
                            es = row_base[k] + j - row_lo[k]
                            cand_elo[f] = edge_ptr[es]
                            cand_ehi[f] = edge_ptr[es + 1]
                        fill[s] += 1
    return cand_ptr, cand_idx, cand_sure, cand_elo, cand_ehi, slot_cell[:nslot]


@njit(cache=True, nogil=True)
def row_table(
    a: NDArray[np.float64],
    b: NDArray[np.float64],
    owner: NDArray[np.int64],
    r0: NDArray[np.int64],
    r1: NDArray[np.int64],
    row_lo: NDArray[np.int64],
    row_base: NDArray[np.int64],
    nslot: int,
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Edges filed under every (polygon, grid row) they meet, by decreasing max x within a row:
    ``(edge_ptr, seg)`` with seg rows ax, ay, bx, by, min y, max y, max x, min x (64 bytes: one
    cache line per edge a test reads). A counting sort by row and an insertion sort of each
    row's few edge numbers, instead of a lexsort over all (edge, row) pairs."""
    edge_ptr = np.zeros(nslot + 1, dtype=np.int64)
    for e in range(len(owner)):
        base = row_base[owner[e]] - row_lo[owner[e]]
        for r in range(r0[e], r1[e] + 1):
            edge_ptr[base + r + 1] += 1
    for s in range(nslot):
        edge_ptr[s + 1] += edge_ptr[s]
    fill = edge_ptr[:-1].copy()
    # edge numbers per row, sorted (stable) by decreasing max x on scalars, then written out
    ent = np.empty(edge_ptr[nslot], dtype=np.int64)
    key = np.empty(edge_ptr[nslot], dtype=np.float64)
    for e in range(len(owner)):
        base = row_base[owner[e]] - row_lo[owner[e]]
        mx = max(a[e, 0], b[e, 0])
        for r in range(r0[e], r1[e] + 1):
            f = fill[base + r]
            ent[f] = e
            key[f] = mx
            fill[base + r] = f + 1
    for s in range(nslot):
        for q in range(edge_ptr[s] + 1, edge_ptr[s + 1]):
            ke = key[q]
            ee = ent[q]
            p = q - 1
            while p >= edge_ptr[s] and key[p] < ke:
                key[p + 1] = key[p]
                ent[p + 1] = ent[p]
                p -= 1
            key[p + 1] = ke
            ent[p + 1] = ee
    seg = np.empty((edge_ptr[nslot], 8), dtype=np.float64)
    for f in range(len(ent)):
        e = ent[f]
        ax, ay, bx, by = a[e, 0], a[e, 1], b[e, 0], b[e, 1]
        seg[f, 0] = ax
        seg[f, 1] = ay
        seg[f, 2] = bx
        seg[f, 3] = by
        seg[f, 4] = min(ay, by)
        seg[f, 5] = max(ay, by)
        seg[f, 6] = max(ax, bx)
        seg[f, 7] = min(ax, bx)
    return edge_ptr, seg


@njit(cache=True, nogil=True)
def build_fine(
    ea: NDArray[np.float64],
    eb: NDArray[np.float64],
    win: NDArray[np.int64],
    label: NDArray[np.int32],
    nx: int,
    nslot: int,
    cand_ptr: NDArray[np.int64],
    cand_idx: NDArray[np.int32],
    cand_sure: NDArray[np.bool_],
    row_lo: NDArray[np.int64],
    row_hi: NDArray[np.int64],
    row_base: NDArray[np.int64],
    edge_ptr: NDArray[np.int64],
    seg: NDArray[np.float64],
    x0: float,
    y0: float,
    inv: float,
    f: int,
) -> NDArray[np.uint8]:
    """A second, f x f raster inside every ambiguous cell (f a power of two): ``fine[(slot * f + v) * f + u]``
    says which of the cell's candidates hold subcell (u, v): bit j set when candidate
    ``cand_ptr[slot] + j`` holds all of it (cells with up to 7 candidates), or
    :data:`FINE_TEST` when a boundary may pass through it (or the cell has more candidates):
    test every candidate exactly.

    In *fine units* a point is at ``(x - x0) * inv * f`` (and the same in y); subcell (u, v) of
    cell (ci, cj) spans ``[ci * f + u, ci * f + u + 1)``, which is where :func:`_locate` puts a
    ping up to float rounding (~1e-12 subcell). As in :func:`build_labels`: every ring edge is
    sampled at most half a subcell apart and the subcells meeting the square of half-width
    0.2501 subcell around each sample are marked, so an unmarked subcell is at least 1e-4
    subcell clear of every boundary and the crossing parity of its centre holds for all of it.
    Parities come from one sweep per polygon, grid row and fine row: the crossings of the fine
    row's centre line with the polygon's edges filed under that grid row (every edge meeting
    the line is), sorted, walked once across the polygon's window.
    """
    ff = f * f
    fs = 0
    while (1 << fs) < f:
        fs += 1
    fm = f - 1
    fine = np.zeros(nslot * ff, dtype=np.uint8)
    H = 0.2501
    sc = inv * f
    npoly = win.shape[0]
    most = 1
    for q in range(len(edge_ptr) - 1):
        most = max(most, edge_ptr[q + 1] - edge_ptr[q])
    xs = np.empty(most, dtype=np.float64)
    widest = 1
    for k in range(npoly):
        widest = max(widest, win[k, 2] - win[k, 0] + 1)
    a_i = np.empty(widest, dtype=np.int64)  # the window row's ambiguous cells testing k
    a_s = np.empty(widest, dtype=np.int64)
    a_b = np.empty(widest, dtype=np.uint8)
    for k in range(npoly):
        i0, j0, i1, j1 = win[k, 0], win[k, 1], win[k, 2], win[k, 3]
        for cj in range(max(j0, row_lo[k]), min(j1, row_hi[k]) + 1):
            na = 0
            rb = cj * nx
            for i in range(i0, i1 + 1):
                lab = label[rb + i]
                if lab > -2:
                    continue
                s = -2 - lab
                c0 = cand_ptr[s]
                jj = 0
                while c0 + jj < cand_ptr[s + 1] and cand_idx[c0 + jj] != k:
                    jj += 1
                if jj >= 7 or c0 + jj >= cand_ptr[s + 1] or cand_sure[c0 + jj]:
                    continue
                a_i[na] = i
                a_s[na] = s
                a_b[na] = np.uint8(1 << jj)
                na += 1
            if na == 0:
                continue
            es = row_base[k] + cj - row_lo[k]
            for r in range(f):
                yc = cj * f + r + 0.5
                nxs = 0
                for e in range(edge_ptr[es], edge_ptr[es + 1]):
                    ay = (seg[e, 1] - y0) * sc
                    by = (seg[e, 3] - y0) * sc
                    if (ay > yc) != (by > yc):
                        ax = (seg[e, 0] - x0) * sc
                        bx = (seg[e, 2] - x0) * sc
                        v = ax + (yc - ay) * (bx - ax) / (by - ay)
                        q = nxs
                        while q > 0 and xs[q - 1] > v:  # insertion sort: a few crossings
                            xs[q] = xs[q - 1]
                            q -= 1
                        xs[q] = v
                        nxs += 1
                p = 0
                for t in range(na):
                    gx = a_i[t] * f + 0.5
                    at = (a_s[t] * f + r) * f
                    bit = a_b[t]
                    while p < nxs and xs[p] < gx:
                        p += 1
                    if p == nxs or xs[p] >= gx + (f - 1):  # no crossing between the centres
                        if (nxs - p) & 1:  # crossings right of the centre: odd, inside
                            for u in range(f):
                                fine[at + u] |= bit
                        continue
                    for u in range(f):
                        while p < nxs and xs[p] < gx + u:
                            p += 1
                        if (nxs - p) & 1:
                            fine[at + u] |= bit
    # wholly-inside candidates, and cells with too many candidates for the bits
    for s in range(nslot):
        c0 = cand_ptr[s]
        nc = cand_ptr[s + 1] - c0
        if nc > 7:
            fine[s * ff : (s + 1) * ff] = FINE_TEST
            continue
        for jj in range(nc):
            if cand_sure[c0 + jj]:
                bit = np.uint8(1 << jj)
                for q in range(s * ff, (s + 1) * ff):
                    fine[q] |= bit
    # subcells a boundary may pass through
    for e in range(len(ea)):
        ax = (ea[e, 0] - x0) * sc
        ay = (ea[e, 1] - y0) * sc
        dx = (eb[e, 0] - x0) * sc - ax
        dy = (eb[e, 1] - y0) * sc - ay
        m = max(1, int(np.ceil(2.0 * np.hypot(dx, dy))))
        for q in range(m + 1):
            g = q / m
            px = ax + dx * g
            py = ay + dy * g
            # fine units are positive here (the grid has a spare ring): int() floors
            u0 = int(px - H)
            u1 = int(px + H)
            v0 = int(py - H)
            v1 = int(py + H)
            # f is a power of two: shifts and masks, no divisions
            if (u0 >> fs) == (u1 >> fs) and (v0 >> fs) == (v1 >> fs):  # one cell: one lookup
                lab = label[(v0 >> fs) * nx + (u0 >> fs)]
                if lab <= -2:
                    at = (-2 - lab) << (2 * fs)
                    fine[at + ((v0 & fm) << fs) + (u0 & fm)] = FINE_TEST
                    fine[at + ((v0 & fm) << fs) + (u1 & fm)] = FINE_TEST
                    fine[at + ((v1 & fm) << fs) + (u0 & fm)] = FINE_TEST
                    fine[at + ((v1 & fm) << fs) + (u1 & fm)] = FINE_TEST
                continue
            for gv in (v0, v1):
                for gu in (u0, u1):
                    lab = label[(gv >> fs) * nx + (gu >> fs)]
                    if lab <= -2:
                        fine[(((-2 - lab) << fs) + (gv & fm) << fs) + (gu & fm)] = FINE_TEST
    return fine

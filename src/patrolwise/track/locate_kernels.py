"""Compiled (numba) kernels of the locate index: build it from polygon edges, and look pings up.

A ping counts in a hot spot when it lies inside the polygon or within the GPS error allowance
``buf`` of it: ``shapely.dwithin(polygon, ping, buf)``. The index answers that without buffering
any polygon (GEOS buffers took longer than measuring a million pings): every raster cell near a
polygon is classified from its centre ``c`` and half-diagonal ``h``, because distance to the
polygon changes by at most ``h`` within the cell:

- *sure*: ``c`` is inside the polygon and ``buf >= h - d(c)``, or outside with ``d(c) <= buf - h``
  (``d``: distance to the boundary): every point of the cell is in the buffered hot spot;
- *out*: ``c`` outside with ``d(c) > buf + h``: no point of the cell is;
- *test*: otherwise. The cell's record keeps the edges within ``buf + h`` of ``c`` (the only ones
  that can be within ``buf`` of a point in the cell, and all that can cross the cell) and a
  reference point ``r`` in the cell, away from every kept edge, whose inside-ness is known. A
  ping ``q`` is in when one kept edge is within ``buf`` of it, else when ``r`` is inside and the
  segment ``r -> q`` crosses the boundary an even number of times (or ``r`` is outside and it
  crosses an odd number): ``r -> q`` stays in the cell, so only kept edges can cross it.

Margins keep float rounding from deciding: the classification has a slack of
:data:`SLACK` metres, and a ping whose nearest kept edge is within :data:`DOUBT` metres of
``buf`` is returned as a *doubt* for ``shapely.dwithin`` to settle. Crossings are counted with a
half-open rule (a vertex on the line ``r -> q`` counts as on its non-positive side), which is the
same arithmetic for the two edges meeting at that vertex, so a path through a vertex is counted
once or not at all, consistently.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray

#: metres of slack in classifying a cell as sure or out (far above float rounding at national
#: grid magnitudes, ~1e-10 m; far below GPS error)
SLACK = 1e-6
#: a ping whose distance to the boundary is within this of the allowance goes to GEOS
DOUBT = 1e-9
#: the reference point must be at least this far from every kept edge (else another is tried)
REF_CLEAR = 1e-6
#: while near_fill groups the shared pairs, a shared cell's label holds -CURSOR - (its next
#: slot), below any pair count (-1 - count) it held before
CURSOR = 1 << 30


@njit(cache=True, nogil=True, inline="always")
def _seg_d2(ax: float, ay: float, bx: float, by: float, qx: float, qy: float) -> float:
    """Squared distance from (qx, qy) to the segment (a, b)."""
    ex = bx - ax
    ey = by - ay
    wx = qx - ax
    wy = qy - ay
    l2 = ex * ex + ey * ey
    t = 0.0
    if l2 > 0.0:
        t = (wx * ex + wy * ey) / l2
        if t < 0.0:
            t = 0.0
        elif t > 1.0:
            t = 1.0
    dx = wx - t * ex
    dy = wy - t * ey
    return dx * dx + dy * dy


@njit(cache=True, nogil=True, inline="always")
def _ray_parity(
    edges: NDArray[np.float64],
    bucket: NDArray[np.int64],
    lo: int,
    hi: int,
    px: float,
    py: float,
) -> int:
    """Crossing parity of the horizontal ray from (px, py) to the right with the edges
    ``bucket[lo:hi]`` (which hold every edge of the polygon spanning ``py``): 1 inside. The
    point must be clear of every edge (callers guarantee it), so no orientation is near zero."""
    par = 0
    for t in range(lo, hi):
        e = bucket[t]
        ax = edges[e, 0]
        ay = edges[e, 1]
        bx = edges[e, 2]
        by = edges[e, 3]
        if (ay > py) != (by > py):
            det = (ax - px) * (by - py) - (ay - py) * (bx - px)
            if (det > 0.0) == (by > ay):
                par ^= 1
    return par


@njit(cache=True, nogil=True)
def near_pairs(
    edges: NDArray[np.float64],
    e_ptr: NDArray[np.int64],
    win: NDArray[np.int64],
    jb0: int,
    jb1: int,
    x0: float,
    y0: float,
    cell: float,
    nx: int,
    buf: float,
    p_cell: NDArray[np.int32],
    p_poly: NDArray[np.int32],
    p_flag: NDArray[np.int32],
    p_ref: NDArray[np.float64],
    at: int,
) -> tuple[int, NDArray[np.int32]]:
    """The (cell, polygon) pairs in grid rows ``jb0 <= j <= jb1`` (a band) that are *sure* or
    *tested*, in polygon order, written from row ``at`` of the caller's arrays (room for every
    window cell in the band; :func:`patrolwise.track.locate.build_index` gives each band its own
    arrays, made on the band's thread, and rows never written cost no memory). Returns the
    number of pairs and the kept edges.

    ``p_flag`` is ``1`` for sure, else ``ref_inside << 1 | number of kept edges << 2``; the
    tested pairs' reference points and radii (rx, ry, out2, in2) fill ``p_ref`` from row ``at``
    in the same order, and their kept edges' indices follow one another in the returned array.

    Polygon k's ring edges are ``edges[e_ptr[k]:e_ptr[k+1]]`` (ax, ay, bx, by) and its
    window ``win[k] = (i0, j0, i1, j1)``: the cells meeting its bounding box grown by ``buf``
    (no other cell holds a point within ``buf`` of it). Each edge is filed under the window rows
    whose centre line lies within ``buf + h`` of its y-range, so a cell looks at its row's few
    edges: the boundary's crossings of the row's centre line (found once a row) and the edges
    within reach of its centre.
    """
    h = 0.5 * cell * np.sqrt(2.0)
    reach = buf + h + SLACK
    reach2 = reach * reach
    clear2 = REF_CLEAR * REF_CLEAR
    # every cell whose centre is inside lies wholly within the allowance: no distances needed
    always_sure = buf - h - SLACK >= 0.0
    kcap = 4096
    kept = np.empty(kcap, dtype=np.int32)
    np_ = at
    nt = at
    nk = 0
    most_rows = 1
    most_e = 1
    n_poly = win.shape[0]
    for k in range(n_poly):
        rows = min(win[k, 3], jb1) - max(win[k, 1], jb0) + 1
        if rows > 0:
            most_rows = max(most_rows, rows)
            most_e = max(most_e, e_ptr[k + 1] - e_ptr[k])
    r_cnt = np.zeros(most_rows + 1, dtype=np.int64)
    fill = np.zeros(most_rows + 1, dtype=np.int64)
    near = np.empty(most_e, dtype=np.int64)
    bucket = np.empty(4 * most_e + 16, dtype=np.int64)
    e_r0 = np.empty(most_e, dtype=np.int64)
    e_r1 = np.empty(most_e, dtype=np.int64)
    xs = np.empty(most_e, dtype=np.float64)
    for k in range(n_poly):
        # the polygon's window rows within the band (a row's edges, and so each cell's answer,
        # do not depend on which rows are taken together)
        i0, i1 = win[k, 0], win[k, 2]
        j0, j1 = max(win[k, 1], jb0), min(win[k, 3], jb1)
        if j0 > j1:
            continue
        nrow = j1 - j0 + 1
        r_cnt[: nrow + 1] = 0
        for e in range(e_ptr[k], e_ptr[k + 1]):
            lo = min(edges[e, 1], edges[e, 3]) - reach
            hi = max(edges[e, 1], edges[e, 3]) + reach
            a = max(int(np.ceil((lo - y0) / cell - 0.5)), j0)
            b = min(int(np.floor((hi - y0) / cell - 0.5)), j1)
            e_r0[e - e_ptr[k]] = a
            e_r1[e - e_ptr[k]] = b
            for j in range(a, b + 1):
                r_cnt[j - j0 + 1] += 1
        for j in range(nrow):
            r_cnt[j + 1] += r_cnt[j]
        if r_cnt[nrow] > len(bucket):
            bucket = np.empty(2 * r_cnt[nrow], dtype=np.int64)
        fill[:nrow] = r_cnt[:nrow]
        for e in range(e_ptr[k], e_ptr[k + 1]):
            for j in range(e_r0[e - e_ptr[k]], e_r1[e - e_ptr[k]] + 1):
                bucket[fill[j - j0]] = e
                fill[j - j0] += 1
        for j in range(j0, j1 + 1):
            blo = r_cnt[j - j0]
            bhi = r_cnt[j - j0 + 1]
            cy = y0 + (j + 0.5) * cell
            # the row's centre line: where the boundary crosses it (sorted), and the x-range
            # within reach of any of the row's edges
            ncr = 0
            rlo = np.inf
            rhi = -np.inf
            for t in range(blo, bhi):
                e = bucket[t]
                ax = edges[e, 0]
                ay = edges[e, 1]
                bx = edges[e, 2]
                by = edges[e, 3]
                if (ay > cy) != (by > cy):
                    xc = ax + (cy - ay) * (bx - ax) / (by - ay)
                    q = ncr
                    while q > 0 and xs[q - 1] > xc:
                        xs[q] = xs[q - 1]
                        q -= 1
                    xs[q] = xc
                    ncr += 1
                rlo = min(rlo, min(ax, bx) - reach)
                rhi = max(rhi, max(ax, bx) + reach)
            left = 0  # crossings at or left of the cell's centre
            for i in range(i0, i1 + 1):
                cx = x0 + (i + 0.5) * cell
                while left < ncr and xs[left] <= cx:
                    left += 1
                # crossing parity of a ray to the right: exact for a centre clear of every edge
                # (a crossing's x is off by ~1e-10 m at most); one that is not is re-tested
                # below or lies in a sure cell
                inside = (ncr - left) & 1
                nn = 0
                dmin2 = np.inf
                if (inside and always_sure) or cx < rlo or cx > rhi:
                    if not inside:
                        continue  # no edge within reach: out
                else:
                    for t in range(blo, bhi):
                        e = bucket[t]
                        ax = edges[e, 0]
                        bx = edges[e, 2]
                        if min(ax, bx) - reach > cx or max(ax, bx) + reach < cx:
                            continue
                        d2 = _seg_d2(ax, edges[e, 1], bx, edges[e, 3], cx, cy)
                        if d2 <= reach2:
                            near[nn] = e
                            nn += 1
                            dmin2 = min(dmin2, d2)
                clear = dmin2 > clear2
                if clear:
                    dmin = np.sqrt(dmin2)
                    if inside:
                        sure = dmin >= h - buf + SLACK
                    else:
                        if dmin > buf + h + SLACK:
                            continue  # out
                        sure = dmin <= buf - h - SLACK
                else:
                    sure = buf - h - SLACK >= 0.0  # the centre is on the boundary
                p_cell[np_] = j * nx + i
                p_poly[np_] = k
                if sure:
                    p_flag[np_] = 1
                    np_ += 1
                    continue
                # a reference point clear of every kept edge: the centre, else one of a 3x3
                # lattice in the cell
                rx = cx
                ry = cy
                s = 0
                while not clear and s < 9:
                    rx = cx + ((s % 3) - 1) * 0.3 * cell + 0.01 * cell
                    ry = cy + ((s // 3) - 1) * 0.3 * cell + 0.013 * cell
                    clear = True
                    for t in range(nn):
                        e = near[t]
                        if (
                            _seg_d2(edges[e, 0], edges[e, 1], edges[e, 2], edges[e, 3], rx, ry)
                            <= clear2
                        ):
                            clear = False
                            break
                    s += 1
                if not clear:
                    rx = np.nan  # no clear point: every ping here goes to GEOS
                    inside = 0
                elif s:
                    inside = _ray_parity(edges, bucket, blo, bhi, rx, ry)
                    dmin2 = np.inf
                    for t in range(nn):
                        e = near[t]
                        dmin2 = min(
                            dmin2,
                            _seg_d2(edges[e, 0], edges[e, 1], edges[e, 2], edges[e, 3], rx, ry),
                        )
                # g: the reference point's distance to the hot spot (0 inside), over the kept
                # edges: never below the true distance, and equal to it wherever a ping of this
                # cell is within the allowance (its nearest edge is kept)
                gr = 0.0 if inside else np.sqrt(dmin2)
                far = gr - buf - SLACK
                near_in = buf - SLACK - gr
                if nk + nn > kcap:
                    kcap = 2 * (nk + nn)
                    kept = _grow_i(kept, kcap)
                kept[nk : nk + nn] = near[:nn]
                nk += nn
                p_flag[np_] = (inside << 1) | (nn << 2)
                p_ref[nt, 0] = rx
                p_ref[nt, 1] = ry
                p_ref[nt, 2] = far * far if far > 0.0 else -1.0
                p_ref[nt, 3] = near_in * near_in if near_in > 0.0 else -1.0
                nt += 1
                np_ += 1
    return np_ - at, kept[:nk]


@njit(cache=True, nogil=True)
def near_count(
    p_cell: NDArray[np.int32],
    p_flag: NDArray[np.int32],
    n: int,
    label: NDArray[np.int32],
    c0: int,
    c1: int,
) -> tuple[int, int]:
    """The first half of making a band's records from its ``n`` pairs (:func:`near_pairs`):
    set the band's cells ``label[c0:c1]`` to -1, count the pairs of each cell in ``label``
    meanwhile (-1, then -2, -3, ...), and return ``(size, depth)``: the words
    :func:`near_fill` will write, and the most candidates any cell has. Sizes come first so
    that every band's records can be written straight into one array, side by side."""
    for c in range(c0, c1):
        label[c] = -1
    depth = 1
    size = 0  # the records' size: a header per ambiguous cell, and the candidates
    for u in range(n):
        c = p_cell[u]
        label[c] -= 1
        depth = max(depth, -1 - label[c])
        if label[c] == -3:  # a cell's second pair: a shared cell, one header
            size += 1
    for u in range(n):
        f = p_flag[u]
        single = label[p_cell[u]] == -2
        if f & 1:
            size += 0 if single else 1  # sure alone in its cell: the label says all
        else:
            size += 5 + ((f >> 2) + 1) // 2 + (1 if single else 0)
    if size > 2**31 - 3 or n >= CURSOR:
        raise ValueError("cell records too large for int32 labels: use a larger cell")
    return size, depth


@njit(cache=True, nogil=True)
def near_fill(
    rec: NDArray[np.float64],
    base: int,
    p_cell: NDArray[np.int32],
    p_poly: NDArray[np.int32],
    p_flag: NDArray[np.int32],
    p_ref: NDArray[np.float64],
    n: int,
    kept: NDArray[np.int32],
    label: NDArray[np.int32],
) -> int:
    """The second half: write a band's records at ``rec[base:]`` from its ``n`` pairs (in
    polygon order, ``kept`` their kept edges one pair after another) and set its cells'
    labels, ``label`` as :func:`near_count` left it; returns the offset after the last record.
    Only the cells of these pairs are read or written, so bands of grid rows
    (:func:`patrolwise.track.locate.build_index`) fill one ``label`` and one ``rec`` side by
    side, each at its own offset: no band's labels need moving afterwards.

    A cell *sure* in exactly one polygon and out of every other gets that polygon's number; a
    cell in no pair stays -1; any other is ambiguous: label ``-2 - offset`` of its record in
    ``rec`` (float64; header words int64 in the same memory): ``ncand``, then per candidate
    (ascending polygon) ``poly | sure << 32 | ref_inside << 33 | nn << 34``, and for a tested
    candidate its reference point (rx, ry), the squared radii around it surely beyond and surely
    within the allowance, and its ``nn`` kept edges as int32 rows of the index's edge table
    (two a word, the last word's spare half 0). Naming edges rather than copying their
    coordinates (an edge is kept by the several cells along it) made records 2.5x smaller at
    1,000 street-scale hot spots and this pass 1.4x faster; lookups ran as fast as before.

    Cells in one polygon's window only (most of them) are written in pair order, which walks
    the pairs and edges in memory order; only the cells several windows share are grouped by a
    sort (a sort of every pair by cell made each later read a cache miss). Nothing is kept per
    pair but for those shared ones: on this kind of machine a fresh page costs more to fault in
    than to fill.
    """
    ri = rec.view(np.int64)
    r32 = rec.view(np.int32)
    # shared pairs: row, first kept edge, reference row (only these few are kept)
    sh_u = np.empty(n, dtype=np.int64)
    sh_e = np.empty(n, dtype=np.int64)
    sh_r = np.empty(n, dtype=np.int64)
    nsh = 0
    o = base
    acc = 0  # the pair's first kept edge
    t = 0  # the pair's reference row, if tested
    for u in range(n):
        f = p_flag[u]
        c = p_cell[u]
        if label[c] != -2:
            sh_u[nsh] = u
            sh_e[nsh] = acc
            sh_r[nsh] = t
            nsh += 1
        elif f == 1:
            label[c] = p_poly[u]
        else:
            label[c] = -2 - o
            ri[o] = 1
            o = _put_cand(rec, ri, r32, o + 1, u, p_poly, p_flag, p_ref, t, kept, acc)
        if f & 1 == 0:
            acc += f >> 2
            t += 1
    if nsh:
        # grouped by cell, each cell's pairs in pair order, which is ascending polygon order:
        # a counting sort whose counts label already holds (-1 - count), and whose cursors it
        # holds meanwhile (-CURSOR - next slot). numba's argsort of (cell, polygon) keys took
        # ~0.8 ms for 15,000 shared pairs, 6x numpy's; this takes two passes.
        slot = np.empty(nsh, dtype=np.int64)
        nxt = 0
        for q in range(nsh):
            c = p_cell[sh_u[q]]
            v = int(label[c])
            if v > -CURSOR:  # first pair of this cell: -1 - count
                at = nxt
                nxt += -1 - v
            else:
                at = -CURSOR - v
            slot[at] = q
            label[c] = -CURSOR - (at + 1)
        q0 = 0
        while q0 < nsh:
            c = p_cell[sh_u[slot[q0]]]
            q1 = q0 + 1
            while q1 < nsh and p_cell[sh_u[slot[q1]]] == c:
                q1 += 1
            label[c] = -2 - o
            ri[o] = q1 - q0
            o += 1
            for q in range(q0, q1):
                v = slot[q]
                o = _put_cand(
                    rec, ri, r32, o, sh_u[v], p_poly, p_flag, p_ref, sh_r[v], kept, sh_e[v]
                )
            q0 = q1
    return o


@njit(cache=True, nogil=True, inline="always")
def _put_cand(
    rec: NDArray[np.float64],
    ri: NDArray[np.int64],
    r32: NDArray[np.int32],
    o: int,
    u: int,
    p_poly: NDArray[np.int32],
    p_flag: NDArray[np.int32],
    p_ref: NDArray[np.float64],
    r: int,
    kept: NDArray[np.int32],
    e0: int,
) -> int:
    """Write pair ``u`` (reference row ``r``, kept edges from ``e0``) as a candidate at
    ``rec[o:]``; returns the offset after it."""
    k = np.int64(p_poly[u])
    f = np.int64(p_flag[u])
    if f & 1:
        ri[o] = k | (1 << 32)
        return o + 1
    nn = int(f >> 2)
    ri[o] = k | (((f >> 1) & 1) << 33) | (nn << 34)
    rec[o + 1] = p_ref[r, 0]
    rec[o + 2] = p_ref[r, 1]
    rec[o + 3] = p_ref[r, 2]
    rec[o + 4] = p_ref[r, 3]
    at = 2 * (o + 5)
    for z in range(nn):
        r32[at + z] = kept[e0 + z]
    if nn & 1:
        r32[at + nn] = 0  # the last word's spare half: records are the same byte for byte
    return o + 5 + (nn + 1) // 2


@njit(cache=True, nogil=True)
def _grow_i(a: NDArray[np.int32], cap: int) -> NDArray[np.int32]:
    out = np.empty(cap, dtype=np.int32)
    out[: len(a)] = a
    return out


@njit(cache=True, nogil=True, inline="always")
def near_test(
    rec: NDArray[np.float64],
    r32: NDArray[np.int32],
    edges: NDArray[np.float64],
    o: int,
    nn: int,
    qx: float,
    qy: float,
    ref_in: int,
    lo2: float,
    hi2: float,
) -> int:
    """One tested candidate of a cell record (at ``rec[o:]``: the reference point, the squared
    radii around it within which every point is surely beyond or surely within the allowance
    (-1: none), then ``nn`` int32 rows of ``edges``, read through ``r32``, the record's int32
    view): 1 in, 0 out, -1 doubt (for GEOS). ``lo2``/``hi2``: squared
    distances at or below which a ping is surely within the allowance, above which it surely is
    not.

    First the radii: distance to the hot spot changes by at most ``|q - r|`` between the
    reference point and the ping. Then each edge's squared distance as a fraction
    ``num / den`` compared by multiplying (no division), stopping at the first edge surely
    within the allowance. Crossings are only counted when some edge is nearer the ping than the
    reference point is: a crossing of ``r -> q`` lies on an edge at most ``|q - r|`` from ``q``
    (less by the reference point's clearance, far above rounding).
    """
    rx = rec[o]
    ry = rec[o + 1]
    if not np.isfinite(rx):
        return -1
    ux = qx - rx
    uy = qy - ry
    u2 = ux * ux + uy * uy
    if u2 < rec[o + 2]:
        return 0
    if u2 <= rec[o + 3]:
        return 1
    at = 2 * (o + 4)
    doubt = False
    near = False
    for t in range(nn):
        e = r32[at + t]
        ax = edges[e, 0]
        ay = edges[e, 1]
        ex = edges[e, 2] - ax
        ey = edges[e, 3] - ay
        wx = qx - ax
        wy = qy - ay
        s = wx * ex + wy * ey
        l2 = ex * ex + ey * ey
        # the three cases (nearest point at a, at b, or inside the edge) all computed and one
        # selected: no branch for the processor to mispredict, whose cost this loop was
        vx = wx - ex
        vy = wy - ey
        c = wx * ey - wy * ex
        w2 = wx * wx + wy * wy
        v2 = vx * vx + vy * vy
        end = w2 if s <= 0.0 else v2
        mid = (s > 0.0) & (s < l2)
        num = c * c if mid else end
        den = l2 if mid else 1.0
        if num <= lo2 * den:
            return 1
        doubt |= num <= hi2 * den
        near |= num <= u2 * den
    if doubt:
        return -1
    if not near:
        return ref_in
    cross = 0
    for t in range(nn):
        e = r32[at + t]
        ax = edges[e, 0]
        ay = edges[e, 1]
        bx = edges[e, 2]
        by = edges[e, 3]
        oa = ux * (ay - ry) - uy * (ax - rx)
        ob = ux * (by - ry) - uy * (bx - rx)
        ex = bx - ax
        ey = by - ay
        oc = ex * (ry - ay) - ey * (rx - ax)
        oq = ex * (qy - ay) - ey * (qx - ax)
        cross ^= ((oa > 0.0) != (ob > 0.0)) & ((oc > 0.0) != (oq > 0.0))
    return ref_in ^ cross


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
    r32: NDArray[np.int32],
    edges: NDArray[np.float64],
    lo2: float,
    hi2: float,
    first: NDArray[np.int32],
    extra: NDArray[np.int64],
    doubt: NDArray[np.int64],
) -> tuple[int, int]:
    """:func:`locate_labels` into the caller's buffers: returns how many extra and doubt pairs
    there are (only those that fit are written; the caller retries with room for all). Buffers
    are never reallocated in the loop: a reassigned array costs reference-count traffic per
    ping. NaN and infinite coordinates are in no polygon; far-away pings clip into the grid's
    outer ring, which no polygon's window reaches (always -1)."""
    n = len(x)
    ne = 0
    nd = 0
    xmax = nx - 1.0
    ymax = ny - 1.0
    for i in range(n):
        qx = x[i]
        qy = y[i]
        first[i] = -1
        if not (np.isfinite(qx) and np.isfinite(qy)):
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
        lab = label[np.int64(fy) * nx + np.int64(fx)]
        if lab >= 0:
            first[i] = lab
            continue
        if lab == -1:
            continue
        o = -2 - int(lab)
        nc = ri[o] & 0xFFFFFFFF
        o += 1
        found = -1
        for _ in range(nc):
            w0 = ri[o]
            o += 1
            k = w0 & 0xFFFFFFFF
            if (w0 >> 32) & 1:
                ans = 1
            else:
                nn = int(w0 >> 34)
                ans = near_test(rec, r32, edges, o, nn, qx, qy, int((w0 >> 33) & 1), lo2, hi2)
                o += 4 + (nn + 1) // 2
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
    edges: NDArray[np.float64],
    lo2: float,
    hi2: float,
) -> tuple[NDArray[np.int32], NDArray[np.int64], NDArray[np.int64]]:
    """The polygon holding each ping, in one pass: ``(first, extra, doubt)``.

    ``first[i]`` is the lowest-numbered polygon found to hold ping i (-1: none); ``extra``
    (2, m) holds further (ping, polygon) pairs, in ping order, for pings in overlapping
    polygons; ``doubt`` (2, d) the pairs too close to the allowance for float arithmetic.
    """
    n = len(x)
    ri = rec.view(np.int64)
    r32 = rec.view(np.int32)
    first = np.empty(n, dtype=np.int32)
    cap_e = n // 4 + 64
    cap_d = 64
    while True:
        extra = np.empty((2, cap_e), dtype=np.int64)
        doubt = np.empty((2, cap_d), dtype=np.int64)
        ne, nd = _locate(
            x, y, x0, y0, inv, nx, ny, label, rec, ri, r32, edges, lo2, hi2, first, extra, doubt
        )  # fmt: skip
        if ne <= cap_e and nd <= cap_d:
            return first, extra[:, :ne].copy(), doubt[:, :nd].copy()
        cap_e = max(cap_e, ne)
        cap_d = max(cap_d, nd)

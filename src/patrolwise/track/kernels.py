"""Compiled (numba) kernel of the visit state machine: one pass over the located pings.

Why compiled: the numpy pipeline spent most of its time building and sorting temporary arrays,
not on arithmetic. A loop that walks the pings in the order they come (sorted by device and
time) has the visit state of its device at hand. ``cache=True`` (compiled once per machine,
then loaded from ``__pycache__``) and ``nogil=True`` (Dask or thread pools can run chunks side
by side), like the locate kernels (:mod:`patrolwise.track.locate_kernels`) it follows:

- :func:`scan_runs`: runs inside hot spots, tracked spans and per-device edges, as
  :func:`patrolwise.track.dosage.scan_chunk` defines them.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray

#: columns of the run table :func:`scan_runs` returns (all int64)
RUN_COLS = ("unit", "poly", "t0", "t1", "n", "at_first", "at_last", "p0", "p1")
#: status codes of :func:`scan_runs`
SORTED, UNSORTED = 0, 1


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

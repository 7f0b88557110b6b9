"""Compiled (numba) kernels for joining runs after the chunk scans: one pass each.

Why compiled: stitching 300,000 runs from ten chunks in numpy is a dozen whole-array passes
(gathers into sorted order, a link mask, a cumulative sum, three ``reduceat``, a scatter back),
each allocating a temporary, for a handful of joins at chunk edges. One loop over the runs in
sorted order does it all and writes each output once.

``cache=True`` (compiled once per machine) and ``nogil=True`` like the other kernels.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray

#: status codes of :func:`join_runs`
JOINED, UNORDERED = 0, 1


@njit(cache=True, nogil=True)
def join_runs(
    by: NDArray[np.int64],
    unit: NDArray[np.int64],
    poly: NDArray[np.int64],
    t0: NDArray[np.int64],
    t1: NDArray[np.int64],
    n: NDArray[np.int64],
    at_first: NDArray[np.bool_],
    at_last: NDArray[np.bool_],
    chunk_start: NDArray[np.int64],
    edge_key: NDArray[np.int64],
    edge_next: NDArray[np.int64],
    n_chunks: int,
    max_gap: int,
) -> tuple[int, NDArray[np.int64], int, NDArray[np.int64]]:
    """Join runs cut at chunk edges, walking the rows in ``by`` order (by unit, polygon, start).

    A row continues the row before it when both have the same unit and polygon, the earlier ends
    its chunk (``at_last``), the later starts its own (``at_first``), that chunk is the unit's
    next one after the earlier's, and the silence between them is at most ``max_gap``. Rows of
    chunk ``c`` are ``chunk_start[c]:chunk_start[c + 1]``; ``edge_key`` (sorted, ``unit *
    n_chunks + chunk``) and ``edge_next`` give each unit's next chunk (or -1).

    Returns ``(status, groups, g, group_of_row)``: the first ``g`` columns of ``groups`` (5, m)
    hold unit, poly, t0 (first start), t1 (last end), n (summed) per joined run in order (the
    rest is scratch: slicing them is free, copying is not); ``group_of_row[i]`` is the group of
    row ``i``. ``status`` is :data:`UNORDERED` if ``by`` does not put each (unit, polygon) in
    start order, which the caller then sorts fully.
    """
    m = len(by)
    groups = np.empty((5, m), dtype=np.int64)
    group_of_row = np.empty(len(t0), dtype=np.int64)
    g = -1
    prev = -1
    for k in range(m):
        i = by[k]
        join = False
        if prev >= 0 and unit[i] == unit[prev] and poly[i] == poly[prev]:
            if t0[i] < t0[prev]:
                return UNORDERED, groups, 0, group_of_row
            if at_last[prev] and at_first[i] and t0[i] - t1[prev] <= max_gap:
                c_prev = np.searchsorted(chunk_start, prev, side="right") - 1
                c_this = np.searchsorted(chunk_start, i, side="right") - 1
                key = unit[prev] * n_chunks + c_prev
                at = np.searchsorted(edge_key, key)
                if at < len(edge_key) and edge_key[at] == key and edge_next[at] == c_this:
                    join = True
        if join:
            if t1[i] > groups[3, g]:
                groups[3, g] = t1[i]
            groups[4, g] += n[i]
        else:
            g += 1
            groups[0, g] = unit[i]
            groups[1, g] = poly[i]
            groups[2, g] = t0[i]
            groups[3, g] = t1[i]
            groups[4, g] = n[i]
        group_of_row[i] = g
        prev = i
    return JOINED, groups, g + 1, group_of_row


@njit(cache=True, nogil=True)
def counting_order(key: NDArray[np.int64], n_keys: int) -> NDArray[np.int64]:
    """Stable argsort of keys in ``[0, n_keys)`` by counting: two passes and a prefix sum, for
    keys whose range is not much wider than their number (runs by unit and polygon)."""
    count = np.zeros(n_keys + 1, dtype=np.int64)
    for k in key:
        count[k + 1] += 1
    for i in range(n_keys):
        count[i + 1] += count[i]
    order = np.empty(len(key), dtype=np.int64)
    for i in range(len(key)):
        k = key[i]
        order[count[k]] = i
        count[k] += 1
    return order

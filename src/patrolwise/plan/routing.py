"""Walking times between hot spots and the order to visit them in.

Travel time is straight-line distance at walking speed by default (a good, slightly optimistic
stand-in inside a city centre), or the shortest path along a user-supplied street network. The
order is exact (Held-Karp dynamic programme) up to ``EXACT_MAX`` stops, which covers the usual
five to nine hot spots; beyond that a nearest-neighbour tour improved by 2-opt is used.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from numpy.typing import NDArray
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree
from scipy.spatial.distance import cdist

from ..errors import InputError

#: 4.8 km/h, a patrol walking pace, in metres per minute
WALK_M_PER_MIN = 80.0
#: stops up to which the order is provably shortest (DP costs n^2 2^n)
EXACT_MAX = 9


def _check_speed(speed_m_per_min: float) -> None:
    # 'not > 0' so NaN is refused too (it would make every hot spot unreachable)
    if not (speed_m_per_min > 0 and np.isfinite(speed_m_per_min)):
        raise InputError(f"walking speed must be positive, got {speed_m_per_min} m/min")


def anchor_points(areas: gpd.GeoDataFrame) -> NDArray[np.float64]:
    """One point per area that is guaranteed inside it (a centroid can fall outside an L shape)."""
    pts = shapely.point_on_surface(np.asarray(areas.geometry.values))
    return np.column_stack([shapely.get_x(pts), shapely.get_y(pts)])


def straight_line_minutes(
    points: NDArray[np.float64], speed_m_per_min: float = WALK_M_PER_MIN
) -> NDArray[np.float64]:
    """Walking minutes between every pair of points (metres / speed)."""
    _check_speed(speed_m_per_min)
    return cdist(points, points) / speed_m_per_min


def load_street_network(path: str | Path, crs: str = "EPSG:27700") -> gpd.GeoDataFrame:
    """Street centre lines from a GeoJSON (or any OGR file), reprojected to ``crs``."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: street network file not found")
    try:
        g = gpd.read_file(p)
    except Exception as exc:
        raise InputError(f"{p}: cannot read street network ({exc})") from exc
    if g.crs is None:
        raise InputError(f"{p}: street network has no CRS; GeoJSON should be WGS84 lon/lat")
    g = g.to_crs(crs)
    kinds = set(g.geom_type.unique())
    if not kinds <= {"LineString", "MultiLineString"}:
        raise InputError(
            f"{p}: street network must hold LineString features, found {sorted(kinds)}"
        )
    return g


def network_minutes(
    points: NDArray[np.float64],
    streets: gpd.GeoDataFrame,
    speed_m_per_min: float = WALK_M_PER_MIN,
    snap_decimals: int = 1,
) -> NDArray[np.float64]:
    """Walking minutes along ``streets`` between every pair of points.

    Every vertex becomes a node (vertices within 10^-snap_decimals metres are joined, so lines
    that share an end point connect); each point walks straight to its nearest node first.
    Pairs with no connecting path get ``inf``.
    """
    _check_speed(speed_m_per_min)
    lines = shapely.get_parts(np.asarray(streets.geometry.values))
    coords, line_idx = shapely.get_coordinates(lines, return_index=True)
    if len(coords) < 2:
        raise InputError("street network has no usable line segments")
    key = np.round(coords[:, :2], snap_decimals)
    nodes, node_of = np.unique(key, axis=0, return_inverse=True)
    node_of = node_of.ravel()
    same_line = line_idx[:-1] == line_idx[1:]
    a, b = node_of[:-1][same_line], node_of[1:][same_line]
    w = np.hypot(*(coords[1:, :2][same_line] - coords[:-1, :2][same_line]).T)
    keep = a != b
    a, b, w = a[keep], b[keep], w[keep]
    n = len(nodes)
    graph = coo_matrix(
        (np.concatenate([w, w]), (np.concatenate([a, b]), np.concatenate([b, a]))), shape=(n, n)
    ).tocsr()
    snap_d, snap_i = cKDTree(nodes).query(points)
    dist = dijkstra(graph, directed=False, indices=snap_i)[:, snap_i]
    total = dist + snap_d[:, None] + snap_d[None, :]
    np.fill_diagonal(total, 0.0)
    return np.asarray(total / speed_m_per_min, dtype=float)


def route_cost(order: list[int] | NDArray[np.int64], travel: NDArray[np.float64]) -> float:
    """Total travel along an open path visiting ``order``."""
    o = np.asarray(order, dtype=int)
    if len(o) < 2:
        return 0.0
    return float(travel[o[:-1], o[1:]].sum())


def _held_karp(travel: NDArray[np.float64]) -> list[int]:
    """Exact shortest open path through all stops (any start, any end), O(n^2 2^n)."""
    n = len(travel)
    full = 1 << n
    cost = np.full((full, n), np.inf)
    parent = np.full((full, n), -1, dtype=np.int64)
    for i in range(n):
        cost[1 << i, i] = 0.0
    for mask in range(1, full):
        row = cost[mask]
        if not np.isfinite(row).any():
            continue
        outside = [j for j in range(n) if not mask & (1 << j)]
        if not outside:
            continue
        # best way to step from any end i in mask to each j outside: vectorised over i
        cand = row[:, None] + travel[:, outside]
        best_i = np.argmin(cand, axis=0)
        best = cand[best_i, np.arange(len(outside))]
        for k, j in enumerate(outside):
            m2 = mask | (1 << j)
            if best[k] < cost[m2, j]:
                cost[m2, j] = best[k]
                parent[m2, j] = best_i[k]
    end = int(np.argmin(cost[full - 1]))
    order = [end]
    mask = full - 1
    while parent[mask, order[-1]] >= 0:
        prev = int(parent[mask, order[-1]])
        mask ^= 1 << order[-1]
        order.append(prev)
    return order[::-1]


def _nn_two_opt(travel: NDArray[np.float64]) -> list[int]:
    """Nearest-neighbour tours from every start, the best improved by 2-opt (open path)."""
    n = len(travel)
    best: list[int] = []
    best_c = np.inf
    for s in range(n):
        seen = np.zeros(n, dtype=bool)
        seen[s] = True
        tour = [s]
        for _ in range(n - 1):
            d = np.where(seen, np.inf, travel[tour[-1]])
            nxt = int(np.argmin(d))
            seen[nxt] = True
            tour.append(nxt)
        c = route_cost(tour, travel)
        if c < best_c:
            best, best_c = tour, c
    improved = True
    while improved:
        improved = False
        for i in range(0, n - 1):
            for k in range(i + 1, n):
                cand = best[:i] + best[i : k + 1][::-1] + best[k + 1 :]
                c = route_cost(cand, travel)
                if c < best_c - 1e-9:
                    best, best_c, improved = cand, c, True
    return best


def efficient_order(travel: NDArray[np.float64]) -> list[int]:
    """The shortest open walk through every stop (exact up to EXACT_MAX stops, heuristic above)."""
    n = len(travel)
    if n == 0:
        return []
    if n == 1:
        return [0]
    if not np.isfinite(travel).all():
        raise InputError(
            "some hot spots cannot be reached from others on the street network; "
            "check the network joins up, or plan without it (straight-line walking)"
        )
    return _held_karp(travel) if n <= EXACT_MAX else _nn_two_opt(travel)


def random_order(n: int, rng: np.random.Generator) -> list[int]:
    """An unpredictable order (a uniform random permutation) for patrols that should not be routine."""
    return [int(i) for i in rng.permutation(n)]

"""Routing: walking times (straight line and street network) and the visiting order."""

from __future__ import annotations

import itertools
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from patrolwise.errors import InputError
from patrolwise.plan.routing import (
    WALK_M_PER_MIN,
    efficient_order,
    load_street_network,
    network_minutes,
    random_order,
    route_cost,
    straight_line_minutes,
)


def _brute_force(travel: np.ndarray) -> float:
    n = len(travel)
    return min(route_cost(list(p), travel) for p in itertools.permutations(range(n)))


@pytest.mark.parametrize("seed", range(6))
def test_exact_order_matches_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    pts = rng.uniform(0, 1000, size=(7, 2))
    travel = straight_line_minutes(pts)
    order = efficient_order(travel)
    assert sorted(order) == list(range(7))
    assert route_cost(order, travel) == pytest.approx(_brute_force(travel))


def test_collinear_points_are_walked_end_to_end() -> None:
    # points on a line in shuffled order: the best open walk is the span, 1200 m at 80 m/min
    xs = np.array([300.0, 0.0, 1200.0, 600.0, 900.0])
    pts = np.column_stack([xs, np.zeros(5)])
    travel = straight_line_minutes(pts)
    order = efficient_order(travel)
    assert route_cost(order, travel) == pytest.approx(1200 / WALK_M_PER_MIN)
    assert list(xs[order]) in (sorted(xs), sorted(xs, reverse=True))


def test_heuristic_beyond_exact_limit_finds_line_optimum() -> None:
    rng = np.random.default_rng(3)
    xs = rng.permutation(np.arange(12) * 100.0)
    pts = np.column_stack([xs, np.zeros(12)])
    travel = straight_line_minutes(pts)
    order = efficient_order(travel)
    assert sorted(order) == list(range(12))
    assert route_cost(order, travel) == pytest.approx(1100 / WALK_M_PER_MIN)


def test_random_order_is_seeded() -> None:
    a = random_order(7, np.random.default_rng(5))
    b = random_order(7, np.random.default_rng(5))
    assert a == b and sorted(a) == list(range(7))


def _write_streets(path: Path, lines: list[shapely.LineString]) -> Path:
    gpd.GeoDataFrame(geometry=lines, crs="EPSG:27700").to_crs("EPSG:4326").to_file(
        path, driver="GeoJSON"
    )
    return path


def test_network_follows_streets_round_a_corner(tmp_path: Path) -> None:
    # an L-shaped street from A (0,0) east to the corner (100,0) then north to B (100,100):
    # 200 m on foot, not the 141 m straight line
    x0, y0 = 460000.0, 304000.0
    streets = load_street_network(
        _write_streets(
            tmp_path / "streets.geojson",
            [
                shapely.LineString([(x0, y0), (x0 + 100, y0)]),
                shapely.LineString([(x0 + 100, y0), (x0 + 100, y0 + 100)]),
            ],
        )
    )
    pts = np.array([[x0, y0], [x0 + 100, y0 + 100]])
    net = network_minutes(pts, streets)
    assert net[0, 1] == pytest.approx(200 / WALK_M_PER_MIN, abs=0.01)
    assert straight_line_minutes(pts)[0, 1] == pytest.approx(np.hypot(100, 100) / 80)
    # a point off the street walks to the nearest node first (10 m), then along the street
    net2 = network_minutes(np.array([[x0, y0 - 10], [x0 + 100, y0 + 100]]), streets)
    assert net2[0, 1] == pytest.approx(210 / WALK_M_PER_MIN, abs=0.01)


def test_disconnected_network_is_refused(tmp_path: Path) -> None:
    streets = load_street_network(
        _write_streets(
            tmp_path / "s.geojson",
            [
                shapely.LineString([(460000, 304000), (460100, 304000)]),
                shapely.LineString([(461000, 304000), (461100, 304000)]),
            ],
        )
    )
    travel = network_minutes(np.array([[460000, 304000], [461100, 304000]]), streets)
    assert np.isinf(travel[0, 1])
    with pytest.raises(InputError, match="cannot be reached"):
        efficient_order(travel)


def test_network_file_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        load_street_network(tmp_path / "missing.geojson")
    pts = gpd.GeoDataFrame(geometry=[shapely.Point(0, 0)], crs="EPSG:4326")
    pts.to_file(tmp_path / "pts.geojson", driver="GeoJSON")
    with pytest.raises(InputError, match="LineString"):
        load_street_network(tmp_path / "pts.geojson")

"""Grids: exact counts and harm on hand-computed tiny grids, hexagon lookup, default cell size,
and every bad input giving a clear InputError."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from patrolwise.errors import InputError
from patrolwise.target.grid import MIN_CELL, Grid, bin_points, choose_cell, make_grid
from patrolwise.target.surface import find_surface


def test_tiny_grid_exact_counts_and_harm() -> None:
    # 2 x 3 grid of 100 m cells from (0, 0); points placed by hand
    g = Grid(0.0, 0.0, 100.0, 2, 3)
    x = [10, 20, 150, 250, 250, 50, 299.9]
    y = [10, 90, 50, 150, 199, 100, 0]
    harm = [1.5, 2.0, 10.0, 0.25, 0.25, 7.0, 3.0]
    counts = bin_points(g, x, y)
    # ids row-major from the south-west: (0,0)=0 (0,1)=1 (0,2)=2 (1,0)=3 (1,1)=4 (1,2)=5
    assert counts.tolist() == [2, 1, 1, 1, 0, 2]
    assert bin_points(g, x, y, harm).tolist() == [3.5, 10.0, 3.0, 7.0, 0.0, 0.5]


def test_surface_counts_harm_density() -> None:
    # British National Grid metres (small numbers would look like longitude/latitude)
    crimes = pd.DataFrame(
        {
            "x": [458005.0, 458015.0, 458015.0, 458055.0],
            "y": [304005.0, 304005.0, 304006.0, 304045.0],
            "harm": [1.0, 2.0, 3.0, 4.0],
        }
    )
    s = find_surface(crimes, method="count", weight="harm", cell=10.0)
    t = s.table.set_index("unit_id")
    g = s.grid
    assert g is not None and g.x0 == 458000 and g.y0 == 304000 and g.cell == 10
    assert (g.nrows, g.ncols) == (5, 6)
    assert t["count"].sum() == 4 and t["harm"].sum() == 10
    cell_15 = int(g.locate([458015.0], [304005.0])[0])
    assert cell_15 == 1
    assert t.loc[cell_15, "count"] == 2 and t.loc[cell_15, "harm"] == 5.0
    # density per km2 = harm / 100 m2 * 1e6
    assert t.loc[cell_15, "density"] == pytest.approx(5.0 / 100 * 1e6)


def test_square_polygons_tile_exactly() -> None:
    g = Grid(1000.0, 2000.0, 30.0, 4, 5)
    polys = g.polygons()
    assert shapely.union_all(polys).area == pytest.approx(g.n * 900.0)
    cx, cy = g.centres()
    assert shapely.contains_xy(polys, cx, cy).all()
    assert (g.locate(cx, cy) == np.arange(g.n)).all()


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.floats(0, 500), st.floats(0, 500)), min_size=2, max_size=60, unique=True),
    st.sampled_from([20.0, 37.5, 80.0]),
)
def test_hex_locate_is_nearest_centre(pts: list[tuple[float, float]], cell: float) -> None:
    x = np.array([p[0] for p in pts]) + 458000.0
    y = np.array([p[1] for p in pts]) + 304000.0
    if np.ptp(x) == 0 and np.ptp(y) == 0:
        return
    g = make_grid(x, y, cell, shape="hex")
    ids = g.locate(x, y)
    assert (ids >= 0).all()
    cx, cy = g.centres()
    d_all = np.hypot(cx[None, :] - x[:, None], cy[None, :] - y[:, None])
    d_ours = np.hypot(cx[ids] - x, cy[ids] - y)
    assert np.allclose(d_ours, d_all.min(axis=1))
    # and the point lies in the hexagon polygon of its cell (boundaries allowed)
    polys = g.polygons(ids)
    assert (shapely.distance(polys, shapely.points(x, y)) < 1e-6).all()


def test_choose_cell_floor_and_cap() -> None:
    rng = np.random.default_rng(0)
    # dense points 1 m apart: the floor applies
    x = np.arange(200.0) + 458000.0
    y = np.zeros(200) + 304000.0
    y[::2] = 1.0
    assert choose_cell(x, y) == MIN_CELL
    # a huge extent: enlarged until the cap holds
    x2 = rng.uniform(0, 100_000, 500)
    y2 = rng.uniform(0, 100_000, 500)
    c = choose_cell(x2, y2, max_cells=10_000)
    assert (np.floor(np.ptp(x2) / c) + 1) * (np.floor(np.ptp(y2) / c) + 1) <= 10_000


def _crimes(x: list[float], y: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"x": x, "y": y, "harm": np.ones(len(x))})


def test_bad_input_empty_selection() -> None:
    with pytest.raises(InputError, match="no crimes with coordinates"):
        find_surface(_crimes([], []))


def test_bad_input_single_crime() -> None:
    with pytest.raises(InputError, match="only 1 crime"):
        find_surface(_crimes([458000.0], [304000.0]))


def test_bad_input_all_in_one_cell() -> None:
    with pytest.raises(InputError, match="all crimes are at one location"):
        find_surface(_crimes([458000.0] * 5, [304000.0] * 5))
    with pytest.raises(InputError, match="all 3 crimes fall in one 100 m cell"):
        find_surface(_crimes([458001.0, 458002.0, 458003.0], [304001.0] * 3), cell=100.0)


def test_bad_input_cell_too_small_for_extent() -> None:
    with pytest.raises(InputError, match=r"1 m cell .* more than the limit .* larger --cell"):
        find_surface(_crimes([400000.0, 460000.0], [300000.0, 350000.0]), cell=1.0)


def test_bad_input_lonlat_without_projection() -> None:
    with pytest.raises(InputError, match=r"longitude/latitude .*geo\.to_projected"):
        find_surface(_crimes([-1.13, -1.14, -1.12], [52.63, 52.64, 52.62]))


def test_bad_parameters() -> None:
    c = _crimes([458000.0, 458100.0, 458300.0], [304000.0, 304050.0, 304200.0])
    with pytest.raises(InputError, match="--method"):
        find_surface(c, method="hexbin")
    with pytest.raises(InputError, match="--weight"):
        find_surface(c, weight="value")
    with pytest.raises(InputError, match="grid shape"):
        find_surface(c, shape="triangle")
    with pytest.raises(InputError, match="positive"):
        find_surface(c, cell=-5.0)


def test_max_cells_below_one_is_refused_not_a_hang() -> None:
    """'hotspots find --max-cells 0' never returned: choose_cell enlarged the cell 5 m at a
    time until the grid had at most 0 cells, which no grid has. A limit below one cell is one
    clear line (run in a thread here, so the old endless loop fails the test, not the run)."""
    import threading
    from collections.abc import Callable

    x = np.array([458000.0, 458500.0, 459000.0])
    y = np.array([304000.0, 304200.0, 304100.0])
    errors: list[BaseException] = []

    def run(call: Callable[[], object]) -> None:
        try:
            call()
        except BaseException as exc:  # handed to the test's thread
            errors.append(exc)

    for call in (
        lambda: choose_cell(x, y, max_cells=0),
        lambda: make_grid(x, y, max_cells=-3),
        lambda: make_grid(x, y, 50.0, max_cells=0),
    ):
        errors.clear()
        t = threading.Thread(target=run, args=(call,), daemon=True)
        t.start()
        t.join(timeout=20)
        assert not t.is_alive(), "still enlarging the cell"
        assert len(errors) == 1 and isinstance(errors[0], InputError)
        assert "--max-cells must be at least 1" in str(errors[0])
    assert choose_cell(x, y, max_cells=1) > 1000  # one cell over the whole extent


@pytest.mark.parametrize("shape", ["square", "hex"])
def test_cell_chosen_from_the_data_respects_max_cells(shape: str) -> None:
    """choose_cell counted the cells over the data's own extent, but make_grid snaps the origin
    to a multiple of the cell (and pads hexagons), which can add a row and a column: with no
    --cell, 'hotspots find --max-cells 100' refused the grid it had chosen itself ('gives 4
    cells, more than the limit of 1: use a larger --cell'). A cell chosen from the data is now
    enlarged until make_grid's own grid fits."""
    rng = np.random.default_rng(4)
    x = 458_013.0 + rng.uniform(0, 2_979, 300)
    y = 304_017.0 + rng.uniform(0, 2_992, 300)
    for limit in (16, 100, 2_000, 50_000):
        g = make_grid(x, y, shape=shape, max_cells=limit)
        assert g.n <= limit
        assert (g.locate(x, y) >= 0).all()
    if shape == "square":
        assert make_grid(x, y, max_cells=1).n == 1
    else:  # a hexagon grid keeps a margin: one cell is out of reach, said in one line
        with pytest.raises(InputError, match="more than the limit of 1:"):
            make_grid(x, y, shape=shape, max_cells=1)

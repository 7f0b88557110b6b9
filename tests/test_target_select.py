"""Selection of micro hot spots (merging, size, distance, exclusions) and the writers."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from patrolwise.errors import InputError
from patrolwise.io.areas_io import read_areas, write_areas
from patrolwise.target.select import select_hotspots, width
from patrolwise.target.surface import find_surface

X0, Y0 = 458000.0, 304000.0


def _crimes(cells: dict[tuple[int, int], int], cell: float = 50.0) -> pd.DataFrame:
    """n crimes at the centre of each (col, row) cell, plus corners that fix the extent."""
    xs, ys, loc = [], [], []
    for (c, r), n in cells.items():
        xs += [X0 + (c + 0.5) * cell] * n
        ys += [Y0 + (r + 0.5) * cell] * n
        loc += [f"On or near Street {c}-{r}"] * n
    xs += [X0 + 1, X0 + 20 * cell - 1]
    ys += [Y0 + 1, Y0 + 20 * cell - 1]
    loc += ["On or near ", "On or near "]
    return pd.DataFrame({"x": xs, "y": ys, "harm": 1.0, "location": loc})


def test_adjacent_winners_merge_into_one_named_polygon() -> None:
    crimes = _crimes({(5, 5): 10, (6, 5): 8, (12, 12): 9, (3, 15): 3})
    s = find_surface(crimes, method="count", weight="count", cell=50.0)
    hs = select_hotspots(s, 2)
    assert hs["n_units"].tolist() == [2, 1]
    assert hs["count"].tolist() == [18, 9]
    assert hs.geometry.iloc[0].equals(shapely.box(X0 + 250, Y0 + 250, X0 + 350, Y0 + 300))
    assert hs["name"].tolist() == ["HS1 Street 5-5", "HS2 Street 12-12"]
    assert hs["width_m"].iloc[0] == pytest.approx(np.hypot(100, 50))


def test_max_size_and_merge_fraction() -> None:
    crimes = _crimes({(5, 5): 10, (6, 5): 9, (7, 5): 9, (8, 5): 9})
    s = find_surface(crimes, method="count", weight="count", cell=50.0)
    # width is the longest distance across: 3 x 1 cells of 50 m are sqrt(150^2 + 50^2) = 158 m
    hs = select_hotspots(s, 1, max_size=160.0)
    assert hs["n_units"].iloc[0] == 3 and hs["width_m"].iloc[0] <= 160.0
    hs = select_hotspots(s, 1, max_size=150.0)
    assert hs["n_units"].iloc[0] == 2 and hs["width_m"].iloc[0] == pytest.approx(np.hypot(100, 50))
    hs = select_hotspots(s, 1, max_size=100.0)
    assert hs["n_units"].iloc[0] == 1
    hs = select_hotspots(s, 1, merge_fraction=1.0)  # only equal-or-better cells merge
    assert hs["n_units"].iloc[0] == 1
    with pytest.raises(InputError, match="larger than the maximum"):
        select_hotspots(s, 1, max_size=40.0)


def test_min_distance_and_exclusions() -> None:
    crimes = _crimes({(5, 5): 10, (8, 5): 9, (15, 15): 8})
    s = find_surface(crimes, method="count", weight="count", cell=50.0)
    near = select_hotspots(s, 2, merge_fraction=1.0)
    assert near["count"].tolist() == [10, 9]
    far = select_hotspots(s, 2, merge_fraction=1.0, min_distance=200.0)
    assert far["count"].tolist() == [10, 8]
    assert shapely.distance(far.geometry.iloc[0], far.geometry.iloc[1]) >= 200.0
    zone = gpd.GeoDataFrame(
        {"name": ["station"]}, geometry=[shapely.box(X0 + 240, Y0 + 240, X0 + 310, Y0 + 310)]
    )
    ex = select_hotspots(s, 2, exclude=zone)
    assert ex["count"].tolist() == [9, 8]


def test_gistar_selection_needs_hot_cells_with_crime() -> None:
    rng = np.random.default_rng(1)
    crimes = pd.concat(
        [
            pd.DataFrame(
                {
                    "x": rng.uniform(X0, X0 + 1000, 300),
                    "y": rng.uniform(Y0, Y0 + 1000, 300),
                    "harm": 1.0,
                }
            ),
            _crimes({(5, 5): 30}),
        ]
    )
    s = find_surface(crimes, method="gistar", weight="count", cell=50.0)
    hs = select_hotspots(s, 3)
    t = s.table
    for ids in hs["unit_ids"]:
        sub = t.iloc[[int(i) for i in ids.split()]]
        assert (sub["class"] == "hot").all() and (sub["count"] > 0).all()
    assert hs["count"].iloc[0] >= 30
    assert len(hs) < 3 and any("qualify" in n for n in s.notes)


@pytest.mark.parametrize("suffix", [".geojson", ".gpkg", ".csv", ".parquet"])
def test_writers_round_trip(tmp_path: Path, suffix: str) -> None:
    crimes = _crimes({(5, 5): 10, (6, 5): 8, (12, 12): 9})
    s = find_surface(crimes, method="gistar", weight="harm", cell=50.0)
    cells = s.geoframe()
    p = write_areas(cells, tmp_path / f"cells{suffix}")
    if suffix == ".csv":
        back = pd.read_csv(p)
        assert {"unit_id", "count", "harm", "density", "z", "p", "p_adj", "class", "wkt"} <= set(
            back.columns
        )
        geom = shapely.from_wkt(back["wkt"].iloc[0])
    else:
        back = gpd.read_parquet(p) if suffix == ".parquet" else gpd.read_file(p)
        back = back.to_crs("EPSG:27700")
        geom = back.geometry.iloc[0]
    assert len(back) == len(cells)
    assert back["count"].sum() == 29
    assert shapely.equals_exact(geom, cells.geometry.iloc[0], tolerance=0.01)


def test_read_areas_names_and_errors(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame(
        {"Name": ["Clock Tower", None]},
        geometry=[shapely.box(0, 0, 10, 10).buffer(0), shapely.box(20, 0, 30, 10)],
        crs="EPSG:27700",
    ).to_crs("EPSG:4326")
    p = tmp_path / "drawn.geojson"
    gdf.to_file(p)
    back = read_areas(p, "EPSG:27700")
    assert back["name"].tolist() == ["Clock Tower", "area 2"]
    assert back.geometry.iloc[0].area == pytest.approx(100.0, rel=1e-3)
    with pytest.raises(InputError, match="no field"):
        read_areas(p, "EPSG:27700", name_field="label")
    with pytest.raises(InputError, match="not found"):
        read_areas(tmp_path / "missing.geojson", "EPSG:27700")
    with pytest.raises(InputError, match="unknown output format"):
        write_areas(back, tmp_path / "x.shp")


def test_width() -> None:
    assert width(shapely.box(0, 0, 30, 40)) == pytest.approx(50.0)


def test_read_areas_numeric_names_stay_as_written(tmp_path: Path) -> None:
    """A GeoPackage of beats numbered 12, 7, (none) was imported as hot spots '12.0', '7.0' and
    'area 3': a whole-number column with a gap reads as floats, and the names no longer matched
    the force's own beat numbers. Whole numbers keep their integer spelling."""
    p = tmp_path / "beats.gpkg"
    gpd.GeoDataFrame(
        {"beat": [12, 7, None], "score": [1.5, 2.0, None]},
        geometry=[shapely.box(i * 20, 0, i * 20 + 10, 10) for i in range(3)],
        crs="EPSG:27700",
    ).to_file(p)
    assert read_areas(p, "EPSG:27700", name_field="beat")["name"].tolist() == [
        "12", "7", "area 3"
    ]  # fmt: skip
    assert read_areas(p, "EPSG:27700", name_field="score")["name"].tolist() == [
        "1.5", "2.0", "area 3"
    ]  # fmt: skip


def test_a_single_cell_wider_than_max_size_is_refused() -> None:
    """'hotspots find --top 5' on a month of a whole force chose 120 m cells and stored hot spots
    170 m across (corner to corner) under the default --max-size of 150: the cell was compared
    by its side, though a hot spot's size is its longest distance across, as merging and user
    units measure it. A cell that alone is too wide is refused, saying which cell would fit."""
    crimes = _crimes({(2, 2): 10, (6, 5): 9}, cell=120.0)
    s = find_surface(crimes, method="count", weight="count", cell=120.0)
    with pytest.raises(InputError, match=r"120 m cell is 170 m across.*--cell of at most 106 m"):
        select_hotspots(s, 2)
    ok = select_hotspots(s, 2, max_size=170.0)
    assert (ok["width_m"] <= 170.0).all() and len(ok) == 2
    hexes = find_surface(crimes, method="count", weight="count", cell=140.0, shape="hex")
    with pytest.raises(InputError, match=r"140 m cell is 162 m across.*at most 129 m"):
        select_hotspots(hexes, 1)
    assert select_hotspots(hexes, 1, max_size=162.0)["width_m"].iloc[0] <= 162.0


def test_read_areas_metres_in_a_degrees_file_are_refused(tmp_path: Path) -> None:
    """A GeoJSON drawn in British National Grid metres without a 'crs' member (GeoJSON means
    WGS84 degrees) was imported as a polygon of Infinity coordinates when no force area was
    configured, and refused as 'outside the force area' when one was. It is refused saying the
    coordinates are not degrees and how to save the file."""
    p = tmp_path / "bng.geojson"
    p.write_text(
        '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": '
        '{"name": "Clock Tower"}, "geometry": {"type": "Polygon", "coordinates": [[[458000, '
        "304000], [458100, 304000], [458100, 304100], [458000, 304100], [458000, 304000]]]}}]}"
    )
    for bbox in (None, (-8.7, 49.8, 1.9, 60.95)):
        with pytest.raises(InputError, match=r"458000, 304000\) are not longitude/latitude"):
            read_areas(p, "EPSG:27700", bbox=bbox)


def test_hex_hot_spots_never_touch() -> None:
    """On hexagons, cells touching a hot spot became hot spots of their own beside it: the hot
    spot's outline is snapped to a millimetre when cells are merged, hexagon corners are not on
    that millimetre lattice, and the snapped outline could lie a few hundredths of a millimetre
    from a neighbour, which then was not barred (a 1e-6 m test). Barring is now measured from the
    cells themselves. Twenty clusters of a seed (10 crimes), a merged neighbour (6) and a
    neighbour of that too weak to merge (4): each cluster gives one hot spot, none touching."""
    from patrolwise.target.grid import Grid

    g = Grid(458000.123456, 304000.654321, 50.0, 40, 40, "hex")
    cx, cy = g.centres()
    xs, ys = [], []
    for k in range(20):
        r, c = 2 + 4 * (k // 5), 2 + 7 * (k % 5)
        a = r * g.ncols + c
        b = a + 1  # east of the seed
        # a neighbour of b in the row above (a slanted shared edge), not touching a
        cc = next(int(u) for u in g.neighbours(b) if u > b + 1 and u not in g.neighbours(a))
        for u, n in ((a, 10), (b, 6), (cc, 4)):
            xs += [cx[u]] * n
            ys += [cy[u]] * n
    crimes = pd.DataFrame({"x": xs, "y": ys, "harm": 1.0})
    s = find_surface(crimes, method="count", weight="count", grid=g)
    hs = select_hotspots(s, 60, max_size=200.0)
    geoms = hs.geometry.to_numpy()
    touching = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    assert (touching[0] == touching[1]).all(), hs[["unit_ids", "count"]]
    assert len(hs) == 20 and (hs["count"] == 16).all()

"""User units: street segments (snap distance) and polygons read from files; Gi* on them."""

from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from patrolwise.errors import InputError
from patrolwise.target.gistar import gistar_z
from patrolwise.target.surface import find_surface
from patrolwise.target.units import neighbour_weights, read_units

X0, Y0 = 458000.0, 304000.0


def _segments() -> gpd.GeoDataFrame:
    # a street grid: 6 east-west and 6 north-south streets 100 m apart, cut at junctions
    lines, names = [], []
    for i in range(6):
        for j in range(5):
            lines.append(
                shapely.LineString(
                    [(X0 + j * 100, Y0 + i * 100), (X0 + (j + 1) * 100, Y0 + i * 100)]
                )
            )
            names.append(f"East {i}-{j}")
            lines.append(
                shapely.LineString(
                    [(X0 + i * 100, Y0 + j * 100), (X0 + i * 100, Y0 + (j + 1) * 100)]
                )
            )
            names.append(f"North {i}-{j}")
    return gpd.GeoDataFrame({"name": names}, geometry=lines, crs="EPSG:27700")


def test_segments_assignment_and_snap(tmp_path: Path) -> None:
    segs = _segments()
    p = tmp_path / "streets.gpkg"
    segs.to_file(p)
    units = read_units(p, "EPSG:27700")
    assert units["name"].tolist() == segs["name"].tolist()
    crimes = pd.DataFrame(
        {
            "x": [X0 + 50, X0 + 50, X0 + 50, X0 + 250],
            "y": [Y0 + 3, Y0 - 20, Y0 + 25, Y0 + 500 + 80],  # last one 80 m from any street
            "harm": [1.0, 2.0, 4.0, 8.0],
        }
    )
    s = find_surface(crimes, method="count", weight="harm", units=units, snap=30.0)
    t = s.table.set_index("name")
    assert t.loc["East 0-0", "count"] == 3 and t.loc["East 0-0", "harm"] == 7.0
    assert t["count"].sum() == 3
    assert any("fall in no unit" in n for n in s.notes)
    assert t.loc["East 0-0", "length_m"] == pytest.approx(100.0)


def test_segment_weights_touching_ends() -> None:
    segs = _segments()
    w = neighbour_weights(np.asarray(segs.geometry), 0.0)
    names = segs["name"].tolist()
    i = names.index("East 2-2")  # interior street: 2 collinear + 4 crossing at its two ends
    assert w[[i], :].sum() == 1 + 6
    assert (w.diagonal() == 1).all()
    assert (w != w.T).nnz == 0


def test_gistar_on_segments_matches_esda() -> None:
    esda = pytest.importorskip("esda")
    libpysal = pytest.importorskip("libpysal")
    segs = _segments()
    rng = np.random.default_rng(4)
    y = rng.poisson(2.0, len(segs)).astype(float)
    w = neighbour_weights(np.asarray(segs.geometry), 0.0)
    # libpysal weights built independently from the same rule (segments that touch)
    neigh = {
        i: [j for j in range(len(segs)) if j != i and segs.geometry[i].intersects(segs.geometry[j])]
        for i in range(len(segs))
    }
    wl = libpysal.weights.W(neigh, silence_warnings=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = esda.G_Local(y, wl, transform="B", star=True, permutations=0).Zs
    assert np.abs(gistar_z(y, w) - ref).max() < 1e-9


def test_read_units_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        read_units(tmp_path / "none.geojson", "EPSG:27700")
    pts = gpd.GeoDataFrame(geometry=[shapely.Point(0, 0)], crs="EPSG:27700")
    p = tmp_path / "points.gpkg"
    pts.to_file(p)
    with pytest.raises(InputError, match="polygons or lines"):
        read_units(p, "EPSG:27700")
    bad = tmp_path / "bad.geojson"
    bad.write_text("{not json")
    with pytest.raises(InputError, match="cannot read"):
        read_units(bad, "EPSG:27700")


def test_kde_refuses_units() -> None:
    crimes = pd.DataFrame({"x": [X0 + 50, X0 + 150], "y": [Y0, Y0], "harm": 1.0})
    with pytest.raises(InputError, match="kernel density needs a grid"):
        find_surface(crimes, method="kde", units=_segments())


def test_crime_on_a_shared_edge_counts_once() -> None:
    polys = gpd.GeoDataFrame(
        {"name": ["west", "east"]},
        geometry=[
            shapely.box(X0, Y0, X0 + 100, Y0 + 100),
            shapely.box(X0 + 100, Y0, X0 + 200, Y0 + 100),
        ],
        crs="EPSG:27700",
    )
    crimes = pd.DataFrame({"x": [X0 + 100, X0 + 150], "y": [Y0 + 50, Y0 + 50], "harm": 1.0})
    s = find_surface(crimes, method="count", units=polys)
    assert s.table["count"].tolist() == [1, 1]


def test_read_units_refuses_invalid_polygons_and_mixed_kinds(tmp_path: Path) -> None:
    """A self-intersecting ('bow-tie') unit was used as drawn: shapely gives it an area of 0, so
    its density was blank and the crimes in one of its lobes were judged against a shape that is
    not the place; 'hotspots import' refuses the same polygon. Polygons and street segments in
    one file were matched as if all were polygons, so crimes near a segment fell in no unit. Both
    are one clear line naming the feature (or the kinds found)."""
    bow = shapely.Polygon([(X0, Y0), (X0 + 100, Y0 + 100), (X0 + 100, Y0), (X0, Y0 + 100)])
    p = tmp_path / "bow.gpkg"
    gpd.GeoDataFrame(
        {"name": ["ok", "bow"]}, geometry=[shapely.box(X0, Y0, X0 + 50, Y0 + 50), bow],
        crs="EPSG:27700",
    ).to_file(p)  # fmt: skip
    with pytest.raises(InputError, match=r"feature 2 \('bow'\) is not a valid polygon"):
        read_units(p, "EPSG:27700")
    mixed = tmp_path / "mixed.gpkg"
    gpd.GeoDataFrame(
        {"name": ["street", "block"]},
        geometry=[shapely.LineString([(X0, Y0), (X0 + 100, Y0)]), shapely.box(X0, Y0, X0 + 9, Y0 + 9)],
        crs="EPSG:27700",
    ).to_file(mixed)  # fmt: skip
    with pytest.raises(InputError, match="all polygons or all lines"):
        read_units(mixed, "EPSG:27700")


def test_crimes_outside_polygon_units_are_not_said_to_be_far_from_a_segment() -> None:
    """With polygon units the note on crimes in no unit said they were 'more than 50 m from
    every segment': --snap only applies to street segments, and an analyst with beat polygons
    went looking for segments. Polygons say the crimes are outside every polygon."""
    polys = gpd.GeoDataFrame(
        {"name": ["a", "b"]},
        geometry=[shapely.box(X0, Y0, X0 + 100, Y0 + 100), shapely.box(X0 + 100, Y0, X0 + 200, Y0 + 100)],
        crs="EPSG:27700",
    )  # fmt: skip
    crimes = pd.DataFrame({"x": [X0 + 50, X0 + 150, X0 + 900], "y": [Y0 + 50] * 3, "harm": 1.0})
    notes: list[str] = []
    find_surface(crimes, method="count", units=polys, notes=notes)
    assert "1 of 3 crimes fall in no unit (outside every polygon)" in notes
    notes = []
    crimes = pd.DataFrame({"x": [X0 + 50, X0 + 150], "y": [Y0 + 5, Y0 + 900], "harm": 1.0})
    find_surface(crimes, method="count", units=_segments(), notes=notes)
    assert "1 of 2 crimes fall in no unit (more than 50 m from every segment)" in notes


def test_read_units_metres_in_a_degrees_file_are_refused(tmp_path: Path) -> None:
    """Street segments in metres in a GeoJSON without a 'crs' member became lines of Infinity
    coordinates; every crime then fell in no unit. Refused, saying the coordinates are not
    degrees."""
    p = tmp_path / "segments.geojson"
    p.write_text(
        '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, '
        '"geometry": {"type": "LineString", "coordinates": [[458000, 304000], [458100, 304000]]}}]}'
    )
    with pytest.raises(InputError, match=r"458000, 304000\) are not longitude/latitude"):
        read_units(p, "EPSG:27700")


def test_snap_and_neighbour_distance_must_not_be_negative() -> None:
    """'--units streets.gpkg --snap -5' (or --snap 0) ended in a shapely ValueError traceback
    ('max_distance must be greater than 0'); '--neighbour-distance -5' with units was taken as
    'touching' without a word. Both are one clear line."""
    crimes = pd.DataFrame({"x": [X0 + 50, X0 + 150, X0 + 250], "y": [Y0 + 5] * 3, "harm": 1.0})
    for snap in (-5.0, 0.0, float("nan")):
        with pytest.raises(InputError, match="--snap must be a positive number of metres"):
            find_surface(crimes, method="count", units=_segments(), snap=snap)
    with pytest.raises(InputError, match="--neighbour-distance must not be negative"):
        find_surface(crimes, method="gistar", units=_segments(), neighbour_distance=-5.0)
    assert (
        find_surface(crimes, method="count", units=_segments(), snap=10.0).table["count"].sum() == 3
    )

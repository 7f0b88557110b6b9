"""User-supplied units (polygons or street segments): reading, assigning crimes, Gi* weights.

police.uk coordinates are snapped to anonymised street points, so for a city centre street
segments often describe places better than fine grid cells. Polygons take the crimes they
contain (a crime on a shared edge counts once, in the first polygon of the file that covers it,
so units stay a partition for Gi*); segments take the crimes whose nearest segment is within
``snap`` metres (the nearest one only).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from numpy.typing import ArrayLike, NDArray

from ..errors import InputError
from ..io.areas_io import refuse_invalid

#: default distance from a crime to the street segment it is assigned to
DEFAULT_SNAP = 50.0


def read_units(path: str | Path, crs: str, *, id_field: str | None = None) -> gpd.GeoDataFrame:
    """Units from GeoJSON or GeoPackage, reprojected to ``crs``: ``unit_id, name, geometry``.

    ``name`` is taken from a ``name`` column when there is one, else from ``id_field``. Units
    are all polygons or all street segments; an invalid one (edges crossing) is refused.
    """
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: units file not found")
    try:
        gdf = gpd.read_file(p)
    except Exception as exc:
        raise InputError(f"{p}: cannot read as GeoJSON or GeoPackage ({exc})") from exc
    if gdf.empty:
        raise InputError(f"{p}: the units file has no features")
    bad = gdf.geometry.isna() | gdf.geometry.is_empty
    if bad.any():
        raise InputError(
            f"{p}: feature {int(np.flatnonzero(bad.to_numpy())[0]) + 1} has no geometry; "
            "remove it or draw it"
        )
    if gdf.crs is not None and gdf.crs.is_geographic:
        b = gdf.total_bounds
        if not ((np.abs(b[[0, 2]]) <= 180).all() and (np.abs(b[[1, 3]]) <= 90).all()):
            # metres in a file that says degrees: reprojected they become Infinity
            raise InputError(
                f"{p}: coordinates like ({b[0]:.0f}, {b[1]:.0f}) are not longitude/latitude "
                f"degrees, though the file says {gdf.crs.to_string()} (a GeoJSON without a "
                "'crs' always does): save it in its own coordinate system (for example a "
                "GeoPackage in EPSG:27700) or as GeoJSON in EPSG:4326"
            )
    if gdf.crs is None:
        b = gdf.total_bounds
        if abs(b[0]) <= 180 and abs(b[2]) <= 180 and abs(b[1]) <= 90 and abs(b[3]) <= 90:
            gdf = gdf.set_crs("EPSG:4326")
        else:
            gdf = gdf.set_crs(crs)
    gdf = gdf.to_crs(crs)
    kinds = set(gdf.geom_type)
    if not kinds <= {"Polygon", "MultiPolygon", "LineString", "MultiLineString"}:
        raise InputError(
            f"{p}: units must be polygons or lines (street segments), found {sorted(kinds)}"
        )
    if kinds & {"Polygon", "MultiPolygon"} and kinds & {"LineString", "MultiLineString"}:
        # crimes are matched to polygons by containment and to segments by distance, not both
        raise InputError(
            f"{p}: units must be all polygons or all lines (street segments), found "
            f"{sorted(kinds)}: put them in two files"
        )
    if id_field is not None and id_field not in gdf.columns:
        raise InputError(f"{p}: no column {id_field!r}; columns are {list(gdf.columns)}")
    if "name" in gdf.columns:
        names = gdf["name"].astype(str)
    elif id_field is not None:
        names = gdf[id_field].astype(str)
    else:
        names = pd.Series([f"unit {i + 1}" for i in range(len(gdf))], index=gdf.index)
    # a bow-tie has area 0 and lobes that are not the place: refused, as hot spots are
    refuse_invalid(p, np.asarray(gdf.geometry.to_numpy()), names.tolist())
    return gpd.GeoDataFrame(
        {"unit_id": np.arange(len(gdf)), "name": names.to_numpy()},
        geometry=gdf.geometry.to_numpy(),
        crs=crs,
    )


def is_lines(geoms: ArrayLike) -> bool:
    kinds = set(shapely.get_type_id(np.asarray(geoms)).tolist())
    return kinds <= {1, 5}  # LineString, MultiLineString


def assign_points(
    geoms: ArrayLike, x: ArrayLike, y: ArrayLike, *, snap: float = DEFAULT_SNAP
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """(point index, unit index) pairs: points inside polygons, or nearest line within ``snap``."""
    g = np.asarray(geoms)
    pts = shapely.points(np.asarray(x, float), np.asarray(y, float))
    tree = shapely.STRtree(g)
    if is_lines(g):
        idx = tree.query_nearest(pts, max_distance=snap, all_matches=False)
        return idx[0].astype(np.int64), idx[1].astype(np.int64)
    pi, ui = tree.query(pts, predicate="intersects")
    # a crime on a shared edge counts once, in the first unit of the file that covers it
    order = np.lexsort((ui, pi))
    pi, ui = pi[order], ui[order]
    first = np.ones(pi.size, dtype=bool)
    first[1:] = pi[1:] != pi[:-1]
    return pi[first].astype(np.int64), ui[first].astype(np.int64)


def sum_by_unit(
    n_units: int, pairs: tuple[NDArray[np.int64], NDArray[np.int64]], weights: ArrayLike | None
) -> NDArray[np.float64]:
    pi, ui = pairs
    w = None if weights is None else np.asarray(weights, float)[pi]
    return np.bincount(ui, weights=w, minlength=n_units).astype(float)


def neighbour_weights(geoms: ArrayLike, distance: float = 0.0) -> sp.csr_array:
    """Binary weights (self included): 1 where two units are within ``distance`` metres of each
    other (0 = touching or overlapping, the polygon "queen" rule; for segments, sharing an end).
    """
    g = np.asarray(geoms)
    tree = shapely.STRtree(g)
    if distance > 0:
        i, j = tree.query(g, predicate="dwithin", distance=distance)
    else:
        i, j = tree.query(g, predicate="intersects")
    n = len(g)
    ii = np.concatenate([i, np.arange(n)])
    jj = np.concatenate([j, np.arange(n)])
    w = sp.csr_array((np.ones(ii.size), (ii, jj)), shape=(n, n))
    w.data[:] = 1.0  # duplicates (self found by the query too) collapse to 1
    return w


def centroid_weights(x: ArrayLike, y: ArrayLike, distance: float) -> sp.csr_array:
    """Binary weights (self included) between points (for example grid centres) within distance."""
    from scipy.spatial import cKDTree

    pts = np.column_stack([np.asarray(x, float), np.asarray(y, float)])
    m = cKDTree(pts).sparse_distance_matrix(
        cKDTree(pts), distance * (1 + 1e-9), output_type="coo_matrix"
    )
    n = len(pts)
    ii = np.concatenate([m.row, np.arange(n)])
    jj = np.concatenate([m.col, np.arange(n)])
    w = sp.csr_array((np.ones(ii.size), (ii, jj)), shape=(n, n))
    w.data[:] = 1.0
    return w

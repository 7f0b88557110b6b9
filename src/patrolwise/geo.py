"""Coordinate handling: WGS84 in, projected metres for every distance and area computation.

Transformers are cached because building one costs ~1 ms and imports call them per chunk.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pyproj
from numpy.typing import ArrayLike, NDArray

from .errors import InputError

WGS84 = "EPSG:4326"


@lru_cache(maxsize=16)
def _transformer(src: str, dst: str) -> pyproj.Transformer:
    return pyproj.Transformer.from_crs(src, dst, always_xy=True)


def check_projected(crs: str) -> None:
    """Refuse a geographic CRS where metres are needed (a cell of '100' degrees is nonsense)."""
    c = pyproj.CRS.from_user_input(crs)
    if not c.is_projected:
        raise InputError(
            f"CRS {crs} is geographic (degrees); distances need a projected CRS in metres, "
            "such as EPSG:27700 (British National Grid): set PATROLWISE_CRS"
        )


def to_projected(
    lon: ArrayLike, lat: ArrayLike, crs: str = "EPSG:27700"
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Longitude/latitude (degrees) to projected x/y (metres)."""
    check_projected(crs)
    x, y = _transformer(WGS84, crs).transform(
        np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    )
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float)


def to_wgs84(
    x: ArrayLike, y: ArrayLike, crs: str = "EPSG:27700"
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Projected x/y (metres) to longitude/latitude (degrees)."""
    lon, lat = _transformer(crs, WGS84).transform(
        np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    )
    return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)


@lru_cache(maxsize=16)
def projected_extent(crs: str) -> tuple[float, float, float, float] | None:
    """The area of use of ``crs`` as (min x, min y, max x, max y) in its own units, or None when
    pyproj knows none (a bare PROJ string).

    The area of use is EPSG's extent of the CRS, given in degrees; its corners and edges are
    projected (``transform_bounds``), so the box holds every place the CRS is meant for. For the
    British National Grid (EPSG:27700: Great Britain, the Isle of Man and the UK offshore to
    49.75..61.01 N, 9.01 W..2.01 E) it is easting -104,729..688,806 and northing
    -16,628..1,256,616 m. A coordinate outside it is no place the grid describes: a wrong grid,
    a unit or a digit out.
    """
    area = pyproj.CRS.from_user_input(crs).area_of_use
    if area is None:
        return None
    x0, y0, x1, y1 = _transformer(WGS84, crs).transform_bounds(*area.bounds, densify_pts=21)
    return float(x0), float(y0), float(x1), float(y1)


def transform_geometry(geom, src: str, dst: str):  # type: ignore[no-untyped-def]
    """Reproject a shapely geometry (any type) between two CRS."""
    import shapely

    t = _transformer(src, dst)
    return shapely.transform(geom, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))


def in_bbox(
    lon: ArrayLike, lat: ArrayLike, bbox: tuple[float, float, float, float]
) -> NDArray[np.bool_]:
    """Where (lon, lat) lies in ``bbox`` (min lon, min lat, max lon, max lat), edges included."""
    lo = np.asarray(lon, dtype=float)
    la = np.asarray(lat, dtype=float)
    x0, y0, x1, y1 = bbox
    return np.asarray((lo >= x0) & (lo <= x1) & (la >= y0) & (la <= y1), dtype=bool)


def swapped_lonlat(
    lon: ArrayLike, lat: ArrayLike, bbox: tuple[float, float, float, float]
) -> NDArray[np.bool_]:
    """Where latitude and longitude look swapped: (lon, lat) is outside ``bbox`` (the force area,
    ``force_bbox`` in the settings) but (lat, lon) would be inside it.

    The one rule for every input that gives WGS84 positions (crime files, track files, live GPS):
    such a row is rejected naming the swap, never silently swapped back. NaN is never swapped.
    """
    return ~in_bbox(lon, lat, bbox) & in_bbox(lat, lon, bbox)


def looks_like_lonlat(a: ArrayLike, b: ArrayLike) -> bool:
    """True when every finite pair fits longitude/latitude ranges (used to catch unprojected input)."""
    a_ = np.asarray(a, dtype=float)
    b_ = np.asarray(b, dtype=float)
    ok = np.isfinite(a_) & np.isfinite(b_)
    if not ok.any():
        return False
    return bool((np.abs(a_[ok]) <= 180).all() and (np.abs(b_[ok]) <= 90).all())

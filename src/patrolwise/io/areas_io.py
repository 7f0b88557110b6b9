"""Reading and writing areas and hot spot cells: GeoJSON, GeoPackage, CSV and Parquet.

GeoJSON is written in WGS84 longitude/latitude (RFC 7946: every web map and QGIS read it so);
GeoPackage and GeoParquet keep the projected CRS; CSV carries the geometry as WKT in the
projected CRS plus the centroid's longitude and latitude, for spreadsheets.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from ..errors import InputError
from ..geo import in_bbox, swapped_lonlat

FORMATS = {
    ".geojson": "geojson",
    ".json": "geojson",
    ".gpkg": "gpkg",
    ".csv": "csv",
    ".parquet": "parquet",
}


def format_of(path: str | Path) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise InputError(
            f"{path}: unknown output format {suffix!r}; use .geojson, .gpkg, .csv or .parquet"
        )
    return FORMATS[suffix]


def write_areas(gdf: gpd.GeoDataFrame, path: str | Path, *, layer: str = "hotspots") -> Path:
    """Write ``gdf`` (projected, with a CRS) to ``path``; the format follows the file suffix."""
    p = Path(path)
    fmt = format_of(p)
    if gdf.crs is None:
        raise InputError("cannot write areas without a CRS")
    p.parent.mkdir(parents=True, exist_ok=True)
    g = gdf.copy()
    for c in g.columns:
        if c != g.geometry.name and g[c].dtype == object:
            g[c] = g[c].map(lambda v: v if v is None or isinstance(v, str) else str(v))
    if fmt == "geojson":
        if p.exists():
            p.unlink()
        g.to_crs("EPSG:4326").to_file(p, driver="GeoJSON")
    elif fmt == "gpkg":
        g.to_file(p, driver="GPKG", layer=layer)
    elif fmt == "parquet":
        g.to_parquet(p)
    else:
        cent = shapely.centroid(np.asarray(g.geometry.to_numpy()))
        ll = gpd.GeoSeries(cent, crs=g.crs).to_crs("EPSG:4326")
        df = pd.DataFrame(g.drop(columns=g.geometry.name))
        df["lon"] = ll.x.round(6).to_numpy()
        df["lat"] = ll.y.round(6).to_numpy()
        df["wkt"] = shapely.to_wkt(np.asarray(g.geometry.to_numpy()), rounding_precision=3)
        df.to_csv(p, index=False)
    return p


def refuse_invalid(path: object, geoms: NDArray[np.object_], names: list[str]) -> None:
    """Refuse a file whose first invalid feature (a bow-tie polygon has area 0 and lobes that are
    not the place) is named by number, name and GEOS's reason, with how to mend it."""
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        i = int(np.flatnonzero(invalid)[0])
        lines = (shapely.GeometryType.LINESTRING, shapely.GeometryType.MULTILINESTRING)
        kind = "line" if shapely.get_type_id(geoms[i]) in lines else "polygon"
        raise InputError(
            f"{path}: feature {i + 1} ({names[i]!r}) is not a valid {kind} "
            f"({shapely.is_valid_reason(geoms[i])}): redraw it, or repair it (QGIS: Fix Geometries)"
        )


def read_areas(
    path: str | Path,
    crs: str,
    *,
    name_field: str | None = None,
    bbox: tuple[float, float, float, float] | None = None,
) -> gpd.GeoDataFrame:
    """Areas drawn by hand (GeoJSON, GeoPackage or GeoParquet), reprojected to ``crs``:
    ``name, geometry``.

    Names come from ``name_field``, else a ``name``/``Name``/``NAME`` column; features without a
    name are called "area N" (their position in the file). A polygon that is not valid (edges
    crossing) is refused, naming the feature and why. With ``bbox`` (the force area in WGS84,
    as for crimes and GPS fixes), a polygon outside it, or inside it only with latitude and
    longitude swapped, is refused too: it would match no crime and no patrol.
    """
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: file not found")
    if p.suffix.lower() not in (".geojson", ".json", ".gpkg", ".parquet"):
        raise InputError(
            f"{p}: hot spots are imported from GeoJSON, GeoPackage or GeoParquet files"
        )
    try:
        # GeoParquet too: it is what ``write_areas`` (``hotspots find --out x.parquet``) writes
        gdf = gpd.read_parquet(p) if p.suffix.lower() == ".parquet" else gpd.read_file(p)
    except Exception as exc:
        raise InputError(f"{p}: cannot read ({exc})") from exc
    if gdf.empty:
        raise InputError(f"{p}: no features")
    empty = gdf.geometry.isna() | gdf.geometry.is_empty
    if empty.any():
        raise InputError(
            f"{p}: feature {int(np.flatnonzero(empty.to_numpy())[0]) + 1} has no geometry"
        )
    kinds = set(gdf.geom_type)
    if not kinds <= {"Polygon", "MultiPolygon"}:
        raise InputError(f"{p}: hot spots must be polygons, found {sorted(kinds)}")
    if gdf.crs is not None and gdf.crs.is_geographic:
        _check_degrees(p, gdf.total_bounds, gdf.crs.to_string())
    if gdf.crs is None:
        b = gdf.total_bounds
        gdf = gdf.set_crs(
            "EPSG:4326"
            if (np.abs(b[[0, 2]]) <= 180).all() and (np.abs(b[[1, 3]]) <= 90).all()
            else crs
        )
    field = name_field or next((c for c in ("name", "Name", "NAME") if c in gdf.columns), None)
    if name_field is not None and name_field not in gdf.columns:
        raise InputError(f"{p}: no field {name_field!r}; fields are {list(gdf.columns)}")
    if field is None:
        names = [f"area {i + 1}" for i in range(len(gdf))]
    else:
        col = gdf[field]
        known = col.dropna()
        if pd.api.types.is_float_dtype(col) and np.isfinite(known).all() and (known % 1 == 0).all():
            # whole numbers with a gap read as floats: beat 12 is named '12', not '12.0'
            col = col.astype("Int64")
        names = [
            f"area {i + 1}" if pd.isna(v) or not str(v).strip() or str(v) == "nan" else str(v)
            for i, v in enumerate(col.tolist())
        ]
    if len(set(names)) < len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise InputError(f"{p}: names must be unique; repeated: {', '.join(dup)}")
    out = gpd.GeoDataFrame({"name": names}, geometry=gdf.geometry.to_numpy(), crs=gdf.crs)
    refuse_invalid(p, np.asarray(out.geometry.to_numpy()), list(names))
    if bbox is not None:
        _check_force_area(p, out, names, bbox)
    return out.to_crs(crs)


def _check_degrees(p: Path, b: np.ndarray, crs: str) -> None:
    """Refuse metres in a file that says degrees (GeoJSON without a 'crs' member always does):
    reprojected they become Infinity, or a polygon far outside the force area."""
    if (np.abs(b[[0, 2]]) <= 180).all() and (np.abs(b[[1, 3]]) <= 90).all():
        return
    raise InputError(
        f"{p}: coordinates like ({b[0]:.0f}, {b[1]:.0f}) are not longitude/latitude degrees, "
        f"though the file says {crs} (a GeoJSON without a 'crs' always does): save it in its "
        "own coordinate system (for example a GeoPackage in EPSG:27700) or as GeoJSON in EPSG:4326"
    )


def _check_force_area(
    p: Path, gdf: gpd.GeoDataFrame, names: list[str], bbox: tuple[float, float, float, float]
) -> None:
    """Refuse the first polygon not wholly inside ``bbox`` (WGS84), naming a lat/lon swap."""
    b = gdf.to_crs("EPSG:4326").bounds.to_numpy()
    inside = in_bbox(b[:, 0], b[:, 1], bbox) & in_bbox(b[:, 2], b[:, 3], bbox)
    if inside.all():
        return
    i = int(np.flatnonzero(~inside)[0])
    if (swapped_lonlat(b[i, 0], b[i, 1], bbox) & swapped_lonlat(b[i, 2], b[i, 3], bbox)).all():
        why = "longitude and latitude look swapped: swap the coordinates of each point"
    else:
        why = f"outside the force area {bbox} (wrong coordinate system, or another force's?)"
    raise InputError(f"{p}: feature {i + 1} ({names[i]!r}): {why}")

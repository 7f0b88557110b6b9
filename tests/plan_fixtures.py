"""Small hand-checkable hot spot layouts shared by the plan tests."""

from __future__ import annotations

import geopandas as gpd
import shapely

X0, Y0 = 458000.0, 304000.0  # Leicester city centre, British National Grid


def line_of_hotspots(n: int, spacing: float = 400.0, radius: float = 40.0) -> gpd.GeoDataFrame:
    """``n`` round hot spots on an east-west line, ``spacing`` metres apart (5 min at 80 m/min)."""
    return gpd.GeoDataFrame(
        {"area_id": list(range(1, n + 1)), "name": [f"Hot spot {i}" for i in range(1, n + 1)]},
        geometry=[shapely.Point(X0 + i * spacing, Y0).buffer(radius) for i in range(n)],
        crs="EPSG:27700",
    )

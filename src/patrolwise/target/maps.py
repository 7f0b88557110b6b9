"""Static maps of a surface and its hot spots (matplotlib, no tiles: works offline, prints well)."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np

from .surface import Surface

CLASS_COLOURS = {"hot": "#c0392b", "cold": "#2e6fba", "not significant": "#eeeeee", "": "#eeeeee"}


def plot_surface(
    surface: Surface,
    ax: Any,
    *,
    column: str | None = None,
    hotspots: gpd.GeoDataFrame | None = None,
    reference: gpd.GeoDataFrame | None = None,
    bounds: tuple[float, float, float, float] | None = None,
    title: str = "",
) -> None:
    """Draw units coloured by Gi* class (gistar) or by ``column`` (default density), hot spots
    outlined in black with their rank, and ``reference`` areas (for example planted or drawn hot
    spots) dashed in blue. ``bounds`` (xmin, ymin, xmax, ymax) zooms in."""
    t = surface.table
    ids = np.arange(len(t))
    if bounds is not None:
        x0, y0, x1, y1 = bounds
        ids = ids[
            (t["x"].to_numpy() >= x0)
            & (t["x"].to_numpy() <= x1)
            & (t["y"].to_numpy() >= y0)
            & (t["y"].to_numpy() <= y1)
        ]
    cells = surface.geoframe(ids)
    if column is None and surface.method == "gistar":
        colours = cells["class"].map(CLASS_COLOURS).fillna("#eeeeee")
        cells.plot(ax=ax, color=colours.to_list(), edgecolor="white", linewidth=0.2)
    else:
        col = column or "density"
        cells.plot(ax=ax, column=col, cmap="YlOrRd", edgecolor="none", legend=True,
                   legend_kwds={"shrink": 0.6, "label": col})  # fmt: skip
    if reference is not None and len(reference):
        reference.boundary.plot(ax=ax, color="#1d4e89", linewidth=1.2, linestyle="--")
    if hotspots is not None and len(hotspots):
        hotspots.boundary.plot(ax=ax, color="black", linewidth=2.0)
        for r, g in zip(hotspots["rank"], hotspots.geometry, strict=True):
            c = g.representative_point()
            if bounds is None or (bounds[0] <= c.x <= bounds[2] and bounds[1] <= c.y <= bounds[3]):
                ax.annotate(str(r), (c.x + 40, c.y + 40), fontsize=9, weight="bold")
    if bounds is not None:
        ax.set_xlim(bounds[0], bounds[2])
        ax.set_ylim(bounds[1], bounds[3])
    ax.set_aspect("equal")
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("easting (m)", fontsize=8)
    ax.set_ylabel("northing (m)", fontsize=8)
    ax.tick_params(labelsize=7)

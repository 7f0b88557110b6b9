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
        hotspots.boundary.plot(ax=ax, color="black", linewidth=1.6)
        for r, g in zip(hotspots["rank"], hotspots.geometry, strict=True):
            c = g.representative_point()
            ax.annotate(str(r), (c.x, c.y), fontsize=8, ha="center", va="center", weight="bold")
    ax.set_aspect("equal")
    ax.set_title(title, fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])

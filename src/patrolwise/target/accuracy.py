"""How well a hot spot set forecasts a later period: hit rate, PAI and PEI.

- hit rate = n / N: the share of the later period's crimes inside the hot spots;
- PAI (Chainey, Tompson & Uhlig 2008) = (n / N) / (a / A), a the hot spots' area, A the study area;
- PEI (Hunt 2016) = PAI / PAI*, where PAI* is the best PAI any set of grid cells of the same total
  area could have reached on the later crimes (the top cells of that period, hindsight).

Each is also given for harm (crimes weighted by harm).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..errors import InputError
from .grid import Grid, bin_points


def forecast_accuracy(
    hotspots: gpd.GeoDataFrame,
    later: pd.DataFrame,
    grid: Grid,
    *,
    study_area_m2: float | None = None,
) -> dict[str, float]:
    """Hit rate, PAI and PEI (count and harm) of ``hotspots`` on the ``later`` crimes.

    ``grid`` (usually the surface the hot spots came from) defines the study area (all its cells,
    unless ``study_area_m2`` is given) and the cells over which PEI's best case is found.
    """
    if later.empty:
        raise InputError("no crimes in the later period: nothing to forecast")
    if hotspots.empty:
        raise InputError("no hot spots to assess")
    x = later["x"].to_numpy(float)
    y = later["y"].to_numpy(float)
    harm = (
        pd.to_numeric(later["harm"], errors="coerce").fillna(0.0).to_numpy(float)
        if "harm" in later.columns
        else np.zeros(len(later))
    )
    inside_grid = grid.locate(x, y) >= 0
    x, y, harm = x[inside_grid], y[inside_grid], harm[inside_grid]
    geoms = np.asarray(hotspots.geometry.to_numpy())
    union = shapely.union_all(geoms)
    inside = shapely.contains_xy(union, x, y) | shapely.intersects(union, shapely.points(x, y))
    a = float(shapely.area(union))
    big_a = float(study_area_m2) if study_area_m2 else grid.n * grid.cell_area
    n_all, h_all = float(len(x)), float(harm.sum())
    n_in, h_in = float(inside.sum()), float(harm[inside].sum())
    k = max(1, int(round(a / grid.cell_area)))
    best_n = np.sort(bin_points(grid, x, y))[::-1][:k].sum()
    best_h = np.sort(bin_points(grid, x, y, harm))[::-1][:k].sum()
    area_share = a / big_a
    out = {
        "crimes": n_all,
        "crimes_in_hotspots": n_in,
        "hit_rate": n_in / n_all if n_all else float("nan"),
        "area_share": area_share,
        "pai": (n_in / n_all) / area_share if n_all else float("nan"),
        "pei": n_in / best_n if best_n else float("nan"),
        "harm": h_all,
        "harm_in_hotspots": h_in,
        "harm_hit_rate": h_in / h_all if h_all else float("nan"),
        "harm_pai": (h_in / h_all) / area_share if h_all else float("nan"),
        "harm_pei": h_in / best_h if best_h else float("nan"),
    }
    return out

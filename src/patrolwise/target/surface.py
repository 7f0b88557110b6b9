"""One call from a crimes table to a surface of units (grid cells or user units) with statistics.

``find_surface`` is the Python API behind ``patrolwise hotspots find``: it needs no database.
Every unit gets ``count`` (crimes), ``harm`` (summed harm), ``value`` (the chosen weight),
``density`` (per square kilometre: kernel density for ``kde``, value / area otherwise) and, for
``gistar``, ``z``, ``p``, ``p_adj`` and ``class``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from ..errors import InputError
from . import gistar as gs
from .grid import (
    MAX_CELLS,
    MAX_DEFAULT_CELL,
    Grid,
    bin_points,
    check_points,
    default_cell_cap,
    make_grid,
)
from .kde import choose_bandwidth, kde_grid
from .units import DEFAULT_SNAP, assign_points, is_lines, neighbour_weights, sum_by_unit

METHODS = ("count", "kde", "gistar")
WEIGHTS = ("count", "harm")


@dataclass
class Surface:
    """Units with their statistics, and everything needed to explain how they were made."""

    method: str
    weight: str
    table: pd.DataFrame  # unit_id, x, y (centroid), count, harm, value, density, z, p, p_adj, class
    crs: str
    grid: Grid | None = None
    unit_geoms: NDArray[np.object_] | None = None  # user units only
    crime_unit: NDArray[np.int64] | None = None  # unit of each selected crime (-1: none)
    crimes: pd.DataFrame | None = None  # the selected crimes (x, y, harm, location, ...)
    params: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def score_column(self) -> str:
        """Which column ranks units for selection: density for KDE, otherwise the chosen weight
        (count or harm). Gi* decides eligibility (significantly hot), not rank: a cell with no
        crime beside a busy one can have a high z, but it is not a place to patrol."""
        return "density" if self.method == "kde" else "value"

    def geometries(self, ids: NDArray[np.int64] | None = None) -> NDArray[np.object_]:
        if self.grid is not None:
            return self.grid.polygons(ids)
        assert self.unit_geoms is not None
        return self.unit_geoms if ids is None else self.unit_geoms[np.asarray(ids)]

    def unit_areas(self) -> NDArray[np.float64]:
        if self.grid is not None:
            return np.full(len(self.table), self.grid.cell_area)
        assert self.unit_geoms is not None
        return np.asarray(shapely.area(self.unit_geoms), dtype=float)

    def geoframe(self, ids: NDArray[np.int64] | None = None) -> gpd.GeoDataFrame:
        t = self.table if ids is None else self.table.iloc[np.asarray(ids)]
        return gpd.GeoDataFrame(
            t.reset_index(drop=True), geometry=self.geometries(ids), crs=self.crs
        )

    def neighbour_finder(self) -> Callable[[int], NDArray[np.int64]]:
        """Ids of the units touching a unit (edge or corner): used to merge winning cells."""
        if self.grid is not None:
            return self.grid.neighbours
        assert self.unit_geoms is not None
        w = neighbour_weights(self.unit_geoms, 0.0)

        def find(i: int) -> NDArray[np.int64]:
            row = w.indices[w.indptr[i] : w.indptr[i + 1]]
            return np.asarray(row[row != i], dtype=np.int64)

        return find


def _weights_for(crimes: pd.DataFrame, weight: str, notes: list[str]) -> NDArray[np.float64]:
    if weight not in WEIGHTS:
        raise InputError(f"--weight {weight!r} is not one of {', '.join(WEIGHTS)}")
    if "harm" not in crimes.columns:
        if weight == "harm":
            raise InputError("crimes table has no 'harm' column: use --weight count")
        return np.zeros(len(crimes))
    h = pd.to_numeric(crimes["harm"], errors="coerce").to_numpy(dtype=float)
    missing = ~np.isfinite(h)
    if weight == "harm" and missing.all():
        raise InputError(
            "no selected crime has a harm value (for example anti-social behaviour only): "
            "use --weight count, or import a harm table"
        )
    if weight == "harm" and missing.any():
        notes.append(f"{int(missing.sum()):,} crimes without a harm value count as harm 0")
    if (h[~missing] < 0).any():
        raise InputError("harm values must not be negative; check the harm table")
    return np.where(missing, 0.0, h)


def find_surface(
    crimes: pd.DataFrame,
    *,
    method: str = "gistar",
    weight: str = "count",
    shape: str = "square",
    cell: float | None = None,
    units: gpd.GeoDataFrame | None = None,
    snap: float = DEFAULT_SNAP,
    bandwidth: float | None = None,
    kernel: str = "quartic",
    neighbour_distance: float | None = None,
    permutations: int = 0,
    seed: int | None = 0,
    fdr: str = "bh",
    alpha: float = 0.05,
    max_cells: int = MAX_CELLS,
    largest_default_cell: float = MAX_DEFAULT_CELL,
    grid: Grid | None = None,
    crs: str = "EPSG:27700",
    notes: list[str] | None = None,
) -> Surface:
    """Counts, harm, density and (for gistar) z, p, adjusted p and class for every unit.

    ``crimes`` needs projected ``x, y`` (metres) and, for ``weight="harm"``, ``harm``. Give
    ``units`` (polygons or street segments, projected) to use them instead of a grid; give
    ``grid`` to reuse a grid from another period. ``largest_default_cell`` bounds the cell size
    chosen from the data (``select.largest_cell(max_size)``: one cell fits in a hot spot).
    """
    if method not in METHODS:
        raise InputError(f"--method {method!r} is not one of {', '.join(METHODS)}")
    notes = [] if notes is None else notes
    x = crimes["x"].to_numpy(dtype=float)
    y = crimes["y"].to_numpy(dtype=float)
    check_points(x, y)
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.all():
        notes.append(f"{int((~ok).sum()):,} crimes without coordinates left out")
        crimes = crimes[ok]
        x, y = x[ok], y[ok]
    harm = _weights_for(crimes, weight, notes)
    value_w = harm if weight == "harm" else None
    params: dict[str, Any] = {"method": method, "weight": weight}
    if units is not None:
        if method == "kde":
            raise InputError("kernel density needs a grid; drop --units or use --method gistar")
        geoms = np.asarray(units.geometry.to_numpy())
        # shapely's nearest-line query raises a bare ValueError on these
        if is_lines(geoms) and not snap > 0:
            raise InputError(f"--snap must be a positive number of metres, not {snap}")
        if neighbour_distance is not None and not neighbour_distance >= 0:
            raise InputError(f"--neighbour-distance must not be negative, not {neighbour_distance}")
        pairs = assign_points(geoms, x, y, snap=snap)
        n_units = len(geoms)
        counts = sum_by_unit(n_units, pairs, None)
        harms = sum_by_unit(n_units, pairs, harm)
        unassigned = len(x) - len(np.unique(pairs[0]))
        if unassigned:
            # --snap is for street segments only: polygons take the crimes inside them
            why = (
                f" (more than {snap:g} m from every segment)"
                if is_lines(geoms)
                else " (outside every polygon)"
            )
            notes.append(f"{unassigned:,} of {len(x):,} crimes fall in no unit{why}")
        if counts.sum() == 0:
            raise InputError("no selected crime falls in any of the units: check the units file")
        crime_unit = np.full(len(x), -1, dtype=np.int64)
        crime_unit[pairs[0]] = pairs[1]
        cent = shapely.centroid(geoms)
        cx, cy = shapely.get_x(cent), shapely.get_y(cent)
        areas = np.asarray(shapely.area(geoms), dtype=float)
        lengths = np.asarray(shapely.length(geoms), dtype=float)
        params.update(units=len(geoms), snap=snap)
        g = None
    else:
        g = grid or make_grid(
            x, y, cell, shape=shape, max_cells=max_cells, largest_default=largest_default_cell
        )
        if cell is None and grid is None:
            top = (
                "150 m"
                if largest_default_cell >= MAX_DEFAULT_CELL
                else f"{default_cell_cap(largest_default_cell):g} m, the largest cell within "
                "--max-size"
            )
            notes.append(
                f"cell size {g.cell:g} m chosen from the data (median distance between "
                f"neighbouring crime locations, 25-{top}): {g.nrows} x {g.ncols} = {g.n:,} cells"
            )
        counts = bin_points(g, x, y)
        harms = bin_points(g, x, y, harm)
        crime_unit = g.locate(x, y)
        cx, cy = g.centres()
        areas = np.full(g.n, g.cell_area)
        lengths = None
        if (counts > 0).sum() == 1 and method != "count":
            raise InputError(
                f"all {len(x):,} crimes fall in one {g.cell:g} m cell: a hot spot map needs "
                "crimes in at least two cells; use a smaller --cell or widen the selection"
            )
        params.update(grid=g.as_dict())
    value = harms if weight == "harm" else counts
    table = pd.DataFrame(
        {
            "unit_id": np.arange(len(counts)),
            "x": cx,
            "y": cy,
            "count": counts.astype(np.int64),
            "harm": harms,
            "value": value,
        }
    )
    if units is not None:
        table.insert(1, "name", units["name"].astype(str).to_numpy())
        if lengths is not None and (lengths > 0).all() and (areas == 0).all():
            table["length_m"] = lengths
    safe_area = np.where(areas > 0, areas, np.nan)
    table["density"] = value / safe_area * 1e6
    if method == "kde":
        assert g is not None
        if bandwidth is None:
            bandwidth, rule = choose_bandwidth(x, y, g.cell)
            notes.append(f"bandwidth {bandwidth:,.0f} m chosen from the data: {rule}")
        dens = kde_grid(g, x, y, value_w, bandwidth=bandwidth, kernel=kernel, notes=notes)
        table["density"] = dens * 1e6
        params.update(bandwidth=round(float(bandwidth), 3), kernel=kernel)
    if method == "gistar":
        if g is not None:
            z = gs.gistar_grid_z(g, value, neighbour_distance)
            lag = k = None
            if permutations > 0:
                lag, k = gs.grid_lag_and_k(g, value, neighbour_distance)
            nd = neighbour_distance or (g.cell * (np.sqrt(2) if g.shape == "square" else 1.0))
        else:
            nd = neighbour_distance or 0.0
            w = neighbour_weights(geoms, nd)
            z = gs.gistar_z(value, w)
            lag, k = w @ value, np.asarray(w.sum(axis=1)).ravel()
        res = gs.infer(
            value, z, lag=lag, k=k, permutations=permutations, seed=seed, fdr=fdr, alpha=alpha
        )
        table["z"] = res.z
        table["p"] = res.p
        table["p_adj"] = res.p_adj
        table["class"] = res.cls
        params.update(
            neighbour_distance=round(float(nd), 3),
            p_values=res.p_method,
            fdr=fdr,
            alpha=alpha,
        )
        n_hot = int((res.cls == "hot").sum())
        notes.append(
            f"Gi*: {n_hot:,} hot and {int((res.cls == 'cold').sum()):,} cold units "
            f"(adjusted p < {alpha:g}, {fdr} correction)"
        )
    else:
        for c in ("z", "p", "p_adj"):
            table[c] = np.nan
        table["class"] = ""
    return Surface(
        method=method,
        weight=weight,
        table=table,
        crs=crs,
        grid=g,
        unit_geoms=None if units is None else np.asarray(units.geometry.to_numpy()),
        crime_unit=crime_unit,
        crimes=crimes.reset_index(drop=True),
        params=params,
        notes=notes,
    )

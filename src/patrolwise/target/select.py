"""Choosing the top N micro hot spots from a surface, under rules the analyst sets.

Greedy and explainable: take the best eligible unit as a seed; grow it by the best touching
unit that is itself a winner (eligible, at least ``merge_fraction`` of the seed's score, and for
Gi* classed hot) while the hot spot stays within ``max_size`` metres across; then bar every unit
within ``min_distance`` of it (and every unit touching it) from later hot spots; repeat.

Eligible units: positive score and at least one crime (Gi*: also classed hot), not intersecting an
excluded zone. Scores are the surface's ranking column: density for KDE, otherwise the chosen
weight (count or harm) of the unit itself.
"""

from __future__ import annotations

import math
from collections import Counter

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import ArrayLike

from ..errors import InputError
from .surface import Surface

DEFAULT_MAX_SIZE = 150.0


def width(geom: shapely.Geometry) -> float:
    """Largest distance across a geometry (between two vertices of its convex hull)."""
    hull = shapely.convex_hull(geom)
    pts = shapely.get_coordinates(hull)
    if len(pts) < 2:
        return 0.0
    d = pts[:, None, :] - pts[None, :, :]
    return float(np.sqrt((d**2).sum(-1)).max())


def largest_cell(max_size: float, shape: str = "square") -> float:
    """The largest whole-metre cell that fits in a hot spot ``max_size`` metres across, corner
    to corner: a square's diagonal is sqrt(2) cells, a hexagon's 2 / sqrt(3) cells."""
    fits = max_size / math.sqrt(2.0) if shape == "square" else max_size * math.sqrt(3.0) / 2
    return float(math.floor(fits + 1e-9))


def _street_name(locations: pd.Series) -> str | None:
    vals = [
        str(v).removeprefix("On or near ").strip()
        for v in locations.dropna()
        if str(v).strip() and str(v).strip() != "On or near"
    ]
    vals = [v for v in vals if v and v.lower() not in ("no location", "")]
    if not vals:
        return None
    return Counter(vals).most_common(1)[0][0]


def select_hotspots(
    surface: Surface,
    top: int,
    *,
    max_size: float = DEFAULT_MAX_SIZE,
    min_distance: float = 0.0,
    exclude: ArrayLike | gpd.GeoDataFrame | None = None,
    merge_fraction: float = 0.5,
    name_prefix: str = "HS",
) -> gpd.GeoDataFrame:
    """The top ``top`` hot spots: rank, name, geometry, units merged, count, harm, score.

    Fewer than ``top`` are returned (with a note on the surface) when too few units qualify.
    """
    if top < 1:
        raise InputError(f"--top must be at least 1, not {top}")
    if max_size <= 0:
        raise InputError(f"--max-size must be positive, not {max_size}")
    if min_distance < 0:
        raise InputError(f"--min-distance must not be negative, not {min_distance}")
    if not 0 <= merge_fraction <= 1:
        raise InputError(f"merge fraction must be between 0 and 1, not {merge_fraction}")
    t = surface.table
    score = t[surface.score_column].to_numpy(dtype=float)
    eligible = np.isfinite(score) & (score > 0) & (t["count"].to_numpy() > 0)
    if surface.method == "gistar":
        eligible &= (t["class"] == "hot").to_numpy()
    if surface.grid is not None:
        # measured as every hot spot is, corner to corner: a 120 m square is 170 m across
        g = surface.grid
        across = width(g.polygons(np.array([0]))[0])
        if across > max_size + 1e-6:
            raise InputError(
                f"a {g.cell:g} m cell is {across:,.0f} m across (corner to corner), larger than "
                f"the maximum hot spot size ({max_size:g} m): use a --cell of at most "
                f"{largest_cell(max_size, g.shape):g} m or a larger --max-size"
            )
    cand = np.flatnonzero(eligible)
    geoms = surface.geometries(cand)
    if exclude is not None and len(cand):
        ex = np.asarray(
            exclude.geometry.to_numpy() if isinstance(exclude, gpd.GeoDataFrame) else exclude
        )
        if len(ex):
            hit = shapely.STRtree(ex).query(geoms, predicate="intersects")[0]
            keep = np.ones(len(cand), dtype=bool)
            keep[hit] = False
            cand, geoms = cand[keep], geoms[keep]
    if len(cand) and surface.grid is None:
        sizes = np.array([width(g) for g in geoms])
        too_big = sizes > max_size
        if too_big.all():
            raise InputError(
                f"every eligible unit is wider than the maximum hot spot size ({max_size:g} m): "
                "raise --max-size"
            )
        cand, geoms = cand[~too_big], geoms[~too_big]
    pos = {int(u): i for i, u in enumerate(cand)}
    order = cand[np.argsort(-score[cand], kind="stable")]
    status = np.zeros(len(cand), dtype=np.int8)  # 0 free, 1 used, 2 barred
    neighbours = surface.neighbour_finder()
    tree = shapely.STRtree(geoms)
    spots: list[dict[str, object]] = []
    for seed in order:
        if len(spots) >= top:
            break
        if status[pos[int(seed)]] != 0:
            continue
        region = [int(seed)]
        shape = geoms[pos[int(seed)]]
        floor = merge_fraction * score[seed]
        while True:
            front = {
                int(nb)
                for u in region
                for nb in neighbours(u)
                if int(nb) in pos and status[pos[int(nb)]] == 0 and int(nb) not in region
            }
            front = {u for u in front if score[u] >= floor}
            added = False
            for u in sorted(front, key=lambda u: -score[u]):
                trial = shapely.union_all([shape, geoms[pos[u]]], grid_size=1e-3)
                if width(trial) <= max_size + 1e-6:
                    region.append(u)
                    shape = trial
                    added = True
                    break
            if not added:
                break
        for u in region:
            status[pos[u]] = 1
        # measured from the hot spot's own cells, not from ``shape``: its outline is snapped to
        # a millimetre, hexagon corners are not, and a touching cell could be left free
        own = geoms[[pos[u] for u in region]]
        barred = tree.query(own, predicate="dwithin", distance=max(min_distance, 1e-6))[1]
        status[barred[status[barred] == 0]] = 2
        ids = np.asarray(region, dtype=np.int64)
        spots.append(
            {
                "units": ids,
                "geometry": shapely.union_all(surface.geometries(ids), grid_size=1e-3),
                "score": float(score[seed]),
            }
        )
    if len(spots) < top:
        surface.notes.append(
            f"only {len(spots)} of the {top} hot spots asked for qualify "
            f"({len(cand):,} eligible units)"
        )
    crimes = surface.crimes
    cu = surface.crime_unit
    rows = []
    for rank, sp_ in enumerate(spots, start=1):
        uids = sp_["units"]
        assert isinstance(uids, np.ndarray)
        sub = t.iloc[uids]
        name = f"{name_prefix}{rank}"
        if crimes is not None and cu is not None and "location" in crimes.columns:
            street = _street_name(crimes.loc[np.isin(cu, uids), "location"])
            if street:
                name = f"{name} {street}"
        geom = sp_["geometry"]
        rows.append(
            {
                "rank": rank,
                "name": name,
                "n_units": len(uids),
                "unit_ids": " ".join(str(int(i)) for i in uids),
                "count": int(sub["count"].sum()),
                "harm": float(sub["harm"].sum()),
                "score": sp_["score"],
                "area_m2": float(shapely.area(geom)),
                "width_m": width(geom),
                "geometry": geom,
            }
        )
    cols = [
        "rank",
        "name",
        "n_units",
        "unit_ids",
        "count",
        "harm",
        "score",
        "area_m2",
        "width_m",
        "geometry",
    ]
    return gpd.GeoDataFrame(pd.DataFrame(rows, columns=cols), geometry="geometry", crs=surface.crs)

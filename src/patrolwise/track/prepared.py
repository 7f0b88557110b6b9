"""Hot spots ready for dosage: indexed for the GPS error allowance, built once.

Preparing 1,000 street-scale hot spots (the raster index of :mod:`patrolwise.track.locate`)
takes a large part of the time of measuring a million pings in them. A hot spot set changes
rarely (a force re-targets monthly or quarterly) while dosage over it
is asked for often: every morning's coordinator summary, each dashboard refresh as live pings
arrive, each day of a year-long evaluation. So prepared sets are kept, as geopandas keeps a
frame's spatial index: :func:`prepare_hotspots` returns the kept set when the same geometries,
ids and allowance come again, and builds (on every core) otherwise.

The key is the content, not the frame object: a hash of the coordinates and of each geometry's
structure (type, coordinate count, holes, parts) and precision grid with the ids and the allowance,
and a hit is only taken after :func:`shapely.equals_identical` and the precision grids confirm
every geometry, so a collision or an edited frame can never return another set's index
(``equals_identical`` ignores the grid a geometry was snapped to by ``set_precision``, and the
closest calls are settled by GEOS on the geometry as given, grid and all). A prepared set holds its own copy of the geometries, never the caller's
frame's storage, and is shared between callers and threads, so its arrays are read-only: a write
into one fails instead of changing the next caller's answer.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass, fields

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from ..errors import InputError
from .locate import AreaIndex, build_index
from .parallel import check_workers

#: prepared sets kept (least recently used dropped first), and the bytes they may hold together
CACHE_ENTRIES = 8
CACHE_BYTES = 256 * 2**20


@dataclass(frozen=True)
class HotSpots:
    """Hot spots with their ids and an index of the pings within the allowance of each."""

    area_ids: NDArray[np.int64]
    geoms: NDArray[np.object_]  # as given, for distances between hot spots
    index: AreaIndex

    @property
    def nbytes(self) -> int:
        """Bytes held in the index arrays (the cache's budget counts these)."""
        return sum(
            v.nbytes
            for f in fields(self.index)
            if isinstance(v := getattr(self.index, f.name), np.ndarray) and v.dtype != object
        )


_lock = threading.Lock()
_cache: OrderedDict[tuple[bytes, float], HotSpots] = OrderedDict()
_stats = {"hits": 0, "misses": 0}


def content_key(geoms: NDArray[np.object_], area_ids: NDArray[np.int64]) -> bytes:
    """A digest of the ids and of each geometry's structure, precision grid and coordinates
    (their sum and position-weighted sum per geometry): ~0.3 ms for 1,000 hot spots, where a
    digest of every coordinate took ~1.1 ms and of the WKB ~4 ms. Sets that differ almost always
    differ here; those that do not only cost a rebuild, since a hit is confirmed geometry by
    geometry before it is used."""
    xyz = shapely.get_coordinates(geoms, include_z=True)
    n = shapely.get_num_coordinates(geoms)
    starts = np.concatenate([[0], np.cumsum(n)[:-1]])[n > 0]
    w = np.arange(1, len(xyz) + 1, dtype=np.float64)[:, None]
    h = hashlib.blake2b(digest_size=20)
    for part in (
        area_ids,
        shapely.get_type_id(geoms),
        n,
        shapely.get_num_interior_rings(geoms),
        shapely.get_num_geometries(geoms),
        shapely.get_precision(geoms),
        np.add.reduceat(xyz, starts) if len(xyz) else xyz,
        np.add.reduceat(xyz * w, starts) if len(xyz) else xyz,
    ):
        h.update(np.ascontiguousarray(part).tobytes())
    return h.digest()


def prepare_hotspots(
    areas: gpd.GeoDataFrame | pd.DataFrame,
    buffer_m: float = 10.0,
    workers: int | None = None,
    cache: bool = True,
) -> HotSpots:
    """Index the hot spots for pings within ``buffer_m`` metres (the GPS error allowance), or
    return the set prepared before from the same geometries, ids and allowance
    (``cache=False``: always build, keep nothing). ``workers`` threads build (default: every
    core)."""
    if "area_id" not in areas.columns or "geometry" not in areas.columns:
        raise InputError("hot spots need 'area_id' and 'geometry' columns")
    # a copy: np.asarray would share the frame's storage, which an edit of the frame changes
    geoms = np.array(areas["geometry"].values, dtype=object)
    area_ids = np.array(areas["area_id"], dtype=np.int64)
    key = (content_key(geoms, area_ids), float(buffer_m))
    if cache:
        with _lock:
            kept = _cache.get(key)
            if kept is not None:
                _cache.move_to_end(key)
        if (
            kept is not None
            and len(kept.geoms) == len(geoms)
            and np.array_equal(kept.area_ids, area_ids)
            and bool(shapely.equals_identical(kept.geoms, geoms).all())
            and np.array_equal(
                shapely.get_precision(kept.geoms), shapely.get_precision(geoms), equal_nan=True
            )
        ):
            with _lock:
                _stats["hits"] += 1
            return kept
    index = build_index(geoms, buffer_m, workers=check_workers(workers))
    hs = _read_only(HotSpots(area_ids=area_ids, geoms=geoms, index=index))
    if cache:
        _keep(key, hs)
    return hs


def _read_only(hs: HotSpots) -> HotSpots:
    """``hs`` with every array (ids, geometries, index) made read-only."""
    for arr in (hs.area_ids, hs.geoms, *(getattr(hs.index, f.name) for f in fields(hs.index))):
        if isinstance(arr, np.ndarray):
            arr.flags.writeable = False
    return hs


def _keep(key: tuple[bytes, float], hs: HotSpots) -> None:
    with _lock:
        _stats["misses"] += 1
        _cache[key] = hs
        _cache.move_to_end(key)
        while len(_cache) > CACHE_ENTRIES or (
            len(_cache) > 1 and sum(h.nbytes for h in _cache.values()) > CACHE_BYTES
        ):
            _cache.popitem(last=False)


def clear_cache() -> None:
    """Forget every prepared set (benchmarks time cold preparation with this)."""
    with _lock:
        _cache.clear()
        _stats["hits"] = _stats["misses"] = 0


def cache_info() -> dict[str, int]:
    """Hits, misses (builds kept), entries and bytes held."""
    with _lock:
        return {
            **_stats,
            "entries": len(_cache),
            "bytes": sum(h.nbytes for h in _cache.values()),
        }

"""Prepared hot spot sets are kept by content: the same geometries, ids and buffer give the kept
index; any change (a vertex, an id, the buffer) builds a new one, even if the hash collides."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import fields

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
import shapely.affinity

from patrolwise.track import prepared
from patrolwise.track.dosage import DosageParams, compute_dosage
from patrolwise.track.locate import build_index, locate
from patrolwise.track.prepared import (
    cache_info,
    clear_cache,
    content_key,
    prepare_hotspots,
)


def areas(n: int = 5, seed: int = 0) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    geoms = [
        shapely.Point(x, y).buffer(r, quad_segs=int(q))
        for x, y, r, q in zip(
            rng.uniform(0, 2000, n),
            rng.uniform(0, 2000, n),
            rng.uniform(20, 80, n),
            rng.integers(1, 9, n),
            strict=True,
        )
    ]
    return gpd.GeoDataFrame({"area_id": np.arange(10, 10 + n)}, geometry=geoms, crs="EPSG:27700")


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    clear_cache()
    yield
    clear_cache()


def index_arrays(hs: prepared.HotSpots) -> dict[str, np.ndarray]:
    return {
        f.name: getattr(hs.index, f.name).copy()
        for f in fields(hs.index)
        if isinstance(getattr(hs.index, f.name), np.ndarray)
        and getattr(hs.index, f.name).dtype != object
    }


def pings_over(a: gpd.GeoDataFrame, seed: int = 3, n: int = 4000) -> pd.DataFrame:
    """Two devices walking from hot spot to hot spot, a fix every 10 s."""
    rng = np.random.default_rng(seed)
    c = shapely.centroid(np.asarray(a.geometry.values))
    cx, cy = shapely.get_x(c), shapely.get_y(c)
    k = np.repeat(rng.integers(0, len(a), n // 60 + 1), 60)[:n]
    return pd.DataFrame(
        {
            "device_id": np.where(np.arange(n) % 2 == 0, "A", "B"),
            "team": "outreach",
            "t": np.datetime64("2024-06-03T13:00:00") + np.arange(n).astype("timedelta64[s]") * 10,
            "x": cx[k] + rng.normal(0, 40, n),
            "y": cy[k] + rng.normal(0, 40, n),
        }
    )


def test_same_content_from_another_frame_is_a_hit() -> None:
    a = areas()
    first = prepare_hotspots(a, 10.0)
    # a different frame object with equal content (a round trip through WKB)
    b = gpd.GeoDataFrame(
        {"area_id": a["area_id"].to_numpy().copy()},
        geometry=shapely.from_wkb(shapely.to_wkb(a.geometry.values)),
    )
    assert prepare_hotspots(b, 10.0) is first
    assert cache_info()["hits"] == 1 and cache_info()["misses"] == 1
    assert cache_info()["entries"] == 1 and cache_info()["bytes"] == first.nbytes > 0


@pytest.mark.parametrize("change", ["vertex", "ids", "order", "buffer", "hole"])
def test_any_change_builds_a_new_index(change: str) -> None:
    a = areas()
    kept = prepare_hotspots(a, 10.0)
    b = a.copy()
    buf = 10.0
    if change == "vertex":  # one coordinate of one polygon moved by a millimetre
        coords = shapely.get_coordinates(b.geometry.values[2])
        coords[3, 0] += 0.001
        b.loc[2, "geometry"] = shapely.Polygon(coords)
    elif change == "ids":
        b["area_id"] = b["area_id"] + 100
    elif change == "order":
        b = b.iloc[::-1].reset_index(drop=True)
    elif change == "buffer":
        buf = 12.0
    else:  # the same exterior with a hole
        g = b.geometry.values[0]
        hole = shapely.affinity.scale(g, 0.3, 0.3).exterior.coords
        b.loc[0, "geometry"] = shapely.Polygon(g.exterior.coords, [hole])
    got = prepare_hotspots(b, buf)
    assert got is not kept
    want = prepare_hotspots(b, buf, cache=False)
    for name, arr in index_arrays(want).items():
        np.testing.assert_array_equal(getattr(got.index, name), arr, err_msg=name)
    np.testing.assert_array_equal(got.area_ids, b["area_id"].to_numpy())


def test_a_hash_collision_never_returns_another_sets_index(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(prepared, "content_key", lambda geoms, ids: b"same for all")
    a, b = areas(seed=1), areas(seed=2)
    ha = prepare_hotspots(a, 10.0)
    hb = prepare_hotspots(b, 10.0)
    assert hb is not ha
    assert shapely.equals_identical(hb.geoms, np.asarray(b.geometry.values)).all()
    assert prepare_hotspots(b, 10.0) is hb  # the rebuilt set replaced the other under the key
    c = b.assign(area_id=b["area_id"] + 100)  # the same geometries under other ids
    hc = prepare_hotspots(c, 10.0)
    assert hc is not hb
    np.testing.assert_array_equal(hc.area_ids, c["area_id"].to_numpy())


def test_content_key_sees_structure_not_just_coordinates() -> None:
    ring = [(0, 0), (10, 0), (10, 10), (0, 10), (0, 0)]
    ring2 = [(20, 0), (30, 0), (30, 10), (20, 10), (20, 0)]
    multi = np.array([shapely.MultiPolygon([shapely.Polygon(ring), shapely.Polygon(ring2)])])
    two = np.array([shapely.Polygon(ring), shapely.Polygon(ring2)])
    ids1, ids2 = np.array([1]), np.array([1, 2])
    assert content_key(multi, ids1) != content_key(two[:1], ids1)
    assert content_key(two, ids2) != content_key(two[::-1], ids2)
    assert content_key(two, ids2) == content_key(shapely.from_wkt(shapely.to_wkt(two)), ids2)
    # the same coordinates, in the same order: two parts, or one part with a hole
    holed = np.array([shapely.MultiPolygon([shapely.Polygon(ring, [ring2])])])
    assert content_key(multi, ids1) != content_key(holed, ids1)
    assert content_key(two, ids2) != content_key(shapely.force_3d(two, 0.0), ids2)


def test_uncached_builds_are_not_kept_and_the_cache_is_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    prepare_hotspots(areas(seed=5), 10.0, cache=False)
    assert cache_info()["entries"] == 0
    monkeypatch.setattr(prepared, "CACHE_ENTRIES", 2)
    sets = [areas(seed=s) for s in range(3)]
    first = prepare_hotspots(sets[0], 10.0)
    second = prepare_hotspots(sets[1], 10.0)
    assert prepare_hotspots(sets[0], 10.0) is first  # used again: now the most recent
    prepare_hotspots(sets[2], 10.0)
    assert cache_info()["entries"] == 2
    assert prepare_hotspots(sets[0], 10.0) is first
    assert prepare_hotspots(sets[1], 10.0) is not second  # the least recently used went
    monkeypatch.setattr(prepared, "CACHE_BYTES", 1)  # over budget: only the newest stays
    newest = prepare_hotspots(sets[2], 10.0)
    assert cache_info()["entries"] == 1 and prepare_hotspots(sets[2], 10.0) is newest


def test_dosage_leaves_the_shared_index_as_it_was_and_equals_a_fresh_build() -> None:
    a = areas(12, seed=4)
    params = DosageParams(min_visit_s=60)
    p = pings_over(a)
    hs = prepare_hotspots(a, params.buffer_m)
    before = index_arrays(hs)
    cold = compute_dosage(p, prepare_hotspots(a, params.buffer_m, cache=False), params)
    warm = compute_dosage(p, a, params, workers=2)  # takes the kept set
    assert cache_info()["hits"] >= 1
    assert len(cold.visits) > 10
    pd.testing.assert_frame_equal(warm.visits, cold.visits)
    for name, arr in before.items():
        np.testing.assert_array_equal(getattr(hs.index, name), arr, err_msg=name)


def test_index_built_on_several_threads_equals_one_thread() -> None:
    a = areas(300, seed=6)
    g = np.asarray(a.geometry.values)
    want = build_index(g, 7.5, workers=1)
    for workers in (2, 3):
        got = build_index(g, 7.5, workers=workers)
        for f in fields(want):
            v = getattr(want, f.name)
            if isinstance(v, np.ndarray) and v.dtype != object:
                np.testing.assert_array_equal(getattr(got, f.name), v, err_msg=f.name)
            elif not isinstance(v, np.ndarray):
                assert getattr(got, f.name) == v, f.name


def test_threads_preparing_at_once_all_get_the_right_set() -> None:
    sets = [areas(40, seed=s) for s in range(4)]
    want = [prepare_hotspots(a, 10.0, cache=False) for a in sets]
    clear_cache()
    got: dict[int, prepared.HotSpots] = {}

    def run(i: int) -> None:
        for _ in range(5):
            got[i] = prepare_hotspots(sets[i % 4], 10.0, workers=2)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, hs in got.items():
        np.testing.assert_array_equal(hs.area_ids, want[i % 4].area_ids)
        np.testing.assert_array_equal(hs.index.label, want[i % 4].index.label)
    assert cache_info()["entries"] == 4


def test_a_precision_grid_is_part_of_the_content() -> None:
    # snapped to a 1 m grid (GeoSeries.set_precision), and the same coordinates read back from
    # a file: equals_identical holds, but GEOS buffers the first on its grid
    snapped = shapely.set_precision(np.asarray(areas(seed=7).geometry.values), 1.0)
    plain = shapely.from_wkb(shapely.to_wkb(snapped))
    assert shapely.equals_identical(snapped, plain).all()
    a = gpd.GeoDataFrame({"area_id": np.arange(5)}, geometry=snapped)
    b = gpd.GeoDataFrame({"area_id": np.arange(5)}, geometry=plain)
    kept = prepare_hotspots(a, 10.0)
    got = prepare_hotspots(b, 10.0)
    assert got is not kept
    want = prepare_hotspots(b, 10.0, cache=False)
    for name, arr in index_arrays(want).items():
        np.testing.assert_array_equal(getattr(got.index, name), arr, err_msg=name)
    assert prepare_hotspots(a, 10.0) is kept  # both kept, each under its own key


@pytest.mark.parametrize("frame", ["geo", "pandas"])
def test_a_kept_set_is_not_changed_by_editing_the_frame_it_came_from(frame: str) -> None:
    tri = shapely.Polygon([(0, 0), (10, 10), (10, 0)])
    make = gpd.GeoDataFrame if frame == "geo" else pd.DataFrame
    a = make({"area_id": [1], "geometry": [tri]})
    kept = prepare_hotspots(a, 0.0)  # no buffer: the index holds the hot spots themselves
    a.loc[0, "geometry"] = shapely.box(500, 500, 510, 510)  # the first caller edits its frame
    got = prepare_hotspots(make({"area_id": [1], "geometry": [tri]}), 0.0)
    assert got is kept
    # pings on the diagonal edge are settled against the index's own geometries
    xy = np.array([3.0, 7.5, 1.1])
    fresh = prepare_hotspots(make({"area_id": [1], "geometry": [tri]}), 0.0, cache=False)
    np.testing.assert_array_equal(locate(got.index, xy, xy)[0], locate(fresh.index, xy, xy)[0])
    assert len(locate(got.index, xy, xy)[0]) == 3


@pytest.mark.parametrize("cache", [True, False])
def test_prepared_sets_are_read_only(cache: bool) -> None:
    # kept sets are shared by callers and threads: a write into one must fail, not change the
    # next caller's answer (uncached sets too, so the kernels see one array type)
    hs = prepare_hotspots(areas(), 10.0, cache=cache)
    arrays = {"area_ids": hs.area_ids, "geoms": hs.geoms}
    arrays |= {
        f.name: v
        for f in fields(hs.index)
        if isinstance(v := getattr(hs.index, f.name), np.ndarray)
    }
    for name, arr in arrays.items():
        with pytest.raises(ValueError, match="read-only"):
            arr[:1] = arr[:1]
        assert not arr.flags.writeable, name

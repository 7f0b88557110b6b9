"""Property tests: dosage does not depend on how pings arrive, and exact geometry is exact.

Splitting a track into two imports, shuffling ping order, duplicating pings, cutting the work into
chunks (streaming) or moving everything in space must leave the visits unchanged.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patrolwise.track.dosage import DosageParams, compute_dosage, prepare_hotspots
from patrolwise.track.locate import build_index, locate

COLS = ["device_id", "team", "area_id", "start", "end", "minutes", "n_pings", "local_day"]

# hot spots with dyadic (exactly representable) vertices, one concave, two overlapping
GEOMS = [
    shapely.box(0, 0, 64, 64),
    shapely.Polygon([(128, 0), (224, 0), (224, 96), (192, 96), (176, 16), (160, 96), (128, 96)]),
    shapely.box(48, 48, 112, 112),
]
AREAS = gpd.GeoDataFrame({"area_id": [1, 2, 3]}, geometry=GEOMS, crs="EPSG:27700")


@st.composite
def tracks(draw: st.DrawFn) -> pd.DataFrame:
    """1-3 devices wandering over the hot spots for up to an hour, with irregular gaps."""
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    parts = []
    for d in range(draw(st.integers(1, 3))):
        n = int(rng.integers(5, 160))
        steps = rng.choice([15, 30, 45, 60, 400], size=n, p=[0.3, 0.3, 0.2, 0.15, 0.05])
        t = np.datetime64("2024-03-30T23:00:00") + np.cumsum(steps).astype("timedelta64[s]")
        # positions on a 1/8 m lattice: translations by whole metres are then exact
        x = np.round(np.cumsum(rng.normal(0, 12, n)) * 8 + 96 * 8) / 8
        y = np.round(np.cumsum(rng.normal(0, 12, n)) * 8 + 48 * 8) / 8
        parts.append(
            pd.DataFrame(
                {
                    "device_id": f"D{d}",
                    "team": "police" if d % 2 else "outreach",
                    "t": t,
                    "x": x,
                    "y": y,
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


PARAMS = DosageParams(buffer_m=0.0, max_gap_s=300, min_visit_s=120)
HS = prepare_hotspots(AREAS, PARAMS.buffer_m)


def visits(p: pd.DataFrame, chunk: int = 1 << 20, areas=AREAS) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    hs = HS if areas is AREAS else prepare_hotspots(areas, PARAMS.buffer_m)
    r = compute_dosage(p, hs, PARAMS, chunk_size=chunk)
    v = r.visits[COLS].sort_values(["device_id", "area_id", "start"]).reset_index(drop=True)
    u = r.unknown.sort_values(["device_id", "area_id", "start"]).reset_index(drop=True)
    return pd.concat([v, u.assign(kind="unknown")], ignore_index=True)


FAST = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(tracks(), st.integers(0, 2**31 - 1))
def test_shuffling_and_splitting_imports_change_nothing(p: pd.DataFrame, seed: int) -> None:
    base = visits(p)
    rng = np.random.default_rng(seed)
    shuffled = p.sample(frac=1.0, random_state=rng.integers(2**31))
    pd.testing.assert_frame_equal(visits(shuffled), base)
    # two imports of one file: each half, concatenated either way round
    cut = int(rng.integers(0, len(p) + 1))
    a, b = p.iloc[:cut], p.iloc[cut:]
    pd.testing.assert_frame_equal(visits(pd.concat([b, a], ignore_index=True)), base)


@FAST
@given(tracks(), st.integers(0, 2**31 - 1))
def test_duplicated_pings_change_nothing(p: pd.DataFrame, seed: int) -> None:
    rng = np.random.default_rng(seed)
    dup = p.iloc[rng.integers(0, len(p), size=len(p) // 2 + 1)]
    both = pd.concat([p, dup], ignore_index=True)
    pd.testing.assert_frame_equal(visits(both), visits(p))


@FAST
@given(tracks(), st.integers(3, 60))
def test_streaming_chunks_give_the_single_pass_answer(p: pd.DataFrame, chunk: int) -> None:
    pd.testing.assert_frame_equal(visits(p, chunk=chunk), visits(p))


@FAST
@given(tracks(), st.integers(-50_000, 50_000), st.integers(-50_000, 50_000))
def test_translating_everything_changes_nothing(p: pd.DataFrame, dx: int, dy: int) -> None:
    moved = p.assign(x=p["x"] + 400_000 + dx, y=p["y"] + 300_000 + dy)
    areas = AREAS.copy()
    areas["geometry"] = shapely.transform(
        np.asarray(AREAS.geometry.values), lambda c: c + [400_000 + dx, 300_000 + dy]
    )
    pd.testing.assert_frame_equal(visits(moved, areas=areas), visits(p))


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**31 - 1), st.floats(0.3, 20.0))
def test_locate_equals_shapely_exactly(seed: int, cell: float) -> None:
    rng = np.random.default_rng(seed)
    polys = []
    for _ in range(int(rng.integers(1, 12))):
        c = rng.uniform(0, 300, 2)
        k = int(rng.integers(3, 12))
        ang = np.sort(rng.uniform(0, 2 * np.pi, k))
        r = rng.uniform(5, 60, k)
        polys.append(shapely.Polygon(np.c_[c[0] + r * np.cos(ang), c[1] + r * np.sin(ang)]))
    polys = [g if g.is_valid else g.buffer(0) for g in polys]
    polys = [g for g in polys if not g.is_empty and g.area > 0]
    if not polys:
        return
    idx = build_index(polys, cell=cell)
    # random points, plus points exactly on vertices and edges, plus NaN
    pts = rng.uniform(-20, 320, (3000, 2))
    on = np.concatenate(
        [shapely.get_coordinates(shapely.segmentize(shapely.boundary(g), 3)) for g in polys]
    )
    pts = np.concatenate([pts, on, [[np.nan, 5.0]]])
    ping, poly = locate(idx, pts[:, 0], pts[:, 1])
    g = np.asarray(polys, dtype=object)
    ii, kk = np.meshgrid(np.arange(len(pts)), np.arange(len(g)), indexing="ij")
    truth = shapely.intersects_xy(g[kk.ravel()], pts[ii.ravel(), 0], pts[ii.ravel(), 1])
    want = set(zip(ii.ravel()[truth].tolist(), kk.ravel()[truth].tolist(), strict=True))
    assert set(zip(ping.tolist(), poly.tolist(), strict=True)) == want
    # sorted by polygon, then ping
    assert (np.lexsort((ping, poly)) == np.arange(len(ping))).all()

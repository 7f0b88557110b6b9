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


def _lattice_polygon(rng: np.random.Generator) -> shapely.Geometry:
    """A random polygon on an integer lattice: boxes (some with a hole), triangles with slanted
    edges, or a two-part multipolygon, so vertices, horizontal edges and horizontal lines through
    vertices (the ray-crossing corner cases) all meet lattice points exactly."""
    ox, oy = rng.integers(0, 40, 2).astype(float)
    w, h = rng.integers(4, 24, 2).astype(float)
    kind = int(rng.integers(0, 4))
    if kind == 0:
        return shapely.box(ox, oy, ox + w, oy + h)
    if kind == 1:
        return shapely.box(ox, oy, ox + w, oy + h).difference(
            shapely.box(ox + 1, oy + 1, ox + w / 2, oy + h / 2)
        )
    if kind == 2:
        tip = float(rng.integers(0, int(w) + 1))
        return shapely.Polygon([(ox, oy), (ox + w, oy), (ox + tip, oy + h)])
    return shapely.MultiPolygon(
        [shapely.box(ox, oy, ox + 3, oy + 3), shapely.box(ox + 5, oy + 2, ox + w + 5, oy + h)]
    )


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**31 - 1), st.sampled_from([0.5, 1.0, 2.0, 2.7, 4.0, 7.3]))
def test_locate_matches_shapely_on_vertices_edges_and_lattice(seed: int, cell: float) -> None:
    """Every lattice point (and half-lattice point: midpoints of slanted edges) against shapely's
    intersects_xy, with cells that line up with the lattice (points on cell borders) or not."""
    rng = np.random.default_rng(seed)
    polys = [_lattice_polygon(rng) for _ in range(int(rng.integers(1, 6)))]
    polys = [g for g in polys if g.is_valid and not g.is_empty]
    if not polys:
        return
    idx = build_index(polys, cell=cell)
    gx, gy = np.meshgrid(np.arange(-2, 90, 0.5), np.arange(-2, 70, 0.5))
    pts = np.c_[gx.ravel(), gy.ravel()]
    ping, poly = locate(idx, pts[:, 0], pts[:, 1])
    g = np.asarray(polys, dtype=object)
    ii, kk = np.meshgrid(np.arange(len(pts)), np.arange(len(g)), indexing="ij")
    truth = shapely.intersects_xy(g[kk.ravel()], pts[ii.ravel(), 0], pts[ii.ravel(), 1])
    want = set(zip(ii.ravel()[truth].tolist(), kk.ravel()[truth].tolist(), strict=True))
    assert set(zip(ping.tolist(), poly.tolist(), strict=True)) == want
    assert (np.lexsort((ping, poly)) == np.arange(len(ping))).all()


def test_known_answers_on_a_triangle_with_and_without_an_allowance() -> None:
    """Hand-checked: with no allowance, vertices and points on the horizontal and slanted edges
    count as in, points level with the apex or the base but beyond them as out. With 1 m, a
    point exactly 1 m beyond a vertex or below the base is in, 1.01 m out; (4, 9) is 1 m above
    the apex (4, 8); (-1, 4) is 4/sqrt(5) ~ 1.79 m from the left edge, out."""
    tri = shapely.Polygon([(0, 0), (8, 0), (4, 8)])
    pts = np.array(
        [[0, 0], [8, 0], [4, 8], [3, 0], [2, 4], [6, 4], [4, 4], [4, 8.5], [9, 0], [-1, 4], [1, 1]]
    )
    ping, _ = locate(build_index([tri], cell=1.0), pts[:, 0], pts[:, 1])
    got = np.isin(np.arange(len(pts)), ping)
    assert got.tolist() == [True] * 7 + [False] * 3 + [True]
    assert got.tolist() == shapely.intersects_xy(tri, pts[:, 0], pts[:, 1]).tolist()
    near = np.array([[9, 0], [9.01, 0], [4, -1], [4, -1.01], [4, 9], [4, 9.01], [-1, 4], [4, 4]])
    for cell in (0.3, 1.0, 2.5):
        ping, _ = locate(build_index([tri], 1.0, cell=cell), near[:, 0], near[:, 1])
        got = np.isin(np.arange(len(near)), ping)
        assert got.tolist() == [True, False, True, False, True, False, False, True]
        assert got.tolist() == shapely.dwithin(tri, shapely.points(near), 1.0).tolist()

"""The compiled dosage kernels against their references: shapely for point-in-polygon, and the
array-code rules (and hand-computed tracks) for visits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from patrolwise.track import kernels, locate_kernels
from patrolwise.track.dosage import DosageParams, prepare_hotspots, scan_chunk
from patrolwise.track.locate import build_index, locate, locate_labels


def _polygons(rng: np.random.Generator) -> list[shapely.Geometry]:
    """Random star polygons, boxes with holes, multipolygons and overlapping copies, with
    vertices on a 1/4 m lattice (so lattice points hit vertices and edges exactly)."""
    out: list[shapely.Geometry] = []
    for _ in range(int(rng.integers(1, 8))):
        c = rng.integers(0, 200, 2).astype(float)
        kind = int(rng.integers(0, 4))
        if kind == 0:
            k = int(rng.integers(3, 10))
            ang = np.sort(rng.uniform(0, 2 * np.pi, k))
            r = rng.uniform(5, 50, k)
            xy = np.round(np.c_[c[0] + r * np.cos(ang), c[1] + r * np.sin(ang)] * 4) / 4
            g = shapely.Polygon(xy)
            g = g if g.is_valid else g.buffer(0)
        elif kind == 1:
            w, h = rng.integers(6, 40, 2)
            g = shapely.box(c[0], c[1], c[0] + w, c[1] + h).difference(
                shapely.box(c[0] + 2, c[1] + 2, c[0] + w / 2, c[1] + h / 2)
            )
        elif kind == 2:
            g = shapely.MultiPolygon(
                [
                    shapely.box(c[0], c[1], c[0] + 8, c[1] + 8),
                    shapely.Polygon([(c[0] + 12, c[1]), (c[0] + 30, c[1]), (c[0] + 20, c[1] + 25)]),
                ]
            )
        else:
            g = shapely.Point(c).buffer(
                float(rng.uniform(5, 40)), quad_segs=int(rng.integers(1, 9))
            )
        if not g.is_empty and g.area > 0:
            out.append(g)
    if out and rng.random() < 0.5:  # an overlapping near-copy
        out.append(shapely.affinity.translate(out[0], 3.0, 1.5))
    return out


def _truth(polys: list[shapely.Geometry], px: np.ndarray, py: np.ndarray) -> set[tuple[int, int]]:
    g = np.asarray(polys, dtype=object)
    ii, kk = np.meshgrid(np.arange(len(px)), np.arange(len(g)), indexing="ij")
    hit = shapely.intersects_xy(g[kk.ravel()], px[ii.ravel()], py[ii.ravel()])
    return set(zip(ii.ravel()[hit].tolist(), kk.ravel()[hit].tolist(), strict=True))


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**31 - 1), st.sampled_from([None, 0.5, 1.0, 2.5, 7.3]))
def test_compiled_locate_equals_shapely_on_edges_vertices_holes(
    seed: int, cell: float | None
) -> None:
    rng = np.random.default_rng(seed)
    polys = _polygons(rng)
    if not polys:
        return
    idx = build_index(polys, cell=cell)
    on = shapely.get_coordinates(
        shapely.segmentize(shapely.boundary(np.asarray(polys, dtype=object)), 2.0)
    )
    lattice = np.c_[rng.integers(-40, 1000, 3000), rng.integers(-40, 1000, 3000)] / 4.0
    odd = [[np.nan, 5.0], [np.inf, 3.0], [-np.inf, 3.0], [5.0, -np.inf], [-1e300, 0.0]]
    pts = np.concatenate([rng.uniform(-20, 260, (3000, 2)), on, lattice, odd])
    px, py = pts[:, 0].copy(), pts[:, 1].copy()
    ping, poly = locate(idx, px, py)
    got = set(zip(ping.tolist(), poly.tolist(), strict=True))
    assert got == _truth(polys, px, py)
    assert (np.lexsort((ping, poly)) == np.arange(len(ping))).all()
    # the per-ping labels hold every pair once
    first, e_ping, e_poly = locate_labels(idx, px, py)
    pairs = {(i, int(k)) for i, k in enumerate(first.tolist()) if k >= 0}
    pairs |= set(zip(e_ping.tolist(), e_poly.tolist(), strict=True))
    assert pairs == got and len(pairs) == int((first >= 0).sum()) + len(e_ping)
    assert (np.diff(e_ping) >= 0).all()


def _tiny(rng: np.random.Generator) -> list[shapely.Geometry]:
    """Polygons smaller than a cell (and than a subcell): triangles, boxes, a box with a hole."""
    out: list[shapely.Geometry] = []
    for _ in range(int(rng.integers(1, 5))):
        c = rng.uniform(0, 200, 2)
        s = float(rng.choice([0.05, 0.3, 1.0, 2.5]))
        if rng.random() < 0.5:
            out.append(shapely.Polygon([c, c + [s, 0.0], c + [0.0, s]]))
        else:
            out.append(
                shapely.box(c[0], c[1], c[0] + s, c[1] + s).difference(
                    shapely.box(c[0] + s / 4, c[1] + s / 4, c[0] + s / 2, c[1] + s / 2)
                )
            )
    return out


def _scan_reference(
    unit: np.ndarray, t: np.ndarray, x: np.ndarray, y: np.ndarray, hs, params: DosageParams
) -> dict[str, np.ndarray] | None:
    """Runs by the array rules: dedupe, locate pairs, consecutive pings of one polygon with no
    break (the numpy implementation the kernel replaced)."""
    du, dt = np.diff(unit), np.diff(t)
    keep = np.concatenate([[True], ~((dt == 0) & (du == 0))])
    unit, t, x, y = unit[keep], t[keep], x[keep], y[keep]
    du, dt = np.diff(unit), np.diff(t)
    newdev = du != 0
    brk = np.concatenate([newdev | (dt > params.max_gap_ms), [True]])
    first_of_dev = np.concatenate([[True], newdev])
    last_of_dev = np.concatenate([newdev, [True]])
    ping, poly = locate(hs.index, x, y)
    if not len(ping):  # no kept ping inside (one may have been a dropped duplicate)
        return None
    cont = np.zeros(len(ping), dtype=bool)
    cont[1:] = (poly[1:] == poly[:-1]) & (ping[1:] == ping[:-1] + 1) & ~brk[ping[:-1]]
    r0 = np.flatnonzero(~cont)
    r1 = np.concatenate([r0[1:] - 1, [len(ping) - 1]])
    p0, p1 = ping[r0], ping[r1]
    return {
        "unit": unit[p0],
        "poly": poly[r0],
        "t0": t[p0],
        "t1": t[p1],
        "n": r1 - r0 + 1,
        "at_first": first_of_dev[p0],
        "at_last": last_of_dev[p1],
    }


def _synthetic_tracks(rng: np.random.Generator, n_dev: int, n: int) -> pd.DataFrame:
    rows = []
    for d in range(n_dev):
        steps = rng.choice([5, 10, 10, 30, 0, 400], size=n, p=[0.2, 0.4, 0.2, 0.1, 0.05, 0.05])
        t = np.datetime64("2024-03-30T22:00", "ms").astype(np.int64) + np.cumsum(steps) * 1000
        x = 100 + np.cumsum(rng.normal(0, 6, n))
        y = 100 + np.cumsum(rng.normal(0, 6, n))
        rows.append(pd.DataFrame({"unit": d, "t": t, "x": x, "y": y}))
    return pd.concat(rows, ignore_index=True)


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_compiled_scan_equals_array_rules_on_synthetic_tracks(seed: int) -> None:
    """Realistic tracks (walks with duplicates and long gaps) over overlapping hot spots, holes
    and multipolygons: the compiled scan gives the runs the array code gives, row for row."""
    rng = np.random.default_rng(seed)
    polys = _polygons(rng)
    if not polys:
        return
    areas = pd.DataFrame({"area_id": np.arange(len(polys)), "geometry": polys})
    params = DosageParams(buffer_m=float(rng.choice([0.0, 5.0])), max_gap_s=300)
    hs = prepare_hotspots(areas, params.buffer_m)
    p = _synthetic_tracks(rng, int(rng.integers(1, 4)), int(rng.integers(50, 1500)))
    u, t = p["unit"].to_numpy(np.int64), p["t"].to_numpy(np.int64)
    x, y = p["x"].to_numpy(), p["y"].to_numpy()
    sc = scan_chunk(u, t, x, y, hs, params)
    runs = {k: v[sc.runs["poly"] >= 0] for k, v in sc.runs.items()}
    want = _scan_reference(u, t, x, y, hs, params)
    if want is None:
        assert len(runs["t0"]) == 0
        return
    for k, v in want.items():
        assert runs[k].tolist() == v.tolist(), k
        assert runs[k].dtype == v.dtype, k


def test_scan_runs_hand_computed_track() -> None:
    """One device: in A (poly 0) for three fixes, a duplicate, out, into the overlap of A and B,
    a 10-minute gap, back in B. Another device starts in B."""
    unit = np.array([0, 0, 0, 0, 0, 0, 0, 0, 1, 1])
    t = np.array([0, 10, 20, 20, 30, 40, 50, 650, 0, 10]) * 1000
    first = np.array([0, 0, 0, 1, -1, 0, 0, 1, 1, -1], dtype=np.int32)
    e_ping, e_poly = np.array([5, 6]), np.array([1, 1])
    status, runs, spans, edges, n_dup = kernels.scan_runs(
        unit, t, first, e_ping, e_poly, 300_000, 3
    )
    assert status == kernels.SORTED and n_dup == 1
    got = sorted(map(tuple, runs.T.tolist()))
    # unit, poly, t0, t1, n, at_first, at_last, first ping, last ping
    assert got == [
        (0, 0, 0, 20_000, 3, 1, 0, 0, 2),
        (0, 0, 40_000, 50_000, 2, 0, 0, 5, 6),
        (0, 1, 40_000, 50_000, 2, 0, 0, 5, 6),
        (0, 1, 650_000, 650_000, 1, 0, 1, 7, 7),
        (1, 1, 0, 0, 1, 1, 0, 8, 8),
    ]
    assert spans.T.tolist() == [
        [0, 0, 50_000, 6, 1, 0],
        [0, 650_000, 650_000, 1, 0, 1],
        [1, 0, 10_000, 2, 1, 1],
    ]
    assert edges.T.tolist() == [[0, 0, 650_000], [1, 0, 10_000]]
    bad = kernels.scan_runs(unit[::-1].copy(), t, first, e_ping, e_poly, 300_000, 3)
    assert bad[0] == kernels.UNSORTED


def test_a_ping_at_exactly_the_allowance_is_settled_by_geos() -> None:
    """A fix exactly 10 m from a hot spot is within a nanometre of the allowance, where float
    arithmetic cannot be sure: GEOS settles it. It counts, as ``shapely.dwithin`` says, and the
    visit ends on it."""
    box = shapely.box(0.0, 0.0, 100.0, 100.0)
    areas = pd.DataFrame({"area_id": [7], "geometry": [box]})
    params = DosageParams(buffer_m=10.0, min_visit_s=60)
    hs = prepare_hotspots(areas, params.buffer_m, cache=False)
    t = np.datetime64("2024-06-03T14:00", "ms").astype(np.int64) + np.arange(8) * 60_000
    x = np.array([50.0, 50, 50, 50, 50, 110.0, 110.5, 150])
    y = np.full(8, 50.0)
    assert shapely.dwithin(box, shapely.Point(110.0, 50.0), 10.0)
    idx = hs.index
    u = np.zeros(8, dtype=np.int64)
    _, _, doubt = locate_kernels.locate_labels(
        x, y, idx.x0, idx.y0, 1.0 / idx.cell, idx.nx, idx.ny, idx.label, idx.rec,
        idx.edges, idx.sure_d2, idx.doubt_d2,
    )  # fmt: skip
    assert doubt.T.tolist() == [[5, 0]]
    sc = scan_chunk(u, t, x, y, hs, params)
    inside = sc.runs["poly"] >= 0
    assert sc.runs["t0"][inside].tolist() == [t[0]] and sc.runs["t1"][inside].tolist() == [t[5]]
    assert sc.runs["n"][inside].tolist() == [6]


def test_is_sorted() -> None:
    u = np.array([0, 0, 1, 1])
    assert kernels.is_sorted(u, np.array([1, 2, 0, 5]))
    assert not kernels.is_sorted(u, np.array([1, 1, 0, 5]))  # duplicate time
    assert not kernels.is_sorted(np.array([0, 1, 0, 1]), np.array([1, 2, 3, 4]))

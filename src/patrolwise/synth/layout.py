"""Layout of the synthetic city: streets, anonymised street points, LSOAs and the seven hot spots.

The city is a 3 x 3 km centre laid out around Leicester's Clock Tower (British National Grid), so
lon/lat land in Leicester and distances are real metres. police.uk never publishes where a crime
happened, only the nearest of a fixed set of anonymised "street points" ("On or near <street>");
we build those points first and every crime sits on one of them, as in the real files.

Hot spot positions are Leicester-flavoured but not surveyed: they are at least 300 m apart, so no
two 40-75 m polygons touch and a 100 m grid's Gi* keeps them apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..geo import to_wgs84

CRS = "EPSG:27700"
#: Clock Tower, Leicester (British National Grid, metres)
ORIGIN = (458_780.0, 304_660.0)
HALF = 1_500.0  # half the side of the 3 x 3 km centre

#: name, offset east, offset north (metres from the origin), label of the street points inside
HOTSPOTS: list[tuple[str, float, float, str]] = [
    ("Clock Tower", 0.0, 0.0, "Eastgates"),
    ("Haymarket", 250.0, 250.0, "Haymarket"),
    ("Humberstone Gate", 450.0, -80.0, "Humberstone Gate"),
    ("Belgrave Gate", 150.0, 600.0, "Belgrave Gate"),
    ("Gallowtree Gate", -50.0, -320.0, "Gallowtree Gate"),
    ("Granby Street", 350.0, -550.0, "Granby Street"),
    ("Market Place", -380.0, -250.0, "Market Place"),
]
#: relative crime level of each hot spot (Clock Tower busiest)
HOTSPOT_LEVEL = np.array([1.25, 1.1, 1.0, 0.95, 1.05, 0.9, 0.8])

STREET_NAMES = [
    "High Street",
    "Silver Street",
    "Cheapside",
    "Church Gate",
    "Charles Street",
    "Rutland Street",
    "Halford Street",
    "Horsefair Street",
    "Hotel Street",
    "Market Street",
    "Belvoir Street",
    "Welford Place",
    "Friar Lane",
    "New Walk",
    "Regent Road",
    "London Road",
    "Waterloo Way",
    "Oxford Street",
    "Vaughan Way",
    "St Nicholas Circle",
    "Highcross Street",
    "Causeway Lane",
    "Sanvey Gate",
    "Burleys Way",
    "St Margaret's Way",
    "Abbey Street",
    "Bedford Street",
    "Wharf Street",
    "Lee Street",
    "Yeoman Street",
    "Loseby Lane",
    "St Martins",
    "Guildhall Lane",
    "Peacock Lane",
    "Newarke Street",
    "King Street",
    "Princess Road",
    "De Montfort Street",
    "Conduit Street",
    "Sparkenhoe Street",
    "Dover Street",
    "Colton Street",
    "Clarence Street",
    "Belgrave Road",
    "Lower Hill Street",
    "Queen Street",
    "Mansfield Street",
    "Vestry Street",
    "Northampton Street",
    "Nelson Street",
    "Upper King Street",
    "Jarrom Street",
    "Braunstone Gate",
    "Bath Lane",
    "Great Central Street",
    "Soar Lane",
    "Tudor Road",
    "Fosse Road",
    "Infirmary Road",
    "Aylestone Road",
    "Welford Road",
    "Narborough Road",
    "Western Road",
    "Frog Island",
]
AREA_LABELS = [
    "Parking Area",
    "Shopping Area",
    "Supermarket",
    "Nightclub",
    "Petrol Station",
    "Further/Higher Educational Building",
    "Sports/Recreation Area",
    "Bus/Coach Station",
]


@dataclass(frozen=True)
class Layout:
    """Street points and hot spots. ``points`` columns: point_id, x, y, lon, lat, location,
    lsoa_code, lsoa_name, area_id (0 = outside every hot spot)."""

    points: pd.DataFrame
    hotspots: gpd.GeoDataFrame
    outreach_base: tuple[float, float]
    police_station: tuple[float, float]


def _hotspot_polygon(rng: np.random.Generator, cx: float, cy: float, r: float) -> shapely.Polygon:
    """An irregular 16-gon of radius 0.85r-r: never wider than 2r (<= 150 m across) and always
    containing the disc of radius 0.8r, where the hot spot's street points go."""
    ang = np.linspace(0, 2 * np.pi, 16, endpoint=False) + rng.uniform(-0.1, 0.1, 16)
    rad = r * rng.uniform(0.85, 1.0, 16)
    return shapely.Polygon(np.column_stack([cx + rad * np.cos(ang), cy + rad * np.sin(ang)]))


def make_layout(rng: np.random.Generator, n_points: int = 1500) -> Layout:
    x0, y0 = ORIGIN
    # --- hot spots
    polys, names, centres = [], [], []
    for name, dx, dy, _ in HOTSPOTS:
        radius = float(rng.uniform(45, 70))
        polys.append(_hotspot_polygon(rng, x0 + dx, y0 + dy, radius))
        names.append(name)
        centres.append((x0 + dx, y0 + dy, radius))
    hotspots = gpd.GeoDataFrame(
        {"area_id": np.arange(1, len(polys) + 1, dtype=int), "name": names},
        geometry=polys,
        crs=CRS,
    )

    # --- streets: a jittered grid of east-west and north-south streets plus a few radials
    n_lines = 13
    along = np.linspace(-HALF, HALF, 61)
    segs: list[np.ndarray] = []
    for i in range(n_lines):
        off = -HALF + (i + 0.5) * (2 * HALF / n_lines) + rng.uniform(-40, 40)
        wob = np.cumsum(rng.normal(0, 4, along.size))
        segs.append(np.column_stack([along, off + wob]))  # east-west
        wob = np.cumsum(rng.normal(0, 4, along.size))
        segs.append(np.column_stack([off + wob, along]))  # north-south
    for bearing in (0.6, 2.3, 3.7, 5.3):  # radial roads out of the centre
        rr = np.linspace(80, HALF * 1.3, 60)
        segs.append(np.column_stack([rr * np.cos(bearing), rr * np.sin(bearing)]))
    names_idx = rng.permutation(len(STREET_NAMES))
    total_len = sum(float(np.hypot(*np.diff(s, axis=0).T).sum()) for s in segs)
    spacing = total_len / n_points
    px, py, pname = [], [], []
    for k, s in enumerate(segs):
        line = shapely.LineString(s)
        d = np.arange(rng.uniform(0, spacing), line.length, spacing)
        pts = shapely.line_interpolate_point(line, d)
        xy = shapely.get_coordinates(pts)
        # a street changes name every ~700 m, as real ones do
        part = (d // 700).astype(int)
        nm = [STREET_NAMES[names_idx[(k * 3 + p) % len(STREET_NAMES)]] for p in part]
        px.append(xy[:, 0])
        py.append(xy[:, 1])
        pname.extend(nm)
    x = np.concatenate(px) + x0
    y = np.concatenate(py) + y0
    loc = np.array(pname, dtype=object)
    keep = (np.abs(x - x0) <= HALF) & (np.abs(y - y0) <= HALF)
    x, y, loc = x[keep], y[keep], loc[keep]
    # drop grid points inside a hot spot: hot spots get their own points below
    inside = np.zeros(x.size, dtype=bool)
    for p in polys:
        inside |= shapely.contains_xy(p, x, y)
    x, y, loc = x[~inside], y[~inside], loc[~inside]
    # some points are named after a place, as police.uk does ("On or near Parking Area")
    lab = rng.random(x.size) < 0.1
    loc[lab] = rng.choice(AREA_LABELS, size=int(lab.sum()))
    area = np.zeros(x.size, dtype=int)
    # hot spot points: 4-6 per hot spot, within 60% of its radius
    hx, hy, hl, ha = [], [], [], []
    for a, ((cx, cy, r), (_, _, _, label)) in enumerate(zip(centres, HOTSPOTS, strict=True), 1):
        k = int(rng.integers(4, 7))
        ang = rng.uniform(0, 2 * np.pi, k)
        rad = r * 0.6 * np.sqrt(rng.uniform(0, 1, k))
        hx.append(cx + rad * np.cos(ang))
        hy.append(cy + rad * np.sin(ang))
        hl.extend([label] * k)
        ha.extend([a] * k)
    x = np.concatenate([x, *hx])
    y = np.concatenate([y, *hy])
    loc = np.concatenate([loc, np.array(hl, dtype=object)])
    area = np.concatenate([area, np.array(ha, dtype=int)])
    x, y = np.round(x), np.round(y)
    lon, lat = to_wgs84(x, y, CRS)
    # made-up LSOAs: a 6 x 6 grid of 500 m squares
    ci = np.clip(((x - x0 + HALF) // 500).astype(int), 0, 5)
    cj = np.clip(((y - y0 + HALF) // 500).astype(int), 0, 5)
    cell = cj * 6 + ci
    lsoa_code = np.array([f"E0199{c:04d}" for c in range(36)], dtype=object)[cell]
    lsoa_name = np.array(
        [f"Synthshire {c // 4 + 1:03d}{'ABCD'[c % 4]}" for c in range(36)], dtype=object
    )[cell]
    points = pd.DataFrame(
        {
            "point_id": np.arange(x.size),
            "x": x,
            "y": y,
            "lon": np.round(lon, 6),
            "lat": np.round(lat, 6),
            "location": "On or near " + pd.Series(loc, dtype=object),
            "lsoa_code": lsoa_code,
            "lsoa_name": lsoa_name,
            "area_id": area,
        }
    )
    return Layout(
        points=points,
        hotspots=hotspots,
        outreach_base=(x0 - 260.0, y0 - 120.0),
        police_station=(x0 + 420.0, y0 + 300.0),
    )

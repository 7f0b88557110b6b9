"""Regular square and hexagonal grids over projected crime points.

A grid is a small frozen description (origin, cell size, shape, rows, columns) so the same grid
can be rebuilt for another period: stability and forecast accuracy compare like with like.
Cells are numbered row-major from the south-west corner (``id = row * ncols + col``), the order
libpysal's ``lat2W`` uses, so weights built by PySAL line up with ours cell for cell.

Hexagons are pointy-topped in "odd-r" offset layout: odd rows are shifted east by half a cell.
``cell`` is the distance between neighbouring centres (the width across the flats), so a square
and a hexagonal grid of the same ``cell`` have similar resolution.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray

from ..errors import InputError

SQRT3 = math.sqrt(3.0)
#: smallest default cell: police.uk points are snapped to map points tens of metres apart
MIN_CELL = 25.0
#: largest default cell (a micro place is at most ~150 m across)
MAX_DEFAULT_CELL = 150.0
#: refuse grids bigger than this (memory and output size), unless the caller raises it
MAX_CELLS = 4_000_000
SHAPES = ("square", "hex")


@dataclass(frozen=True)
class Grid:
    """A regular grid: ``x0, y0`` south-west corner of cell (0, 0), ``cell`` metres, shape."""

    x0: float
    y0: float
    cell: float
    nrows: int
    ncols: int
    shape: str = "square"

    @property
    def n(self) -> int:
        return self.nrows * self.ncols

    @property
    def row_step(self) -> float:
        """Vertical distance between centres of neighbouring rows."""
        return self.cell if self.shape == "square" else self.cell * SQRT3 / 2

    @property
    def cell_area(self) -> float:
        """Area of one cell in square metres."""
        return self.cell**2 if self.shape == "square" else self.cell**2 * SQRT3 / 2

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def centres(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Cell centre coordinates, flat in cell-id order."""
        r, c = np.divmod(np.arange(self.n), self.ncols)
        if self.shape == "square":
            cx = self.x0 + (c + 0.5) * self.cell
            cy = self.y0 + (r + 0.5) * self.cell
        else:
            rad = self.cell / SQRT3
            cx = self.x0 + (c + 0.5 + 0.5 * (r & 1)) * self.cell
            cy = self.y0 + rad + 1.5 * rad * r
        return cx.astype(float), cy.astype(float)

    def polygons(self, ids: ArrayLike | None = None) -> NDArray[np.object_]:
        """Cell polygons (shapely, vectorised) for ``ids`` (default: every cell)."""
        idx = np.arange(self.n) if ids is None else np.asarray(ids, dtype=np.int64)
        if self.shape == "square":
            # corners from integer multiples so neighbouring cells share edges exactly
            r, c = np.divmod(idx, self.ncols)
            x0 = self.x0 + c * self.cell
            y0 = self.y0 + r * self.cell
            return np.asarray(
                shapely.box(x0, y0, self.x0 + (c + 1) * self.cell, self.y0 + (r + 1) * self.cell)
            )
        cx, cy = self.centres()
        cx, cy = cx[idx], cy[idx]
        rad = self.cell / SQRT3
        ang = np.deg2rad(np.array([30, 90, 150, 210, 270, 330, 30], dtype=float))
        xs = cx[:, None] + rad * np.cos(ang)[None, :]
        ys = cy[:, None] + rad * np.sin(ang)[None, :]
        coords = np.stack([xs, ys], axis=-1)
        return np.asarray(shapely.polygons(coords))

    def neighbours(self, i: int) -> NDArray[np.int64]:
        """Ids of the cells touching cell ``i`` (edge or corner), not ``i`` itself."""
        r, c = divmod(int(i), self.ncols)
        if self.shape == "square":
            offs = [(dr, dc) for dr in (-1, 0, 1) for dc in (-1, 0, 1) if dr or dc]
        else:
            lo = -1 if r % 2 == 0 else 0
            offs = [(0, -1), (0, 1)] + [(dr, lo + d) for dr in (-1, 1) for d in (0, 1)]
        out = [
            (r + dr) * self.ncols + (c + dc)
            for dr, dc in offs
            if 0 <= r + dr < self.nrows and 0 <= c + dc < self.ncols
        ]
        return np.asarray(out, dtype=np.int64)

    def locate(self, x: ArrayLike, y: ArrayLike) -> NDArray[np.int64]:
        """Cell id of each point, -1 for points outside the grid."""
        xa = np.asarray(x, dtype=float)
        ya = np.asarray(y, dtype=float)
        if self.shape == "square":
            col = np.floor((xa - self.x0) / self.cell).astype(np.int64)
            row = np.floor((ya - self.y0) / self.cell).astype(np.int64)
        else:
            row, col = _hex_offset(xa, ya, self)
        ok = (col >= 0) & (col < self.ncols) & (row >= 0) & (row < self.nrows)
        return np.where(ok, row * self.ncols + col, -1)


def _hex_offset(
    x: NDArray[np.float64], y: NDArray[np.float64], g: Grid
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Nearest hexagon centre (odd-r offset row, col) by cube rounding of axial coordinates."""
    rad = g.cell / SQRT3
    px = x - (g.x0 + g.cell / 2)
    py = y - (g.y0 + rad)
    q = (SQRT3 / 3 * px - py / 3) / rad
    r = (2.0 / 3.0 * py) / rad
    cx, cz = q, r
    cy = -cx - cz
    rx, ry, rz = np.round(cx), np.round(cy), np.round(cz)
    dx, dy, dz = np.abs(rx - cx), np.abs(ry - cy), np.abs(rz - cz)
    fix_x = (dx > dy) & (dx > dz)
    fix_z = ~fix_x & ~(dy > dz)
    rx = np.where(fix_x, -ry - rz, rx)
    rz = np.where(fix_z, -rx - ry, rz)
    row = rz.astype(np.int64)
    col = rx.astype(np.int64) + (row - (row & 1)) // 2
    return row, col


def check_points(x: ArrayLike, y: ArrayLike, *, what: str = "crimes") -> None:
    """Refuse empty, single-point or unprojected input with a message saying how to fix it."""
    from ..geo import looks_like_lonlat

    xa = np.asarray(x, dtype=float)
    ya = np.asarray(y, dtype=float)
    ok = np.isfinite(xa) & np.isfinite(ya)
    if not ok.any():
        raise InputError(
            f"no {what} with coordinates in the selection: widen the dates, hours, weekdays or "
            "offence filters, or import crimes first (`patrolwise import crimes FILE`)"
        )
    if looks_like_lonlat(xa[ok], ya[ok]):
        raise InputError(
            f"{what} x/y look like longitude/latitude degrees; hot spots need projected metres: "
            "project them first (patrolwise.geo.to_projected(lon, lat), EPSG:27700 by default)"
        )
    if ok.sum() < 2:
        raise InputError(
            f"only 1 {what[:-1] if what.endswith('s') else what} in the selection: a hot spot map "
            "needs at least 2; widen the date range or the filters"
        )


def _check_max_cells(max_cells: int) -> None:
    """Every grid has at least one cell: a lower limit would enlarge the cell for ever."""
    if max_cells < 1:
        raise InputError(f"--max-cells must be at least 1, not {max_cells}")


def default_cell_cap(largest: float = MAX_DEFAULT_CELL) -> float:
    """Upper bound of a cell chosen from the data: 150 m, or ``largest`` rounded down to 5 m
    (never below 25 m)."""
    return float(max(MIN_CELL, math.floor(min(largest, MAX_DEFAULT_CELL) / 5.0 + 1e-9) * 5.0))


def choose_cell(
    x: ArrayLike, y: ArrayLike, *, max_cells: int = MAX_CELLS, largest: float = MAX_DEFAULT_CELL
) -> float:
    """Default cell size from the data (the rule is printed by the CLI and documented).

    The median distance from each distinct crime location to its nearest other location,
    rounded up to 5 m and kept within [25 m, 150 m]: a cell then holds about one street point,
    fine enough for micro places but never finer than police.uk's snapping. It is then enlarged
    (in 5 m steps) until the grid over the data extent has at most ``max_cells`` cells.
    ``largest`` lowers the 150 m bound (to a multiple of 5 m, at least 25 m): the CLI passes the
    largest cell that fits in ``--max-size`` corner to corner.
    """
    from scipy.spatial import cKDTree

    _check_max_cells(max_cells)
    pts = np.unique(np.column_stack([np.asarray(x, float), np.asarray(y, float)]), axis=0)
    pts = pts[np.isfinite(pts).all(axis=1)]
    if len(pts) < 2:
        raise InputError(
            "all crimes are at one location: a grid needs crimes in at least two places; "
            "widen the selection or give --cell explicitly"
        )
    d, _ = cKDTree(pts).query(pts, k=2)
    med = float(np.median(d[:, 1]))
    cell = float(np.clip(math.ceil(med / 5.0) * 5.0, MIN_CELL, default_cell_cap(largest)))
    w = float(pts[:, 0].max() - pts[:, 0].min())
    h = float(pts[:, 1].max() - pts[:, 1].min())
    while (math.floor(w / cell) + 1) * (math.floor(h / cell) + 1) > max_cells:
        cell += 5.0
    return cell


def make_grid(
    x: ArrayLike,
    y: ArrayLike,
    cell: float | None = None,
    *,
    shape: str = "square",
    max_cells: int = MAX_CELLS,
    pad: int = 0,
    largest_default: float = MAX_DEFAULT_CELL,
) -> Grid:
    """A grid covering every point, origin snapped to a multiple of ``cell`` (so the same cell
    size gives the same lattice for any period), with ``pad`` empty cells around the data.
    With no ``cell``, :func:`choose_cell` picks one of at most ``largest_default`` metres.
    """
    if shape not in SHAPES:
        raise InputError(f"grid shape {shape!r} is not one of {', '.join(SHAPES)}")
    _check_max_cells(max_cells)
    check_points(x, y)
    xa = np.asarray(x, dtype=float)
    ya = np.asarray(y, dtype=float)
    ok = np.isfinite(xa) & np.isfinite(ya)
    xa, ya = xa[ok], ya[ok]
    chosen = cell is None
    if cell is None:
        cell = choose_cell(xa, ya, max_cells=max_cells, largest=largest_default)
    if not (cell > 0 and math.isfinite(cell)):
        raise InputError(f"cell size must be a positive number of metres, not {cell}")
    xmin, xmax, ymin, ymax = xa.min(), xa.max(), ya.min(), ya.max()
    extra = 1 if shape == "hex" else 0

    def layout(c: float) -> tuple[float, float, int, int]:
        step = c if shape == "square" else c * SQRT3 / 2
        x0 = math.floor(xmin / c) * c - pad * c
        y0 = math.floor(ymin / step) * step - pad * step
        if shape == "hex":
            x0 -= c  # odd rows are shifted east: keep west-edge points inside
            y0 -= step
        ncols = int(math.floor((xmax - x0) / c)) + 1 + pad + extra
        nrows = int(math.floor((ymax - y0) / step)) + 1 + pad + extra
        return x0, y0, nrows, ncols

    x0, y0, nrows, ncols = layout(cell)
    # choose_cell counts cells over the data's own extent; the snapped origin (and a hexagon
    # grid's margin) can add a row and a column, so a chosen cell grows until this grid fits
    # (up to twice the extent of the data: past it a cell only gains from where the origin falls)
    while chosen and nrows * ncols > max_cells and cell <= 2 * max(xmax - xmin, ymax - ymin):
        cell += 5.0
        x0, y0, nrows, ncols = layout(cell)
    n = nrows * ncols
    if n > max_cells:
        raise InputError(
            f"a {cell:g} m cell over the {xmax - xmin:,.0f} x {ymax - ymin:,.0f} m extent of the "
            f"data gives {n:,} cells, more than the limit of {max_cells:,}: use a larger --cell, "
            "a smaller area (filters) or raise --max-cells"
        )
    return Grid(float(x0), float(y0), float(cell), nrows, ncols, shape)


def bin_points(
    grid: Grid, x: ArrayLike, y: ArrayLike, weights: ArrayLike | None = None
) -> NDArray[np.float64]:
    """Sum of ``weights`` (default 1 per point) in each cell, flat in cell-id order.

    Points outside the grid are ignored; ``np.bincount`` adds in input order, so with integer
    weights the sums are exact.
    """
    ids = grid.locate(x, y)
    keep = ids >= 0
    w = None if weights is None else np.asarray(weights, dtype=float)[keep]
    return np.bincount(ids[keep], weights=w, minlength=grid.n).astype(float)

"""Areas repository: hot spots, comparison areas, buffers, excluded zones.

Geometries are stored as WKT in the projected CRS and returned as a GeoDataFrame with ``area_id``
so library stages never see the database.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..config import get_settings
from ..errors import InputError
from ..timeutil import local_today
from .db import AREAS_LOCK, Store, take_write_turn, utcnow
from .models import Area

KINDS = ("hotspot", "comparison", "buffer", "exclusion")


def add_areas(
    store: Store,
    areas: gpd.GeoDataFrame,
    *,
    kind: str = "hotspot",
    method: str | None = None,
    params: dict[str, Any] | None = None,
    data_from: dt.date | None = None,
    data_to: dt.date | None = None,
    active_from: dt.date | None = None,
    active_to: dt.date | None = None,
    source: str | None = None,
) -> list[int]:
    """Store areas (a ``name`` column and geometries; reprojected to the store CRS).

    Idempotent: an area with the same kind, name and start date is updated, not duplicated.
    """
    if kind not in KINDS:
        raise InputError(f"area kind {kind!r} is not one of {', '.join(KINDS)}")
    if "name" not in areas.columns:
        raise InputError("areas need a 'name' column")
    if active_from is not None and active_to is not None and active_to < active_from:
        # such an area is active on no day: every plan and evaluation would leave it out
        raise InputError(
            f"an area that ends {active_to}, before it starts {active_from}, is never active: "
            "check --active-from and --active-to"
        )
    crs = get_settings().crs
    g = areas.to_crs(crs) if areas.crs is not None else areas
    with store.session() as s, s.begin():
        take_write_turn(s.connection(), AREAS_LOCK)
        return _add_in(
            s,
            g,
            kind=kind,
            crs=crs,
            method=method,
            params=params,
            data_from=data_from,
            data_to=data_to,
            active_from=active_from,
            active_to=active_to,
            source=source,
        )


def _add_in(
    s: Session,
    g: gpd.GeoDataFrame,
    *,
    kind: str,
    crs: str,
    method: str | None,
    params: dict[str, Any] | None,
    data_from: dt.date | None,
    data_to: dt.date | None,
    active_from: dt.date | None,
    active_to: dt.date | None,
    source: str | None,
) -> list[int]:
    """Insert or update areas inside the caller's transaction."""
    ids: list[int] = []
    for name, geom in zip(g["name"].astype(str), g.geometry, strict=True):
        if geom is None or geom.is_empty:
            raise InputError(f"area {name!r} has no geometry")
        existing = s.scalars(
            select(Area).where(
                Area.kind == kind, Area.name == name, Area.active_from == active_from
            )
        ).first()
        row = existing or Area(kind=kind, name=name, active_from=active_from, created_at=utcnow())
        row.geometry_wkt = shapely.to_wkt(geom, rounding_precision=3)
        row.crs = crs
        row.active_to = active_to
        row.method = method
        row.params = params
        row.data_from = data_from
        row.data_to = data_to
        row.source = source
        if existing is None:
            s.add(row)
        s.flush()
        ids.append(row.id)
    return ids


def load_areas(
    store: Store,
    kind: str | None = "hotspot",
    *,
    active_on: dt.date | None = None,
    active_between: tuple[dt.date, dt.date] | None = None,
    include_retired: bool = True,
) -> gpd.GeoDataFrame:
    """Areas as a GeoDataFrame: area_id, name, kind, geometry (projected), dates and provenance."""
    if kind is not None and kind not in KINDS:
        # a typo ('hotspots') would list nothing, as if nothing were stored
        raise InputError(f"area kind {kind!r} is not one of {', '.join(KINDS)}")
    q = select(Area)
    if kind is not None:
        q = q.where(Area.kind == kind)
    with store.session() as s:
        rows = s.scalars(q.order_by(Area.id)).all()
    recs = [
        {
            "area_id": r.id,
            "name": r.name,
            "kind": r.kind,
            "active_from": r.active_from,
            "active_to": r.active_to,
            "replaced_by": r.replaced_by,
            "method": r.method,
            "params": r.params,
            "data_from": r.data_from,
            "data_to": r.data_to,
            "source": r.source,
            "geometry": shapely.from_wkt(r.geometry_wkt),
        }
        for r in rows
    ]
    crs = rows[0].crs if rows else get_settings().crs
    gdf = gpd.GeoDataFrame(
        pd.DataFrame(
            recs,
            columns=[
                "area_id",
                "name",
                "kind",
                "active_from",
                "active_to",
                "replaced_by",
                "method",
                "params",
                "data_from",
                "data_to",
                "source",
                "geometry",
            ],
        ),
        geometry="geometry",
        crs=crs,
    )

    def active(a: dt.date | None, b: dt.date | None, lo: dt.date, hi: dt.date) -> bool:
        return (a is None or a <= hi) and (b is None or b >= lo)

    if active_on is not None:
        keep = [
            active(a, b, active_on, active_on)
            for a, b in zip(gdf.active_from, gdf.active_to, strict=True)
        ]
        gdf = gdf[keep]
    elif active_between is not None:
        lo, hi = active_between
        keep = [active(a, b, lo, hi) for a, b in zip(gdf.active_from, gdf.active_to, strict=True)]
        gdf = gdf[keep]
    elif not include_retired:
        today = local_today()
        gdf = gdf[[b is None or b >= today for b in gdf.active_to]]
    return gdf.reset_index(drop=True)


def retire_area(store: Store, area_id: int, on: dt.date, replaced_by: int | None = None) -> None:
    """End an area's active period (the last active day is ``on``), optionally naming its
    successor (otherwise a successor already stored, by ``replace_area``, is kept)."""
    with store.session() as s, s.begin():
        row = s.get(Area, area_id)
        if row is None:
            raise InputError(f"no area with id {area_id}")
        if row.active_from is not None and on < row.active_from:
            raise InputError(
                f"area {row.name!r} starts {row.active_from}; cannot retire it on {on}"
            )
        # checked here, not left to the foreign key: a mistyped id is one clear line
        if replaced_by == area_id:
            raise InputError(f"area {area_id} cannot be replaced by itself: give its successor")
        succ_id = replaced_by if replaced_by is not None else row.replaced_by
        succ = s.get(Area, succ_id) if succ_id is not None else None
        if replaced_by is not None and succ is None:
            raise InputError(
                f"no area with id {replaced_by} to replace area {area_id}: "
                "see `patrolwise hotspots list` for the ids"
            )
        if succ is not None and succ.active_from is not None and on >= succ.active_from:
            # as replace_area keeps them: never the old and the new outline both active
            raise InputError(
                f"area {row.name!r} is replaced by area {succ.id} from {succ.active_from}: its "
                f"last day must be before that, {succ.active_from - dt.timedelta(days=1)} at "
                "the latest"
            )
        # without a new successor the stored one stays: moving a replaced area's last day must
        # not cut the link evaluations follow to the redrawn area
        values: dict[str, Any] = {"active_to": on}
        if replaced_by is not None:
            values["replaced_by"] = replaced_by
        s.execute(update(Area).where(Area.id == area_id).values(**values))


def replace_area(
    store: Store,
    area_id: int,
    new: gpd.GeoDataFrame,
    on: dt.date,
    *,
    source: str | None = None,
    method: str | None = "drawn",
) -> int:
    """Replace an area from ``on``: the old one's last active day is the day before, the new
    one (a single feature with a ``name``) is active from ``on`` and named as its successor."""
    if len(new) != 1:
        raise InputError(f"a replacement must be exactly one area, got {len(new)}")
    crs = get_settings().crs
    g = new.to_crs(crs) if new.crs is not None else new
    # one transaction: never both the old and the new area active, never neither; its write
    # turn first, as add_areas takes it: the successor is looked up and stored as add_areas
    # stores areas, and the two at once on one name and start date failed on the unique
    # constraint
    with store.session() as s, s.begin():
        take_write_turn(s.connection(), AREAS_LOCK)
        old = s.get(Area, area_id)
        if old is None:
            raise InputError(f"no area with id {area_id}")
        kind = old.kind
        if old.active_from is not None and on <= old.active_from:
            raise InputError(
                f"area {old.name!r} starts {old.active_from}; a replacement must start after it"
            )
        if old.active_to is not None and old.active_to < on - dt.timedelta(days=1):
            raise InputError(f"area {old.name!r} was already retired on {old.active_to}")
        if old.replaced_by is not None:
            # a second successor left the first one active beside it, linked from nothing:
            # two outlines of one hot spot counted at once, and evaluations following the link
            # lost the first
            raise InputError(
                f"area {old.name!r} is already replaced by area {old.replaced_by}: to redraw it "
                f"again, replace area {old.replaced_by}"
            )
        (new_id,) = _add_in(
            s,
            g,
            kind=kind,
            crs=crs,
            method=method,
            params=None,
            data_from=None,
            data_to=None,
            active_from=on,
            active_to=None,
            source=source,
        )
        old.active_to = on - dt.timedelta(days=1)
        old.replaced_by = new_id
    return new_id


def active_hotspots(store: Store, start: dt.date, end: dt.date) -> gpd.GeoDataFrame:
    """Hot spots active at some point between two dates, or a clear error saying what is stored.

    An analyst who found hot spots today and evaluates last year gets told the stored hot spots'
    active dates, rather than a bare "no hot spots".
    """
    hs = load_areas(store, "hotspot", active_between=(start, end))
    if not hs.empty:
        return hs
    every = load_areas(store, "hotspot")
    if every.empty:
        raise InputError("no hot spots stored: import or detect hot spots first")
    spans = sorted(
        {(a, b) for a, b in zip(every["active_from"], every["active_to"], strict=True)}, key=str
    )
    said = ", ".join(f"{a or 'always'} to {b or 'open'}" for a, b in spans[:3])
    raise InputError(
        f"no hot spot is active between {start} and {end} ({len(every)} stored, active {said}): "
        "use dates inside their active period, or give hot spots the right dates with "
        "`patrolwise hotspots find|import --active-from`"
    )

"""``/ingest/batch``: our own JSON batch for forces' radio (Airwave/ESN) and telematics feeds.

Schema (also in the OpenAPI page at ``/docs``)::

    {"pings": [{"device_id": "PC1234", "t": "2024-05-01T14:02:00Z" | 1714572120,
                "lat": 52.63, "lon": -1.13,            # or "easting"/"northing" (EPSG:27700)
                "accuracy": 8, "speed": 1.4, "heading": 90, "altitude": 60, "battery": 80,
                "attrs": {...}}]}

A ping gives lat/lon or easting/northing, never both (422); easting/northing must lie in the
configured CRS's area of use (422 otherwise, as lat/lon out of range). ``t`` is ISO 8601 (no zone = UTC)
or epoch seconds (milliseconds above 2**31); ``speed`` is m/s; readings must be plausible
(accuracy 0..100 km, speed 0..280 m/s, altitude -500..20,000 m, heading 0..360, battery 0..100:
``patrolwise.readings.READINGS``, also the schema's bounds); ``device_id`` defaults to the
authenticated device and may not name another (403). The batch is all or nothing: any bad item
gives 422 with ``errors: [{index, field, reason}]`` and stores nothing; success answers
``{"received", "imported", "already_present"}``.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import (
    AllowInfNan,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
)

from ...geo import to_wgs84
from ...readings import READINGS, degrees_not_metres, outside_grid
from . import IngestError, check_attrs, check_position, parse_time


def _not_bool(value: Any) -> Any:
    # pydantic reads JSON true/false as 1.0/0.0; a coordinate or reading never is one
    if isinstance(value, bool):
        raise ValueError("Input should be a number, not true/false")
    return value


#: a finite number: pydantic reads the strings "Infinity", "inf", "NaN" and "1e400" (valid JSON)
#: as non-finite floats, and the fields without bounds (altitude, easting, northing) or with one
#: bound (accuracy, speed) would store them
Num = Annotated[float, BeforeValidator(_not_bool), AllowInfNan(False)]


class BatchPing(BaseModel):
    """One fix."""

    model_config = ConfigDict(extra="forbid")
    device_id: str | None = Field(None, max_length=100)
    t: str | float = Field(..., description="ISO 8601 (no zone = UTC) or epoch seconds/ms")
    lat: Num | None = Field(None, ge=-90, le=90)
    lon: Num | None = Field(None, ge=-180, le=180)
    easting: Num | None = None
    northing: Num | None = None
    accuracy: Num | None = Field(
        None, ge=READINGS["accuracy"].lo, le=READINGS["accuracy"].hi, description="metres"
    )
    speed: Num | None = Field(
        None, ge=READINGS["speed"].lo, le=READINGS["speed"].hi, description="metres per second"
    )
    heading: Num | None = Field(
        None, ge=READINGS["heading"].lo, le=READINGS["heading"].hi, description="degrees"
    )
    altitude: Num | None = Field(
        None, ge=READINGS["altitude"].lo, le=READINGS["altitude"].hi, description="metres"
    )
    battery: Num | None = Field(
        None, ge=READINGS["battery"].lo, le=READINGS["battery"].hi, description="percent"
    )
    attrs: dict[str, Any] | None = None


class Batch(BaseModel):
    """A batch of fixes from one device or gateway."""

    model_config = ConfigDict(extra="forbid")
    pings: list[BatchPing] = Field(..., max_length=50_000)


class BatchError(IngestError):
    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(422, f"{len(errors)} invalid item(s)")
        self.errors = errors


def grid_problem(easting: float, northing: float, crs: str) -> tuple[str, str] | None:
    """(field, reason) when easting/northing cannot be a place in ``crs``, else None.

    The limits track files are checked against too (:mod:`patrolwise.readings`). Outside the
    CRS's area of use (:func:`patrolwise.geo.projected_extent`; for the British
    National Grid easting -104,729..688,806, northing -16,628..1,256,616 m) is refused as
    latitude outside -90..90 is: such a ping was projected to somewhere no patrol goes, or to
    infinity. Both within 180 are degrees sent as metres (a latitude and longitude in the
    easting/northing fields: in the grid they fall in the sea off the Scillies).
    """
    if degrees_not_metres([easting], [northing])[0]:
        return (
            "easting/northing",
            f"easting={easting:g}, northing={northing:g} look like degrees, not metres: "
            "send a latitude and longitude as lat and lon",
        )
    bad_x, bad_y, extent = outside_grid([easting], [northing], crs)
    if extent is None or not (bad_x[0] or bad_y[0]):
        return None
    x0, y0, x1, y1 = extent
    out = [name for name, bad in (("easting", bad_x[0]), ("northing", bad_y[0])) if bad]
    return (
        "/".join(out),
        f"easting={easting:g}, northing={northing:g} is outside the area of use of {crs} "
        f"(easting {x0:,.0f}..{x1:,.0f}, northing {y0:,.0f}..{y1:,.0f} m): "
        "a coordinate of another grid, or a digit too many or too few?",
    )


def decode(doc: Any, device_id: str, crs: str) -> list[dict[str, Any]]:
    """Validate the whole batch; positions for ``device_id`` or a BatchError listing every problem."""
    problems: list[dict[str, Any]] = []
    try:
        items = list(enumerate(Batch.model_validate(doc).pings))
    except ValidationError as exc:
        for e in exc.errors():
            loc = list(e["loc"])
            idx = loc[1] if len(loc) > 1 and loc[0] == "pings" and isinstance(loc[1], int) else None
            field = (
                ".".join(str(x) for x in loc[2:]) if idx is not None else ".".join(map(str, loc))
            )
            problems.append({"index": idx, "field": field, "reason": e["msg"]})
        # the items the schema passed still get the checks below, so every bad item is listed
        # (unless the envelope itself is wrong: not an object, no list, too many pings)
        seen = {e["index"] for e in problems}
        raw = doc.get("pings") if isinstance(doc, dict) and None not in seen else None
        items = [
            (i, BatchPing.model_validate(item))
            for i, item in enumerate(raw if isinstance(raw, list) else [])
            if i not in seen
        ]
    out: list[dict[str, Any]] = []
    for i, p in items:
        if p.device_id is not None and p.device_id != device_id:
            raise IngestError(
                403, f"item {i}: device {device_id!r} cannot post for {p.device_id!r}"
            )
        if p.attrs:
            try:
                check_attrs(p.attrs)
            except IngestError as exc:
                problems.append({"index": i, "field": "attrs", "reason": exc.reason})
                continue
        lat, lon = p.lat, p.lon
        # one place per ping: with both, one would be dropped unseen (and they may disagree)
        if (lat is not None or lon is not None) and (
            p.easting is not None or p.northing is not None
        ):
            problems.append(
                {
                    "index": i,
                    "field": "lat/lon/easting/northing",
                    "reason": "send lat and lon, or easting and northing, not both",
                }
            )
            continue
        if p.easting is not None and p.northing is not None:
            bad = grid_problem(p.easting, p.northing, crs)
            if bad is not None:
                problems.append({"index": i, "field": bad[0], "reason": bad[1]})
                continue
            lo, la = to_wgs84([p.easting], [p.northing], crs)
            lon, lat = float(lo[0]), float(la[0])
        try:
            pos = {
                "device_id": device_id,
                "t": parse_time(p.t, "t"),
                "lat": lat,
                "lon": lon,
                "accuracy": p.accuracy,
                "speed": p.speed,
                "heading": p.heading,
                "altitude": p.altitude,
                "battery": p.battery,
                "attrs": p.attrs,
            }
            check_position(pos)
        except IngestError as exc:
            problems.append({"index": i, "field": "t/lat/lon", "reason": exc.reason})
            continue
        out.append(pos)
    if problems:
        raise BatchError(sorted(problems, key=lambda e: (e["index"] is not None, e["index"] or 0)))
    return out

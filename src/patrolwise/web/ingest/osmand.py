"""The OsmAnd protocol as the Traccar server reads it (Traccar Client, OsmAnd, many trackers).

Form / query flavour (``OsmAndProtocolDecoder`` in Traccar): any HTTP method; parameters in the
query string, a form body, or both (read together; a parameter given twice must have the same
value); ``id`` or ``deviceid``; ``lat``/``lon`` or ``location=lat,lon``; ``timestamp`` as epoch
seconds, epoch milliseconds, ISO 8601 or ``yyyy-MM-dd HH:mm:ss`` (UTC; the server's receive time when absent, but never for the
positions of a JSON array, and an empty ``timestamp=`` is a 400); ``speed`` in **knots**
(stored as m/s); ``bearing``/``heading``; ``altitude``; ``accuracy``; ``hdop`` (kept as an
attribute, and the accuracy when none is sent: see :func:`accuracy_from_hdop`); ``batt``
(percent); every other key (``charge``, ``valid``, ``driverUniqueId``...) kept as an attribute
(numbers as numbers, true/false as booleans).

JSON flavour (Traccar Client 9, the background-geolocation SDK's native format):
``{"location": {"timestamp", "coords": {latitude, longitude, accuracy, speed (m/s), heading,
altitude}, "battery": {"level": 0..1, "is_charging"}, "is_moving", "odometer", "event",
"activity": {"type"}, "extras"}, "device_id"}``, where -1 means unknown; and a JSON array of flat
positions (each like the form parameters) or of such objects.

Answers: 200 with an empty body; 400 for a missing or unknown ``id``, 404 for an unknown
``device_id`` in JSON; 401/403 for a missing or wrong secret; 400 for anything malformed. An
empty JSON array is authenticated too: as the device ``?id=`` names, else as the device the
secret belongs to (401 without a valid secret, 403 for a revoked device).
"""

from __future__ import annotations

import math
from typing import Any

from ...io.tracks import HDOP_METRES, KNOTS
from ...store.db import Store, utcnow
from . import DECIMAL, IngestError, known_device, number, optional, parse_time

KNOWN = {
    "id",
    "deviceid",
    "timestamp",
    "lat",
    "lon",
    "location",
    "speed",
    "bearing",
    "heading",
    "altitude",
    "accuracy",
    "batt",
    "token",
}


#: attributes that are identifiers, kept as text as Traccar keeps them ('007' is not 7.0)
TEXT_ATTRS = {"driverUniqueId"}


def _attr(key: str, value: str) -> Any:
    """An attribute as a number, a boolean or the text sent.

    Only plain finite decimals become numbers (:data:`TEXT_ATTRS` never do): ``hdop=nan`` or
    ``x=inf`` stay the strings sent, since JSON (and PostgreSQL's jsonb, which refused the
    insert with a 500) has no NaN, and '12_34' (which Python's float() reads as 1234) too.
    """
    if key in TEXT_ATTRS:
        return value
    if DECIMAL.fullmatch(value):
        v = float(value)
        return v if math.isfinite(v) else value
    if value in ("true", "false"):
        return value == "true"
    return value


def accuracy_from_hdop(accuracy: float | None, hdop: Any) -> float | None:
    """The accuracy sent, else one estimated from ``hdop`` (metres), else None.

    Traccar's ``OsmAndProtocolDecoder`` keeps ``hdop`` only as an attribute (``Position.KEY_HDOP``)
    and sets the accuracy from ``accuracy`` alone, so a tracker that sends HDOP and no accuracy
    has none there, and cleaning's accuracy threshold never saw its fixes here either. HDOP is a
    unitless geometry factor: the horizontal error is about HDOP times the user-equivalent range
    error (UERE), a few metres for a civil single-frequency receiver (R. B. Langley, "Dilution of
    Precision", GPS World, May 1999). We take UERE = 5 m (:data:`patrolwise.io.tracks.HDOP_METRES`,
    the GPX and NMEA readers' rule), so ``hdop=1.2`` is an accuracy of 6 m. An explicit accuracy is
    never overridden; an HDOP that is not a positive finite number ('nan', 0) gives none.
    """
    if accuracy is not None:
        return accuracy
    if isinstance(hdop, float) and math.isfinite(hdop) and hdop > 0:
        return hdop * HDOP_METRES
    return None


def decode_params(
    store: Store, params: list[tuple[str, str]], seen: set[str] | None = None
) -> dict[str, Any]:
    """Form/query parameters to one position.

    A parameter may repeat with the same value (a server URL that already names the device),
    but two different values are refused (400): which one the client meant cannot be told, and
    'the last one wins' silently stored a body's lat over the query's. The same holds for two
    names of one thing (id/deviceid, location/lat+lon, bearing/heading).
    """
    p: dict[str, str] = {}
    for k, v in params:
        if k in p and p[k] != v:
            values = "" if k == "token" else f" ({p[k]!r}, {v!r})"  # never echo secrets
            raise IngestError(400, f"{k} is given twice with different values{values}")
        p[k] = v
    if p.get("id") and p.get("deviceid") and p["id"] != p["deviceid"]:
        raise IngestError(400, f"id={p['id']!r} and deviceid={p['deviceid']!r} name two devices")
    device = p.get("id") or p.get("deviceid")
    if not device:
        raise IngestError(400, "missing id (or deviceid) parameter")
    known_device(store, device, 400, seen)
    pos: dict[str, Any] = {"device_id": device}
    # absent: the server's receive time (Traccar's rule); present but empty is malformed (400)
    pos["t"] = parse_time(p["timestamp"]) if "timestamp" in p else utcnow()
    if "location" in p:
        parts = p["location"].split(",")
        if len(parts) < 2:
            raise IngestError(400, f"location={p['location']!r} is not lat,lon")
        pos["lat"] = number(parts[0], "location latitude")
        pos["lon"] = number(parts[1], "location longitude")
    for key in ("lat", "lon"):
        if key in p:
            coord = number(p[key], key)
            if pos.get(key) is not None and pos[key] != coord:
                raise IngestError(400, f"location={p['location']!r} and {key}={p[key]!r} disagree")
            pos[key] = coord
    kn = optional(p.get("speed"), "speed")
    pos["speed"] = kn * KNOTS if kn is not None else None
    bearing = optional(p.get("bearing"), "bearing")
    heading = optional(p.get("heading"), "heading")
    if bearing is not None and heading is not None and bearing != heading:
        raise IngestError(400, f"bearing={p['bearing']!r} and heading={p['heading']!r} disagree")
    pos["heading"] = bearing if bearing is not None else heading
    pos["altitude"] = optional(p.get("altitude"), "altitude", unknown_negative=False)
    pos["accuracy"] = optional(p.get("accuracy"), "accuracy")
    pos["battery"] = optional(p.get("batt"), "batt")
    attrs = {k: _attr(k, v) for k, v in p.items() if k not in KNOWN}
    pos["accuracy"] = accuracy_from_hdop(pos["accuracy"], attrs.get("hdop"))
    if "timestamp" not in p:
        attrs["time_source"] = "server"
    pos["attrs"] = attrs or None
    return pos


def decode_json_location(
    store: Store, doc: dict[str, Any], fallback_id: str | None, seen: set[str] | None = None
) -> dict[str, Any]:
    """One Traccar Client 9 object ``{"location": {...}, "device_id": ...}`` to a position."""
    device = doc.get("device_id") or fallback_id
    if not device:
        raise IngestError(400, "missing device_id")
    known_device(store, str(device), 404, seen)
    loc = doc.get("location")
    if not isinstance(loc, dict):
        raise IngestError(400, "location is not an object")
    coords = loc.get("coords")
    if not isinstance(coords, dict):
        raise IngestError(400, "location.coords is missing")
    pos: dict[str, Any] = {"device_id": str(device)}
    pos["t"] = parse_time(loc.get("timestamp"), "location.timestamp")
    pos["lat"] = number(coords.get("latitude"), "coords.latitude")
    pos["lon"] = number(coords.get("longitude"), "coords.longitude")
    pos["accuracy"] = optional(coords.get("accuracy"), "coords.accuracy")
    pos["speed"] = optional(coords.get("speed"), "coords.speed")  # already m/s
    pos["heading"] = optional(coords.get("heading"), "coords.heading")
    alt = coords.get("altitude")
    pos["altitude"] = None if alt in (None, -1) else number(alt, "coords.altitude")
    battery: dict[str, Any] = loc["battery"] if isinstance(loc.get("battery"), dict) else {}
    level = optional(battery.get("level"), "battery.level")
    if level is not None and level > 1:
        # the SDK sends a fraction; 87 would be stored as 8,700 %
        raise IngestError(400, f"battery.level={level:g} is not a fraction 0..1 (-1 unknown)")
    pos["battery"] = level * 100.0 if level is not None else None
    attrs: dict[str, Any] = {}
    if "is_charging" in battery:
        charging = battery["is_charging"]
        if not isinstance(charging, bool):  # bool("false") is True
            raise IngestError(400, f"battery.is_charging={charging!r} is not true or false")
        attrs["charge"] = charging
    for k in ("is_moving", "odometer", "event", "uuid", "mock"):
        if k in loc:
            attrs[k] = loc[k]
    if isinstance(loc.get("activity"), dict) and "type" in loc["activity"]:
        attrs["activity"] = loc["activity"]["type"]
    if isinstance(loc.get("extras"), dict) and loc["extras"]:
        attrs["extras"] = loc["extras"]
    pos["attrs"] = attrs or None
    return pos


def decode_json(store: Store, doc: Any, query_id: str | None) -> list[dict[str, Any]]:
    """A Traccar Client 9 object, or an array of them or of flat positions."""
    items = doc if isinstance(doc, list) else [doc]
    out = []
    seen: set[str] = set()  # devices found registered: each looked up once per request
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise IngestError(400, f"item {i} is not a JSON object")
        if "location" in item and isinstance(item["location"], dict):
            out.append(decode_json_location(store, item, query_id, seen))
        else:
            if len(items) > 1 and item.get("timestamp") in (None, ""):
                # queued fixes were taken at different times: the receive time fits none
                raise IngestError(400, f"item {i}: a position in an array needs its timestamp")
            flat = [
                (str(k), "" if v is None else str(v).lower() if isinstance(v, bool) else str(v))
                for k, v in item.items()
                if v is not None or k in KNOWN
            ]
            if query_id and not any(k in ("id", "deviceid") for k, _ in flat):
                flat.insert(0, ("id", query_id))
            pos = decode_params(store, flat, seen)
            # JSON objects and arrays stay themselves, not their Python repr as text
            nested = {
                str(k): v
                for k, v in item.items()
                if isinstance(v, dict | list) and str(k) not in KNOWN
            }
            if nested:
                pos["attrs"] = {**(pos["attrs"] or {}), **nested}
            out.append(pos)
    return out

"""Live GPS ingest: one module per wire format (OsmAnd/Traccar Client, OwnTracks, our JSON batch).

Each decoder turns a request into position dicts (``device_id, t`` naive UTC, ``lat, lon`` and
optional ``accuracy`` m, ``speed`` m/s, ``heading`` degrees, ``altitude`` m, ``battery`` percent,
``attrs``); :func:`store_positions` checks them all, authorises every device against the secret and
writes them in one transaction, so a malformed request stores nothing.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

import numpy as np
import pandas as pd

from ...config import get_settings
from ...errors import AuthError
from ...geo import swapped_lonlat, to_projected
from ...io.tracks import MAX_AHEAD, MIN_TIME
from ...readings import READINGS
from ...store.db import Store, utcnow
from ...store.devices import authorise, device_for_secret, get_device
from ...store.pings import insert_pings, resolve_teams


class IngestError(Exception):
    """A request we refuse: HTTP ``status`` and a reason the client's log can show."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


#: a decimal number as clients write it (ASCII digits, optional sign, point and exponent).
#: Python's float() also takes '5_2.6' (52.6), full-width or Arabic-Indic digits and 'nan':
#: text no GPS client writes, so reading it would store a place or time nobody sent.
DECIMAL = re.compile(r"\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*", re.ASCII)


def number(value: Any, name: str) -> float:
    """'87.0', '87', 87 -> 87.0; anything else (JSON true/false too) is a 400 naming the parameter."""
    if isinstance(value, bool):
        raise IngestError(400, f"{name}={value!r} is not a number")
    if isinstance(value, str) and not DECIMAL.fullmatch(value):
        raise IngestError(400, f"{name}={value!r} is not a number")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise IngestError(400, f"{name}={value!r} is not a number") from None
    if not np.isfinite(v):
        raise IngestError(400, f"{name}={value!r} is not a finite number")
    return v


def optional(value: Any, name: str, unknown_negative: bool = True) -> float | None:
    """A number or None; -1 (or any negative, when ``unknown_negative``) means unknown."""
    if value is None or value == "":
        return None
    v = number(value, name)
    return None if unknown_negative and v < 0 else v


def parse_time(value: Any, name: str = "timestamp") -> dt.datetime:
    """Epoch seconds, epoch milliseconds, ISO 8601 (zone or none = UTC) or 'yyyy-MM-dd HH:mm:ss'
    (UTC) -> naive UTC. Epoch values below 2**31 are seconds, as in Traccar."""
    if isinstance(value, bool) or value is None or value == "":
        raise IngestError(400, f"{name} is empty")
    text = str(value).strip()
    n = float(text) if DECIMAL.fullmatch(text) else None
    if n is not None and np.isfinite(n):
        secs = n if abs(n) < 2**31 else n / 1000.0
        try:
            return dt.datetime(1970, 1, 1) + dt.timedelta(seconds=secs)
        except OverflowError:  # beyond year 1..9999: no clock means that
            raise IngestError(400, f"{name}={text!r} is out of range (device clock?)") from None
    try:
        t = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise IngestError(
            400,
            f"{name}={text!r} is not epoch seconds/milliseconds, ISO 8601 or yyyy-MM-dd HH:mm:ss",
        ) from None
    if _is_date(text):  # fromisoformat reads '2024-05-01' as midnight: a time never sent
        raise IngestError(400, f"{name}={text!r} is a date without a time of day")
    if t.tzinfo is not None:
        try:
            t = t.astimezone(dt.UTC).replace(tzinfo=None)
        except OverflowError:  # 0001-01-01T00:00+01:00 is before year 1 in UTC
            raise IngestError(400, f"{name}={text!r} is out of range (device clock?)") from None
    return t


def check_attrs(value: Any, where: str = "attrs") -> None:
    """Refuse (400) attributes the store cannot keep as they were sent.

    PostgreSQL text and jsonb cannot hold a NUL character, and JSON has no NaN or infinity:
    either made the insert fail with a 500 (and SQLite kept invalid JSON). Decoders turn
    non-finite readings into strings or refuse them; this is the last check, walking nested
    objects and arrays (keys too).
    """
    if isinstance(value, str):
        if "\x00" in value:
            raise IngestError(400, f"{where} contains a NUL character")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise IngestError(400, f"{where}={value} is not a finite number")
    elif isinstance(value, dict):
        for k, v in value.items():
            if "\x00" in str(k):
                raise IngestError(400, f"{where}: an attribute name contains a NUL character")
            check_attrs(v, f"{where}.{k}")
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            check_attrs(v, f"{where}[{i}]")


def _is_date(text: str) -> bool:
    """True for an ISO 8601 date alone ('2024-05-01', '20240501', '2024-W18-3')."""
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def check_position(p: dict[str, Any], where: str = "") -> None:
    """Reject positions no cleaning could rescue (400): impossible coordinates or clock, the
    'no fix' placeholder 0,0, a reading outside its range (:data:`patrolwise.readings.READINGS`,
    the limits track files are checked against too), attributes the store cannot keep.

    Latitude and longitude swapped is the track and crime imports' rule
    (:func:`patrolwise.geo.swapped_lonlat`): with a force area configured (``force_bbox``), a
    position outside it that would be inside it the other way round is refused naming the swap,
    never stored swapped back. A position merely outside the force area is accepted.
    """
    lat, lon, t = p.get("lat"), p.get("lon"), p["t"]
    pre = f"{where}: " if where else ""
    if lat is None or lon is None:
        raise IngestError(400, f"{pre}no position: send lat and lon (or location=lat,lon)")
    for key, r in READINGS.items():
        v = p.get(key)
        if v is not None and not r.lo <= v <= r.hi:
            raise IngestError(
                400,
                f"{pre}{key}={v:g} {r.unit} is outside {r.what}: no patrol's GPS reads that "
                "(a wrong unit or a broken sensor?)",
            )
    if p.get("attrs"):
        check_attrs(p["attrs"], f"{pre}attribute")
    if not -90 <= lat <= 90:
        raise IngestError(400, f"{pre}lat={lat} is outside -90..90")
    if not -180 <= lon <= 180:
        raise IngestError(400, f"{pre}lon={lon} is outside -180..180")
    if lat == 0 and lon == 0:  # as the track import: trackers send 0,0 when they have no fix
        raise IngestError(400, f"{pre}position 0,0 is a tracker's 'no fix' placeholder")
    bbox = get_settings().force_bbox
    if bbox is not None and bool(swapped_lonlat([lon], [lat], bbox)[0]):
        raise IngestError(
            400,
            f"{pre}lat={lat}, lon={lon} look swapped: the position is outside the force area "
            f"{bbox} but would be inside it the other way round: send lat as lat and lon as lon",
        )
    now = utcnow()
    if t < MIN_TIME.to_pydatetime() or t > now + MAX_AHEAD.to_pytimedelta():
        raise IngestError(400, f"{pre}implausible time {t:%Y-%m-%d %H:%M:%S} UTC (device clock?)")


def known_device(
    store: Store, device_id: str, status: int = 400, seen: set[str] | None = None
) -> str:
    """``device_id`` if registered, else ``status`` (400 or 404) naming it.

    ``seen`` holds the ids already found in this request: an array of queued positions names
    one device thousands of times, and looking it up each time held a worker for seconds.
    """
    if seen is not None and device_id in seen:
        return device_id
    if get_device(store, device_id) is None:
        raise IngestError(
            status, f"unknown device {device_id!r}: register it with `patrolwise devices add`"
        )
    if seen is not None:
        seen.add(device_id)
    return device_id


def _authorise(store: Store, device_id: str, secret: str | None) -> None:
    try:
        authorise(store, device_id, secret)
    except AuthError as exc:
        raise IngestError(getattr(exc, "status", 401), str(exc)) from None


def authenticate(store: Store, secret: str | None, claimed: str | None = None) -> None:
    """Authenticate a request that carries no position, as one with positions would be.

    ``claimed`` is the device the request names outside its positions (OsmAnd's ``?id=``,
    OwnTracks' user and device, the batch's secret holder): unknown is a 400, then its secret
    must be right (401 missing or nobody's, 403 another device's, revoked or out of service).
    Without a claimed device the secret alone must belong to a device in service.
    """
    if claimed is None:
        if not secret:
            raise IngestError(
                401, "no device secret: send it as HTTP Basic password, a bearer token or ?token="
            )
        owner = device_for_secret(store, secret)
        if owner is None:
            raise IngestError(401, "the secret is not valid for any device")
        claimed = owner.device_id
    else:
        known_device(store, claimed, 400)
    _authorise(store, claimed, secret)


def store_positions(
    store: Store,
    positions: list[dict[str, Any]],
    secret: str | None,
    source: str,
    claimed: str | None = None,
) -> int:
    """Authorise each device, check every position, then write them all in one transaction.

    A request with no position (an empty array, OwnTracks' empty body or its other message
    types) is authenticated all the same (:func:`authenticate`, with ``claimed`` the device the
    request names outside its positions): an unknown or unauthenticated client gets the 400,
    401 or 403 a position would have got, never a 200.
    """
    for i, p in enumerate(positions):
        check_position(p, f"position {i}" if len(positions) > 1 else "")
    if not positions:
        authenticate(store, secret, claimed)
        return 0
    for d in sorted({p["device_id"] for p in positions}):
        _authorise(store, d, secret)
    df = pd.DataFrame.from_records(positions)
    for c in ("accuracy", "speed", "heading", "altitude", "battery"):
        if c not in df:
            df[c] = np.nan
    if "attrs" not in df:
        df["attrs"] = None
    df["t"] = pd.to_datetime(df["t"]).astype("datetime64[ns]").dt.floor("us")
    settings = get_settings()
    df["x"], df["y"] = to_projected(df["lon"], df["lat"], settings.crs)
    if not (np.isfinite(df["x"]).all() and np.isfinite(df["y"]).all()):
        raise IngestError(400, f"position cannot be projected to {settings.crs}")
    with store.engine.begin() as conn:
        df["team"] = resolve_teams(conn, df["device_id"], df["t"], settings.timezone)
        return insert_pings(conn, df, source=source, received_at=utcnow())

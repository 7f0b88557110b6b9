"""OwnTracks HTTP mode (iOS and Android apps, and anything speaking the Recorder's ``/pub``).

The app POSTs its JSON payloads with HTTP Basic auth; the user and device names come in the
``X-Limit-U`` / ``X-Limit-D`` headers (or ``?u=&d=`` in the URL for proxies that strip headers).
Our device id is ``user/device`` (OwnTracks' own topic naming), falling back to ``device`` then
``user`` when that is what was registered (of these, the one whose secret is sent). The body is
one message or an array; ``_type: location`` carries ``lat``, ``lon``, ``tst`` (epoch seconds),
``acc`` (m), ``vel`` (**km/h**, stored as m/s), ``alt``, ``cog``, ``batt`` (percent) and ``tid``;
every other type (transition, waypoint, lwt, card, status, encrypted...) and an empty body (the
app deleting a friend) is accepted and ignored, once the device is authenticated like any other
request (an unknown device is a 400, a missing or wrong secret 401 / 403). The answer to an
accepted request is always a JSON array (``[]``): the apps read it for commands.
"""

from __future__ import annotations

from typing import Any

from ...io.tracks import KMH
from ...store.db import Store
from ...store.devices import device_for_secret, get_device
from . import IngestError, number, optional, parse_time

SKIP = {"_type", "lat", "lon", "tst", "acc", "vel", "alt", "cog", "batt"}


def device_for(
    store: Store, user: str | None, device: str | None, secret: str | None = None
) -> str:
    """The registered device id among 'user/device', 'device', 'user'.

    The candidate the ``secret`` belongs to comes first: device names repeat across people
    (the apps name a phone 'iphone' or 'phone'), and taking the first registered candidate
    refused alice, registered as 'alice', because bob's phone was registered as 'iphone'.
    Without a matching secret, the first registered candidate is named (and then refused).
    """
    if not user and not device:
        raise IngestError(400, "no user: send X-Limit-U (and X-Limit-D) headers or ?u=&d=")
    candidates = [f"{user}/{device}" if user and device else None, device, user]
    owner = device_for_secret(store, secret) if secret else None
    if owner is not None and owner.device_id in candidates:
        return owner.device_id
    for c in candidates:
        if c and get_device(store, c) is not None:
            return c
    want = candidates[0] or user or device
    raise IngestError(
        400, f"unknown device {want!r}: register it with `patrolwise devices add {want}`"
    )


def decode(doc: Any, device_id: str) -> list[dict[str, Any]]:
    """Location messages to positions; everything else ignored."""
    items = doc if isinstance(doc, list) else [doc]
    out = []
    for i, m in enumerate(items):
        if not isinstance(m, dict) or m.get("_type") != "location":
            continue
        where = f"message {i}"
        if "lat" not in m or "lon" not in m or "tst" not in m:
            raise IngestError(400, f"{where}: a location needs lat, lon and tst")
        vel = optional(m.get("vel"), f"{where} vel")
        out.append(
            {
                "device_id": device_id,
                "t": parse_time(m["tst"], f"{where} tst"),
                "lat": number(m["lat"], f"{where} lat"),
                "lon": number(m["lon"], f"{where} lon"),
                "accuracy": optional(m.get("acc"), f"{where} acc"),
                "speed": vel * KMH if vel is not None else None,
                "altitude": optional(m.get("alt"), f"{where} alt", unknown_negative=False),
                "heading": optional(m.get("cog"), f"{where} cog"),
                "battery": optional(m.get("batt"), f"{where} batt"),
                "attrs": {k: v for k, v in m.items() if k not in SKIP} or None,
            }
        )
    return out

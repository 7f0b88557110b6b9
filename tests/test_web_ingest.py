"""Live ingest over real HTTP: the request shapes Traccar Client, OsmAnd and OwnTracks send.

The app runs in uvicorn on a free loopback port (a real server and socket, not a test client),
on SQLite and on PostgreSQL; requests go out with httpx exactly as the apps build them.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pandas as pd
import pytest
import uvicorn

from patrolwise.store import Store
from patrolwise.store.devices import add_device, revoke_device
from patrolwise.store.pings import load_pings
from patrolwise.web.app import create_app

KN = 1852 / 3600
T0 = 1714572120  # 2024-05-01 14:02:00 UTC
T0_UTC = pd.Timestamp("2024-05-01 14:02:00")


@dataclass
class Server:
    url: str
    store: Store
    secrets: dict[str, str]

    def pings(self, device: str | None = None) -> pd.DataFrame:
        return load_pings(self.store, devices=[device] if device else None, with_attrs=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(store_url: str) -> Iterator[Server]:
    app = create_app(store_url)
    store: Store = app.state.store
    secrets = {
        "phone1": str(add_device(store, "phone1", "outreach", staff="A. Worker")),
        "phone2": str(add_device(store, "phone2", "police")),
        "alice/iphone": str(add_device(store, "alice/iphone", "outreach")),
    }
    # uvicorn serves on a socket bound here, so no other process (a second xdist worker's server,
    # PostgreSQL) can take the port between choosing it and listening on it
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    srv = uvicorn.Server(config)
    th = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    th.start()
    deadline = time.monotonic() + 20
    try:
        while not srv.started:
            if time.monotonic() > deadline or not th.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        yield Server(f"http://127.0.0.1:{port}", store, secrets)
    finally:
        srv.should_exit = True
        th.join(timeout=10)
        sock.close()
        store.close()


def test_traccar_client_form_post(server: Server) -> None:
    # Traccar Client (Android 6-8): POST to the server URL, parameters form-encoded in the body
    body = (
        f"id=phone1&timestamp={T0}&lat=52.6369&lon=-1.1398&speed=2.0&bearing=87.0"
        "&altitude=60.0&accuracy=5.0&batt=87.0&charge=true&valid=true"
    )
    r = httpx.post(
        f"{server.url}/ingest/osmand?token={server.secrets['phone1']}",
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 200 and r.content == b""
    p = server.pings("phone1").iloc[0]
    assert p["t"] == T0_UTC
    assert (p["lat"], p["lon"]) == (52.6369, -1.1398)
    assert p["speed"] == pytest.approx(2.0 * KN)  # knots -> m/s
    assert (p["heading"], p["altitude"], p["accuracy"], p["battery"]) == (87.0, 60.0, 5.0, 87.0)
    assert p["attrs"] == {"charge": True, "valid": True}
    assert p["team"] == "outreach" and p["source"] == "osmand"
    assert 400000 < p["x"] < 500000 and 250000 < p["y"] < 350000  # British National Grid


def test_legacy_query_string_post_and_get_variants(server: Server) -> None:
    s = server.secrets["phone1"]
    r = httpx.post(
        f"{server.url}/ingest/osmand?id=phone1&timestamp={T0}&lat=52.6&lon=-1.1&speed=10&token={s}"
    )
    assert r.status_code == 200 and r.content == b""
    # OsmAnd: GET, deviceid, location=lat,lon, epoch milliseconds
    r = httpx.get(
        f"{server.url}/ingest/osmand",
        params={
            "deviceid": "phone1",
            "location": "52.61,-1.11",
            "timestamp": (T0 + 60) * 1000,
            "token": s,
        },
    )
    assert r.status_code == 200
    for ts, _utc in (
        ("2024-05-01T15:04:00+01:00", "2024-05-01 14:04:00"),
        ("2024-05-01 14:05:00", "2024-05-01 14:05:00"),
        ("2024-05-01T14:06:00.500Z", "2024-05-01 14:06:00.5"),
    ):
        r = httpx.put(
            f"{server.url}/ingest/osmand",
            params={"id": "phone1", "lat": "52.62", "lon": "-1.12", "timestamp": ts},
            auth=("phone1", s),
        )
        assert r.status_code == 200, r.text
    df = server.pings("phone1")
    assert list(df["t"]) == [
        T0_UTC,
        pd.Timestamp("2024-05-01 14:03:00"),
        pd.Timestamp("2024-05-01 14:04:00"),
        pd.Timestamp("2024-05-01 14:05:00"),
        pd.Timestamp("2024-05-01 14:06:00.5"),
    ]
    assert df["speed"].iloc[0] == pytest.approx(10 * KN)
    assert (df["lat"].iloc[1], df["lon"].iloc[1]) == (52.61, -1.11)


def test_traccar_client_9_json_and_arrays(server: Server) -> None:
    doc = {
        "location": {
            "timestamp": "2024-05-01T14:02:00.000Z",
            "coords": {
                "latitude": 52.6369,
                "longitude": -1.1398,
                "accuracy": 7.5,
                "speed": 1.4,
                "heading": -1,
                "altitude": -1,
            },
            "is_moving": True,
            "odometer": 1234.5,
            "event": "motionchange",
            "battery": {"level": 0.87, "is_charging": False},
            "activity": {"type": "walking"},
            "extras": {},
        },
        "device_id": "phone1",
    }
    r = httpx.post(
        f"{server.url}/ingest/osmand?token={server.secrets['phone1']}",
        content=json.dumps(doc),
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 200 and r.content == b""
    p = server.pings("phone1").iloc[0]
    assert p["t"] == T0_UTC
    assert p["speed"] == pytest.approx(1.4)  # already m/s
    assert p["accuracy"] == 7.5 and pd.isna(p["heading"]) and pd.isna(p["altitude"])
    assert p["battery"] == pytest.approx(87.0)
    assert p["attrs"]["activity"] == "walking" and p["attrs"]["charge"] is False
    # an array of flat positions (queued fixes), out of order and with a duplicate
    flat = [
        {"id": "phone1", "lat": 52.63, "lon": -1.13, "timestamp": T0 + 120, "speed": 1},
        {"id": "phone1", "lat": 52.62, "lon": -1.12, "timestamp": T0 + 60},
        {"id": "phone1", "lat": 52.63, "lon": -1.13, "timestamp": T0 + 120, "speed": 1},
    ]
    r = httpx.post(
        f"{server.url}/ingest/osmand",
        json=flat,
        headers={"Authorization": f"Bearer {server.secrets['phone1']}"},
    )
    assert r.status_code == 200
    df = server.pings("phone1")
    assert list(df["t"]) == [T0_UTC + pd.Timedelta(minutes=m) for m in (0, 1, 2)]


def test_osmand_refusals_store_nothing(server: Server) -> None:
    s1, s2 = server.secrets["phone1"], server.secrets["phone2"]
    url = f"{server.url}/ingest/osmand"
    q = {"lat": "52.6", "lon": "-1.1", "timestamp": str(T0)}
    assert httpx.post(url, params={**q, "token": s1}).status_code == 400  # no id
    assert httpx.post(url, params={**q, "id": "nobody", "token": s1}).status_code == 400
    r = httpx.post(
        url, json={"device_id": "nobody", "location": {"coords": {}}}, params={"token": s1}
    )
    assert r.status_code == 404
    assert httpx.post(url, params={**q, "id": "phone1"}).status_code == 401  # no secret
    r = httpx.post(url, params={**q, "id": "phone1", "token": "not-a-secret"})
    assert r.status_code == 401
    # phone2's secret cannot post for phone1
    r = httpx.post(url, params={**q, "id": "phone1", "token": s2})
    assert r.status_code == 403 and "cannot post" in r.json()["detail"]
    r = httpx.post(url, params={**q, "id": "phone1", "lat": "95", "token": s1})
    assert r.status_code == 400 and "lat" in r.json()["detail"]
    r = httpx.post(url, params={**q, "id": "phone1", "timestamp": "yesterday", "token": s1})
    assert r.status_code == 400
    r = httpx.post(url, params={**q, "id": "phone1", "timestamp": "-2208988800", "token": s1})
    assert r.status_code == 400 and "implausible" in r.json()["detail"]
    bad_array = [
        {"id": "phone1", "lat": 52.6, "lon": -1.1, "timestamp": T0},
        {"id": "phone1", "lat": "x", "lon": -1.1, "timestamp": T0 + 1},
    ]
    assert httpx.post(url, json=bad_array, params={"token": s1}).status_code == 400
    assert len(server.pings()) == 0
    revoke_device(server.store, "phone1")
    r = httpx.post(url, params={**q, "id": "phone1", "token": s1})
    assert r.status_code == 403 and "revoked" in r.json()["detail"]


def test_owntracks_with_headers_and_with_query(server: Server) -> None:
    s = server.secrets["alice/iphone"]
    msg = {
        "_type": "location",
        "lat": 52.6369,
        "lon": -1.1398,
        "tst": T0,
        "acc": 12,
        "vel": 36,
        "alt": 61,
        "batt": 80,
        "tid": "AI",
        "conn": "m",
    }
    r = httpx.post(
        f"{server.url}/ingest/owntracks",
        content=json.dumps(msg),
        headers={"X-Limit-U": "alice", "X-Limit-D": "iphone", "Content-Type": "application/json"},
        auth=("alice", s),
    )
    assert r.status_code == 200 and r.json() == []
    p = server.pings("alice/iphone").iloc[0]
    assert p["t"] == T0_UTC and (p["lat"], p["lon"]) == (52.6369, -1.1398)
    assert p["speed"] == pytest.approx(10.0)  # 36 km/h
    assert (p["accuracy"], p["altitude"], p["battery"]) == (12.0, 61.0, 80.0)
    assert p["attrs"] == {"tid": "AI", "conn": "m"} and p["source"] == "owntracks"
    # ?u=&d=, an array with other message types, any content type
    body = [
        {"_type": "transition", "event": "enter", "tst": T0 + 5},
        {**msg, "tst": T0 + 60, "vel": 0},
        {"_type": "encrypted", "data": "abc"},
    ]
    r = httpx.post(
        f"{server.url}/ingest/owntracks?u=alice&d=iphone",
        content=json.dumps(body),
        headers={"Content-Type": "text/plain"},
        auth=("alice", s),
    )
    assert r.status_code == 200 and r.json() == []
    # an empty body (the app deleting a friend) is accepted and ignored
    r = httpx.post(
        f"{server.url}/ingest/owntracks?u=alice&d=iphone", content=b"", auth=("alice", s)
    )
    assert r.status_code == 200 and r.json() == []
    df = server.pings("alice/iphone")
    assert list(df["t"]) == [T0_UTC, T0_UTC + pd.Timedelta(minutes=1)]
    # someone else's secret: refused, nothing stored
    r = httpx.post(
        f"{server.url}/ingest/owntracks?u=alice&d=iphone",
        json={**msg, "tst": T0 + 120},
        auth=("alice", server.secrets["phone2"]),
    )
    assert r.status_code == 403
    r = httpx.post(f"{server.url}/ingest/owntracks?u=bob&d=x", json=msg, auth=("bob", s))
    assert r.status_code == 400
    assert len(server.pings("alice/iphone")) == 2


def test_batch_endpoint(server: Server) -> None:
    s = server.secrets["phone2"]
    batch = {
        "pings": [
            {"t": "2024-05-01T14:02:00Z", "lat": 52.6369, "lon": -1.1398, "accuracy": 8},
            {
                "device_id": "phone2",
                "t": T0 + 30,
                "easting": 458000,
                "northing": 304000,
                "speed": 1.2,
            },
        ]
    }
    h = {"Authorization": f"Bearer {s}"}
    r = httpx.post(f"{server.url}/ingest/batch", json=batch, headers=h)
    assert r.status_code == 200, r.text
    assert r.json() == {"received": 2, "imported": 2, "already_present": 0}
    r = httpx.post(f"{server.url}/ingest/batch", json=batch, headers=h)
    assert r.json() == {"received": 2, "imported": 0, "already_present": 2}
    df = server.pings("phone2")
    assert list(df["t"]) == [T0_UTC, T0_UTC + pd.Timedelta(seconds=30)]
    assert df["x"].iloc[1] == pytest.approx(458000, abs=0.01)
    assert (df["team"] == "police").all()
    bad = {"pings": [batch["pings"][0], {"t": "soon", "lat": 91, "lon": 0}, {"lat": 1, "lon": 1}]}
    r = httpx.post(f"{server.url}/ingest/batch", json=bad, headers=h)
    assert r.status_code == 422
    errs = r.json()["errors"]
    assert {e["index"] for e in errs} == {1, 2}
    assert any(e["field"] == "lat" for e in errs) and any(e["field"] == "t" for e in errs)
    other = {"pings": [{"device_id": "phone1", "t": T0 + 90, "lat": 52.6, "lon": -1.1}]}
    assert httpx.post(f"{server.url}/ingest/batch", json=other, headers=h).status_code == 403
    assert httpx.post(f"{server.url}/ingest/batch", json=batch).status_code == 401
    assert len(server.pings()) == 2
    schema = httpx.get(f"{server.url}/openapi.json").json()
    assert "/ingest/batch" in schema["paths"] and "/ingest/owntracks" in schema["paths"]


def test_times_are_utc_whatever_the_local_clock(server: Server) -> None:
    # a fix at 00:30 BST on 1 June is 23:30 UTC on 31 May
    t = dt.datetime(2024, 5, 31, 23, 30, tzinfo=dt.UTC).timestamp()
    r = httpx.get(
        f"{server.url}/ingest/osmand",
        params={
            "id": "phone1",
            "lat": 52.6,
            "lon": -1.1,
            "timestamp": int(t),
            "token": server.secrets["phone1"],
        },
    )
    assert r.status_code == 200
    assert server.pings("phone1")["t"].iloc[0] == pd.Timestamp("2024-05-31 23:30")


def test_out_of_range_times_and_boolean_coordinates_are_refused(server: Server) -> None:
    # found by QA: a timestamp past datetime's range crashed the handler (500, connection reset)
    # and JSON true/false were stored as latitude 1 / longitude 0
    s1, s2 = server.secrets["phone1"], server.secrets["phone2"]
    url = f"{server.url}/ingest/osmand"
    q = {"id": "phone1", "lat": "52.6", "lon": "-1.1", "token": s1}
    for ts in ("99999999999999999999", "1e300", "-99999999999999", "0001-01-01T00:00:00+01:00"):
        r = httpx.post(url, data={**q, "timestamp": ts})
        assert r.status_code == 400, (ts, r.text)
        assert "timestamp" in r.json()["detail"] or "implausible" in r.json()["detail"]
    doc = {
        "device_id": "phone1",
        "location": {"timestamp": T0, "coords": {"latitude": True, "longitude": False}},
    }
    r = httpx.post(url, json=doc, params={"token": s1})
    assert r.status_code == 400 and "latitude" in r.json()["detail"]
    arr = [{"id": "phone1", "lat": True, "lon": -1.1, "timestamp": T0}]
    r = httpx.post(url, json=arr, params={"token": s1})
    assert r.status_code == 400
    ot = {"_type": "location", "lat": True, "lon": -1.1, "tst": T0}
    h = {"X-Limit-U": "alice", "X-Limit-D": "iphone"}
    r = httpx.post(
        f"{server.url}/ingest/owntracks",
        json=ot,
        headers=h,
        auth=("alice", server.secrets["alice/iphone"]),
    )
    assert r.status_code == 400 and "lat" in r.json()["detail"]
    r = httpx.post(
        f"{server.url}/ingest/owntracks",
        json={**ot, "lat": 52.6, "tst": 1e20},
        headers=h,
        auth=("alice", server.secrets["alice/iphone"]),
    )
    assert r.status_code == 400 and "tst" in r.json()["detail"]
    b = {"Authorization": f"Bearer {s2}"}
    r = httpx.post(
        f"{server.url}/ingest/batch",
        json={"pings": [{"t": 1e20, "lat": 52.6, "lon": -1.1}]},
        headers=b,
    )
    assert r.status_code == 422 and r.json()["errors"][0]["index"] == 0
    r = httpx.post(
        f"{server.url}/ingest/batch",
        json={"pings": [{"t": T0, "lat": True, "lon": -1.1}]},
        headers=b,
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "lat"
    # every bad item is listed, not only those the schema catches
    bad = {"pings": [{"t": "x", "lat": 52.6, "lon": -1.1}, {"t": T0, "lat": 95, "lon": -1.1}]}
    r = httpx.post(f"{server.url}/ingest/batch", json=bad, headers=b)
    assert r.status_code == 422
    assert {e["index"] for e in r.json()["errors"]} == {0, 1}
    assert len(server.pings()) == 0


def test_swapped_latitude_and_longitude_are_refused(server: Server) -> None:
    """A position in the force area only with lat and lon exchanged is refused naming the swap
    (the crime and track imports' rule), by every endpoint, and nothing is stored."""
    s1, s2 = server.secrets["phone1"], server.secrets["phone2"]
    url = f"{server.url}/ingest/osmand"
    r = httpx.post(
        url, params={"id": "phone1", "lat": "-1.1", "lon": "52.6", "timestamp": T0, "token": s1}
    )
    assert r.status_code == 400 and "look swapped" in r.json()["detail"]
    r = httpx.post(
        url, params={"id": "phone1", "location": "-1.1,52.6", "timestamp": T0, "token": s1}
    )
    assert r.status_code == 400 and "look swapped" in r.json()["detail"]
    doc = {
        "device_id": "phone1",
        "location": {"timestamp": T0, "coords": {"latitude": -1.1, "longitude": 52.6}},
    }
    r = httpx.post(url, json=doc, params={"token": s1})
    assert r.status_code == 400 and "look swapped" in r.json()["detail"]
    ot = {"_type": "location", "lat": -1.1, "lon": 52.6, "tst": T0}
    r = httpx.post(
        f"{server.url}/ingest/owntracks",
        json=ot,
        headers={"X-Limit-U": "alice", "X-Limit-D": "iphone"},
        auth=("alice", server.secrets["alice/iphone"]),
    )
    assert r.status_code == 400 and "look swapped" in r.json()["detail"]
    batch = {
        "pings": [
            {"t": T0, "lat": 52.6, "lon": -1.1},
            {"t": T0 + 1, "lat": -1.1, "lon": 52.6},
        ]
    }
    r = httpx.post(
        f"{server.url}/ingest/batch", json=batch, headers={"Authorization": f"Bearer {s2}"}
    )
    assert r.status_code == 422
    (err,) = r.json()["errors"]
    assert err["index"] == 1 and "look swapped" in err["reason"]
    assert len(server.pings()) == 0
    # a position elsewhere in the world (not swapped) is still taken
    r = httpx.post(
        url, params={"id": "phone1", "lat": "46.43", "lon": "13.74", "timestamp": T0, "token": s1}
    )
    assert r.status_code == 200


def test_a_device_not_yet_in_service_cannot_post(server: Server) -> None:
    # found by QA: a device registered --from a future day posted positions (200); only the
    # end of its dates was checked, though the registry says 403 outside its active dates
    later = dt.date.today() + dt.timedelta(days=30)
    s = str(add_device(server.store, "spare1", "police", active_from=later))
    q = {"id": "spare1", "lat": "52.6", "lon": "-1.1", "timestamp": str(T0), "token": s}
    r = httpx.post(f"{server.url}/ingest/osmand", params=q)
    assert r.status_code == 403 and "service" in r.json()["detail"]
    assert len(server.pings()) == 0


def test_concurrent_phones_each_ping_stored_once(server: Server) -> None:
    # eight phones posting at once (the server answers from a thread pool, so SQLite sees
    # concurrent writers and PostgreSQL concurrent transactions), every tenth fix resent as a
    # phone does after a lost answer, and one phone trying to post as another
    import concurrent.futures as cf

    phones = {f"p{i:02d}": str(add_device(server.store, f"p{i:02d}", "outreach")) for i in range(8)}

    def post_all(phone: str) -> list[int]:
        codes = []
        with httpx.Client(timeout=60) as c:
            for k in range(20):
                q = {
                    "id": phone,
                    "timestamp": str(T0 + 10 * k),
                    "lat": f"{52.6369 + 1e-5 * k:.6f}",
                    "lon": "-1.1398",
                    "token": phones[phone],
                }
                for _ in range(2 if k % 10 == 0 else 1):
                    codes.append(c.post(f"{server.url}/ingest/osmand", params=q).status_code)
            other = {**q, "id": "p00" if phone != "p00" else "p01"}
            codes.append(c.post(f"{server.url}/ingest/osmand", params=other).status_code)
        return codes

    with cf.ThreadPoolExecutor(len(phones)) as ex:
        results = dict(zip(phones, ex.map(post_all, phones), strict=True))
    for phone, codes in results.items():
        assert codes[:-1] == [200] * 22, (phone, codes)
        assert codes[-1] in (401, 403), (phone, codes[-1])
    got = server.pings()
    assert len(got) == 8 * 20
    per = got.groupby("device_id")["t"].agg(["count", "nunique", "min", "max"])
    assert (per["count"] == 20).all() and (per["nunique"] == 20).all()
    assert (per["min"] == T0_UTC).all()
    assert (per["max"] == T0_UTC + pd.Timedelta(seconds=190)).all()


def test_hostile_json_bodies_are_refused_not_crashed(server: Server) -> None:
    # found by QA: a deeply nested body raised RecursionError (500, connection reset) on every
    # endpoint, a 5,000-digit number hit Python's integer-string limit (500), and the
    # non-standard literals NaN / Infinity (and 1e400, which Python reads as infinity) were
    # taken: an infinite speed was stored, a NaN attribute broke PostgreSQL (500)
    s1, s2, sa = server.secrets["phone1"], server.secrets["phone2"], server.secrets["alice/iphone"]
    deep = b"[" * 100_000 + b"]" * 100_000
    posts = [
        (f"{server.url}/ingest/osmand", {"token": s1}, {}),
        (f"{server.url}/ingest/owntracks", {"u": "alice", "d": "iphone", "token": sa}, {}),
        (f"{server.url}/ingest/batch", {}, {"Authorization": f"Bearer {s2}"}),
    ]
    for url, params, headers in posts:
        r = httpx.post(url, params=params, headers=headers, content=deep)
        assert r.status_code == 400, (url, r.status_code, r.text)
        assert "nested" in r.json()["detail"]
    bodies = [
        (0, '[{"id":"phone1","lat":52.6,"lon":-1.1,"timestamp":@T,"hdop":NaN}]'),
        (
            0,
            '{"device_id":"phone1","location":{"timestamp":@T,"coords":{"latitude":52.6,'
            '"longitude":-1.1},"odometer":Infinity}}',
        ),
        (1, '{"_type":"location","lat":52.6,"lon":-1.1,"tst":@T,"x":-Infinity}'),
        (2, '{"pings":[{"t":@T,"lat":52.6,"lon":-1.1,"speed":1e400}]}'),
        (2, '{"pings":[{"t":@T,"lat":52.6,"lon":-1.1,"accuracy":Infinity}]}'),
        (2, '{"pings":[{"t":@T,"lat":52.6,"lon":-1.1,"altitude":' + "9" * 5000 + "}]}"),
    ]
    for k, body in bodies:
        url, params, headers = posts[k]
        body = body.replace("@T", str(T0))
        r = httpx.post(url, params=params, headers=headers, content=body)
        assert r.status_code == 400, (body[:80], r.status_code, r.text)
        detail = r.json()["detail"]
        assert "not a finite number" in detail or "too many digits" in detail, detail
    assert len(server.pings()) == 0


def test_batch_refuses_non_finite_numbers_written_as_strings(server: Server) -> None:
    # found by QA: the batch schema read "Infinity", "inf" or "1e400" (strings, so valid JSON)
    # as infinity and stored an infinite altitude, speed or accuracy (200)
    h = {"Authorization": f"Bearer {server.secrets['phone2']}"}
    for field, value in (
        ("altitude", "Infinity"),
        ("speed", "inf"),
        ("accuracy", "1e400"),
        ("easting", "NaN"),
    ):
        ping = {"t": T0, "lat": 52.6, "lon": -1.1, field: value}
        r = httpx.post(f"{server.url}/ingest/batch", json={"pings": [ping]}, headers=h)
        assert r.status_code == 422, (field, r.text)
        (err,) = r.json()["errors"]
        assert err["index"] == 0 and err["field"] == field and "finite" in err["reason"]
    assert len(server.pings()) == 0


def test_nul_characters_and_non_finite_attributes(server: Server) -> None:
    # found by QA: PostgreSQL text and jsonb cannot hold a NUL character and jsonb has no NaN,
    # so an id, OwnTracks user or attribute with "\x00", or an attribute "hdop=nan", gave 500
    # there; SQLite stored the NaN as invalid JSON. Attributes "nan"/"inf" are kept as the
    # strings the client sent; a NUL is refused (400 / 422) and nothing is stored
    s1, sa = server.secrets["phone1"], server.secrets["alice/iphone"]
    url = f"{server.url}/ingest/osmand"
    q = {"id": "phone1", "lat": "52.6", "lon": "-1.1", "timestamp": str(T0), "token": s1}
    for extra in ({"id": "phone1\x00"}, {"note": "a\x00b"}, {"no\x00te": "ab"}):
        r = httpx.post(url, params={**q, **extra})
        assert r.status_code == 400, (extra, r.text)
    doc = {
        "device_id": "phone1",
        "location": {"timestamp": T0, "coords": {"latitude": 52.6, "longitude": -1.1}},
    }
    r = httpx.post(url, params={"token": s1}, json={**doc, "device_id": "ph\x00"})
    assert r.status_code in (400, 404), r.text
    bad = {**doc, "location": {**doc["location"], "extras": {"k": "v\x00"}}}
    r = httpx.post(url, params={"token": s1}, json=bad)
    assert r.status_code == 400 and "NUL" in r.json()["detail"], r.text
    ot = f"{server.url}/ingest/owntracks"
    msg = {"_type": "location", "lat": 52.6, "lon": -1.1, "tst": T0}
    r = httpx.post(ot, params={"u": "al\x00ice", "d": "iphone"}, json=msg, auth=("alice", sa))
    assert r.status_code == 400, r.text
    r = httpx.post(
        ot, params={"u": "alice", "d": "iphone"}, json={**msg, "t": "\x00"}, auth=("x", sa)
    )
    assert r.status_code == 400 and "NUL" in r.json()["detail"], r.text
    h = {"Authorization": f"Bearer {server.secrets['phone2']}"}
    ping = {"t": T0, "lat": 52.6, "lon": -1.1, "attrs": {"a": ["x", {"b": "\x00"}]}}
    r = httpx.post(f"{server.url}/ingest/batch", json={"pings": [ping]}, headers=h)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "attrs"
    assert len(server.pings()) == 0
    r = httpx.post(url, params={**q, "hdop": "nan", "x": "inf", "n": "87.0"})
    assert r.status_code == 200, r.text
    assert server.pings("phone1")["attrs"].iloc[0] == {"hdop": "nan", "x": "inf", "n": 87.0}


def test_device_ids_with_control_characters_are_refused(store_url: str) -> None:
    # found by QA: `devices add $'ph\nx'` registered an id that breaks the device list and
    # every log line; one with a NUL cannot be stored by PostgreSQL at all
    from patrolwise.errors import InputError

    with Store(store_url) as st:
        for bad in ("ph\nx", "ph\x01x", "ph\x00x", "ph\tx"):
            with pytest.raises(InputError, match="control character"):
                add_device(st, bad, "police")
        assert add_device(st, "  Ph One/iPhone ", "police")
        from patrolwise.store.devices import get_device

        assert get_device(st, "Ph One/iPhone") is not None
        assert get_device(st, "Ph One/iPhone\x00") is None


def test_multipart_form_post(server: Server) -> None:
    # found by QA: a multipart/form-data body was also read as a query string, so the raw MIME
    # text ('--boundary\r\nContent-Disposition: form-data; name') was stored as an attribute,
    # and a file part was stored as the text "UploadFile(filename=...)"
    s1 = server.secrets["phone1"]
    url = f"{server.url}/ingest/osmand"
    fields = {"id": "phone1", "lat": "52.6", "lon": "-1.1", "timestamp": str(T0), "charge": "true"}
    r = httpx.post(url, params={"token": s1}, files={k: (None, v) for k, v in fields.items()})
    assert r.status_code == 200, r.text
    p = server.pings("phone1").iloc[0]
    assert p["t"] == T0_UTC and (p["lat"], p["lon"]) == (52.6, -1.1)
    assert p["attrs"] == {"charge": True}
    later = {**fields, "timestamp": str(T0 + 60)}
    r = httpx.post(url, params={"token": s1}, data=later, files={"log": ("a.txt", b"x")})
    assert r.status_code == 400 and "file" in r.json()["detail"], r.text
    r = httpx.post(
        url,
        params={"token": s1},
        content=b'--zz\r\nContent-Disposition: form-data; name="id"\r\n\r\nphone1',
        headers={"Content-Type": "multipart/form-data; boundary=zz"},
    )
    assert r.status_code == 400, r.text
    assert len(server.pings()) == 1


def test_oversized_bodies_are_refused(server: Server) -> None:
    # found by QA: no endpoint limited the body, so a 30 MB form value was read into memory and
    # stored as one ping's attribute (200) and 200,000 form keys became 200,000 attributes
    s1, s2 = server.secrets["phone1"], server.secrets["phone2"]
    url = f"{server.url}/ingest/osmand"
    form = f"id=phone1&lat=52.6&lon=-1.1&timestamp={T0}&note=" + "a" * (2 << 20)
    r = httpx.post(
        url,
        params={"token": s1},
        content=form,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 413, r.status_code
    many = "&".join(f"k{i}=v" for i in range(200_000))
    r = httpx.post(url, params={"token": s1}, content=f"id=phone1&lat=52.6&lon=-1.1&{many}")
    assert r.status_code == 413, r.status_code
    msg = {"_type": "location", "lat": 52.6, "lon": -1.1, "tst": T0, "x": "a" * (2 << 20)}
    r = httpx.post(
        f"{server.url}/ingest/owntracks?u=alice&d=iphone",
        json=msg,
        auth=("alice", server.secrets["alice/iphone"]),
    )
    assert r.status_code == 413, r.status_code
    h = {"Authorization": f"Bearer {s2}"}
    r = httpx.post(f"{server.url}/ingest/batch", content=b" " * (40 << 20), headers=h)
    assert r.status_code == 413, r.status_code
    assert len(server.pings()) == 0
    # a full batch still fits: 50,000 pings as a feed writes them
    pings = [
        {"t": T0 + i, "lat": 52.6 + i * 1e-6, "lon": -1.1, "accuracy": 8.0, "speed": 1.4}
        for i in range(50_000)
    ]
    r = httpx.post(f"{server.url}/ingest/batch", json={"pings": pings}, headers=h, timeout=300)
    assert r.status_code == 200, r.text[:200]
    assert r.json()["imported"] == 50_000


def test_readings_out_of_range_are_refused(server: Server) -> None:
    # found by QA: Traccar Client 9 sends battery.level as a fraction 0..1; a level of 87 was
    # stored as 8,700 %, and OsmAnd batt=150 or bearing=720 were stored as sent, while the
    # batch endpoint refuses the same readings (battery 0..100, heading 0..360)
    s1 = server.secrets["phone1"]
    url = f"{server.url}/ingest/osmand"
    doc = {
        "device_id": "phone1",
        "location": {
            "timestamp": T0,
            "coords": {"latitude": 52.6, "longitude": -1.1},
            "battery": {"level": 87},
        },
    }
    r = httpx.post(url, params={"token": s1}, json=doc)
    assert r.status_code == 400 and "battery.level" in r.json()["detail"], r.text
    q = {"id": "phone1", "lat": "52.6", "lon": "-1.1", "timestamp": str(T0), "token": s1}
    for extra in ({"batt": "150"}, {"bearing": "720"}, {"heading": "361"}):
        r = httpx.post(url, params={**q, **extra})
        assert r.status_code == 400, (extra, r.text)
    msg = {"_type": "location", "lat": 52.6, "lon": -1.1, "tst": T0, "batt": 101}
    r = httpx.post(
        f"{server.url}/ingest/owntracks?u=alice&d=iphone",
        json=msg,
        auth=("alice", server.secrets["alice/iphone"]),
    )
    assert r.status_code == 400 and "batt" in r.json()["detail"], r.text
    assert len(server.pings()) == 0
    # the edges are readings: an empty battery, a full one, due north written as 360
    doc["location"]["battery"] = {"level": 1}
    assert httpx.post(url, params={"token": s1}, json=doc).status_code == 200
    r = httpx.post(url, params={**q, "timestamp": str(T0 + 1), "batt": "0", "bearing": "360"})
    assert r.status_code == 200
    assert list(server.pings("phone1")["battery"]) == [100.0, 0.0]


def test_loose_numbers_and_dates_without_a_time_are_refused(server: Server) -> None:
    # found by QA: numbers were read with Python's float(), which takes '5_2.6' as 52.6,
    # full-width digits and '1_714_572_120' as a time; and a timestamp that is a date only
    # ('2024-05-01') was stored as midnight UTC, a time the device never reported
    s1 = server.secrets["phone1"]
    url = f"{server.url}/ingest/osmand"
    q = {"id": "phone1", "lat": "52.6", "lon": "-1.1", "timestamp": str(T0), "token": s1}
    for extra in (
        {"lat": "5_2.6"},
        {"lon": "-１.1"},
        {"speed": "1_0"},
        {"location": "52.6,-1_1"},
        {"timestamp": "1_714_572_120"},
        {"timestamp": "１７１４５７２１２０"},
        {"timestamp": "2024-05-01"},
        {"timestamp": "2024-W18-3"},
    ):
        r = httpx.post(url, params={**q, **extra})
        assert r.status_code == 400, (extra, r.text)
        assert next(iter(extra)) in r.json()["detail"], r.text
    msg = {"_type": "location", "lat": 52.6, "lon": -1.1, "tst": "2024-05-01"}
    r = httpx.post(
        f"{server.url}/ingest/owntracks?u=alice&d=iphone",
        json=msg,
        auth=("alice", server.secrets["alice/iphone"]),
    )
    assert r.status_code == 400 and "tst" in r.json()["detail"], r.text
    h = {"Authorization": f"Bearer {server.secrets['phone2']}"}
    r = httpx.post(
        f"{server.url}/ingest/batch",
        json={"pings": [{"t": "2024-05-01", "lat": 52.6, "lon": -1.1}]},
        headers=h,
    )
    assert r.status_code == 422 and "time of day" in r.json()["errors"][0]["reason"], r.text
    assert len(server.pings()) == 0
    # what clients really write still reads: spaces around, signs, exponents, an hour only
    for k, extra in enumerate(
        (
            {"lat": " 52.6 ", "lon": "-1.1e0"},
            {"lat": "+52.6", "lon": "-.5"},
            {"timestamp": "2024-05-01T14"},
        )
    ):
        r = httpx.post(url, params={**q, "timestamp": str(T0 + k), **extra})
        assert r.status_code == 200, (extra, r.text)
    assert sorted(server.pings("phone1")["lon"]) == [-1.1, -1.1, -0.5]


def test_batch_position_given_twice_is_refused(server: Server) -> None:
    # found by QA: a ping with lat/lon and easting/northing that disagree was stored at
    # lat/lon, the grid reference silently dropped (and with lat alone, at the grid reference)
    h = {"Authorization": f"Bearer {server.secrets['phone2']}"}
    both = {"t": T0, "lat": 52.6, "lon": -1.1, "easting": 100000, "northing": 100000}
    half = {"t": T0 + 1, "lat": 52.6, "easting": 458000, "northing": 304000}
    r = httpx.post(f"{server.url}/ingest/batch", json={"pings": [both, half]}, headers=h)
    assert r.status_code == 422, r.text
    errs = r.json()["errors"]
    assert [e["index"] for e in errs] == [0, 1]
    assert all("not both" in e["reason"] for e in errs)
    assert len(server.pings()) == 0


def test_position_zero_zero_is_refused_as_no_fix(server: Server) -> None:
    # found by QA: the track import rejects 0,0 (a tracker's 'no fix' placeholder), but live
    # ingest stored it, putting a patrol in the Gulf of Guinea
    s1 = server.secrets["phone1"]
    url = f"{server.url}/ingest/osmand"
    for extra in ({"lat": "0", "lon": "0"}, {"location": "0.0,0.0"}, {"lat": "-0.0", "lon": "0"}):
        r = httpx.post(url, params={"id": "phone1", "timestamp": str(T0), "token": s1, **extra})
        assert r.status_code == 400 and "no fix" in r.json()["detail"], (extra, r.text)
    msg = {"_type": "location", "lat": 0, "lon": 0, "tst": T0}
    r = httpx.post(
        f"{server.url}/ingest/owntracks?u=alice&d=iphone",
        json=msg,
        auth=("alice", server.secrets["alice/iphone"]),
    )
    assert r.status_code == 400 and "no fix" in r.json()["detail"], r.text
    h = {"Authorization": f"Bearer {server.secrets['phone2']}"}
    r = httpx.post(
        f"{server.url}/ingest/batch",
        json={"pings": [{"t": T0, "lat": 0.0, "lon": 0.0}]},
        headers=h,
    )
    assert r.status_code == 422 and "no fix" in r.json()["errors"][0]["reason"], r.text
    assert len(server.pings()) == 0
    # the equator and the prime meridian are places: only both at once is the placeholder
    r = httpx.post(
        url, params={"id": "phone1", "timestamp": str(T0), "token": s1, "lat": "51.5", "lon": "0"}
    )
    assert r.status_code == 200, r.text


def test_osmand_text_attributes_keep_their_text(server: Server) -> None:
    # found by QA: every attribute that float() could read became a number, so Traccar's
    # driverUniqueId=007 (a driver's key fob, kept as text by Traccar) was stored as 7.0 and
    # a value like '12_34' as 1234.0
    q = {
        "id": "phone1",
        "lat": "52.6",
        "lon": "-1.1",
        "timestamp": str(T0),
        "token": server.secrets["phone1"],
        "driverUniqueId": "007",
        "ref": "12_34",
        "hdop": "0.9",
        "charge": "false",
    }
    r = httpx.post(f"{server.url}/ingest/osmand", params=q)
    assert r.status_code == 200, r.text
    attrs = server.pings("phone1")["attrs"].iloc[0]
    assert attrs == {"driverUniqueId": "007", "ref": "12_34", "hdop": 0.9, "charge": False}


def test_positions_without_their_time(server: Server) -> None:
    # found by QA: in a JSON array of queued positions without timestamps, every fix was
    # stamped with the server's clock (microseconds apart), though they were taken at different
    # times; 'timestamp=' (present but empty, which Traccar refuses) or "timestamp": null also
    # gave the receive time; and a nested JSON attribute was stored as a Python repr
    s1 = server.secrets["phone1"]
    url = f"{server.url}/ingest/osmand"
    queued = [{"id": "phone1", "lat": 52.6, "lon": -1.1 + i / 100} for i in range(3)]
    r = httpx.post(url, params={"token": s1}, json=queued)
    assert r.status_code == 400 and "timestamp" in r.json()["detail"], r.text
    r = httpx.post(url, params={"token": s1}, json=[{**queued[0], "timestamp": None}])
    assert r.status_code == 400 and "timestamp" in r.json()["detail"], r.text
    q = {"id": "phone1", "lat": "52.6", "lon": "-1.1", "token": s1}
    r = httpx.post(url, params={**q, "timestamp": ""})
    assert r.status_code == 400 and "timestamp" in r.json()["detail"], r.text
    assert len(server.pings()) == 0
    # one position without a timestamp is the OsmAnd rule: the server's receive time
    r = httpx.post(url, params=q)
    assert r.status_code == 200
    assert server.pings("phone1")["attrs"].iloc[0] == {"time_source": "server"}
    item = {**queued[0], "timestamp": T0, "extra": {"a": [1, 2]}, "tags": ["x"], "n": None}
    r = httpx.post(url, params={"token": s1}, json=[item])
    assert r.status_code == 200, r.text
    got = server.pings("phone1")
    assert got[got["t"] == T0_UTC]["attrs"].iloc[0] == {"extra": {"a": [1, 2]}, "tags": ["x"]}


def _read_lines(proc: subprocess.Popen[bytes], into: list[bytes]) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        into.append(line)


def serve_process(
    env: dict[str, str], *args: str, scheme: str = "http"
) -> tuple[subprocess.Popen[bytes], int, list[bytes], threading.Thread]:
    """A real ``patrolwise serve`` on a free port: ``(process, port, output lines so far, the
    thread reading them)``, once the process has said it is listening.

    The port is free when chosen, but the command binds it only a second or two later; another
    process (an xdist worker's server) may take it first. So this waits for the process's own
    "Uvicorn running on" line (requests never reach another server) and chooses again if the
    port was taken.
    """
    import sys

    for attempt in range(5):
        port = free_port()
        cmd = [sys.executable, "-m", "patrolwise.cli", "serve", "--port", str(port), *args]
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        lines: list[bytes] = []
        reader = threading.Thread(target=_read_lines, args=(proc, lines), daemon=True)
        reader.start()
        listening = f"Uvicorn running on {scheme}://127.0.0.1:{port}".encode()
        deadline = time.monotonic() + 60
        while not any(listening in line for line in lines) and proc.poll() is None:
            if time.monotonic() > deadline:
                proc.kill()
            time.sleep(0.1)
        if proc.poll() is None:
            return proc, port, lines, reader
        reader.join(timeout=10)
        said = b"".join(lines).decode()
        assert "address already in use" in said and attempt < 4, f"serve did not start: {said}"
    raise AssertionError("unreachable")  # pragma: no cover


def test_serve_does_not_log_device_secrets(sqlite_url: str, tmp_path: object) -> None:
    # found by QA: `patrolwise serve` wrote every request line to its access log with the
    # query string, so the ?token= secret Traccar Client keeps in its server URL landed in the
    # log on every ping ("POST /ingest/osmand?id=phone1&...&token=<secret>")
    import os

    with Store(sqlite_url) as st:
        secret = str(add_device(st, "phone1", "outreach"))
    env = {**os.environ, "PATROLWISE_DATABASE_URL": sqlite_url}
    proc, port, lines, reader = serve_process(env)
    try:
        q = {"id": "phone1", "lat": "52.6", "lon": "-1.1", "timestamp": str(T0)}
        r = httpx.post(f"http://127.0.0.1:{port}/ingest/osmand", params={**q, "token": secret})
        assert r.status_code == 200
        r = httpx.post(f"http://127.0.0.1:{port}/ingest/osmand?token={secret}&token=x")
        assert r.status_code == 400
        url = f"http://127.0.0.1:{port}/ingest/osmand?id=phone1&lat=52.6&lon=-1.1&%74oken={secret}"
        assert httpx.post(url).status_code == 200  # the name encoded is still the secret
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        reader.join(timeout=30)
    out = b"".join(lines).decode()
    assert "/ingest/osmand?" in out  # the request is logged...
    assert secret not in out and "token=[redacted]" in out  # ...without its secret


def test_json_with_a_byte_order_mark(server: Server) -> None:
    # found by QA: a JSON body starting with a UTF-8 byte order mark (as Windows tools and some
    # gateways write it) was read as a form and refused with the misleading 'missing id'
    doc = {
        "device_id": "phone1",
        "location": {"timestamp": T0, "coords": {"latitude": 52.6, "longitude": -1.1}},
    }
    r = httpx.post(
        f"{server.url}/ingest/osmand",
        params={"token": server.secrets["phone1"]},
        content=b"\xef\xbb\xbf" + json.dumps(doc).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 200, r.text
    assert server.pings("phone1")["t"].iloc[0] == T0_UTC


def test_conflicting_repeated_parameters_are_refused(server: Server) -> None:
    # found by QA: a parameter given twice with different values (in the query, or once in the
    # query and once in the form body) was silently settled by 'the last one wins', so
    # ?lat=52.6 with a body lat=51.0 stored 51.0 (Traccar itself would have read the query)
    s1 = server.secrets["phone1"]
    url = f"{server.url}/ingest/osmand"
    r = httpx.post(
        f"{url}?id=phone1&lat=52.6&lon=-1.1&timestamp={T0}&token={s1}",
        content="lat=51.0",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 400 and "lat" in r.json()["detail"], r.text
    r = httpx.post(f"{url}?id=phone1&id=phone2&lat=52.6&lon=-1.1&timestamp={T0}&token={s1}")
    assert r.status_code == 400 and "id" in r.json()["detail"], r.text
    r = httpx.post(f"{url}?id=phone1&lat=52.6&lon=-1.1&timestamp={T0}&token={s1}&token=other")
    assert r.status_code == 400 and "token" in r.json()["detail"], r.text
    assert s1 not in r.text and "other" not in r.text  # secrets are not echoed
    assert len(server.pings()) == 0
    # the same value twice (a server URL that already names the device) is no conflict
    r = httpx.post(
        f"{url}?id=phone1&token={s1}",
        content=f"id=phone1&lat=52.6&lon=-1.1&timestamp={T0}&token={s1}",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 200, r.text


def test_conflicting_aliases_are_refused(server: Server) -> None:
    # found by QA: id and deviceid, location and lat/lon, bearing and heading name the same
    # thing; given both with different values, one was dropped unseen (lat/lon over location)
    s1 = server.secrets["phone1"]
    url = f"{server.url}/ingest/osmand"
    q = {"id": "phone1", "lat": "52.6", "lon": "-1.1", "timestamp": str(T0), "token": s1}
    for extra, name in (
        ({"deviceid": "phone2"}, "deviceid"),
        ({"location": "51.0,-1.1"}, "location"),
        ({"bearing": "90", "heading": "180"}, "heading"),
    ):
        r = httpx.post(url, params={**q, **extra})
        assert r.status_code == 400 and name in r.json()["detail"], (extra, r.text)
    assert len(server.pings()) == 0
    agree = {"deviceid": "phone1", "location": "52.60,-1.10", "bearing": "90", "heading": "90.0"}
    r = httpx.post(url, params={**q, **agree})
    assert r.status_code == 200, r.text
    assert server.pings("phone1")["heading"].iloc[0] == 90.0


def test_owntracks_device_chosen_by_its_secret(server: Server) -> None:
    # found by QA: the OwnTracks device was the first registered of 'user/device', 'device',
    # 'user', whoever's secret came with it; with bob's phone registered as 'iphone' (the
    # apps' default device name) alice, registered as 'alice', was refused with 403
    bob = str(add_device(server.store, "iphone", "police"))
    alice = str(add_device(server.store, "alice", "outreach"))
    msg = {"_type": "location", "lat": 52.6, "lon": -1.1, "tst": T0}
    url = f"{server.url}/ingest/owntracks"
    r = httpx.post(url, params={"u": "alice", "d": "iphone"}, json=msg, auth=("alice", alice))
    assert r.status_code == 200, r.text
    r = httpx.post(url, params={"u": "bob", "d": "iphone"}, json=msg, auth=("bob", bob))
    assert r.status_code == 200, r.text
    # 'alice/iphone' is registered too: its own secret posts for it, as before
    s = server.secrets["alice/iphone"]
    r = httpx.post(url, params={"u": "alice", "d": "iphone"}, json=msg, auth=("alice", s))
    assert r.status_code == 200, r.text
    got = server.pings()
    assert sorted(got["device_id"]) == ["alice", "alice/iphone", "iphone"]
    assert dict(zip(got["device_id"], got["team"], strict=True))["alice"] == "outreach"
    # a secret of none of the candidates is still refused
    r = httpx.post(
        url, params={"u": "alice", "d": "iphone"}, json=msg, auth=("x", server.secrets["phone1"])
    )
    assert r.status_code == 403


def test_an_array_of_positions_looks_the_device_up_once(server: Server) -> None:
    # found by QA: every position of a JSON array looked its device up in the registry again,
    # so a 1 MiB array of 16,000 queued fixes took ~19 s on PostgreSQL (8 s on SQLite), a
    # worker thread held the whole time; the statements are counted on the real engine
    from sqlalchemy import event

    statements: list[str] = []

    def count(_conn: object, _cur: object, sql: str, *_args: object) -> None:
        statements.append(sql)

    event.listen(server.store.engine, "before_cursor_execute", count)
    try:
        queued = [
            {"id": "phone1", "lat": 52.6, "lon": -1.1, "timestamp": T0 + i} for i in range(500)
        ]
        r = httpx.post(
            f"{server.url}/ingest/osmand", params={"token": server.secrets["phone1"]}, json=queued
        )
        assert r.status_code == 200, r.text
    finally:
        event.remove(server.store.engine, "before_cursor_execute", count)
    assert len(server.pings("phone1")) == 500
    lookups = [s for s in statements if "FROM devices" in s]
    assert len(lookups) <= 5, len(lookups)


def test_traccar_client_9_is_charging_must_be_a_boolean(server: Server) -> None:
    # found by QA: battery.is_charging was read with bool(), so the string "false" (or "0")
    # was stored as charge=True
    doc = {
        "device_id": "phone1",
        "location": {
            "timestamp": T0,
            "coords": {"latitude": 52.6, "longitude": -1.1},
            "battery": {"level": 0.5, "is_charging": "false"},
        },
    }
    url = f"{server.url}/ingest/osmand"
    r = httpx.post(url, params={"token": server.secrets["phone1"]}, json=doc)
    assert r.status_code == 400 and "is_charging" in r.json()["detail"], r.text
    assert len(server.pings()) == 0
    doc["location"]["battery"]["is_charging"] = False
    assert httpx.post(url, params={"token": server.secrets["phone1"]}, json=doc).status_code == 200
    assert server.pings("phone1")["attrs"].iloc[0] == {"charge": False}


def test_fixes_the_device_does_not_vouch_for_are_set_aside(server: Server) -> None:
    """A mock location (Traccar Client 9's ``mock: true``) and OsmAnd's ``valid=false`` are
    stored as sent, flagged by the store without decoding attributes, and set aside by cleaning
    so they never count as patrol presence; ``valid=true``, ``mock: false`` and no flag count."""
    from patrolwise.track.cleaning import CleaningRules, clean_pings

    url = f"{server.url}/ingest/osmand"
    tok = {"token": server.secrets["phone1"]}

    def tc9(ts: int, mock: bool) -> int:
        doc = {
            "device_id": "phone1",
            "location": {
                "timestamp": dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(),
                "coords": {"latitude": 52.6369, "longitude": -1.1398, "accuracy": 5},
                "mock": mock,
            },
        }
        return httpx.post(url, params=tok, json=doc).status_code

    def osmand(ts: int, **extra: str) -> int:
        q = {"id": "phone1", "lat": "52.6369", "lon": "-1.1398", "timestamp": str(ts)}
        return httpx.post(url, params=tok, data={**q, **extra}).status_code

    assert tc9(T0, True) == 200
    assert tc9(T0 + 10, False) == 200
    assert osmand(T0 + 20, valid="false") == 200
    assert osmand(T0 + 30, valid="true") == 200
    assert osmand(T0 + 40) == 200
    assert osmand(T0 + 50, valid=" False ") == 200
    p = load_pings(server.store, devices=["phone1"], with_flags=True)
    assert p["device_flag"].tolist() == [True, False, True, False, False, True]
    cleaned = clean_pings(p, now=dt.datetime(2024, 5, 2))
    assert cleaned["flag"].tolist() == ["device_flagged", None, "device_flagged", None, None,
                                        "device_flagged"]  # fmt: skip
    kept = clean_pings(p, CleaningRules(trust_device_flags=False), now=dt.datetime(2024, 5, 2))
    assert kept["flag"].isna().all()
    # the same from the attributes themselves, for frames loaded with them
    a = server.pings("phone1")
    assert clean_pings(a, now=dt.datetime(2024, 5, 2))["flag"].tolist() == cleaned["flag"].tolist()


def test_requests_without_positions_are_authenticated(server: Server) -> None:
    # an empty JSON array answered 200 with no secret at all, and OwnTracks' empty body or
    # non-location message too: a request that stores nothing must still come from a registered
    # device with its secret, and gets the 400 / 401 / 403 a position would have got
    s1, s2, sa = server.secrets["phone1"], server.secrets["phone2"], server.secrets["alice/iphone"]
    url = f"{server.url}/ingest/osmand"
    assert httpx.post(url, json=[]).status_code == 401
    assert httpx.post(url, json=[], params={"token": "not-a-secret"}).status_code == 401
    assert httpx.post(url, json=[], params={"id": "nobody", "token": s1}).status_code == 400
    assert httpx.post(url, json=[], params={"id": "phone1", "token": s2}).status_code == 403
    ok = httpx.post(url, json=[], params={"token": s1})
    assert ok.status_code == 200 and ok.content == b""
    assert httpx.post(url, json=[], params={"id": "phone1", "token": s1}).status_code == 200
    ot = f"{server.url}/ingest/owntracks"
    q = {"u": "alice", "d": "iphone"}
    transition = {"_type": "transition", "event": "enter", "tst": T0}
    for body in (b"", b"[]", json.dumps(transition).encode()):
        assert httpx.post(ot, params=q, content=body).status_code == 401, body
        r = httpx.post(ot, params=q, content=body, auth=("alice", "not-a-secret"))
        assert r.status_code == 401, body
        r = httpx.post(ot, params=q, content=body, auth=("alice", s2))
        assert r.status_code == 403, body
        r = httpx.post(ot, params={"u": "bob", "d": "x"}, content=body, auth=("bob", sa))
        assert r.status_code == 400, body
        r = httpx.post(ot, params=q, content=body, auth=("alice", sa))
        assert r.status_code == 200 and r.json() == [], body
    # a revoked device's empty batch is refused as its pings would be
    h = {"Authorization": f"Bearer {s2}"}
    r = httpx.post(f"{server.url}/ingest/batch", json={"pings": []}, headers=h)
    assert r.status_code == 200 and r.json()["received"] == 0
    revoke_device(server.store, "phone2")
    r = httpx.post(f"{server.url}/ingest/batch", json={"pings": []}, headers=h)
    assert r.status_code == 403 and "revoked" in r.json()["detail"]
    revoke_device(server.store, "phone1")
    r = httpx.post(url, json=[], params={"token": s1})
    assert r.status_code == 403 and "revoked" in r.json()["detail"]
    assert len(server.pings()) == 0


def test_osmand_hdop_is_an_accuracy_when_none_is_sent(server: Server) -> None:
    # hdop was kept only as an attribute, so a tracker sending hdop and no accuracy had none and
    # cleaning's accuracy threshold never set its poor fixes aside. Accuracy = hdop x 5 m
    # (the GPX and NMEA readers' rule); hdop stays an attribute; a sent accuracy always wins
    from patrolwise.track.cleaning import clean_pings

    url = f"{server.url}/ingest/osmand"
    q = {"id": "phone1", "lat": "52.6369", "lon": "-1.1398", "token": server.secrets["phone1"]}
    sent = [
        {"hdop": "1.2"},  # 6 m
        {"hdop": "30"},  # 150 m: worse than cleaning's 50 m
        {"hdop": "30", "accuracy": "4"},  # the accuracy sent is kept
        {"hdop": "2", "accuracy": "-1"},  # -1 is 'unknown': the hdop gives 10 m
        {"hdop": "nan"},  # no number: no accuracy
        {"hdop": "0"},  # no geometry factor is 0: no accuracy
    ]
    for i, extra in enumerate(sent):
        r = httpx.post(url, params={**q, "timestamp": str(T0 + 10 * i), **extra})
        assert r.status_code == 200, (extra, r.text)
    # a flat JSON array (Traccar Client's queued positions) reads the same
    item = {"id": "phone1", "lat": 52.6369, "lon": -1.1398, "hdop": 3, "timestamp": T0 + 60}
    r = httpx.post(url, params={"token": q["token"]}, json=[item, {**item, "timestamp": T0 + 70}])
    assert r.status_code == 200, r.text
    df = server.pings("phone1")
    assert df["accuracy"].iloc[:4].tolist() == pytest.approx([6.0, 150.0, 4.0, 10.0])
    assert df["accuracy"].iloc[4:6].isna().all()
    assert df["accuracy"].iloc[6:].tolist() == pytest.approx([15.0, 15.0])
    assert [a["hdop"] for a in df["attrs"]] == [1.2, 30.0, 30.0, 2.0, "nan", 0.0, 3.0, 3.0]
    flags = clean_pings(df, now=dt.datetime(2024, 5, 2))["flag"].tolist()
    assert flags[1] == "accuracy" and flags.count("accuracy") == 1, flags


def test_implausible_speed_accuracy_and_altitude_are_refused(server: Server) -> None:
    # a ping at 5,000 km/h, with an accuracy of 1e9 m or at an altitude of 1e7 m was stored as
    # sent: every endpoint now refuses readings no patrol's GPS gives (ingest.READINGS), as it
    # refused bearing=720, and says which reading and why
    s1, s2, sa = server.secrets["phone1"], server.secrets["phone2"], server.secrets["alice/iphone"]
    url = f"{server.url}/ingest/osmand"
    q = {"id": "phone1", "lat": "52.6", "lon": "-1.1", "timestamp": str(T0), "token": s1}
    kn_5000_kmh = str(5000 / 3.6 / KN)
    for extra, field in (
        ({"speed": kn_5000_kmh}, "speed"),
        ({"accuracy": "1e9"}, "accuracy"),
        ({"hdop": "1e6"}, "accuracy"),  # 5,000 km estimated from hdop
        ({"altitude": "1e7"}, "altitude"),
        ({"altitude": "-1000"}, "altitude"),
    ):
        r = httpx.post(url, params={**q, **extra})
        assert r.status_code == 400, (extra, r.text)
        assert r.json()["detail"].startswith(f"{field}="), r.text
        assert "is outside" in r.json()["detail"], r.text
    doc = {
        "device_id": "phone1",
        "location": {
            "timestamp": T0,
            "coords": {"latitude": 52.6, "longitude": -1.1, "speed": 5000 / 3.6},
        },
    }
    r = httpx.post(url, params={"token": s1}, json=doc)
    assert r.status_code == 400 and "speed=" in r.json()["detail"], r.text
    ot = f"{server.url}/ingest/owntracks?u=alice&d=iphone"
    msg = {"_type": "location", "lat": 52.6, "lon": -1.1, "tst": T0}
    for extra, field in (({"vel": 5000}, "speed"), ({"acc": 1e9}, "accuracy"), ({"alt": 1e7}, "altitude")):  # fmt: skip
        r = httpx.post(ot, json={**msg, **extra}, auth=("alice", sa))
        assert r.status_code == 400 and f"{field}=" in r.json()["detail"], (extra, r.text)
    h = {"Authorization": f"Bearer {s2}"}
    for field, value in (("speed", 5000 / 3.6), ("accuracy", 1e9), ("altitude", 1e7), ("altitude", -1000)):  # fmt: skip
        ping = {"t": T0, "lat": 52.6, "lon": -1.1, field: value}
        r = httpx.post(f"{server.url}/ingest/batch", json={"pings": [ping]}, headers=h)
        assert r.status_code == 422, (field, r.text)
        (err,) = r.json()["errors"]
        assert err["index"] == 0 and err["field"] == field, err
    assert len(server.pings()) == 0
    # the edges are readings: 1,000 km/h, an accuracy of 100 km, -500 m and 20,000 m
    edges = {"speed": 1000 / 3.6 / KN, "accuracy": 100_000, "altitude": 20_000}
    r = httpx.post(url, params={**q, **{k: str(v) for k, v in edges.items()}})
    assert r.status_code == 200, r.text
    r = httpx.post(ot, json={**msg, "vel": 1000, "acc": 100_000, "alt": -500}, auth=("alice", sa))
    assert r.status_code == 200, r.text
    ping = {"t": T0, "lat": 52.6, "lon": -1.1, "speed": 280, "accuracy": 1e5, "altitude": 2e4}
    r = httpx.post(f"{server.url}/ingest/batch", json={"pings": [ping]}, headers=h)
    assert r.status_code == 200, r.text
    assert len(server.pings()) == 3


def test_batch_easting_northing_outside_the_grid_are_refused(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    # an easting/northing beyond the British National Grid's extent was projected to a place no
    # patrol goes (or to infinity) and stored, while lat/lon out of range are refused: they are
    # now refused the same way (422 naming the item and field), from the CRS's area of use
    from patrolwise.config import reset_settings

    h = {"Authorization": f"Bearer {server.secrets['phone2']}"}
    url = f"{server.url}/ingest/batch"
    times = itertools.count(T0)  # each ping its own time: the same one is already present

    def post(easting: float, northing: float) -> httpx.Response:
        ping = {"t": next(times), "easting": easting, "northing": northing}
        return httpx.post(url, json={"pings": [ping]}, headers=h)

    for (e, n), field in (
        ((800_000, 300_000), "easting"),  # the North Sea beyond the UK's sector
        ((458_000, 2_000_000), "northing"),  # 2,000 km north of the grid's origin
        ((-5_000_000, 3_000_000), "easting/northing"),
        ((1e12, 304_000), "easting"),  # projects to infinity
        ((458_000, 5_833_504), "northing"),  # Leicester in UTM zone 30N, not in this grid
        ((52.6, -1.1), "easting/northing"),  # latitude and longitude in the grid's fields
    ):
        r = post(e, n)
        assert r.status_code == 422, (e, n, r.text)
        (err,) = r.json()["errors"]
        assert err["index"] == 0 and err["field"] == field, err
        assert "EPSG:27700" in err["reason"] or "degrees" in err["reason"], err
    assert len(server.pings()) == 0
    # the grid's own places, to its edges
    assert post(458_000, 304_000).status_code == 200
    assert post(688_000, 1_256_000).status_code == 200  # the edge of the area of use
    # the extent is the configured CRS's: in UTM zone 30N Leicester is in, a BNG northing out
    monkeypatch.setenv("PATROLWISE_CRS", "EPSG:32630")
    reset_settings()
    assert post(625_878, 5_833_504).status_code == 200
    r = post(458_000, 10_000_000)
    assert r.status_code == 422 and "EPSG:32630" in r.json()["errors"][0]["reason"], r.text
    df = server.pings("phone2")
    assert len(df) == 3
    assert df["lat"].iloc[-1] == pytest.approx(52.6369, abs=1e-4)


def test_api_pages_load_nothing_from_other_hosts(server: Server) -> None:
    # /docs loaded Swagger UI's script and styles (and its favicon) from a CDN, so on the offline
    # force networks the page stayed blank: it and /redoc now load them from this server only
    import re
    from urllib.parse import urljoin, urlsplit

    for page, script in (("/docs", "SwaggerUIBundle"), ("/redoc", "Redoc")):
        r = httpx.get(f"{server.url}{page}")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        html = r.text
        assert "://" not in html, html  # no absolute URL; the references are checked below
        refs = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)
        assert refs, html
        for ref in refs:
            url = urljoin(f"{server.url}{page}", ref)
            assert urlsplit(url).netloc == urlsplit(server.url).netloc, ref
            asset = httpx.get(url)
            assert asset.status_code == 200 and len(asset.content) > 1000, (ref, asset.status_code)
        js = next(u for u in refs if u.endswith(".js"))
        assert script in httpx.get(urljoin(server.url, js)).text
    # Swagger UI's validator badge would ask validator.swagger.io about the schema
    assert '"validatorUrl": null' in httpx.get(f"{server.url}/docs").text
    assert "/ingest/batch" in httpx.get(f"{server.url}/openapi.json").json()["paths"]

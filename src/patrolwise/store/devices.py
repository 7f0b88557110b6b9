"""Device registry: which tracker or phone belongs to which team (and member of staff), when.

Secrets: ``add_device`` returns a fresh random secret once and stores only its SHA-256. A salt or
a slow hash (scrypt) protects *low-entropy* passwords from guessing; these secrets are 256-bit
random tokens that cannot be guessed, so a plain digest is as safe and lets the server find the
device a secret belongs to in one indexed lookup. That lookup is what tells "wrong secret" (401)
from "another device's secret" (403) when a device posts positions.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import unicodedata
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Connection, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from ..errors import AuthError, InputError
from ..timeutil import local_today
from .db import Store, utcnow
from .models.tracking import TEAMS, Device, DeviceAssignment


@dataclass(frozen=True)
class DeviceInfo:
    device_id: str
    team: str
    staff: str | None
    active_from: dt.date | None
    active_to: dt.date | None
    revoked: bool
    has_secret: bool


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_secret() -> str:
    """A 256-bit URL-safe random token (safe in a query string and in HTTP Basic auth)."""
    return secrets.token_urlsafe(32)


def check_team(team: str) -> str:
    t = (team or "").strip().lower()
    if t not in TEAMS:
        raise InputError(f"team {team!r} is not one of {', '.join(TEAMS)}")
    return t


def check_device_id(device_id: str) -> str:
    """The id stripped, 1 to 100 characters and none of them a control character.

    A newline or tab in an id breaks the device list and every log line that names it, and
    PostgreSQL cannot store a NUL at all; phones and trackers never send such ids.
    """
    d = (device_id or "").strip()
    if not d or len(d) > 100:
        raise InputError("a device id needs 1 to 100 characters")
    bad = next((c for c in d if unicodedata.category(c) == "Cc"), None)
    if bad is not None:
        raise InputError(f"device id {d!r} contains the control character {bad!r}")
    return d


def _info(d: Device) -> DeviceInfo:
    return DeviceInfo(
        d.device_id,
        d.team,
        d.staff,
        d.active_from,
        d.active_to,
        d.revoked_at is not None,
        d.secret_hash is not None,
    )


def add_device(
    store: Store,
    device_id: str,
    team: str,
    *,
    staff: str | None = None,
    active_from: dt.date | None = None,
    active_to: dt.date | None = None,
    with_secret: bool = True,
    note: str | None = None,
) -> str | None:
    """Register a device; returns its secret (shown once, never stored) or None."""
    device_id = check_device_id(device_id)
    team = check_team(team)
    if active_from is not None and active_to is not None and active_to < active_from:
        # as `devices assign` refuses: a device stored never in service could not be mended
        # (there is no edit command, and adding it again is refused as already registered)
        raise InputError(
            f"device {device_id!r}: --to {active_to} is before --from {active_from}: its "
            "service would end before it starts"
        )
    secret = new_secret() if with_secret else None
    taken = InputError(
        f"device {device_id!r} is already registered: use `patrolwise devices secret` for a "
        "new secret or `devices assign` to move it to another team"
    )
    try:
        with store.session() as s, s.begin():
            if s.scalars(select(Device).where(Device.device_id == device_id)).first() is not None:
                raise taken
            s.add(
                Device(
                    device_id=device_id,
                    team=team,
                    staff=staff,
                    secret_hash=hash_secret(secret) if secret else None,
                    active_from=active_from,
                    active_to=active_to,
                    created_at=utcnow(),
                    note=note,
                )
            )
    except IntegrityError as exc:
        # registered by another command between the look-up and the insert (two coordinators
        # setting up the same tracker): the same refusal, not a traceback
        if "device_id" in str(exc.orig):
            raise taken from None
        raise
    return secret


def ensure_devices(conn: Connection, devices: dict[str, str]) -> list[str]:
    """Register (without a secret) each device id -> team not yet known; returns the new ids.

    Runs on the caller's connection, inside its transaction, so a file import that fails
    registers nothing.
    """
    if not devices:
        return []
    known = set(conn.scalars(select(Device.device_id).where(Device.device_id.in_(list(devices)))))
    new = sorted(d for d in devices if d not in known)
    if not new:
        return []
    now = utcnow()
    rows = [
        {
            "device_id": check_device_id(d),
            "team": check_team(devices[d]),
            "created_at": now,
            "note": "registered by a track import",
        }
        for d in new
    ]
    # another import registering the same new device at the same moment: on PostgreSQL this
    # insert waits for its transaction and then skips the device (it was an IntegrityError
    # traceback); the ids this one added are those it returns
    ins = (pg_insert if conn.dialect.name == "postgresql" else sqlite_insert)(Device)
    added = conn.execute(
        ins.on_conflict_do_nothing(index_elements=["device_id"]).returning(Device.device_id),
        rows,
    )
    return sorted(added.scalars())


def new_device_secret(store: Store, device_id: str) -> str:
    """Replace a device's secret (the old one stops working at once); returns the new secret."""
    secret = new_secret()
    with store.session() as s, s.begin():
        d = s.scalars(select(Device).where(Device.device_id == device_id)).first()
        if d is None:
            raise InputError(f"no device {device_id!r}: add it with `patrolwise devices add`")
        d.secret_hash = hash_secret(secret)
        d.revoked_at = None
    return secret


def revoke_device(store: Store, device_id: str) -> None:
    """Stop a device posting (its posts get 403 'revoked'; `devices secret` re-enables it with a
    new secret); its pings stay."""
    with store.session() as s, s.begin():
        d = s.scalars(select(Device).where(Device.device_id == device_id)).first()
        if d is None:
            raise InputError(f"no device {device_id!r}")
        d.revoked_at = utcnow()


def assign_device(
    store: Store,
    device_id: str,
    team: str,
    start: dt.date,
    end: dt.date | None = None,
    staff: str | None = None,
) -> None:
    """Lend a device to a team / member of staff from ``start`` to ``end`` (local dates, inclusive)."""
    team = check_team(team)
    if end is not None and end < start:
        raise InputError(f"assignment ends ({end}) before it starts ({start})")
    with store.session() as s, s.begin():
        if s.scalars(select(Device).where(Device.device_id == device_id)).first() is None:
            raise InputError(f"no device {device_id!r}: add it with `patrolwise devices add`")
        s.add(
            DeviceAssignment(
                device_id=device_id,
                team=team,
                staff=staff,
                start=start,
                end=end,
                created_at=utcnow(),
            )
        )


def get_device(store: Store, device_id: str) -> DeviceInfo | None:
    """The registered device ``device_id``, or None.

    An id with a NUL character is never registered (:func:`check_device_id`), and PostgreSQL
    refuses it even in a query, so it is answered here: an ingest request naming one is an
    unknown device (400/404), not a server error.
    """
    if "\x00" in device_id:
        return None
    with store.session() as s:
        d = s.scalars(select(Device).where(Device.device_id == device_id)).first()
        return _info(d) if d is not None else None


def device_for_secret(store: Store, secret: str) -> DeviceInfo | None:
    """The device this secret belongs to, or None (constant-time compare of the digests)."""
    if not secret:
        return None
    h = hash_secret(secret)
    with store.session() as s:
        d = s.scalars(select(Device).where(Device.secret_hash == h)).first()
        if d is None or d.secret_hash is None or not hmac.compare_digest(d.secret_hash, h):
            return None
        return _info(d)


def authorise(store: Store, claimed: str, secret: str | None) -> DeviceInfo:
    """The device ``claimed`` if ``secret`` is its secret; AuthError otherwise.

    ``AuthError.status`` is 401 when the secret is missing or belongs to nobody, 403 when it
    belongs to another device or the device is revoked or out of its active dates.
    """
    if not secret:
        raise _auth(
            "no device secret: send it as HTTP Basic password, a bearer token or ?token=", 401
        )
    owner = device_for_secret(store, secret)
    if owner is None:
        raise _auth("the secret is not valid for any device", 401)
    if owner.device_id != claimed:
        raise _auth(f"device {owner.device_id!r} cannot post positions for {claimed!r}", 403)
    today = local_today()  # active dates are the force's days, not the server's
    if owner.revoked or (owner.active_to is not None and owner.active_to < today):
        raise _auth(f"device {claimed!r} is revoked or retired", 403)
    if owner.active_from is not None and owner.active_from > today:
        raise _auth(f"device {claimed!r} is not in service until {owner.active_from}", 403)
    return owner


def _auth(msg: str, status: int) -> AuthError:
    err = AuthError(msg)
    err.status = status  # type: ignore[attr-defined]
    return err


def list_devices(store: Store) -> pd.DataFrame:
    """Every device with its team, staff, dates, whether it has a secret and is revoked."""
    with store.session() as s:
        rows = s.scalars(select(Device).order_by(Device.device_id)).all()
        return pd.DataFrame(
            [
                {
                    "device_id": d.device_id,
                    "team": d.team,
                    "staff": d.staff,
                    "active_from": d.active_from,
                    "active_to": d.active_to,
                    "has_secret": d.secret_hash is not None,
                    "revoked": d.revoked_at is not None,
                    "note": d.note,
                }
                for d in rows
            ],
            columns=[
                "device_id",
                "team",
                "staff",
                "active_from",
                "active_to",
                "has_secret",
                "revoked",
                "note",
            ],
        )


def device_teams(conn: Connection, device_ids: list[str]) -> tuple[dict[str, str], pd.DataFrame]:
    """(device -> default team, assignments [device_id, team, staff, start, end]) for these devices."""
    ids = list(set(device_ids))
    q = select(Device.device_id, Device.team).where(Device.device_id.in_(ids))
    teams: dict[str, str] = {str(a): str(b) for a, b in conn.execute(q).all()}
    rows = conn.execute(
        select(
            DeviceAssignment.device_id,
            DeviceAssignment.team,
            DeviceAssignment.staff,
            DeviceAssignment.start,
            DeviceAssignment.end,
        )
        .where(DeviceAssignment.device_id.in_(ids))
        .order_by(DeviceAssignment.id)
    ).all()
    return teams, pd.DataFrame(rows, columns=["device_id", "team", "staff", "start", "end"])

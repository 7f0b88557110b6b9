"""Where a device's secret may come from: HTTP Basic password, a bearer token, or ``token=``.

Phone apps such as Traccar Client cannot send headers, so the secret may sit in the server URL the
app is given (``https://host/ingest/osmand?token=...``); query and form parameters are read
together, so the token may also come in a form body.
"""

from __future__ import annotations

import base64
import binascii

from starlette.requests import Request


def basic_credentials(request: Request) -> tuple[str | None, str | None]:
    """(user, password) from an HTTP Basic ``Authorization`` header, else (None, None)."""
    auth = request.headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() != "basic" or not value:
        return None, None
    try:
        text = base64.b64decode(value.strip(), validate=False).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None, None
    user, _, password = text.partition(":")
    return user or None, password or None


def find_secret(request: Request, params: dict[str, list[str]] | None = None) -> str | None:
    """The device secret from Basic auth, ``Authorization: Bearer``, or a ``token`` parameter."""
    _, password = basic_credentials(request)
    if password:
        return password
    auth = request.headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    if params and params.get("token"):
        return params["token"][0]
    token = request.query_params.get("token")
    return token or None

"""The web service: FastAPI app factory. Today it receives live GPS; the dashboard grows it.

Handlers are async only to read the request; database work runs in the thread pool so a slow
write never stalls other phones' posts.
"""

from __future__ import annotations

import json
import logging
import math
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi_offline import FastAPIOffline
from starlette.concurrency import run_in_threadpool

from ..config import get_settings
from ..store.db import Store
from ..store.devices import device_for_secret
from .ingest import IngestError, batch, osmand, owntracks, store_positions
from .ingest.auth import basic_credentials, find_secret

#: largest body a phone app's request may have: one position, or a few thousand queued ones
#: (a Traccar or OwnTracks message is a few hundred bytes). Without a limit a client could
#: make the server read any size into memory and store it as one ping's attribute.
MAX_APP_BODY = 1 << 20
#: largest /ingest/batch body: room for the schema's 50,000 pings with all their fields
MAX_BATCH_BODY = 32 << 20


def redact_query(path: str) -> str:
    """``path?query`` with the value of every ``token`` parameter replaced by ``[redacted]``.

    The name is compared decoded, as the handlers read it (``%74oken=`` is ``token=`` too).
    """
    base, sep, query = path.partition("?")
    if not sep:
        return path
    parts = []
    for part in query.split("&"):
        name, eq, _ = part.partition("=")
        parts.append(f"{name}=[redacted]" if eq and unquote_plus(name) == "token" else part)
    return f"{base}?{'&'.join(parts)}"


class RedactSecrets(logging.Filter):
    """Take device secrets out of access-log lines.

    Traccar Client cannot send headers, so its secret sits in the server URL (``?token=``), and
    uvicorn's access log writes every request line with its query string: without this filter
    each ping put a working device secret into the server's log.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                redact_query(a) if isinstance(a, str) and "?" in a else a for a in record.args
            )
        return True


def _params(query: str, body: bytes) -> list[tuple[str, str]]:
    out = parse_qsl(query, keep_blank_values=True)
    if body.strip():
        try:
            out += parse_qsl(
                body.decode("utf-8").strip(), keep_blank_values=True, strict_parsing=False
            )
        except UnicodeDecodeError:
            raise IngestError(400, "form body is not UTF-8") from None
    return out


async def _multipart_params(request: Request) -> list[tuple[str, str]]:
    """Query parameters, then the text fields of a multipart/form-data body.

    The body is not also read as a query string (that stored the raw MIME text as an
    attribute), and a file part is refused: it is no position parameter, and its
    ``UploadFile(...)`` repr was stored as an attribute's value.
    """
    pairs = parse_qsl(request.url.query, keep_blank_values=True)
    form = await request.form()
    for k, v in form.multi_items():
        if not isinstance(v, str):
            raise IngestError(400, f"form field {k!r} is a file: send positions as text fields")
        pairs.append((k, v))
    return pairs


def _finite(text: str) -> float:
    """A JSON number that must be finite: '1e400' reads as infinity in Python."""
    v = float(text)
    if not math.isfinite(v):
        raise IngestError(400, f"body is not valid JSON: {text[:40]} is not a finite number")
    return v


def _no_constant(text: str) -> Any:
    """NaN and Infinity are not JSON (RFC 8259); Python's reader would take them as numbers."""
    raise IngestError(400, f"body is not valid JSON: {text} is not a finite number")


def _json(body: bytes) -> Any:
    """The body as strict JSON, or a 400 naming what is wrong.

    Beyond syntax errors, three things a hostile or broken client can send must not reach the
    decoders (where they crashed the handler or stored a wrong value): nesting deeper than
    Python's recursion limit, a number too long for ``int`` (4,300 digits), and the
    non-standard ``NaN`` / ``Infinity`` literals (and overflowing numbers such as ``1e400``).
    """
    try:
        return json.loads(body, parse_constant=_no_constant, parse_float=_finite)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise IngestError(400, f"body is not valid JSON: {exc}") from None
    except RecursionError:
        raise IngestError(400, "body is not valid JSON: nested too deeply") from None
    except ValueError as exc:  # a number past the int-string conversion limit
        raise IngestError(
            400, f"body is not valid JSON: a number has too many digits ({exc})"
        ) from None


def create_app(store_url: str | None = None) -> FastAPI:
    """The app over the store at ``store_url`` (default: settings), schema created if missing."""
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactSecrets) for f in access.filters):
        access.addFilter(RedactSecrets())
    # the API pages load Swagger UI and ReDoc from this server (fastapi-offline ships them), not
    # from a CDN: the force networks the service runs on are often offline. Swagger UI's
    # validator badge (a request to validator.swagger.io) is off for the same reason.
    app = FastAPIOffline(
        title="patrolwise",
        version="0.1.0",
        swagger_ui_parameters={"validatorUrl": None},
    )
    store = Store(store_url)
    app.state.store = store

    @app.exception_handler(IngestError)
    async def _ingest_error(_request: Request, exc: IngestError) -> Response:
        content: dict[str, Any] = {"detail": exc.reason}
        if isinstance(exc, batch.BatchError):
            content["errors"] = exc.errors
        headers = {"WWW-Authenticate": 'Basic realm="patrolwise"'} if exc.status == 401 else None
        return JSONResponse(content, status_code=exc.status, headers=headers)

    async def ingest_osmand(request: Request) -> Response:
        body = await request.body()
        query = request.url.query
        # a UTF-8 byte order mark (Windows tools write one) does not make JSON a form
        if body.removeprefix(b"\xef\xbb\xbf").strip()[:1] in (b"{", b"["):
            doc = _json(body)
            qp = dict(parse_qsl(query, keep_blank_values=True))
            secret = find_secret(request, {"token": [qp["token"]]} if qp.get("token") else None)
            qid = qp.get("id") or qp.get("deviceid")
            positions = await run_in_threadpool(osmand.decode_json, store, doc, qid)
            claimed = qid
        else:
            if "multipart/form-data" in request.headers.get("content-type", "").lower():
                pairs = await _multipart_params(request)
            else:
                pairs = _params(query, body)
            tokens = [v for k, v in pairs if k == "token"]
            secret = find_secret(request, {"token": tokens} if tokens else None)
            positions = [await run_in_threadpool(osmand.decode_params, store, pairs)]
            claimed = None
        # an empty array still authenticates (as ?id= when given, else by its secret)
        await run_in_threadpool(store_positions, store, positions, secret, "osmand", claimed)
        return Response(status_code=200)

    # Traccar reads any method; the schema documents POST, the other methods share the handler
    app.add_api_route(
        "/ingest/osmand",
        ingest_osmand,
        methods=["POST"],
        tags=["ingest"],
        summary="OsmAnd / Traccar Client protocol (query, form or JSON; any HTTP method)",
        max_body_size=MAX_APP_BODY,
    )
    app.add_api_route(
        "/ingest/osmand",
        ingest_osmand,
        methods=["GET", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"],
        include_in_schema=False,
        max_body_size=MAX_APP_BODY,
    )

    @app.post(
        "/ingest/owntracks",
        tags=["ingest"],
        summary="OwnTracks HTTP mode",
        max_body_size=MAX_APP_BODY,
    )
    async def ingest_owntracks(request: Request) -> Response:
        body = await request.body()
        user, _ = basic_credentials(request)
        u = request.headers.get("x-limit-u") or request.query_params.get("u") or user
        d = request.headers.get("x-limit-d") or request.query_params.get("d")
        # an empty body (the app deleting a friend) is no message, but the client must still be
        # a registered device with its secret: every answer but a refusal is 200 []
        doc = _json(body) if body.strip() else []
        secret = find_secret(request)
        device_id = await run_in_threadpool(owntracks.device_for, store, u, d, secret)
        positions = owntracks.decode(doc, device_id)
        await run_in_threadpool(store_positions, store, positions, secret, "owntracks", device_id)
        return JSONResponse([])

    @app.post(
        "/ingest/batch",
        tags=["ingest"],
        summary="JSON batch for radio and telematics feeds",
        max_body_size=MAX_BATCH_BODY,
        openapi_extra={
            "requestBody": {
                "content": {"application/json": {"schema": batch.Batch.model_json_schema()}}
            }
        },
    )
    async def ingest_batch(request: Request) -> Response:
        body = await request.body()
        secret = find_secret(request)
        if not secret:
            raise IngestError(
                401, "no device secret: send HTTP Basic auth, a bearer token or ?token="
            )
        owner = await run_in_threadpool(device_for_secret, store, secret)
        if owner is None:
            raise IngestError(401, "the secret is not valid for any device")
        doc = _json(body)
        positions = batch.decode(doc, owner.device_id, get_settings().crs)
        n = await run_in_threadpool(
            store_positions, store, positions, secret, "batch", owner.device_id
        )
        return JSONResponse(
            {"received": len(positions), "imported": n, "already_present": len(positions) - n}
        )

    @app.get("/health", tags=["meta"])
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app

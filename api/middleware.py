"""Middlewares: every failure as a JSON error body, authentication and scope checks, one audit event per mutating
request, one log line per request."""

from __future__ import annotations

import re
import time
import uuid
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.typedefs import Handler

from api.auth import Principal
from api.config import ApiConfig
from api.context import CHECKER, CONFIG, CONTEXT
from api.errors import HTTP_CODES, ApiError, error_response
from api.oidc import authenticator
from api.routing import Route, Scope
from shared.audit import AuditEvent, FrontDoor, outcome_of
from shared.logging import get_logger

log = get_logger(__name__)

# (method, path template) → the scope the route needs, None when it is public. A matched route missing here (none
# should be: every route comes from the route table) needs the admin scope.
ROUTE_SCOPES = web.AppKey("callpipe_api_route_scopes", dict[tuple[str, str], Scope | None])
PRINCIPAL = web.RequestKey("callpipe_principal", Principal)
REQUEST_ID = web.RequestKey("callpipe_request_id", str)
REQUEST_ID_HEADER = "X-Request-Id"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")
_TARGET_ID = re.compile(r"^[^\s]{1,200}$")


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Render `ApiError`, aiohttp's HTTP errors and anything unexpected as `{"error": {...}}`; log the request."""
    started = time.perf_counter()
    try:
        limit = request.app[CONFIG].max_body_bytes
        if request.content_length is not None and request.content_length > limit:
            raise ApiError(413, "payload_too_large", f"the request body is over {limit} bytes", {"limit": limit})
        response = await handler(request)
    except ApiError as exc:
        response = error_response(exc.status, exc.code, exc.message, exc.details, exc.headers)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        headers = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
        details: dict[str, object] | None = None
        if isinstance(exc, web.HTTPRequestEntityTooLarge):
            details = {"limit": request.app[CONFIG].max_body_bytes}
        response = error_response(
            exc.status, HTTP_CODES.get(exc.status, f"http_{exc.status}"), exc.reason, details, headers
        )
    except Exception:
        log.exception("api_unhandled_error", method=request.method, path=request.path)
        response = error_response(500, "internal_error", "an unexpected error occurred")
    log.info(
        "api_request",
        method=request.method,
        path=request.path,
        status=response.status,
        ms=round((time.perf_counter() - started) * 1000, 1),
    )
    return response


def _route_key(request: web.Request) -> tuple[str, str] | None:
    """The matched route's (method, path template); None for unmatched requests (404/405, the console)."""
    match = request.match_info
    if match.http_exception is not None:
        return None
    canonical = match.route.resource.canonical if match.route.resource else ""
    method = "GET" if match.route.method == "HEAD" else match.route.method
    return method, canonical


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Authenticate every matched route that is not public and require its scope (403 naming it); unmatched requests
    fall through to 404/405."""
    key = _route_key(request)
    if key is not None:
        table = request.app[ROUTE_SCOPES]
        needed = table.get(key, Scope.ADMIN)
        if key not in table or needed is not None:
            principal = await request.app[CHECKER].authenticate(request.headers)
            request[PRINCIPAL] = principal
            if needed is not None and not principal.allows(needed):
                raise ApiError(
                    403,
                    "insufficient_scope",
                    f"this operation needs the `{needed}` scope",
                    {"required_scope": needed.value, "scopes": [s.value for s in principal.scopes]},
                )
    return await handler(request)


def _targets(request: web.Request, response: web.StreamResponse) -> dict[str, str]:
    """The ids a request acted on: its path parameters, and what it created (the last segment of `Location`)."""
    targets = {k: v for k, v in request.match_info.items() if _TARGET_ID.match(v)}
    location = response.headers.get("Location")
    if location:
        created = urlsplit(location).path.rstrip("/").rsplit("/", 1)[-1]
        if _TARGET_ID.match(created):
            targets["created"] = created
    return targets


@web.middleware
async def audit_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Give every request an id (`X-Request-Id`, kept when the client sent a safe one); after every mutating request
    that carried a valid credential, write one audit event with its outcome (unauthenticated ones are only logged)."""
    sent = request.headers.get(REQUEST_ID_HEADER, "")
    request_id = sent if _REQUEST_ID.match(sent) else uuid.uuid4().hex
    request[REQUEST_ID] = request_id
    response = await handler(request)
    response.headers[REQUEST_ID_HEADER] = request_id
    principal = request.get(PRINCIPAL)
    if request.method in SAFE_METHODS or principal is None or CONTEXT not in request.app:
        return response
    route = request.match_info.route
    event = AuditEvent(
        actor=principal.actor,
        actor_label=principal.label,
        front_door=FrontDoor.HTTP,
        action=route.name or "unnamedRoute",
        targets=_targets(request, response),
        outcome=outcome_of(response.status),
        status=response.status,
        request_id=request_id,
    )
    try:
        await request.app[CONTEXT].audit.write(event)
    except Exception:  # the change is done (or refused) already: a lost audit line is logged, never the client's error
        log.exception("audit_write_failed", action=event.action, request_id=request_id)
    return response


def install_access_control(app: web.Application, config: ApiConfig, routes: list[Route]) -> None:
    """The authenticator (API keys, OIDC when configured) and the route table's scopes; OIDC's client closes on
    cleanup."""
    app[CHECKER] = checker = authenticator(config)
    verifier = checker.oidc
    app[ROUTE_SCOPES] = {(r.method, r.path): (None if r.public else r.scope or Scope.ADMIN) for r in routes}
    if verifier is not None:

        async def close_oidc(_app: web.Application) -> None:
            await verifier.close()

        app.on_cleanup.append(close_oidc)

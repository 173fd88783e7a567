"""Middlewares: every failure as a JSON error body, API-key checks, one log line per request."""

from __future__ import annotations

import time

from aiohttp import web
from aiohttp.typedefs import Handler

from api.context import CHECKER, CONFIG
from api.errors import HTTP_CODES, ApiError, error_response
from shared.logging import get_logger

log = get_logger(__name__)

PUBLIC_ROUTES = web.AppKey("callpipe_api_public_routes", frozenset[tuple[str, str]])


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


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Require an API key on every matched route that is not public; unmatched requests fall through to 404/405."""
    match = request.match_info
    if match.http_exception is None:
        canonical = match.route.resource.canonical if match.route.resource else ""
        if (match.route.method, canonical) not in request.app[PUBLIC_ROUTES]:
            request.app[CHECKER].check(request)
    return await handler(request)

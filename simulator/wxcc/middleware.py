"""What happens around every API request: counting, injected faults, bearer-token check, rate limit, error bodies.

Order for a data-plane request: count it → `slow` fault (delay) → `rate_limit` fault (429 + Retry-After) →
`server_error` fault (5xx) → bearer token (tasks, search, captures) → per-client rate limit (if configured) → handler
→ `malformed` fault (chaos mode: a 200 JSON answer of token, tasks, search or captures is spoiled, `chaos.py`).
The control API (`/api/v1/simulator/*`) skips all of it.
"""

from __future__ import annotations

import asyncio
import uuid

from aiohttp import web
from aiohttp.typedefs import Handler

from shared.logging import get_logger
from simulator.wxcc.chaos import MALFORMABLE, malformed_response, pick_mutation
from simulator.wxcc.errors import ApiError, S3Error, s3_error, wxcc_error
from simulator.wxcc.faults import ENDPOINTS
from simulator.wxcc.http import CONTROL_PREFIX, endpoint_of, state_of
from simulator.wxcc.state import SimulatorState

log = get_logger(__name__)

AUTHENTICATED = frozenset({"tasks", "search", "captures"})


def _client(request: web.Request, state: SimulatorState) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "Authorization header with a Bearer token is required.")
    client = state.tokens.client_of(token.strip())
    if client is None:
        raise ApiError(401, "Incorrect Credentials.")
    return client


async def _guarded(request: web.Request, handler: Handler, endpoint: str, state: SimulatorState) -> web.StreamResponse:
    faults = state.faults
    slow = faults.take("slow", endpoint)
    if slow is not None:
        await asyncio.sleep(slow.delay_s)
    limited = faults.take("rate_limit", endpoint)
    if limited is not None:
        raise ApiError(429, "Too many requests (injected).", headers={"Retry-After": str(limited.retry_after_s)})
    failing = faults.take("server_error", endpoint)
    if failing is not None:
        raise ApiError(failing.status, "The server failed (injected).")
    if endpoint in AUTHENTICATED:
        wait_s = state.limiter.check(_client(request, state))
        if wait_s is not None:
            state.stats.rate_limited += 1
            raise ApiError(429, "Too many requests for this client.", headers={"Retry-After": str(wait_s)})
    response = await handler(request)
    if endpoint in MALFORMABLE and isinstance(response, web.Response) and response.status == 200:
        injected_before = faults.injected["malformed"]
        malformed = faults.take("malformed", endpoint)
        if malformed is not None:
            mutation = pick_mutation(malformed.mutation, injected_before)
            log.info("fault_malformed", endpoint=endpoint, mutation=mutation, field=malformed.field)
            return malformed_response(endpoint, response, mutation, malformed.field)
    return response


def _error_response(endpoint: str, status: int, message: str, tracking: str, headers: dict[str, str]) -> web.Response:
    if endpoint == "recordings":  # a presigned S3 URL answers like S3
        code = {429: "SlowDown", 503: "SlowDown", 403: "AccessDenied", 404: "NoSuchKey"}.get(status, "InternalError")
        response = s3_error(status, code, message, tracking)
        response.headers.update(headers)
        return response
    return wxcc_error(status, message, tracking, headers)


@web.middleware
async def api_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Wrap data-plane requests (faults, auth, limits, WXCC error bodies); pass control requests straight through."""
    state = state_of(request)
    endpoint = endpoint_of(request)
    tracking = request.headers.get("TrackingId") or str(uuid.uuid4())
    if endpoint not in ENDPOINTS:
        try:
            return await handler(request)
        except ApiError as exc:
            return web.json_response({"error": exc.message}, status=exc.status, headers=exc.headers)
        except web.HTTPException as exc:
            if request.path.startswith(CONTROL_PREFIX):
                return web.json_response({"error": exc.reason}, status=exc.status)
            return wxcc_error(exc.status, exc.reason, tracking)
    state.stats.request(endpoint)
    try:
        response = await _guarded(request, handler, endpoint, state)
    except ApiError as exc:
        response = _error_response(endpoint, exc.status, exc.message, tracking, exc.headers)
    except S3Error as exc:
        response = s3_error(exc.status, exc.code, exc.message, tracking)
    except web.HTTPException as exc:
        response = _error_response(endpoint, exc.status, exc.reason, tracking, {})
    if not response.prepared:  # a streamed recording has sent its headers already (and echoes TrackingId itself)
        response.headers.setdefault("TrackingId", tracking)
    state.stats.response(endpoint, response.status)
    return response

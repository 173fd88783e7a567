"""The journey routes: create, read, list, cancel."""

from __future__ import annotations

from aiohttp import web

from api.context import ctx
from api.create import create_journey
from api.errors import ApiError, ErrorBody
from api.idempotency import HEADER, body_hash, check_key
from api.listing import list_journeys
from api.middleware import PRINCIPAL
from api.models import JourneyCreate, JourneyListQuery, JourneyOut, JourneyPage, JourneyStatusOut
from api.operations import cancel_journey
from api.parsing import json_response, parse_query, read_json, validate
from api.ratelimit import key_identity
from api.routing import Route, RouteGroup, Scope
from api.status import journey_status
from shared.logging import get_logger

log = get_logger(__name__)
PREFIX = "/api/v1"


def _location(journey_id: str) -> str:
    return f"{PREFIX}/journeys/{journey_id}"


def _identity(request: web.Request) -> str:
    """The creation limit's bucket: the caller (key id or OIDC subject), the same over HTTP and MCP."""
    principal = request.get(PRINCIPAL)
    return key_identity(principal.actor if principal is not None else None)


async def create(request: web.Request) -> web.Response:
    """Start a journey; 202 with the journey and its Location (a replayed Idempotency-Key returns the first one)."""
    raw = await read_json(request)
    body = validate(JourneyCreate, raw)
    key = request.headers.get(HEADER)
    idempotency = (check_key(key), body_hash(raw)) if key is not None else None
    journey, created = await create_journey(ctx(request), body, idempotency=idempotency, identity=_identity(request))
    if created:
        log.info("journey_created", journey_id=journey.id, kind=journey.kind.value)
    headers = {"Location": _location(journey.id)}
    if not created:
        headers["Idempotent-Replayed"] = "true"
    return json_response(JourneyOut.of(journey), status=202, headers=headers)


async def get(request: web.Request) -> web.Response:
    """A journey's state and progress."""
    journey_id = request.match_info["journey_id"]
    status = await ctx(request).journeys.status(journey_id)
    if status is None:
        raise ApiError(404, "journey_not_found", f"no journey {journey_id}")
    return json_response(await journey_status(ctx(request), status))


async def list_(request: web.Request) -> web.Response:
    """Journeys newest first, optionally of one state, a page at a time."""
    query = parse_query(request, JourneyListQuery)
    c = ctx(request)
    page = await list_journeys(
        c, state=query.state, limit=query.limit or c.config.default_page_size, cursor=query.cursor
    )
    return json_response(page)


async def cancel(request: web.Request) -> web.Response:
    """Stop a RUNNING journey; its in-flight messages are then acknowledged without work. 409 if not RUNNING or live."""
    journey = await cancel_journey(ctx(request), request.match_info["journey_id"])
    return json_response(JourneyOut.of(journey))


_IDEMPOTENCY_DOC = (
    "Retrying with the same key and body returns the same journey (even when the key's creation limit is spent) "
    "for CALLPIPE_API_IDEMPOTENCY_TTL_S (24 h by default); a different body is a 409; after that the key is free."
)
_CREATE_NOTES = {
    409: "The Idempotency-Key was used with a different body",
    422: (
        "The body does not validate (unknown field, `from` not before `to`, bad task id, …), the Idempotency-Key is "
        "malformed, or the journey is over a bound, named in `details[].setting`: a window longer than "
        "CALLPIPE_JOURNEY_MAX_WINDOW_S (31 days, far below WXCC search's 365: at most 124 poll windows of 6 h, under "
        "a minute of the shared WXCC request budget, per request), a `from` older than "
        "CALLPIPE_JOURNEY_MAX_LOOKBACK_S (WXCC keeps 36 months), a `to` in the future, more task ids than "
        "CALLPIPE_JOURNEY_MAX_TASK_IDS (1000)"
    ),
    429: (
        "This API key created CALLPIPE_API_JOURNEY_CREATES_PER_MINUTE journeys (30 by default) in the current "
        "minute, over every API task; retry after `Retry-After` seconds"
    ),
}
_LIST_NOTES = {422: "A query parameter does not validate, or `cursor` is not one this API issued for this filter"}

GROUP = RouteGroup(
    PREFIX,
    [
        Route(
            "POST",
            "/journeys",
            create,
            "createJourney",
            "Start a journey",
            "journeys",
            {202: JourneyOut, 400: ErrorBody, 409: ErrorBody, 413: ErrorBody, 422: ErrorBody, 429: ErrorBody},
            body=JourneyCreate,
            headers={HEADER: _IDEMPOTENCY_DOC},
            notes=_CREATE_NOTES,
            response_headers={
                202: {"Location": "The journey's URL"},
                429: {"Retry-After": "Seconds until the next minute's creations are allowed"},
            },
            scope=Scope.OPERATE,
        ),
        Route(
            "GET",
            "/journeys",
            list_,
            "listJourneys",
            "List journeys",
            "journeys",
            {200: JourneyPage, 422: ErrorBody},
            query=JourneyListQuery,
            notes=_LIST_NOTES,
            scope=Scope.READ,
        ),
        Route(
            "GET",
            "/journeys/{journey_id}",
            get,
            "getJourney",
            "A journey's progress",
            "journeys",
            {200: JourneyStatusOut, 404: ErrorBody},
            scope=Scope.READ,
        ),
        Route(
            "POST",
            "/journeys/{journey_id}/cancel",
            cancel,
            "cancelJourney",
            "Cancel a journey",
            "journeys",
            {200: JourneyOut, 404: ErrorBody, 409: ErrorBody},
            notes={409: "The journey is not RUNNING, or it is an org's live (webhook) journey, which stands for good"},
            scope=Scope.OPERATE,
        ),
    ],
)

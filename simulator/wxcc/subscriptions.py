"""The Contact Center Subscriptions API (V2): `POST/GET /v2/subscriptions`, `GET/DELETE /v2/subscriptions/{id}`.

Validation follows the documented request (name 4-64, eventTypes 1-32, destinationUrl HTTPS with a path and no query,
credentials or fragment, secret 32-256 characters, resourceVersion). The secret is kept for signing deliveries and
never returned. `webhook_allow_http` lets a local receiver on http://127.0.0.1:port be registered.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from simulator.wxcc.errors import ApiError
from simulator.wxcc.http import read_json, state_of
from simulator.wxcc.webhooks import Subscription


def _authorize(request: web.Request) -> None:
    state = state_of(request)
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or state.tokens.client_of(token.strip()) is None:
        raise ApiError(401, "Authorization header with a valid Bearer token is required.")
    org = request.query.get("orgId")
    if org not in (None, state.config.org_id):
        raise ApiError(403, "Not authorized for this orgId.")


def _text(body: dict[str, Any], name: str, low: int, high: int) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not low <= len(value) <= high:
        raise ApiError(400, f"{name} must be a string of {low} to {high} characters.")
    return value


def _destination(url: str, allow_http: bool) -> str:
    parts = urlsplit(url)
    if parts.scheme != "https" and not (allow_http and parts.scheme == "http"):
        raise ApiError(400, "destinationUrl must be an https URL.")
    if not parts.hostname or parts.username or parts.password or parts.query or parts.fragment or not parts.path:
        raise ApiError(400, "destinationUrl needs a host and a path, and no credentials, query or fragment.")
    return url


async def create(request: web.Request) -> web.Response:
    """Register a subscription; 201 with it (without the secret)."""
    _authorize(request)
    state = state_of(request)
    body = await read_json(request)
    events = body.get("eventTypes")
    if not isinstance(events, list) or not 1 <= len(events) <= 32 or not all(isinstance(e, str) for e in events):
        raise ApiError(400, "eventTypes must list 1 to 32 event types.")
    sub = Subscription(
        id=str(uuid.uuid4()),
        name=_text(body, "name", 4, 64),
        description=str(body.get("description") or "")[:1024],
        event_types=list(events),
        destination_url=_destination(_text(body, "destinationUrl", 8, 2048), state.config.webhook_allow_http),
        secret=_text(body, "secret", 32, 256),
        resource_version=_text(body, "resourceVersion", 1, 64),
        created_ms=state.clock.now_ms(),
    )
    state.subscriptions[sub.id] = sub
    return web.json_response(sub.to_json(state.config.org_id), status=201)


async def list_(request: web.Request) -> web.Response:
    """Every subscription."""
    _authorize(request)
    state = state_of(request)
    items = [s.to_json(state.config.org_id) for s in state.subscriptions.values()]
    return web.json_response({"meta": {"orgId": state.config.org_id}, "items": items})


async def get(request: web.Request) -> web.Response:
    """One subscription."""
    _authorize(request)
    state = state_of(request)
    sub = state.subscriptions.get(request.match_info["subscription_id"])
    if sub is None:
        raise ApiError(404, "Subscription not found.")
    return web.json_response(sub.to_json(state.config.org_id))


async def delete(request: web.Request) -> web.Response:
    """Delete a subscription: 204; its deliveries stop."""
    _authorize(request)
    if state_of(request).subscriptions.pop(request.match_info["subscription_id"], None) is None:
        raise ApiError(404, "Subscription not found.")
    return web.Response(status=204)


def add_routes(app: web.Application) -> None:
    """Mount the Subscriptions API."""
    r = app.router
    r.add_post("/v2/subscriptions", create, name="subscriptions.create")
    r.add_get("/v2/subscriptions", list_, name="subscriptions.list")
    r.add_get("/v2/subscriptions/{subscription_id}", get, name="subscriptions.get")
    r.add_delete("/v2/subscriptions/{subscription_id}", delete, name="subscriptions.delete")

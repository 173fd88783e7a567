"""Shared bits of the HTTP layer: the app key of the state, reading JSON bodies, endpoint names and tracking ids."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from simulator.wxcc.errors import ApiError
from simulator.wxcc.state import SimulatorState

STATE = web.AppKey("simulator_state", SimulatorState)
CONTROL_PREFIX = "/api/v1/simulator"


def state_of(request: web.Request) -> SimulatorState:
    """The simulator state behind a request."""
    return request.app[STATE]


def endpoint_of(request: web.Request) -> str | None:
    """The endpoint name a request was routed to (`tasks`, `token`, ...), from its resource name `endpoint.detail`."""
    resource = request.match_info.route.resource
    name = resource.name if resource is not None else None
    return name.split(".")[0] if name else None


async def read_json(request: web.Request) -> dict[str, Any]:
    """The request's JSON object body, or a 400."""
    try:
        body = await request.json()
    except ValueError:
        raise ApiError(400, "The request body is not valid JSON.")
    if not isinstance(body, dict):
        raise ApiError(400, "The request body must be a JSON object.")
    return body


async def read_optional_json(request: web.Request) -> dict[str, Any]:
    """Like `read_json`, but an empty body is `{}`."""
    if not await request.read():
        return {}
    return await read_json(request)

"""`GET /v1/tasks`: tasks created in [from, to), sorted by createdTime, at most pageSize, no cursor."""

from __future__ import annotations

from aiohttp import web

from simulator.wxcc.errors import ApiError
from simulator.wxcc.http import state_of
from simulator.wxcc.views import task_item

MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 100
MAX_AGE_MS = 36 * 31 * 86_400_000  # `from` may be at most about 36 months old


def _int_param(request: web.Request, name: str, default: int | None) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        if default is None:
            raise ApiError(400, f"Query parameter '{name}' is required.")
        return default
    try:
        return int(raw)
    except ValueError:
        raise ApiError(400, f"Query parameter '{name}' must be an integer.")


async def list_tasks(request: web.Request) -> web.Response:
    """Tasks of the org: clients page by moving `from` past the last createdTime and dedupe by id (ties exist)."""
    state = state_of(request)
    now = state.clock.now_ms()
    start = _int_param(request, "from", None)
    end = _int_param(request, "to", now)
    page_size = _int_param(request, "pageSize", DEFAULT_PAGE_SIZE)
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ApiError(400, f"pageSize must be between 1 and {MAX_PAGE_SIZE}.")
    if start > end:
        raise ApiError(400, "'from' must not be after 'to'.")
    if start < now - MAX_AGE_MS:
        raise ApiError(400, "'from' must be within the last 36 months.")
    org = request.query.get("orgId")
    if org is not None and org != state.config.org_id:
        raise ApiError(403, "Not authorized for this orgId.")
    channels = {c.strip() for c in request.query.get("channelTypes", "telephony").split(",")}
    calls = state.created_between(start, min(end, now + 1)) if "telephony" in channels else []
    data = [task_item(call, now) for call in calls[:page_size]]
    return web.json_response({"meta": {"orgId": state.config.org_id}, "data": data})

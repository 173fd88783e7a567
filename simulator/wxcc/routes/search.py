"""`POST /search` (GraphQL `taskDetails`): tasks in a window by endedTime or createdTime, cursor-paged.

Validation errors are answered the GraphQL way: HTTP 200 with `{"data": null, "errors": [{"message", "extensions"}]}`.
"""

from __future__ import annotations

import base64
import binascii
import json

from aiohttp import web

from simulator.wxcc.generator import Call
from simulator.wxcc.graphql import GraphQLError, TaskDetailsQuery, parse_task_details, project
from simulator.wxcc.http import read_json, state_of
from simulator.wxcc.views import search_task

MAX_WINDOW_MS = 365 * 86_400_000
MAX_AGE_MS = 36 * 31 * 86_400_000


def encode_cursor(offset: int) -> str:
    """The opaque `endCursor` for a position in the result list."""
    return base64.b64encode(json.dumps({"offset": offset}, separators=(",", ":")).encode()).decode()


def decode_cursor(cursor: str | None) -> int:
    """The position an `endCursor` stands for (0 without one)."""
    if cursor is None:
        return 0
    try:
        offset = json.loads(base64.b64decode(cursor, validate=True))["offset"]
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise GraphQLError(f"Validation error: invalid cursor {cursor!r}")
    if not isinstance(offset, int) or offset < 0:
        raise GraphQLError(f"Validation error: invalid cursor {cursor!r}")
    return offset


def _matching(query: TaskDetailsQuery, calls: list[Call], now_ms: int) -> list[Call]:
    out = []
    for call in calls:
        if call.created_ms > now_ms:
            continue
        active = now_ms < call.ended_ms
        if query.comparator == "endedTime" and active:
            continue  # no endedTime yet
        if query.is_active is not None and active != query.is_active:
            continue
        out.append(call)
    return out


def _graphql_error(message: str) -> web.Response:
    return web.json_response(
        {"data": None, "errors": [{"message": message, "extensions": {"classification": "ValidationError"}}]}
    )


async def search(request: web.Request) -> web.Response:
    """One page of `taskDetails` (the configured page size) with `pageInfo {hasNextPage endCursor}`."""
    state = state_of(request)
    body = await read_json(request)
    now = state.clock.now_ms()
    try:
        query = parse_task_details(body.get("query"), body.get("variables"))
        if query.start_ms > query.end_ms:
            raise GraphQLError("Validation error: 'from' must not be after 'to'")
        if query.end_ms - query.start_ms > MAX_WINDOW_MS:
            raise GraphQLError("Validation error: the time window between 'from' and 'to' must not exceed 365 days")
        if query.start_ms < now - MAX_AGE_MS:
            raise GraphQLError("Validation error: 'from' must be within the last 36 months")
        offset = decode_cursor(query.cursor)
        if query.comparator == "endedTime":
            candidates = state.ended_between(query.start_ms, query.end_ms)
        else:
            candidates = state.created_between(query.start_ms, query.end_ms + 1)
        calls = _matching(query, candidates, now)
        page = calls[offset : offset + state.config.search_page_size]
        tasks = [project(search_task(call, now), query.selection) for call in page]
    except GraphQLError as exc:
        return _graphql_error(str(exc))
    page_info = {"hasNextPage": offset + len(page) < len(calls), "endCursor": encode_cursor(offset + len(page))}
    return web.json_response({"data": {"taskDetails": {"tasks": tasks, "pageInfo": page_info}}})

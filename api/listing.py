"""Listing journeys newest first from the `by-state` index, one state or all, with an opaque cursor."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from api.context import ApiContext
from api.errors import ApiError
from api.models import JourneyOut, JourneyPage
from shared.dynamo import from_attr
from shared.journeys import JourneyKind, JourneyState

INDEX = "by-state"
_ORDER = (JourneyState.RUNNING, JourneyState.COMPLETED, JourneyState.CANCELLED)


def encode_cursor(state: JourneyState, last_key: dict[str, Any] | None) -> str:
    """An opaque cursor: which state's listing to continue, and from which index key."""
    raw = json.dumps({"s": state.value, "k": last_key}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[JourneyState, dict[str, Any] | None]:
    """The state and index key a cursor names; 422 when it is not one of ours."""
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        key = raw["k"]
        if key is not None and not (
            isinstance(key, dict) and all(isinstance(v, dict) and set(v) == {"S"} for v in key.values())
        ):
            raise ValueError("bad key")
        return JourneyState(raw["s"]), key
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise ApiError(422, "invalid_cursor", "the cursor is not valid", [{"loc": ["cursor"], "type": "value_error"}])


def _journey_out(item: dict[str, Any]) -> JourneyOut:
    plain = {k: from_attr(v) for k, v in item.items()}
    return JourneyOut(
        id=str(plain["pk"]).removeprefix("JOURNEY#"),
        kind=JourneyKind(plain["kind"]),
        state=JourneyState(plain["state"]),
        org_id=plain.get("org_id", ""),
        params=plain.get("params", {}),
        created_by=plain.get("created_by", ""),
        created_at=plain.get("created_at", ""),
        pipeline_version=int(plain.get("pipeline_version", 1)),
        retry_failed=bool(plain.get("retry_failed", False)),
    )


async def list_journeys(ctx: ApiContext, *, state: JourneyState | None, limit: int, cursor: str | None) -> JourneyPage:
    """One page of journeys: of `state`, or of every state in turn (RUNNING, COMPLETED, CANCELLED)."""
    states = [state] if state else list(_ORDER)
    start_key: dict[str, Any] | None = None
    if cursor:
        at, start_key = decode_cursor(cursor)
        if at not in states:
            raise ApiError(422, "invalid_cursor", "the cursor belongs to a different state filter")
        states = states[states.index(at) :]
    items: list[JourneyOut] = []
    for i, current in enumerate(states):
        kwargs: dict[str, Any] = {
            "TableName": ctx.journeys.table,
            "IndexName": INDEX,
            "KeyConditionExpression": "#state = :state",
            "ExpressionAttributeNames": {"#state": "state"},
            "ExpressionAttributeValues": {":state": {"S": current.value}},
            "ScanIndexForward": False,
        }
        while len(items) < limit:
            kwargs["Limit"] = limit - len(items)
            if start_key:
                kwargs["ExclusiveStartKey"] = start_key
            resp = await ctx.dynamodb.query(**kwargs)
            items.extend(_journey_out(it) for it in resp.get("Items", []))
            start_key = resp.get("LastEvaluatedKey")
            if not start_key:
                break
        if len(items) >= limit:
            if start_key:
                return JourneyPage(items=items, next_cursor=encode_cursor(current, start_key))
            rest = states[i + 1 :]
            return JourneyPage(items=items, next_cursor=encode_cursor(rest[0], None) if rest else None)
        start_key = None
    return JourneyPage(items=items)

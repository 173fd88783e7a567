"""Idempotency keys: the first POST with a key binds it to a journey id and a body hash, in the journeys table.

Item `pk = IDEMPOTENCY#{key}`, `sk = IDEMPOTENCY` (no `state`, so it never shows in the `by-state` index), put with
`attribute_not_exists(pk)`. A retry with the same body gets the same journey id; a different body is a 409.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from api.errors import ApiError

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

HEADER = "Idempotency-Key"
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
_SK = "IDEMPOTENCY"


@dataclass(frozen=True)
class Reservation:
    """The journey id a key is bound to; `fresh` when this request made the binding."""

    journey_id: str
    fresh: bool


def body_hash(body: Any) -> str:
    """A hash of a request body that ignores key order and whitespace."""
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def new_journey_id() -> str:
    """A journey id in the same shape `Journey.new` draws."""
    return f"j-{uuid.uuid4().hex[:16]}"


def check_key(key: str) -> str:
    """The key if it is 1-255 printable ASCII characters, else 422."""
    if not _KEY.match(key):
        raise ApiError(422, "invalid_idempotency_key", f"{HEADER} must be 1-255 printable ASCII characters")
    return key


class IdempotencyKeys:
    """Binds keys to journey ids with conditional puts."""

    def __init__(self, dynamodb: DynamoDBClient, table: str) -> None:
        self._ddb = dynamodb
        self._table = table

    async def reserve(self, key: str, digest: str) -> Reservation:
        """Bind `key` to a new journey id, or return the id it is already bound to (409 if the body differs)."""
        journey_id = new_journey_id()
        item_key = {"pk": {"S": f"IDEMPOTENCY#{key}"}, "sk": {"S": _SK}}
        try:
            await self._ddb.put_item(
                TableName=self._table,
                Item={
                    **item_key,
                    "journey_id": {"S": journey_id},
                    "body_sha256": {"S": digest},
                    "created_at": {"S": datetime.now(UTC).isoformat(timespec="milliseconds")},
                },
                ConditionExpression="attribute_not_exists(pk)",
            )
            return Reservation(journey_id, fresh=True)
        except self._ddb.exceptions.ConditionalCheckFailedException:
            pass
        resp = await self._ddb.get_item(TableName=self._table, Key=item_key, ConsistentRead=True)
        item = resp["Item"]
        if item["body_sha256"]["S"] != digest:
            raise ApiError(
                409,
                "idempotency_key_reused",
                f"this {HEADER} was used with a different request body",
                {"journey_id": item["journey_id"]["S"]},
            )
        return Reservation(item["journey_id"]["S"], fresh=False)

"""Idempotency keys: the first POST with a key binds it to a journey id and a body hash, in the journeys table.

Item `pk = IDEMPOTENCY#{key}`, `sk = IDEMPOTENCY` (no `state`, so it never shows in the `by-state` index), put with
`attribute_not_exists(pk) OR ttl < now`. A retry with the same body inside the key's lifetime
(`CALLPIPE_API_IDEMPOTENCY_TTL_S`, 24 h by default) gets the same journey id; a different body is a 409. The item's
`ttl` attribute (epoch seconds) lets DynamoDB's TTL delete it; since DynamoDB deletes expired items only eventually
(within days), an expired binding is also treated as absent here, so a key is reusable exactly when its lifetime ends.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import uuid
from collections.abc import Callable
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


def _bound(item: dict[str, Any], digest: str) -> Reservation:
    if item["body_sha256"]["S"] != digest:
        raise ApiError(
            409,
            "idempotency_key_reused",
            f"this {HEADER} was used with a different request body",
            {"journey_id": item["journey_id"]["S"]},
        )
    return Reservation(item["journey_id"]["S"], fresh=False)


class IdempotencyKeys:
    """Binds keys to journey ids with conditional puts, for `ttl_s` seconds."""

    def __init__(
        self, dynamodb: DynamoDBClient, table: str, *, ttl_s: int, clock: Callable[[], float] = time.time
    ) -> None:
        self._ddb = dynamodb
        self._table = table
        self.ttl_s = ttl_s
        self._clock = clock

    @staticmethod
    def _key(key: str) -> dict[str, Any]:
        return {"pk": {"S": f"IDEMPOTENCY#{key}"}, "sk": {"S": _SK}}

    def _live(self, item: dict[str, Any] | None) -> bool:
        if item is None:
            return False
        ttl = item.get("ttl")
        return ttl is None or int(ttl["N"]) > self._clock()  # items from before keys expired carry no ttl

    async def lookup(self, key: str, digest: str) -> Reservation | None:
        """The journey id `key` is bound to, if the binding is still live (409 if the body differs); no write."""
        item = (await self._ddb.get_item(TableName=self._table, Key=self._key(key), ConsistentRead=True)).get("Item")
        return _bound(item, digest) if item is not None and self._live(item) else None

    async def reserve(self, key: str, digest: str) -> Reservation:
        """Bind `key` to a new journey id, or return the id it is already bound to (409 if the body differs)."""
        for _ in range(3):  # a binding that expires between the put and the get: put again
            journey_id = new_journey_id()
            now = self._clock()
            try:
                await self._ddb.put_item(
                    TableName=self._table,
                    Item={
                        **self._key(key),
                        "journey_id": {"S": journey_id},
                        "body_sha256": {"S": digest},
                        "created_at": {"S": datetime.now(UTC).isoformat(timespec="milliseconds")},
                        "ttl": {"N": str(int(now) + self.ttl_s)},
                    },
                    ConditionExpression="attribute_not_exists(pk) OR #ttl <= :now",
                    ExpressionAttributeNames={"#ttl": "ttl"},
                    ExpressionAttributeValues={":now": {"N": str(int(now))}},
                )
                return Reservation(journey_id, fresh=True)
            except self._ddb.exceptions.ConditionalCheckFailedException:
                pass
            resp = await self._ddb.get_item(TableName=self._table, Key=self._key(key), ConsistentRead=True)
            item = resp.get("Item")
            if item is not None and self._live(item):
                return _bound(item, digest)
        raise ApiError(409, "conflict", f"this {HEADER} is being reused concurrently; retry")

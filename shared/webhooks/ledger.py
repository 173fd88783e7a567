"""Deduplicates webhook deliveries by event id: a conditional put with a TTL in the coordination table.

Item `pk = WEBHOOK#{event id}`: `outcome` PENDING (a delivery is being accepted, until `lease_until`) or DONE (it was
durably accepted), `ttl`. A PENDING mark whose lease lapsed (its receiver died) is taken over by the next delivery.
A delivery that could not be accepted releases its mark, so WXCC's retry is not mistaken for a duplicate.
"""

from __future__ import annotations

import time
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient


class Mark(StrEnum):
    """What `begin` found for an event id."""

    NEW = "NEW"  # ours to accept
    DONE = "DONE"  # already accepted: a duplicate
    IN_PROGRESS = "IN_PROGRESS"  # another delivery of it is being accepted right now


def _key(event_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"WEBHOOK#{event_id}"}}


class EventLedger:
    """The seen-event marks; `ttl_s` bounds how long a duplicate is recognised (WXCC retries within hours)."""

    def __init__(self, dynamodb: DynamoDBClient, table: str, *, ttl_s: int, lease_s: float = 30.0) -> None:
        self._ddb = dynamodb
        self.table = table
        self.ttl_s = ttl_s
        self.lease_s = lease_s

    async def begin(self, event_id: str) -> Mark:
        """Mark an event as being accepted, unless it was accepted (DONE) or is being accepted (live PENDING)."""
        now = time.time()
        try:
            await self._ddb.put_item(
                TableName=self.table,
                Item={
                    **_key(event_id),
                    "outcome": {"S": "PENDING"},
                    "lease_until": {"N": f"{now + self.lease_s:.3f}"},
                    "ttl": {"N": str(int(now + self.ttl_s))},
                },
                ConditionExpression="attribute_not_exists(pk) OR (outcome = :pending AND lease_until < :now)",
                ExpressionAttributeValues={":pending": {"S": "PENDING"}, ":now": {"N": f"{now:.3f}"}},
            )
        except self._ddb.exceptions.ConditionalCheckFailedException:
            item = (await self._ddb.get_item(TableName=self.table, Key=_key(event_id), ConsistentRead=True)).get("Item")
            if item is not None and item.get("outcome", {}).get("S") == "DONE":
                return Mark.DONE
            return Mark.IN_PROGRESS
        return Mark.NEW

    async def done(self, event_id: str) -> None:
        """Record the event as durably accepted (kept `ttl_s`)."""
        await self._ddb.update_item(
            TableName=self.table,
            Key=_key(event_id),
            UpdateExpression="SET outcome = :done REMOVE lease_until",
            ExpressionAttributeValues={":done": {"S": "DONE"}},
        )

    async def release(self, event_id: str) -> None:
        """Forget a PENDING mark after a failed acceptance (never a DONE one)."""
        try:
            await self._ddb.delete_item(
                TableName=self.table,
                Key=_key(event_id),
                ConditionExpression="outcome = :pending",
                ExpressionAttributeValues={":pending": {"S": "PENDING"}},
            )
        except self._ddb.exceptions.ConditionalCheckFailedException:
            return

    async def outcome(self, event_id: str) -> str | None:
        """PENDING, DONE or None (never seen, or forgotten)."""
        item = (await self._ddb.get_item(TableName=self.table, Key=_key(event_id), ConsistentRead=True)).get("Item")
        return None if item is None else str(item["outcome"]["S"])

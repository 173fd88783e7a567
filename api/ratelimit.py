"""Per-key limit on journey creation: a fixed-window counter in the journeys table, shared by every API task.

Why DynamoDB and not a token bucket in the process: the API runs as several tasks behind a load balancer that spreads
one client's requests over all of them, and autoscaling changes how many there are. A per-process bucket would have
to divide the limit by a task count it does not know (too strict with one task, too loose after a scale-out); one
conditional `ADD` on the item of the current minute is exact across tasks and costs one write per creation, which is
rare next to the reads. A fixed window lets a client spend at most twice the limit around a window boundary; that is
acceptable for a guard against floods. Items (`pk = RATE#journeys#{identity}#{window}`, no `state`, so they never
show in the `by-state` index) expire through the table's TTL attribute `ttl`.

The identity is a prefix of the SHA-256 of the presented key (`anonymous` without one): the key is never stored.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from api.auth import hash_key
from api.errors import ApiError

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

WINDOW_S = 60
ANONYMOUS = "anonymous"
_SK = "RATE"


def key_identity(presented: str | None) -> str:
    """What a rate limit counts by: 16 hex digits of the key's SHA-256, or `anonymous`."""
    return hash_key(presented)[:16] if presented else ANONYMOUS


class CreationLimiter:
    """At most `per_minute` journeys per key identity in each minute (0: no limit)."""

    def __init__(
        self,
        dynamodb: DynamoDBClient,
        table: str,
        *,
        per_minute: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._ddb = dynamodb
        self._table = table
        self.per_minute = per_minute
        self._clock = clock

    async def take(self, identity: str) -> None:
        """Count one creation for `identity`; a 429 `ApiError` with `Retry-After` when its minute is spent."""
        if self.per_minute <= 0:
            return
        now = self._clock()
        window = int(now // WINDOW_S)
        try:
            await self._ddb.update_item(
                TableName=self._table,
                Key={"pk": {"S": f"RATE#journeys#{identity}#{window}"}, "sk": {"S": _SK}},
                UpdateExpression="ADD used :one SET #ttl = :ttl",
                ConditionExpression="attribute_not_exists(used) OR used < :cap",
                ExpressionAttributeNames={"#ttl": "ttl"},
                ExpressionAttributeValues={
                    ":one": {"N": "1"},
                    ":cap": {"N": str(self.per_minute)},
                    ":ttl": {"N": str((window + 2) * WINDOW_S)},
                },
            )
        except self._ddb.exceptions.ConditionalCheckFailedException:
            retry_after = max(1, math.ceil((window + 1) * WINDOW_S - now))
            raise ApiError(
                429,
                "rate_limited",
                f"this API key created {self.per_minute} journeys in the current minute, the most allowed "
                f"(CALLPIPE_API_JOURNEY_CREATES_PER_MINUTE); retry after {retry_after} s",
                {"limit": self.per_minute, "window_s": WINDOW_S, "retry_after_s": retry_after},
                headers={"Retry-After": str(retry_after)},
            ) from None

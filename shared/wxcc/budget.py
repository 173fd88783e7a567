"""The WXCC request budget shared by every worker of a deployment: a fixed-window counter in DynamoDB.

WXCC allows about 300 requests/min per client id. Each worker takes one unit per request with a single conditional
`ADD` on the item of the current window (`pk = WXCC#BUDGET#{client}#{window}`); when the window's units are gone it
waits for the next window instead of collecting 429s. Windows are short (10 s by default, the minute's budget split
evenly) so a burst cannot spend a whole minute at once. Window items expire through the table's TTL.

A 429 means the budget overestimates what WXCC allows right now (another client on the same org, a lowered limit):
`pause(retry_after)` writes `not_before` on every window item the pause overlaps, and the same conditional `ADD`
refuses a unit while `not_before` lies ahead, so every worker of the deployment waits — at no extra DynamoDB call
while nothing is paused (the refusal returns the item, which says how long to wait).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from typing import TYPE_CHECKING, Any

from shared.logging import get_logger

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

log = get_logger(__name__)

MAX_PAUSE_S = 300.0
"""A longer `Retry-After` pauses the budget this long (the message backoff covers the rest)."""


class RateBudget:
    """Takes one request's worth of budget, waiting for the next window when this one is spent."""

    def __init__(
        self, dynamodb: DynamoDBClient, table: str, client_id: str, *, per_minute: int, window_s: int = 10
    ) -> None:
        self._ddb = dynamodb
        self._table = table
        self._client = client_id
        self.window_s = window_s
        self.capacity = max(1, per_minute * window_s // 60)
        self.waited_s = 0.0  # total time this process spent waiting for budget

    async def acquire(self) -> None:
        """Return once a unit of budget is ours."""
        while True:
            now = time.time()
            window = int(now // self.window_s)
            try:
                await self._ddb.update_item(
                    TableName=self._table,
                    Key={"pk": {"S": f"WXCC#BUDGET#{self._client}#{window}"}},
                    UpdateExpression="ADD used :one SET #ttl = :ttl",
                    ConditionExpression=(
                        "(attribute_not_exists(used) OR used < :cap) "
                        "AND (attribute_not_exists(not_before) OR not_before <= :now)"
                    ),
                    ExpressionAttributeNames={"#ttl": "ttl"},
                    ExpressionAttributeValues={
                        ":one": {"N": "1"},
                        ":cap": {"N": str(self.capacity)},
                        ":now": {"N": repr(now)},
                        ":ttl": {"N": str(int(now) + 3600)},
                    },
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
                return
            except self._ddb.exceptions.ConditionalCheckFailedException as exc:
                item: Any = exc.response.get("Item") or {}
                not_before = float(item["not_before"]["N"]) if "not_before" in item else 0.0
                if not_before > now:
                    # Paused after a 429: wait it out, the waiters spread over a short moment after it.
                    wait = not_before - now + random.uniform(0, min(1.0, self.window_s / 10))
                    reason = "paused"
                else:
                    # Spread the waiters over the first tenth of the next window so they don't all arrive at once.
                    wait = (window + 1) * self.window_s - now + random.uniform(0, self.window_s / 10)
                    reason = "spent"
                self.waited_s += wait
                log.debug("wxcc_budget_wait", wait_s=round(wait, 2), capacity=self.capacity, reason=reason)
                await asyncio.sleep(wait)

    async def pause(self, seconds: float) -> float:
        """Hold every worker's requests for `seconds` (at most `MAX_PAUSE_S`) from now; returns the `not_before` time.

        A pause never shortens one already stored."""
        now = time.time()
        not_before = now + min(max(seconds, 0.0), MAX_PAUSE_S)
        for window in range(int(now // self.window_s), int(not_before // self.window_s) + 1):
            # A longer pause stored already stays.
            with contextlib.suppress(self._ddb.exceptions.ConditionalCheckFailedException):
                await self._ddb.update_item(
                    TableName=self._table,
                    Key={"pk": {"S": f"WXCC#BUDGET#{self._client}#{window}"}},
                    UpdateExpression="SET not_before = :nb, #ttl = :ttl",
                    ConditionExpression="attribute_not_exists(not_before) OR not_before < :nb",
                    ExpressionAttributeNames={"#ttl": "ttl"},
                    ExpressionAttributeValues={
                        ":nb": {"N": repr(not_before)},
                        ":ttl": {"N": str(int(now) + 3600)},
                    },
                )
        log.warning("wxcc_budget_paused", pause_s=round(not_before - now, 2))
        return not_before

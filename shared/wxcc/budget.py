"""The WXCC request budget shared by every worker of a deployment: a fixed-window counter in DynamoDB.

WXCC allows about 300 requests/min per client id. Each worker takes one unit per request with a single conditional
`ADD` on the item of the current window (`pk = WXCC#BUDGET#{client}#{window}`); when the window's units are gone it
waits for the next window instead of collecting 429s. Windows are short (10 s by default, the minute's budget split
evenly) so a burst cannot spend a whole minute at once. Window items expire through the table's TTL.
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import TYPE_CHECKING

from shared.logging import get_logger

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

log = get_logger(__name__)


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
                    ConditionExpression="attribute_not_exists(used) OR used < :cap",
                    ExpressionAttributeNames={"#ttl": "ttl"},
                    ExpressionAttributeValues={
                        ":one": {"N": "1"},
                        ":cap": {"N": str(self.capacity)},
                        ":ttl": {"N": str(int(now) + 3600)},
                    },
                )
                return
            except self._ddb.exceptions.ConditionalCheckFailedException:
                # Spread the waiters over the first tenth of the next window so they don't all arrive at once.
                wait = (window + 1) * self.window_s - now + random.uniform(0, self.window_s / 10)
                self.waited_s += wait
                log.debug("wxcc_budget_wait", wait_s=round(wait, 2), capacity=self.capacity)
                await asyncio.sleep(wait)

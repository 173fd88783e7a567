"""The fast path's claim: a `capture:available` call claimed once, under its org's live journey, as polling claims.

The claim is the poll stage's: `TrackingTable.claim_put` in one transaction with the journey's per-call record and its
`poll.queued + 1`, so a call found by a webhook and by a poll (in either order, or at once) is claimed by exactly one
of them. What the receiver does next depends on what the claim found:

    CLAIMED      ours now: send its fetch
    RESEND       an earlier delivery of this call claimed it under the live journey and no fetch has begun on it
                 (its fetch may never have been sent): send it again — the fetch stage takes a call once
    FOUND_BEFORE already found by a poll journey (counted `skipped_duplicate` on the live journey, once), or its
                 fetch has begun: nothing to send
    ERASED       the call was erased (its row is a tombstone): nothing to send, and nothing recorded — a job row
                 would hold its task id again

`rollback` undoes a claim whose fetch could not be queued (the delivery is answered 5xx, WXCC may retry it, and
the reconciliation poll can find the call again as if the webhook had never come).
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from shared.dynamo import transact
from shared.journeys import Journey, JourneyStore
from shared.logging import get_logger
from shared.tracking import CallStatus, TrackingTable, tracking_key

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

log = get_logger(__name__)


class Claim(StrEnum):
    CLAIMED = "CLAIMED"
    RESEND = "RESEND"
    FOUND_BEFORE = "FOUND_BEFORE"
    ERASED = "ERASED"


class LiveClaims:
    """Claims of webhook-found calls under the live journey."""

    def __init__(
        self, dynamodb: DynamoDBClient, journeys: JourneyStore, tracking: TrackingTable, *, lease_s: float
    ) -> None:
        self._ddb = dynamodb
        self._journeys = journeys
        self._tracking = tracking
        self._lease_s = lease_s

    async def claim(self, journey: Journey, org_id: str, task_id: str, facts: dict[str, Any]) -> Claim:
        """Claim `task_id` for the live `journey` (see the module's table)."""
        job = self._journeys.job_put(journey.id, task_id, "queued", source="webhook")
        job["ConditionExpression"] = "attribute_not_exists(pk)"
        put = self._tracking.claim_put(
            org_id,
            task_id,
            journey.id,
            pipeline_version=journey.pipeline_version,
            retry_failed=journey.retry_failed,
            lease_s=self._lease_s,
            facts=facts,
        )
        counter = self._journeys.counter_update(journey.id, "poll", queued=1)
        if await transact(self._ddb, [{"Put": put}, {"Put": job}, {"Update": counter}]):
            return Claim.CLAIMED
        row = await self._tracking.get(org_id, task_id)
        if row is not None and row.status is CallStatus.ERASED:
            return Claim.ERASED
        if (
            row is not None
            and row.journey_id == journey.id
            and row.status is CallStatus.CLAIMED
            and row.lease_stage == "poll"
        ):
            return Claim.RESEND
        duplicate = self._journeys.job_put(journey.id, task_id, "skipped_duplicate", source="webhook")
        duplicate["ConditionExpression"] = "attribute_not_exists(pk)"
        await transact(
            self._ddb,
            [{"Put": duplicate}, {"Update": self._journeys.counter_update(journey.id, "poll", skipped_duplicate=1)}],
        )
        return Claim.FOUND_BEFORE

    async def rollback(self, journey: Journey, org_id: str, task_id: str) -> bool:
        """Undo this delivery's claim while no fetch has begun on it: row, per-call record and counter, together."""
        undone = await transact(
            self._ddb,
            [
                {
                    "Delete": {
                        "TableName": self._tracking.table,
                        "Key": tracking_key(org_id, task_id),
                        "ConditionExpression": "journey_id = :j AND #status = :claimed AND lease_stage = :poll",
                        "ExpressionAttributeNames": {"#status": "status"},
                        "ExpressionAttributeValues": {
                            ":j": {"S": journey.id},
                            ":claimed": {"S": CallStatus.CLAIMED.value},
                            ":poll": {"S": "poll"},
                        },
                    }
                },
                {
                    "Delete": {
                        "TableName": self._journeys.table,
                        "Key": {"pk": {"S": f"JOURNEY#{journey.id}"}, "sk": {"S": f"JOB#{task_id}"}},
                    }
                },
                {"Update": self._journeys.counter_update(journey.id, "poll", queued=-1)},
            ],
        )
        log.warning("webhook_claim_rolled_back" if undone else "webhook_claim_not_rolled_back", task_id=task_id)
        return undone

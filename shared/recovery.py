"""Putting a FAILED call back on its way when its dead-lettered message is replayed.

A stage that fails a call for good moves its row to FAILED (with `failed_stage`) and counts `failed + 1` on the
journey's `STAGE#{stage}`, in one transaction. Replaying the message undoes exactly that, in one transaction too:
the row goes back to the status the stage expects (only if it is still FAILED by that stage) and the journey's
`failed` counter goes down by one, so the call can complete and the journey's counters stay consistent.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from shared.dynamo import transact
from shared.journeys import JourneyState, JourneyStore
from shared.logging import get_logger
from shared.tracking import CallStatus, tracking_key

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

log = get_logger(__name__)

# The status each stage begins from: a call failed by that stage goes back to it.
REOPEN_STAGES: dict[str, CallStatus] = {
    "fetch": CallStatus.CLAIMED,
    "transcribe": CallStatus.FETCHED,
    "analyze": CallStatus.TRANSCRIBED,
}


async def reopen_failed(
    ddb: DynamoDBClient, tracking_table: str, journeys_table: str, org_id: str, task_id: str, stage: str
) -> bool:
    """Reopen a call FAILED by `stage`; False (nothing written) when the row is missing or not FAILED by it."""
    expected = REOPEN_STAGES.get(stage)
    if expected is None:
        raise ValueError(f"calls failed by {stage!r} cannot be reopened; stages: {sorted(REOPEN_STAGES)}")
    resp = await ddb.get_item(TableName=tracking_table, Key=tracking_key(org_id, task_id), ConsistentRead=True)
    item = resp.get("Item")
    if item is None or item.get("status", {}).get("S") != CallStatus.FAILED.value:
        return False
    if item.get("failed_stage", {}).get("S") != stage:
        return False
    journey_id = item.get("journey_id", {}).get("S", "")
    now = f"{time.time():.3f}"
    journeys = JourneyStore(ddb, journeys_table)
    row_update = {
        "TableName": tracking_table,
        "Key": tracking_key(org_id, task_id),
        "UpdateExpression": (
            "SET #status = :expected, lease_stage = :replay, lease_until = :now, updated_at = :now, "
            "replayed_from = :stage REMOVE #error, failed_stage"
        ),
        "ConditionExpression": "#status = :failed AND failed_stage = :stage AND journey_id = :journey",
        "ExpressionAttributeNames": {"#status": "status", "#error": "error"},
        "ExpressionAttributeValues": {
            ":expected": {"S": expected.value},
            ":failed": {"S": CallStatus.FAILED.value},
            ":stage": {"S": stage},
            ":journey": {"S": journey_id},
            ":replay": {"S": "replay"},
            ":now": {"N": now},
        },
    }
    items = [
        {"Update": row_update},
        {"Update": journeys.counter_update(journey_id, stage, failed=-1)},
        {"Put": journeys.job_put(journey_id, task_id, "replayed", stage=stage)},
    ]
    if not await transact(ddb, items):
        return False  # someone else reopened (or moved) it in between
    # A journey that was complete only because this call had failed is running again until the call finishes.
    await journeys.set_state(journey_id, JourneyState.RUNNING, expected=JourneyState.COMPLETED)
    log.info("call_reopened", task_id=task_id, stage=stage, status=expected.value, journey_id=journey_id)
    return True

"""The WXCC tracking table: one row per call, claimed once, moved stage by stage with conditional writes.

Row `pk = ORG#{org}#TASK#{task}`: status, journey_id, lease_stage, lease_owner, stage_started_at, lease_until,
recording_keys, transcript_key, analysis_key, error, attempts, pipeline_version, updated_at, ttl, plus facts about the
call. The fetch stage adds `capture_queries` / `capture_first_query_at` (captures answers so far and when the first
came: they bound the wait for a recording) and `fetched_legs` (legs already in S3, so a retry downloads only the rest).

Statuses: CLAIMED → FETCHED → TRANSCRIBED → ANALYZED, or FAILED / SKIPPED (terminal).

Claim (poll stage) — a conditional put that succeeds for exactly one claimer:

    attribute_not_exists(pk)                                  never seen: ours
    OR (status = FAILED AND :retry_failed)                    a journey that asks to retry failures takes it again
    OR (status = CLAIMED AND lease_until < :now - 3 days)     an abandoned claim (its journey was cancelled or its
                                                              messages are gone): another journey takes it over

A row at FETCHED or TRANSCRIBED is never taken over by a claim, however old its lease: its successor message is in a
queue or a DLQ (replay moves it on), and sending it back to CLAIMED would fetch and transcribe it again — paid twice.
A claim whose lease lapsed only recently is left alone too: a fetch waiting for a capture (NotReadyYet) holds no lease,
and a second journey's claim would only race it. Crashes within a journey need no takeover: the redelivered message
finds the row at its step and `begin` takes the expired stage lease (below).

A stage runs in two steps, so two deliveries of the same message never both do the paid work:

    t0  begin(expected=FETCHED, stage=transcribe, owner=o1)
          IF status = FETCHED AND (lease_until < now OR lease_stage <> stage)
          → SET lease_stage = transcribe, lease_owner = o1, lease_until = now + lease, attempts + 1
                                                                       (a duplicate delivery: ✗ busy)
    t1  ... transcribe (minutes) ...; every lease/3, from the consumer's heartbeat:
        renew(o1)  IF status = FETCHED AND lease_stage = transcribe AND lease_owner = o1
          → SET lease_until = now + lease           (✗: the lease was taken over, o1 must not record a result)
    t2  advance(FETCHED → TRANSCRIBED, owner=o1)  IF status = FETCHED AND lease_stage = transcribe
          [AND lease_owner = o1]
        → in one transaction with the journey's `STAGE#transcribe.done + 1`     (a late duplicate: ✗ already done)

The lease is short (`CALLPIPE_STAGE_LEASE_S`, 60 s) because a live holder renews it: a worker that dies stops renewing,
and the next delivery of its message takes the call over once `lease_until` has passed. `lease_owner` is a token of
one `begin`, so a holder whose lease was taken over (it stalled past `lease_until`) can neither renew it, nor release
it, nor record its result over the new holder's.

A message for a step the row has already passed finds `status` beyond `expected`: it is acknowledged and does nothing.
A retryable failure releases the lease (lease_until = now, only if it is still ours) so the retry can begin at once.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from shared.dynamo import from_attr, to_attr
from shared.logging import get_logger

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

log = get_logger(__name__)

ROW_TTL_S = 400 * 24 * 3600
"""The default life of a tracking row (privacy: `CALLPIPE_RETENTION_TRACKING_DAYS` sets it, see `row_ttl_s`)."""
# A CLAIMED row whose lease lapsed this long ago is abandoned: longer than any capture wait (48 h by default).
ABANDONED_CLAIM_S = 3 * 24 * 3600


class CallStatus(StrEnum):
    """Where a call is in the pipeline."""

    CLAIMED = "CLAIMED"
    FETCHED = "FETCHED"
    TRANSCRIBED = "TRANSCRIBED"
    ANALYZED = "ANALYZED"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"
    HELD = "HELD"  # license (issue 14): held back by the license (reason in held_reason), resumed later
    ERASED = "ERASED"  # privacy (issue 16): a tombstone, no personal data; never claimed, fetched or replayed again

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {
    CallStatus.CLAIMED: 0,
    CallStatus.FETCHED: 1,
    CallStatus.TRANSCRIBED: 2,
    CallStatus.ANALYZED: 3,
    CallStatus.FAILED: 9,
    CallStatus.SKIPPED: 9,
    CallStatus.HELD: 8,  # license: past every working status, so a stale message for a held call does nothing
    CallStatus.ERASED: 10,  # privacy: terminal, beyond every other status
}


class Begin(StrEnum):
    """What `begin` found."""

    STARTED = "STARTED"  # the work is ours
    ALREADY_DONE = "ALREADY_DONE"  # the row is past this step (or terminal): acknowledge, do nothing
    BUSY = "BUSY"  # another delivery holds the stage lease: come back later
    MISSING = "MISSING"  # no such row


@dataclass(frozen=True)
class TrackingRow:
    """A call's tracking row."""

    org_id: str
    task_id: str
    status: CallStatus
    journey_id: str
    pipeline_version: int
    lease_until: float
    lease_stage: str | None
    attempts: int
    error: str | None
    recording_keys: list[dict[str, str]] = field(default_factory=list)
    transcript_key: str | None = None
    analysis_key: str | None = None
    claimed_at: float = 0.0
    facts: dict[str, Any] = field(default_factory=dict)
    lease_owner: str | None = None

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> TrackingRow:
        plain = {k: from_attr(v) for k, v in item.items()}
        return cls(
            org_id=plain["org_id"],
            task_id=plain.get("task_id") or plain["pk"].rsplit("#TASK#", 1)[-1],  # a tombstone keeps only its key
            status=CallStatus(plain["status"]),
            journey_id=plain.get("journey_id", ""),
            pipeline_version=int(plain.get("pipeline_version", 1)),
            lease_until=float(plain.get("lease_until", 0)),
            lease_stage=plain.get("lease_stage"),
            attempts=int(plain.get("attempts", 0)),
            error=plain.get("error"),
            recording_keys=plain.get("recording_keys", []),
            transcript_key=plain.get("transcript_key"),
            analysis_key=plain.get("analysis_key"),
            claimed_at=float(plain.get("claimed_at", 0)),
            facts=plain.get("facts", {}),
            lease_owner=plain.get("lease_owner"),
        )


def tracking_key(org_id: str, task_id: str) -> dict[str, Any]:
    """The primary key of a call's row."""
    return {"pk": {"S": f"ORG#{org_id}#TASK#{task_id}"}}


class TrackingTable:
    """Conditional reads and writes of call rows (low-level DynamoDB client; transactions for counters)."""

    def __init__(self, dynamodb: DynamoDBClient, table: str, *, row_ttl_s: int = ROW_TTL_S) -> None:
        self._ddb = dynamodb
        self.table = table
        self.row_ttl_s = row_ttl_s  # privacy: a claimed row's TTL (DynamoDB deletes it that long after the claim)

    async def get(self, org_id: str, task_id: str) -> TrackingRow | None:
        """The row of a call, read consistently."""
        resp = await self._ddb.get_item(TableName=self.table, Key=tracking_key(org_id, task_id), ConsistentRead=True)
        return TrackingRow.from_item(resp["Item"]) if "Item" in resp else None

    def claim_put(
        self,
        org_id: str,
        task_id: str,
        journey_id: str,
        *,
        pipeline_version: int,
        retry_failed: bool,
        lease_s: float,
        facts: dict[str, Any],
        status: CallStatus = CallStatus.CLAIMED,
        error: str | None = None,
    ) -> dict[str, Any]:
        """The conditional Put of a claim, for use alone or inside a transaction."""
        now = time.time()
        item: dict[str, Any] = {
            **tracking_key(org_id, task_id),
            "org_id": {"S": org_id},
            "task_id": {"S": task_id},
            "status": {"S": status.value},
            "journey_id": {"S": journey_id},
            "pipeline_version": {"N": str(pipeline_version)},
            "claimed_at": {"N": f"{now:.3f}"},
            "stage_started_at": {"N": f"{now:.3f}"},
            "lease_stage": {"S": "poll"},
            "lease_until": {"N": f"{now + lease_s:.3f}"},
            "attempts": {"N": "0"},
            "updated_at": {"N": f"{now:.3f}"},
            "ttl": {"N": str(int(now + self.row_ttl_s))},
            "facts": to_attr(facts),
        }
        if error:
            item["error"] = {"S": error[:1000]}
        return {
            "TableName": self.table,
            "Item": item,
            "ConditionExpression": (
                "attribute_not_exists(pk)"
                " OR (#status = :failed AND :retry_failed = :true)"
                " OR (#status = :claimed AND lease_until < :abandoned)"
            ),
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {
                ":failed": {"S": CallStatus.FAILED.value},
                ":claimed": {"S": CallStatus.CLAIMED.value},
                ":retry_failed": {"BOOL": retry_failed},
                ":true": {"BOOL": True},
                ":abandoned": {"N": f"{now - ABANDONED_CLAIM_S:.3f}"},
            },
        }

    async def begin(
        self, org_id: str, task_id: str, expected: CallStatus, stage: str, lease_s: float, *, owner: str | None = None
    ) -> Begin:
        """Take the stage lease on a row in `expected` status (see the module's timeline).

        `owner` is this holder's token (`new_lease_owner()`); renewing, releasing and advancing with it succeed only
        while the lease is still this holder's. Without one, a fresh token is stored, which nobody else knows.
        """
        now = time.time()
        try:
            await self._ddb.update_item(
                TableName=self.table,
                Key=tracking_key(org_id, task_id),
                UpdateExpression=(
                    "SET lease_stage = :stage, lease_owner = :owner, lease_until = :until, stage_started_at = :now, "
                    "updated_at = :now ADD attempts :one"
                ),
                ConditionExpression="#status = :expected AND (lease_until < :now OR lease_stage <> :stage)",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":stage": {"S": stage},
                    ":owner": {"S": owner or new_lease_owner()},
                    ":until": {"N": f"{now + lease_s:.3f}"},
                    ":now": {"N": f"{now:.3f}"},
                    ":expected": {"S": expected.value},
                    ":one": {"N": "1"},
                },
            )
            return Begin.STARTED
        except self._ddb.exceptions.ConditionalCheckFailedException:
            row = await self.get(org_id, task_id)
        if row is None:
            return Begin.MISSING
        if row.status is not expected:
            return Begin.ALREADY_DONE if row.status.rank > expected.rank else Begin.MISSING
        return Begin.BUSY

    async def renew(
        self, org_id: str, task_id: str, stage: str, lease_s: float, *, expected: CallStatus, owner: str
    ) -> bool:
        """Extend a stage lease to now + `lease_s`; False when it is no longer `owner`'s (taken over, released by
        a takeover's failure, or the row moved on), in which case the holder must not record a result."""
        now = time.time()
        try:
            await self._ddb.update_item(
                TableName=self.table,
                Key=tracking_key(org_id, task_id),
                UpdateExpression="SET lease_until = :until, updated_at = :now",
                ConditionExpression="#status = :expected AND lease_stage = :stage AND lease_owner = :owner",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":until": {"N": f"{now + lease_s:.3f}"},
                    ":now": {"N": f"{now:.3f}"},
                    ":expected": {"S": expected.value},
                    ":stage": {"S": stage},
                    ":owner": {"S": owner},
                },
            )
        except self._ddb.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def advance_update(
        self,
        org_id: str,
        task_id: str,
        *,
        expected: CallStatus,
        new: CallStatus,
        stage: str,
        values: dict[str, Any] | None = None,
        lease_s: float = 0,
        owner: str | None = None,
    ) -> dict[str, Any]:
        """The conditional Update that moves a row from `expected` to `new`, for use inside a transaction; with
        `owner`, only while the stage lease is still that holder's."""
        now = time.time()
        sets = ["#status = :new", "updated_at = :now", "lease_until = :until", "lease_stage = :next_stage"]
        attr_values: dict[str, Any] = {
            ":new": {"S": new.value},
            ":now": {"N": f"{now:.3f}"},
            ":until": {"N": f"{now + lease_s:.3f}"},
            ":next_stage": {"S": f"after-{stage}"},
            ":expected": {"S": expected.value},
            ":stage": {"S": stage},
        }
        names = {"#status": "status"}
        for i, (name, value) in enumerate((values or {}).items()):
            names[f"#v{i}"] = name
            attr_values[f":v{i}"] = to_attr(value)
            sets.append(f"#v{i} = :v{i}")
        condition = "#status = :expected AND lease_stage = :stage"
        if owner is not None:
            condition += " AND lease_owner = :owner"
            attr_values[":owner"] = {"S": owner}
        return {
            "TableName": self.table,
            "Key": tracking_key(org_id, task_id),
            "UpdateExpression": "SET " + ", ".join(sets),
            "ConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": attr_values,
        }

    def reopen_update(self, org_id: str, task_id: str, journey_id: str, pipeline_version: int) -> dict[str, Any]:
        """Reprocessing with a new prompt/model: the conditional Update that sends an ANALYZED row of an older
        `pipeline_version` back to TRANSCRIBED (its transcript is kept, nothing is deleted), for a transaction."""
        now = time.time()
        return {
            "TableName": self.table,
            "Key": tracking_key(org_id, task_id),
            "UpdateExpression": (
                "SET #status = :transcribed, journey_id = :journey, pipeline_version = :v, "
                "lease_stage = :stage, lease_until = :now, updated_at = :now"
            ),
            "ConditionExpression": "#status = :analyzed AND pipeline_version < :v",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {
                ":transcribed": {"S": CallStatus.TRANSCRIBED.value},
                ":analyzed": {"S": CallStatus.ANALYZED.value},
                ":journey": {"S": journey_id},
                ":v": {"N": str(pipeline_version)},
                ":stage": {"S": "reprocess"},
                ":now": {"N": f"{now:.3f}"},
            },
        }

    async def reopen_for_analysis(self, org_id: str, task_id: str, journey_id: str, pipeline_version: int) -> bool:
        """Apply `reopen_update` alone; False if the call is not analysed or already at that version."""
        try:
            await self._ddb.update_item(**self.reopen_update(org_id, task_id, journey_id, pipeline_version))
        except self._ddb.exceptions.ConditionalCheckFailedException:
            return False
        return True

    async def release(self, org_id: str, task_id: str, stage: str, *, owner: str | None = None) -> bool:
        """Give up a stage lease after a retryable failure, so the retry can begin at once; with `owner`, only if
        the lease is still that holder's (never a taken-over lease). False if there was nothing of ours to release."""
        now = time.time()
        values: dict[str, Any] = {":now": {"N": f"{now:.3f}"}, ":stage": {"S": stage}}
        condition = "lease_stage = :stage"
        if owner is not None:
            condition += " AND lease_owner = :owner"
            values[":owner"] = {"S": owner}
        try:
            await self._ddb.update_item(
                TableName=self.table,
                Key=tracking_key(org_id, task_id),
                UpdateExpression="SET lease_until = :now",
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
            )
        except self._ddb.exceptions.ConditionalCheckFailedException:
            log.debug("tracking_release_not_ours", stage=stage)
            return False
        return True


def new_lease_owner() -> str:
    """A token naming one holder of one stage lease."""
    return uuid.uuid4().hex

"""The journey store (transformation-system table): a journey's record, its per-stage counters, its poll windows.

Items under `pk = JOURNEY#{id}`:
  `sk = META`              kind, params, state, created_by, created_at, pipeline_version, retry_failed, cancelled
  `sk = STAGE#{stage}`     counters, ADD only: queued, done, skipped, skipped_duplicate, failed, held, erased,
                           billed_audio_s, tokens
  `sk = POLL#{from}#{to}`  one poll window: PENDING until polled (or split into smaller windows), then DONE
  `sk = JOB#{task_id}`     per-call execution record (outcome, reason, billed seconds, tokens)
A GSI `by-state` (state, created_at) lists journeys.

A journey is COMPLETED when no poll window is PENDING and every discovered call is terminal:
  discovered = poll.queued + poll.skipped + poll.skipped_duplicate
  terminal   = poll.skipped + poll.skipped_duplicate + fetch.skipped + analyze.done + Σ failed + erased(fetch…analyze)

The *live* journey of an org (`live-{org}`, kind `live`) is where webhook deliveries claim calls: it stands for good
(its one poll window, `POLL#live`, stays PENDING, so it is never COMPLETED), shows in the journey list like any other,
and its `poll.queued` counts the calls webhooks found first (`poll.skipped_duplicate`: found first by a poll journey).
A scheduled poll journey's `poll.queued` counts the calls it found that webhooks missed.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from shared.dynamo import from_attr, to_attr, transact
from shared.logging import get_logger

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

log = get_logger(__name__)

STAGES = ("poll", "fetch", "transcribe", "analyze")
COUNTERS = (
    "queued",
    "done",
    "skipped",
    "skipped_duplicate",
    "failed",
    "held",
    "erased",  # privacy: calls erased before they finished (`shared.privacy.erasure`), terminal
    "billed_audio_s",
    "tokens",
)


class JourneyState(StrEnum):
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"


class JourneyKind(StrEnum):
    WINDOW = "window"
    TASKS = "tasks"
    REPROCESS = "reprocess"
    LIVE = "live"  # an org's standing journey of webhook-found calls


LIVE_WINDOW = "live"  # the live journey's poll window: PENDING for good


def live_journey_id(org_id: str) -> str:
    """The id of an org's live journey (one per org, made by the first webhook delivery)."""
    return f"live-{org_id}"


@dataclass(frozen=True)
class Journey:
    """A journey's META record."""

    id: str
    kind: JourneyKind
    params: dict[str, Any]
    state: JourneyState
    created_by: str
    created_at: str
    org_id: str
    pipeline_version: int = 1
    retry_failed: bool = False
    state_changed_at: str = ""  # when it became COMPLETED or CANCELLED ("" while RUNNING)

    @classmethod
    def new(
        cls,
        kind: JourneyKind,
        params: dict[str, Any],
        *,
        org_id: str,
        created_by: str = "system",
        pipeline_version: int = 1,
        retry_failed: bool = False,
    ) -> Journey:
        now = datetime.now(UTC).isoformat(timespec="milliseconds")
        return cls(
            f"j-{uuid.uuid4().hex[:16]}",
            kind,
            params,
            JourneyState.RUNNING,
            created_by,
            now,
            org_id,
            pipeline_version,
            retry_failed,
        )


@dataclass
class JourneyStatus:
    """A journey with its counters and pending poll windows, as read."""

    journey: Journey
    counters: dict[str, dict[str, float]] = field(default_factory=dict)
    pending_polls: int = 0

    def count(self, stage: str, counter: str) -> float:
        return self.counters.get(stage, {}).get(counter, 0)

    @property
    def discovered(self) -> int:
        return int(sum(self.count("poll", c) for c in ("queued", "skipped", "skipped_duplicate")))

    @property
    def terminal(self) -> int:
        failed = sum(self.count(s, c) for s in ("fetch", "transcribe", "analyze") for c in ("failed", "erased"))
        skipped = (
            self.count("poll", "skipped") + self.count("poll", "skipped_duplicate") + self.count("fetch", "skipped")
        )
        return int(skipped + failed + self.count("analyze", "done"))

    @property
    def complete(self) -> bool:
        return self.pending_polls == 0 and self.terminal >= self.discovered


def journey_key(journey_id: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": f"JOURNEY#{journey_id}"}, "sk": {"S": sk}}


CompletionHook = Callable[[str], Awaitable[object]]
"""Called with a journey's id once this process has moved it to COMPLETED (e.g. to write its report)."""


class JourneyStore:
    """Reads and writes journeys; the counter updates are handed out for use inside transactions.

    `on_completed` runs after `complete_if_done` moved a journey to COMPLETED; its failure is logged and never undoes
    or hides the completion (the API builds the report on demand when the stored one is missing).
    """

    def __init__(self, dynamodb: DynamoDBClient, table: str, *, on_completed: CompletionHook | None = None) -> None:
        self._ddb = dynamodb
        self.table = table
        self.on_completed = on_completed

    @property
    def dynamodb(self) -> DynamoDBClient:
        """The store's DynamoDB client (the journey start path checks the license with it)."""
        return self._ddb

    async def create(self, journey: Journey, first_window: str) -> None:
        """Store a new journey (its id must be new) with its first PENDING poll window, in one transaction."""
        item = {
            **journey_key(journey.id, "META"),
            "kind": {"S": journey.kind.value},
            "params": to_attr(journey.params),
            "state": {"S": journey.state.value},
            "created_by": {"S": journey.created_by},
            "created_at": {"S": journey.created_at},
            "org_id": {"S": journey.org_id},
            "pipeline_version": {"N": str(journey.pipeline_version)},
            "retry_failed": {"BOOL": journey.retry_failed},
        }
        meta = {"TableName": self.table, "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}
        if not await transact(self._ddb, [{"Put": meta}, {"Put": self.poll_window_put(journey.id, first_window)}]):
            raise ValueError(f"journey {journey.id} already exists")

    async def ensure_live(self, org_id: str, *, pipeline_version: int = 1) -> Journey:
        """The org's live journey, created RUNNING (with its never-closed window) by the first caller."""
        journey_id = live_journey_id(org_id)
        existing = await self.get(journey_id)
        if existing is not None:
            return existing
        journey = Journey.new(
            JourneyKind.LIVE,
            {"org_id": org_id, "source": "webhooks"},
            org_id=org_id,
            created_by="webhooks",
            pipeline_version=pipeline_version,
        )
        with suppress(ValueError):  # another receiver made it first
            await self.create(replace(journey, id=journey_id), LIVE_WINDOW)
        made = await self.get(journey_id)
        assert made is not None
        return made

    async def get(self, journey_id: str) -> Journey | None:
        resp = await self._ddb.get_item(TableName=self.table, Key=journey_key(journey_id, "META"), ConsistentRead=True)
        return _journey(journey_id, resp["Item"]) if "Item" in resp else None

    async def status(self, journey_id: str) -> JourneyStatus | None:
        """The journey, its counters per stage and how many poll windows are still pending."""
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            # META, POLL# and STAGE# sort after "META"; the JOB# items (one per call) sort before it and are not
            # needed here: reading them made every status read, and so every finished call, cost O(calls).
            "KeyConditionExpression": "pk = :pk AND sk >= :meta",
            "ExpressionAttributeValues": {":pk": {"S": f"JOURNEY#{journey_id}"}, ":meta": {"S": "META"}},
            "ConsistentRead": True,
        }
        while True:
            resp = await self._ddb.query(**kwargs)
            items.extend(resp.get("Items", []))
            if "LastEvaluatedKey" not in resp:
                break
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
        meta = next((i for i in items if i["sk"]["S"] == "META"), None)
        if meta is None:
            return None
        status = JourneyStatus(_journey(journey_id, meta))
        for item in items:
            sk = item["sk"]["S"]
            if sk.startswith("STAGE#"):
                status.counters[sk[6:]] = {c: float(from_attr(item[c])) for c in COUNTERS if c in item}
            elif sk.startswith("POLL#") and item.get("state", {}).get("S") == "PENDING":
                status.pending_polls += 1
        return status

    def counter_update(self, journey_id: str, stage: str, **amounts: float) -> dict[str, Any]:
        """An ADD of counters on a stage item, for a transaction (`{"Update": ...}` is added by the caller)."""
        names = {f"#c{i}": name for i, name in enumerate(amounts)}
        values = {f":c{i}": {"N": str(amount)} for i, amount in enumerate(amounts.values())}
        return {
            "TableName": self.table,
            "Key": journey_key(journey_id, f"STAGE#{stage}"),
            "UpdateExpression": "ADD " + ", ".join(f"#c{i} :c{i}" for i in range(len(amounts))),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }

    def job_put(self, journey_id: str, task_id: str, outcome: str, **details: Any) -> dict[str, Any]:
        """The per-call execution record, for a transaction."""
        item = {
            **journey_key(journey_id, f"JOB#{task_id}"),
            "outcome": {"S": outcome},
            "at": {"N": f"{time.time():.3f}"},
            **{k: to_attr(v) for k, v in details.items() if v is not None},
        }
        return {"TableName": self.table, "Item": item}

    def poll_window_put(self, journey_id: str, window: str) -> dict[str, Any]:
        """A new PENDING poll window (idempotent: an existing window is left as it is)."""
        return {
            "TableName": self.table,
            "Item": {**journey_key(journey_id, f"POLL#{window}"), "state": {"S": "PENDING"}},
            "ConditionExpression": "attribute_not_exists(pk)",
        }

    def poll_window_done(self, journey_id: str, window: str) -> dict[str, Any]:
        """Mark a poll window DONE, only if it is still PENDING (a redelivery finds it DONE and changes nothing)."""
        return {
            "TableName": self.table,
            "Key": journey_key(journey_id, f"POLL#{window}"),
            "UpdateExpression": "SET #state = :done",
            "ConditionExpression": "#state = :pending",
            "ExpressionAttributeNames": {"#state": "state"},
            "ExpressionAttributeValues": {":done": {"S": "DONE"}, ":pending": {"S": "PENDING"}},
        }

    async def jobs(self, journey_id: str, *, outcome: str | None = None, limit: int = 10) -> list[dict[str, Any]]:
        """Per-call records of a journey (optionally one outcome), at most `limit`."""
        resp = await self._ddb.query(
            TableName=self.table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :job)",
            ExpressionAttributeValues={":pk": {"S": f"JOURNEY#{journey_id}"}, ":job": {"S": "JOB#"}},
        )
        rows = [{k: from_attr(v) for k, v in item.items()} for item in resp.get("Items", [])]
        rows = [r for r in rows if outcome is None or r.get("outcome") == outcome]
        return rows[:limit]

    async def job_pages(self, journey_id: str) -> AsyncIterator[list[dict[str, Any]]]:
        """Every per-call record of a journey, a query page at a time (plain values, `task_id` added)."""
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :job)",
            "ExpressionAttributeValues": {":pk": {"S": f"JOURNEY#{journey_id}"}, ":job": {"S": "JOB#"}},
            "ConsistentRead": True,
        }
        while True:
            resp = await self._ddb.query(**kwargs)
            page = []
            for item in resp.get("Items", []):
                row = {k: from_attr(v) for k, v in item.items() if k not in ("pk", "sk")}
                row["task_id"] = item["sk"]["S"][4:]
                page.append(row)
            yield page
            if "LastEvaluatedKey" not in resp:
                return
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]

    async def set_state(self, journey_id: str, new: JourneyState, *, expected: JourneyState) -> bool:
        """Move the journey's state if it is still `expected`."""
        try:
            await self._ddb.update_item(
                TableName=self.table,
                Key=journey_key(journey_id, "META"),
                UpdateExpression="SET #state = :new, state_changed_at = :now",
                ConditionExpression="#state = :expected",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={
                    ":new": {"S": new.value},
                    ":expected": {"S": expected.value},
                    ":now": {"S": datetime.now(UTC).isoformat(timespec="milliseconds")},
                },
            )
        except self._ddb.exceptions.ConditionalCheckFailedException:
            return False
        return True

    async def complete_if_done(self, journey_id: str) -> bool:
        """Mark the journey COMPLETED if polling is over and every discovered call is terminal."""
        status = await self.status(journey_id)
        if status is None or status.journey.state is not JourneyState.RUNNING or not status.complete:
            return False
        moved = await self.set_state(journey_id, JourneyState.COMPLETED, expected=JourneyState.RUNNING)
        if moved:
            log.info("journey_completed", journey_id=journey_id, discovered=status.discovered)
            if self.on_completed is not None:
                try:
                    await self.on_completed(journey_id)
                except Exception as exc:  # the completion stands; the API builds what the hook did not write
                    log.warning("journey_completed_hook_failed", journey_id=journey_id, error=str(exc)[:300])
        return moved


def _journey(journey_id: str, item: dict[str, Any]) -> Journey:
    plain = {k: from_attr(v) for k, v in item.items()}
    return Journey(
        id=journey_id,
        kind=JourneyKind(plain["kind"]),
        params=plain.get("params", {}),
        state=JourneyState(plain["state"]),
        created_by=plain.get("created_by", ""),
        created_at=plain.get("created_at", ""),
        org_id=plain.get("org_id", ""),
        pipeline_version=int(plain.get("pipeline_version", 1)),
        retry_failed=bool(plain.get("retry_failed", False)),
        state_changed_at=str(plain.get("state_changed_at", "")),
    )

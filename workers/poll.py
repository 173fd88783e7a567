"""The poll stage: find a journey's ended calls in WXCC, claim each new one once, hand it to fetch."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from queues.consumer import Handler, HandlerContext
from queues.envelope import Envelope, Kind
from shared.bounds import task_ids_violation, window_violation
from shared.dynamo import transact
from shared.errors import NotReadyYet, Permanent
from shared.journeys import Journey, JourneyState
from shared.logging import get_logger
from shared.tracking import CallStatus, tracking_key
from workers.context import StageContext

ENDED_STATUSES = ("completed", "abandoned")

log = get_logger(__name__)

# DynamoDB's TransactWriteItems takes at most 100 items: the split's own update and at most 99 children.
MAX_SPLIT_CHILDREN = 99


class PollPayload(BaseModel):
    """A window of call end times to poll, or an explicit list of task ids."""

    model_config = ConfigDict(extra="forbid")

    org_id: str = Field(min_length=1)
    from_ms: int | None = Field(default=None, ge=0)
    to_ms: int | None = Field(default=None, ge=0)
    task_ids: list[str] | None = Field(default=None, min_length=1, max_length=10_000)
    not_before_ms: int | None = None
    reprocess_version: int | None = Field(default=None, ge=2, description="re-analyse the window's calls")

    @model_validator(mode="after")
    def _window_or_tasks(self) -> PollPayload:
        if self.task_ids is None and (self.from_ms is None or self.to_ms is None or self.from_ms >= self.to_ms):
            raise ValueError("either task_ids or a window with from_ms < to_ms is required")
        return self

    @property
    def window(self) -> str:
        return "tasks" if self.task_ids is not None else f"{self.from_ms}-{self.to_ms}"


def poll_envelope(journey_id: str, payload: PollPayload, attempt: int = 1) -> Envelope:
    """The message that asks the poll stage for one window (or task list) of a journey."""
    return Envelope(
        kind=Kind.POLL, journey_id=journey_id, attempt=attempt, payload=payload.model_dump(exclude_none=True)
    )


def make_poll_handler(ctx: StageContext) -> Handler:
    """The poll stage's handler, bound to this process's context."""

    async def handle(envelope: Envelope, delivery: HandlerContext) -> Sequence[Envelope]:
        try:
            p = PollPayload.model_validate(envelope.payload)
        except ValidationError as exc:
            reason = f"poll payload does not validate: {exc.errors()[0]['msg']}"
            window = _window_of(envelope.payload)
            if window is not None:  # close the journey's window, if it has one by that name, so the journey ends
                await _refuse(ctx, envelope.journey_id, window, reason)
            raise Permanent(reason) from exc
        journey = await ctx.journeys.get(envelope.journey_id)
        if journey is None:
            raise Permanent(f"journey {envelope.journey_id} does not exist")
        if journey.state is not JourneyState.RUNNING:
            log.info("poll_skipped_journey_not_running", state=journey.state.value)
            return ()
        await _within_bounds(ctx, envelope.journey_id, p)
        now_ms = int(time.time() * 1000)
        if p.not_before_ms and now_ms < p.not_before_ms:
            raise NotReadyYet("recheck not due yet", retry_after=(p.not_before_ms - now_ms) / 1000)
        if p.task_ids is None and p.to_ms - p.from_ms > ctx.settings.poll_max_window_s * 1000:  # type: ignore[operator]
            return await _split(ctx, envelope.journey_id, p)
        return await _poll(ctx, journey, p, envelope.attempt)

    return handle


async def _within_bounds(ctx: StageContext, journey_id: str, p: PollPayload) -> None:
    """A message asking for more than one journey may (an older version wrote it, or a bug) is refused before any
    split or WXCC request: its window is closed with the reason as the journey's failure, so the journey still ends.

    Only what stays true however late the message is read: the window's length and the number of task ids (how far
    back `from` lies and whether `to` is in the future are checked when the journey is created).
    """
    if p.task_ids is not None:
        violation = task_ids_violation(len(p.task_ids), ctx.settings)
    else:
        assert p.from_ms is not None and p.to_ms is not None
        # `now` at the window's end: only the length bound can apply (the window is validated as from < to).
        violation = window_violation(p.from_ms, p.to_ms, ctx.settings, now_ms=p.to_ms)
        if violation is not None and violation.setting != "CALLPIPE_JOURNEY_MAX_WINDOW_S":
            violation = None
    if violation is None:
        return
    reason = f"poll window {p.window} refused: {violation.message}"
    await _refuse(ctx, journey_id, p.window, reason)
    raise Permanent(reason)


def _window_of(payload: dict[str, Any]) -> str | None:
    """The name of the window a poll payload that does not validate was meant for, when it can be told."""
    if "task_ids" in payload:
        return "tasks"
    start, end = payload.get("from_ms"), payload.get("to_ms")
    if type(start) is int and type(end) is int:
        return f"{start}-{end}"
    return None


async def _refuse(ctx: StageContext, journey_id: str, window: str, reason: str) -> None:
    """Close a PENDING window with `reason` as the journey's failure (once), and let the journey end."""
    job = ctx.journeys.job_put(journey_id, f"poll:{window}", "failed", stage="poll", reason=reason[:1000])
    job["ConditionExpression"] = "attribute_not_exists(pk)"
    recorded = await transact(
        ctx.dynamodb,
        [
            {"Update": ctx.journeys.poll_window_done(journey_id, window)},
            {"Put": job},
            {"Update": ctx.journeys.counter_update(journey_id, "poll", failed=1)},
        ],
    )
    if recorded:
        log.error("poll_window_refused", window=window, reason=reason)
        await ctx.journeys.complete_if_done(journey_id)


async def _split(ctx: StageContext, journey_id: str, p: PollPayload) -> list[Envelope]:
    """Replace a window too large for one message by consecutive smaller ones (idempotent)."""
    step = ctx.settings.poll_max_window_s * 1000
    assert p.from_ms is not None and p.to_ms is not None
    parts = -(-(p.to_ms - p.from_ms) // step)
    if parts > MAX_SPLIT_CHILDREN:
        # One transaction holds the parent's update and every child: children of several steps each split again.
        step *= -(-parts // MAX_SPLIT_CHILDREN)
    children = [
        PollPayload(org_id=p.org_id, from_ms=start, to_ms=min(start + step, p.to_ms))
        for start in range(p.from_ms, p.to_ms, step)
    ]
    items: list[dict[str, Any]] = [{"Update": ctx.journeys.poll_window_done(journey_id, p.window)}]
    items += [{"Put": ctx.journeys.poll_window_put(journey_id, c.window)} for c in children]
    if not await transact(ctx.dynamodb, items):
        log.info("poll_window_already_split", window=p.window)  # a redelivery: send the children again, harmlessly
    log.info("poll_window_split", window=p.window, parts=len(children))
    return [poll_envelope(journey_id, c) for c in children]


async def _poll(ctx: StageContext, journey: Journey, p: PollPayload, attempt: int) -> list[Envelope]:
    following: list[Envelope] = []
    active = 0
    counts = {"claimed": 0, "skipped": 0, "duplicate": 0, "seen_before": 0, "erased": 0}
    async for task_id, facts in _discover(ctx, p):
        if p.reprocess_version is not None:
            outcome = await _reopen(ctx, journey, p.org_id, task_id, p.reprocess_version)
            counts[outcome] += 1
            if outcome == "claimed":
                following.append(
                    Envelope(
                        kind=Kind.ANALYZE,
                        journey_id=journey.id,
                        task_id=task_id,
                        payload={"org_id": p.org_id, "task_id": task_id},
                    )
                )
            continue
        reason = _skip_reason(ctx, facts)
        if reason == _STILL_ACTIVE:
            active += 1
            continue
        # captureRequested unknown (null) goes to fetch like true: the captures API is the source of truth, and
        # fetch waits for a recording (or learns the flag) within the capture max age. recordingCount 0 with
        # captureRequested true may only mean "not processed yet": fetch waits for it too.
        outcome = await _claim(ctx, journey, p.org_id, task_id, facts, reason)
        counts[outcome] += 1
        if outcome == "seen_before" and reason is None and await _fetch_unsent(ctx, journey, p, task_id):
            outcome = "claimed"  # an earlier delivery of this pass claimed it and died before sending its fetch
        if outcome == "claimed" and reason is None:
            following.append(
                Envelope(
                    kind=Kind.FETCH,
                    journey_id=journey.id,
                    task_id=task_id,
                    payload={"org_id": p.org_id, "task_id": task_id},
                )
            )
    if active:
        # Leave the window pending and look again later; calls handled now will count nothing the second time.
        # `not_before_ms` is taken after the pass: what this pass claimed is older than it (see `_fetch_unsent`).
        later = int(time.time() * 1000) + ctx.settings.poll_recheck_s * 1000
        following.append(poll_envelope(journey.id, p.model_copy(update={"not_before_ms": later}), attempt + 1))
    else:
        await transact(ctx.dynamodb, [{"Update": ctx.journeys.poll_window_done(journey.id, p.window)}])
        await ctx.journeys.complete_if_done(journey.id)
    log.info("poll_done", window=p.window, still_active=active, **counts)
    return following


_STILL_ACTIVE = "still active"


def _skip_reason(ctx: StageContext, facts: dict[str, Any]) -> str | None:
    """Why a discovered call is not fetched (None: fetch it), or `_STILL_ACTIVE` for a task that has not ended."""
    status = facts.get("status")
    if status is not None and status not in ENDED_STATUSES:
        created = facts.get("created_ms") or 0
        if time.time() * 1000 - created < ctx.settings.capture_max_age_s * 1000:
            return _STILL_ACTIVE
        return f"task still {status} {ctx.settings.capture_max_age_s} s after it was created"
    if facts.get("capture_requested") is False:
        return "recording not requested (captureRequested: false)"
    return None


async def _fetch_unsent(ctx: StageContext, journey: Journey, p: PollPayload, task_id: str) -> bool:
    """Whether a call this journey claimed may lack its fetch message, so that it is sent again.

    Only while no fetch has begun on it (after one has, its message exists: it is being retried or waits for the
    recording), and only if this pass claimed it: an earlier pass of the window is acknowledged only after its
    messages were sent, and its redelivery re-sends them. A recheck re-sends nothing for calls an earlier pass
    claimed, so their queued fetches are not doubled (nor their captures queries).
    """
    row = await ctx.tracking.get(p.org_id, task_id)
    if row is None or row.journey_id != journey.id or row.status is not CallStatus.CLAIMED or row.lease_stage != "poll":
        return False
    return row.claimed_at * 1000 >= (p.not_before_ms or 0)


async def _discover(ctx: StageContext, p: PollPayload) -> Any:
    """(task id, facts) of every call in the window (or of the listed tasks)."""
    if p.task_ids is not None:
        for task_id in dict.fromkeys(p.task_ids):
            yield task_id, {}
        return
    assert p.from_ms is not None and p.to_ms is not None
    if ctx.settings.wxcc_find_calls == "search":
        async for call in ctx.wxcc.ended_calls(p.from_ms, p.to_ms):
            yield (
                call.id,
                {
                    "ended_ms": call.ended_time,
                    "created_ms": call.created_time,
                    "capture_requested": call.capture_requested,
                    "recording_count": call.recording_count,
                    "agent": call.owner.name if call.owner else None,
                    "queue": call.queue.name if call.queue else None,
                },
            )
    else:
        # `/v1/tasks` selects by createdTime, so a task still running is found by no later window: `_poll` keeps its
        # window pending and looks again. The task model has no end time (`lastUpdatedTime` is not one, it includes
        # wrap-up): `ended_ms` stays unset and fetch bounds its wait from the claim.
        async for task in ctx.wxcc.tasks(p.from_ms, p.to_ms):
            a = task.attributes
            yield (
                task.id,
                {
                    "status": a.status,
                    "created_ms": a.created_time,
                    "capture_requested": a.capture_requested,
                    "agent": a.owner.name if a.owner else None,
                    "queue": a.queue.name if a.queue else None,
                    "direction": a.direction,
                },
            )


async def _claim(
    ctx: StageContext, journey: Journey, org_id: str, task_id: str, facts: dict[str, Any], skip_reason: str | None
) -> str:
    """Claim a call for this journey (or record it skipped); each call counts once per journey."""
    status = CallStatus.SKIPPED if skip_reason else CallStatus.CLAIMED
    counter = "skipped" if skip_reason else "queued"
    job = ctx.journeys.job_put(journey.id, task_id, counter, reason=skip_reason)
    job["ConditionExpression"] = "attribute_not_exists(pk)"
    claimed = await transact(
        ctx.dynamodb,
        [
            {
                "Put": ctx.tracking.claim_put(
                    org_id,
                    task_id,
                    journey.id,
                    pipeline_version=journey.pipeline_version,
                    retry_failed=journey.retry_failed,
                    lease_s=ctx.settings.stage_lease_s,
                    # captureRequested null is kept: fetch tells "never set" from "not asked" (a task list).
                    facts={k: v for k, v in facts.items() if v is not None or k == "capture_requested"},
                    status=status,
                    error=skip_reason,
                )
            },
            {"Put": job},
            {"Update": ctx.journeys.counter_update(journey.id, "poll", **{counter: 1})},
        ],
    )
    if claimed:
        return "skipped" if skip_reason else "claimed"
    if await _erased(ctx, org_id, task_id):
        return "erased"
    duplicate = ctx.journeys.job_put(journey.id, task_id, "skipped_duplicate")
    duplicate["ConditionExpression"] = "attribute_not_exists(pk)"
    counted = await transact(
        ctx.dynamodb,
        [{"Put": duplicate}, {"Update": ctx.journeys.counter_update(journey.id, "poll", skipped_duplicate=1)}],
    )
    return "duplicate" if counted else "seen_before"


async def _reopen(ctx: StageContext, journey: Journey, org_id: str, task_id: str, version: int) -> str:
    """Reprocess one call of a window: reopen it for analysis at `version` (or record it skipped), once per journey."""
    job = ctx.journeys.job_put(journey.id, task_id, "queued")
    job["ConditionExpression"] = "attribute_not_exists(pk)"
    reopened = await transact(
        ctx.dynamodb,
        [
            {"Update": ctx.tracking.reopen_update(org_id, task_id, journey.id, version)},
            {"Put": job},
            {"Update": ctx.journeys.counter_update(journey.id, "poll", queued=1)},
        ],
    )
    if reopened:
        return "claimed"
    if await _erased(ctx, org_id, task_id):
        return "erased"
    skip = ctx.journeys.job_put(journey.id, task_id, "skipped", reason=f"not analysed, or already at version {version}")
    skip["ConditionExpression"] = "attribute_not_exists(pk)"
    counted = await transact(
        ctx.dynamodb, [{"Put": skip}, {"Update": ctx.journeys.counter_update(journey.id, "poll", skipped=1)}]
    )
    return "skipped" if counted else "seen_before"


async def _erased(ctx: StageContext, org_id: str, task_id: str) -> bool:
    """privacy: the call was erased (its row is a tombstone). The journey then records nothing of it — no JOB# item,
    whose key would hold the task id again, and no count: an erased call is not part of any later journey."""
    resp = await ctx.dynamodb.get_item(
        TableName=ctx.tracking.table,
        Key=tracking_key(org_id, task_id),
        ProjectionExpression="#s",
        ExpressionAttributeNames={"#s": "status"},
        ConsistentRead=True,
    )
    return resp.get("Item", {}).get("status", {}).get("S") == CallStatus.ERASED.value

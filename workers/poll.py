"""The poll stage: find a journey's ended calls in WXCC, claim each new one once, hand it to fetch."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from queues.consumer import Handler, HandlerContext
from queues.envelope import Envelope, Kind
from shared.dynamo import transact
from shared.errors import NotReadyYet, Permanent
from shared.journeys import Journey, JourneyState
from shared.logging import get_logger
from shared.tracking import CallStatus
from workers.context import StageContext
from workers.outcomes import done_unsent

log = get_logger(__name__)


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
            raise Permanent(f"poll payload does not validate: {exc.errors()[0]['msg']}") from exc
        journey = await ctx.journeys.get(envelope.journey_id)
        if journey is None:
            raise Permanent(f"journey {envelope.journey_id} does not exist")
        if journey.state is not JourneyState.RUNNING:
            log.info("poll_skipped_journey_not_running", state=journey.state.value)
            return ()
        now_ms = int(time.time() * 1000)
        if p.not_before_ms and now_ms < p.not_before_ms:
            raise NotReadyYet("recheck not due yet", retry_after=(p.not_before_ms - now_ms) / 1000)
        if p.task_ids is None and p.to_ms - p.from_ms > ctx.settings.poll_max_window_s * 1000:  # type: ignore[operator]
            return await _split(ctx, envelope.journey_id, p)
        return await _poll(ctx, journey, p, envelope.attempt)

    return handle


async def _split(ctx: StageContext, journey_id: str, p: PollPayload) -> list[Envelope]:
    """Replace a window too large for one message by consecutive smaller ones (idempotent)."""
    step = ctx.settings.poll_max_window_s * 1000
    assert p.from_ms is not None and p.to_ms is not None
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
    now_ms = int(time.time() * 1000)
    following: list[Envelope] = []
    unknown = 0
    counts = {"claimed": 0, "skipped": 0, "duplicate": 0, "seen_before": 0}
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
        reason: str | None = None
        capture = facts.get("capture_requested")
        ended = facts.get("ended_ms") or p.to_ms or now_ms
        if capture is None and p.task_ids is None:
            if now_ms - ended < ctx.settings.capture_max_age_s * 1000:
                unknown += 1
                continue
            reason = "captureRequested still unknown after the capture max age"
        elif capture is False:
            reason = "recording not requested (captureRequested: false)"
        # recordingCount 0 with captureRequested true may only mean "not processed yet": fetch waits for it.
        outcome = await _claim(ctx, journey, p.org_id, task_id, facts, reason)
        counts[outcome] += 1
        # An earlier delivery of this window may have claimed it and died before sending its fetch: send again.
        unsent = outcome == "seen_before" and reason is None
        if unsent and await done_unsent(ctx, p.org_id, task_id, journey.id, CallStatus.CLAIMED):
            outcome = "claimed"
        if outcome == "claimed" and reason is None:
            following.append(
                Envelope(
                    kind=Kind.FETCH,
                    journey_id=journey.id,
                    task_id=task_id,
                    payload={"org_id": p.org_id, "task_id": task_id},
                )
            )
    if unknown:
        # Leave the window pending and look again later; calls handled now will count nothing the second time.
        recheck = p.model_copy(update={"not_before_ms": now_ms + ctx.settings.poll_recheck_s * 1000})
        following.append(poll_envelope(journey.id, recheck, attempt + 1))
    else:
        await transact(ctx.dynamodb, [{"Update": ctx.journeys.poll_window_done(journey.id, p.window)}])
        await ctx.journeys.complete_if_done(journey.id)
    log.info("poll_done", window=p.window, unknown_capture=unknown, **counts)
    return following


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
        async for task in ctx.wxcc.tasks(p.from_ms, p.to_ms):
            a = task.attributes
            if a.status not in ("completed", "abandoned"):
                continue  # not ended: a later window's poll finds it
            yield (
                task.id,
                {
                    "ended_ms": a.last_updated_time,
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
                    facts={k: v for k, v in facts.items() if v is not None},
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
    skip = ctx.journeys.job_put(journey.id, task_id, "skipped", reason=f"not analysed, or already at version {version}")
    skip["ConditionExpression"] = "attribute_not_exists(pk)"
    counted = await transact(
        ctx.dynamodb, [{"Put": skip}, {"Update": ctx.journeys.counter_update(journey.id, "poll", skipped=1)}]
    )
    return "skipped" if counted else "seen_before"

"""Stage outcomes written atomically: a call's row moves and its journey's counters change in one transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from shared.dynamo import transact
from shared.errors import Permanent, Retryable
from shared.logging import get_logger
from shared.tracking import Begin, CallStatus
from workers.context import StageContext

log = get_logger(__name__)


async def begin_stage(ctx: StageContext, org_id: str, task_id: str, expected: CallStatus, stage: str) -> bool:
    """Take the stage lease; False when the step is already done (acknowledge, do nothing)."""
    outcome = await ctx.tracking.begin(org_id, task_id, expected, stage, ctx.settings.stage_lease_s)
    if outcome is Begin.STARTED:
        return True
    if outcome is Begin.BUSY:
        raise Retryable(f"{stage} of {task_id} is running elsewhere", retry_after=30)
    log.info("stage_step_already_done", outcome=outcome.value, expected=expected.value)
    return False


async def done_unsent(ctx: StageContext, org_id: str, task_id: str, journey_id: str, done: CallStatus) -> bool:
    """Whether this journey's step is done but the call has gone no further: the delivery that did it may have died
    before its successor message was sent, so send it again (the next stage's conditional begin absorbs a double)."""
    row = await ctx.tracking.get(org_id, task_id)
    return row is not None and row.journey_id == journey_id and row.status is done


async def advance(
    ctx: StageContext,
    org_id: str,
    task_id: str,
    journey_id: str,
    *,
    stage: str,
    expected: CallStatus,
    new: CallStatus,
    values: dict[str, Any],
    counters: dict[str, float],
    job: dict[str, Any] | None = None,
) -> bool:
    """Move the row and count the step for the journey; False if another delivery already did."""
    items: list[dict[str, Any]] = [
        {
            "Update": ctx.tracking.advance_update(
                org_id, task_id, expected=expected, new=new, stage=stage, values=values
            )
        },
        {"Update": ctx.journeys.counter_update(journey_id, stage, **counters)},
    ]
    if job is not None:
        items.append({"Put": ctx.journeys.job_put(journey_id, task_id, **job)})
    moved = await transact(ctx.dynamodb, items)
    if not moved:
        log.warning("stage_result_already_recorded", stage=stage, new=new.value)
    elif new in (CallStatus.ANALYZED, CallStatus.FAILED):
        await ctx.journeys.complete_if_done(journey_id)
    return moved


async def fail(
    ctx: StageContext, org_id: str, task_id: str, journey_id: str, *, stage: str, expected: CallStatus, reason: str
) -> bool:
    """Mark the call FAILED with its reason and count it for the journey (the message goes to the DLQ after)."""
    log.error("call_failed", stage=stage, reason=reason)
    return await advance(
        ctx,
        org_id,
        task_id,
        journey_id,
        stage=stage,
        expected=expected,
        new=CallStatus.FAILED,
        values={"error": reason[:1000], "failed_stage": stage},
        counters={"failed": 1},
        job={"outcome": "failed", "stage": stage, "reason": reason[:1000]},
    )


@asynccontextmanager
async def failures_recorded(
    ctx: StageContext, org_id: str, task_id: str, journey_id: str, *, stage: str, expected: CallStatus
) -> AsyncIterator[None]:
    """Around a stage's work: a Permanent error marks the call FAILED (then the message is dead-lettered); any
    other error gives the stage lease back so the retry can begin at once."""
    try:
        yield
    except Permanent as exc:
        await fail(ctx, org_id, task_id, journey_id, stage=stage, expected=expected, reason=str(exc))
        raise
    except Exception:  # Retryable, NotReadyYet or unexpected
        await ctx.tracking.release(org_id, task_id, stage)
        raise

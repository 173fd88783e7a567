"""Stage outcomes written atomically: a call's row moves and its journey's counters change in one transaction.

The stage lease `begin_stage` takes is renewed while the delivery's handler runs: `begin_stage` registers the renewal
as a keep-alive of the delivery (`queues.consumer.current_delivery`, set by the consumer for each message, so no
handler passes anything), and the consumer's heartbeat calls it every lease/3 until the delivery ends. The lease is
also kept in this module's context variable for the rest of the delivery, so that `advance`, `fail` and
`failures_recorded` act only while it is still this delivery's (its owner token): a holder that stalled past its lease
and was taken over learns it (`stage_lease_lost()`, a `stage_lease_lost` error log) and records nothing.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from queues.consumer import current_delivery
from shared.dynamo import transact
from shared.errors import Permanent, Retryable
from shared.logging import get_logger
from shared.privacy.erasure import Eraser
from shared.tracking import Begin, CallStatus, TrackingTable, new_lease_owner
from workers.context import StageContext

log = get_logger(__name__)

RENEWALS_PER_LEASE = 3
"""Renew every lease/3: two renewals in a row may fail (throttling, a stalled loop) before the lease lapses."""


@dataclass
class StageLease:
    """The stage lease one delivery holds on a call's tracking row."""

    tracking: TrackingTable
    org_id: str
    task_id: str
    stage: str
    expected: CallStatus
    lease_s: float
    owner: str
    lost: bool = False  # a renewal found the lease no longer ours
    ended: bool = False  # the delivery recorded its outcome or gave the lease back: nothing more to renew

    def is_for(self, org_id: str, task_id: str, stage: str) -> bool:
        return (self.org_id, self.task_id, self.stage) == (org_id, task_id, stage)

    async def renew(self) -> None:
        """Extend the lease (a keep-alive of the delivery); a failed condition marks it lost."""
        if self.ended or self.lost:
            return
        try:
            ours = await self.tracking.renew(
                self.org_id, self.task_id, self.stage, self.lease_s, expected=self.expected, owner=self.owner
            )
        except Exception as exc:  # a transient error: the next tick tries again, the lease has room for two misses
            log.warning("stage_lease_renew_failed", stage=self.stage, task_id=self.task_id, error=str(exc)[:200])
            return
        if not ours and not self.ended:
            self.lost = True
            log.error(
                "stage_lease_lost",
                stage=self.stage,
                task_id=self.task_id,
                reason="another delivery took the call over (or it moved on); this one's result will not be recorded",
            )


_lease: ContextVar[StageLease | None] = ContextVar("callpipe_stage_lease", default=None)


def _lease_for(org_id: str, task_id: str, stage: str) -> StageLease | None:
    lease = _lease.get()
    return lease if lease is not None and lease.is_for(org_id, task_id, stage) else None


def stage_lease_lost() -> bool:
    """Whether this delivery's stage lease was taken over: long work may stop early, its result is refused anyway."""
    lease = _lease.get()
    return lease is not None and lease.lost


async def begin_stage(ctx: StageContext, org_id: str, task_id: str, expected: CallStatus, stage: str) -> bool:
    """Take the stage lease and have it renewed while this delivery runs; False when the step is already done
    (acknowledge, do nothing). Another delivery holding the lease: `Retryable`, due back when that lease would end."""
    lease_s = ctx.settings.stage_lease_s
    owner = new_lease_owner()
    outcome = await ctx.tracking.begin(org_id, task_id, expected, stage, lease_s, owner=owner)
    if outcome is Begin.STARTED:
        lease = StageLease(ctx.tracking, org_id, task_id, stage, expected, lease_s, owner)
        _lease.set(lease)
        delivery = current_delivery.get()
        if delivery is None or not delivery.keep_alive(lease.renew, lease_s / RENEWALS_PER_LEASE):
            log.warning("stage_lease_not_renewed", stage=stage, reason="not running under a consumer")
        return True
    if outcome is Begin.BUSY:
        row = await ctx.tracking.get(org_id, task_id)
        left = row.lease_until - time.time() if row is not None else 0.0
        # Come back when the holder's lease would end if it stopped renewing it (a dead worker's call is taken over
        # then), not sooner: a live holder keeps renewing.
        raise Retryable(
            f"{stage} of {task_id} is running elsewhere (its lease ends in {max(0.0, left):.0f} s unless renewed)",
            retry_after=min(float(lease_s), max(1.0, left + 1.0)),
        )
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
    extra: Sequence[dict[str, Any]] = (),
) -> bool:
    """Move the row and count the step for the journey; False if another delivery already did, or if this
    delivery's stage lease was taken over (its result is dropped: the new holder records its own).

    `extra` transaction entries (the analyze stage's analytics record and aggregate updates) are written in the same
    transaction, so they happen exactly when the row moves; a condition of theirs that fails cancels the move too."""
    lease = _lease_for(org_id, task_id, stage)
    if lease is not None:
        lease.ended = True  # from here on a failed renewal means the row moved, not a takeover
        if lease.lost:
            # a tombstone makes the renewal fail too: then what this step stored must be swept here (nothing else will)
            if not await erased_meanwhile(ctx, org_id, task_id, stage):
                log.warning("stage_result_dropped", stage=stage, new=new.value, reason="the stage lease was taken over")
            return False
    owner = lease.owner if lease is not None else None
    items: list[dict[str, Any]] = [
        {
            "Update": ctx.tracking.advance_update(
                org_id, task_id, expected=expected, new=new, stage=stage, values=values, owner=owner
            )
        },
        {"Update": ctx.journeys.counter_update(journey_id, stage, **counters)},
    ]
    if job is not None:
        items.append({"Put": ctx.journeys.job_put(journey_id, task_id, **job)})
    items.extend(extra)
    moved = await _transact_retrying_conflicts(ctx, items)
    if not moved and await erased_meanwhile(ctx, org_id, task_id, stage):
        return False
    if not moved:
        log.warning("stage_result_already_recorded", stage=stage, new=new.value)
    elif new in (CallStatus.ANALYZED, CallStatus.FAILED):
        await ctx.journeys.complete_if_done(journey_id)
    return moved


async def erased_meanwhile(ctx: StageContext, org_id: str, task_id: str, stage: str) -> bool:
    """Whether the call was erased while this step ran; if so, delete what the step stored (its row is a tombstone,
    so nothing else will: see `shared.privacy.erasure`)."""
    row = await ctx.tracking.get(org_id, task_id)
    if row is None or row.status is not CallStatus.ERASED:
        return False
    eraser = Eraser(ctx.dynamodb, ctx.storage.client, ctx.resources)
    swept = await eraser.sweep_erased(org_id, task_id)
    log.warning("stage_result_erased", stage=stage, removed=sum(swept.values()))
    return True


TRANSACTION_CONFLICT_TRIES = 5


async def _transact_retrying_conflicts(ctx: StageContext, items: list[dict[str, Any]]) -> bool:
    """`transact`, tried again (jittered) when DynamoDB cancels it for a conflict with another transaction on one of
    its items: the analyze stage's aggregate items (one per org and day, at least) are shared by concurrent calls."""
    for attempt in range(1, TRANSACTION_CONFLICT_TRIES + 1):
        try:
            return await transact(ctx.dynamodb, items)
        except ctx.dynamodb.exceptions.TransactionCanceledException as exc:
            reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
            if "TransactionConflict" not in reasons or attempt == TRANSACTION_CONFLICT_TRIES:
                raise
            log.info("transaction_conflict_retried", attempt=attempt)
            await asyncio.sleep(random.uniform(0.02, 0.1) * attempt)
    raise AssertionError("unreachable")


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
    other error, or the handler being cancelled (a worker stopping), gives the stage lease back so the retry can
    begin at once — only if it is still this delivery's."""
    try:
        yield
    except Permanent as exc:
        await fail(ctx, org_id, task_id, journey_id, stage=stage, expected=expected, reason=str(exc))
        raise
    except (Exception, asyncio.CancelledError):  # Retryable, NotReadyYet, unexpected, or stopping
        lease = _lease_for(org_id, task_id, stage)
        if lease is not None:
            lease.ended = True
        try:
            await ctx.tracking.release(org_id, task_id, stage, owner=lease.owner if lease is not None else None)
        except Exception as exc:  # the lease then lapses on its own, within one lease period
            log.warning("stage_lease_release_failed", stage=stage, error=str(exc)[:200])
        raise

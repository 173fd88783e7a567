"""A journey's progress for `GET /api/v1/journeys/{id}`: counters, totals, first failures, DLQ depths."""

from __future__ import annotations

import asyncio
import time

from api.context import ApiContext
from api.models import DlqDepth, Failure, JourneyOut, JourneyStatusOut, LicenseNotice, StageCounters
from queues.envelope import Kind
from shared.journeys import STAGES, JourneyStatus
from shared.license.service import LicenseService
from shared.logging import get_logger

log = get_logger(__name__)


DLQ_DEPTH_TTL_S = 5.0  # a DLQ's depth is the same for every journey: read it at most this often


async def dlq_depth(ctx: ApiContext, stage: str) -> DlqDepth:
    """Visible + in-flight messages in a stage's DLQ (the whole queue); None if SQS could not be asked."""
    cached = ctx.dlq_depths.get(stage)
    if cached is not None and time.monotonic() - cached[0] < DLQ_DEPTH_TTL_S:
        return DlqDepth(stage=stage, messages=cached[1])
    try:
        url = (await ctx.directory.urls(Kind(stage))).dlq_url
        attrs = (
            await ctx.sqs.get_queue_attributes(
                QueueUrl=url,
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )
        )["Attributes"]
    except Exception as exc:
        log.warning("dlq_depth_unavailable", stage=stage, error=str(exc))
        return DlqDepth(stage=stage, messages=None)
    messages = sum(int(v) for v in attrs.values())
    ctx.dlq_depths[stage] = (time.monotonic(), messages)
    return DlqDepth(stage=stage, messages=messages)


async def license_notice(ctx: ApiContext, status: JourneyStatus) -> LicenseNotice | None:
    """The license notice of a journey; None (logged) when the license table could not be read."""
    org = status.journey.org_id
    try:
        service = LicenseService(ctx.settings, ctx.dynamodb)  # reads only: no sender needed
        lic = await service.status(org)
        held = await service.table.count_held(org, status.journey.id)
    except Exception as exc:
        log.warning("license_notice_unavailable", error=str(exc)[:200])
        return None
    return LicenseNotice(state=lic.state, warning=lic.warning, held=held, reason=lic.reason)


def _failure(job: dict[str, object]) -> Failure:
    sk = str(job.get("sk", ""))
    at = job.get("at")
    stage = job.get("stage")
    reason = job.get("reason", job.get("error"))
    return Failure(
        task_id=sk.removeprefix("JOB#"),
        reason=str(reason) if reason is not None else None,
        stage=str(stage) if stage is not None else None,
        at=float(at) if isinstance(at, int | float) else None,
    )


async def journey_status(ctx: ApiContext, status: JourneyStatus) -> JourneyStatusOut:
    """The response body of a journey's status."""
    journey_id = status.journey.id
    failed_jobs, notice, *dlqs = await asyncio.gather(
        ctx.journeys.jobs(journey_id, outcome="failed", limit=ctx.config.max_failures_shown),
        license_notice(ctx, status),
        *(dlq_depth(ctx, stage) for stage in STAGES),
    )
    stages = {
        stage: StageCounters.model_validate({k: v for k, v in status.counters.get(stage, {}).items()})
        for stage in STAGES
    }
    return JourneyStatusOut(
        license=notice if isinstance(notice, LicenseNotice) else None,
        journey=JourneyOut.of(status.journey),
        stages=stages,
        discovered=status.discovered,
        finished=status.terminal,
        pending_poll_windows=status.pending_polls,
        billed_audio_seconds=sum(s.billed_audio_s for s in stages.values()),
        tokens=sum(s.tokens for s in stages.values()),
        failures=[_failure(j) for j in failed_jobs],
        dlq_depth=[d for d in dlqs if isinstance(d, DlqDepth)],
    )

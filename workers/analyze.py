"""The analyze stage: one structured-output LLM call per transcript; stores the analysis and an analytics line."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from queues.claimcheck import ClaimCheck
from queues.consumer import Handler, HandlerContext
from queues.directory import QueueDirectory
from queues.envelope import Envelope
from queues.producer import Producer
from queues.resume import resumed_envelopes
from shared.analysis import PROMPT_VERSION
from shared.analytics.aggregates import contribution
from shared.analytics.record import build_record
from shared.analytics.store import AnalyticsStore
from shared.aws import AwsClients
from shared.config import Settings
from shared.errors import Permanent
from shared.license.service import Admission, LicenseService
from shared.license.table import HeldCall
from shared.logging import get_logger
from shared.metrics import stage_metrics
from shared.openai_client import Analyzer
from shared.resources import DataResources
from shared.storage import analysis_key, analytics_key
from shared.tracking import CallStatus
from shared.transcripts import Transcript
from workers.calls import CallRef, journey_running, parse_ref
from workers.context import StageContext
from workers.outcomes import advance, begin_stage, failures_recorded

log = get_logger(__name__)


def make_analyze_handler(ctx: StageContext, analyzer: Analyzer) -> Handler:
    """The analyze stage's handler, bound to this process's context and LLM."""
    analytics = AnalyticsStore(ctx.dynamodb, ctx.resources.analytics_table.name)
    license = worker_license(ctx)

    async def handle(envelope: Envelope, delivery: HandlerContext) -> Sequence[Envelope]:
        ref = parse_ref(envelope, "analyze")
        if not await journey_running(ctx, envelope.journey_id):
            return ()
        if not await begin_stage(ctx, ref.org_id, ref.task_id, CallStatus.TRANSCRIBED, "analyze"):
            return ()
        row = await ctx.tracking.get(ref.org_id, ref.task_id)
        assert row is not None and row.transcript_key
        version = row.pipeline_version  # set by the claim, raised by a reprocess journey
        ended_ms = row.facts.get("ended_ms")
        async with failures_recorded(
            ctx, ref.org_id, ref.task_id, envelope.journey_id, stage="analyze", expected=CallStatus.TRANSCRIBED
        ):
            # license: admitted to this month's paid steps (once per call and month), or held with the reason
            # in the month transcribe admitted it in (one reservation across a month end), see LicenseService.admit
            recorded = await license.recorded_month(ref.org_id, ref.task_id)
            admission = await admitted(
                ctx, license, ref, envelope.journey_id, "analyze", CallStatus.TRANSCRIBED, month=recorded
            )
            if admission is None:
                return ()
            transcript = Transcript.model_validate(
                await ctx.storage.get_json(ctx.resources.results_bucket.name, row.transcript_key)
            )
            if not transcript.segments:
                raise Permanent("the transcript is empty: no speech was found in the recording")
            key = analysis_key(ref.org_id, ended_ms, ref.task_id, version)
            document = await _stored_analysis(ctx, key, version, analyzer.model)
            if document is None:
                result = await analyzer.analyse(transcript.as_dialogue())
                document = {
                    "task_id": ref.task_id,
                    "org_id": ref.org_id,
                    "pipeline_version": version,
                    "prompt_version": PROMPT_VERSION,
                    "model": analyzer.model,
                    "tokens": {"prompt": result.prompt_tokens, "completion": result.completion_tokens},
                    "analysis": result.analysis.model_dump(),
                }
                # The save point: a delivery that dies after this line and before the row moves is retried, and the
                # retry reuses this answer instead of paying for it again.
                await ctx.storage.put_json(ctx.resources.results_bucket.name, key, document)
            await ctx.storage.put_json(
                ctx.resources.results_bucket.name,
                analytics_key(ended_ms, ref.task_id, version),
                _analytics_line(ref.task_id, ref.org_id, envelope.journey_id, row.facts, transcript, document),
                lines=True,
            )
            tokens = int(document["tokens"]["prompt"]) + int(document["tokens"]["completion"])
            record = build_record(
                ctx.settings,
                org_id=ref.org_id,
                task_id=ref.task_id,
                journey_id=envelope.journey_id,
                facts=row.facts,
                recordings=row.recording_keys,
                transcript=transcript,
                transcript_key=row.transcript_key,
                document=document,
                analysis_key=key,
                now_ms=int(time.time() * 1000),
            )
            # The record and its aggregates move with the tracking row, in one transaction (see aggregates).
            previous = await analytics.get(ref.org_id, ref.task_id)
            # license: the call's usage is counted in the same transaction, once per call and month
            metered = await license.meter_items(ref.org_id, ref.task_id, admission.month, transcript.billed_seconds)
            await advance(
                ctx,
                ref.org_id,
                ref.task_id,
                envelope.journey_id,
                stage="analyze",
                expected=CallStatus.TRANSCRIBED,
                new=CallStatus.ANALYZED,
                values={"analysis_key": key, "tokens": tokens, "pipeline_version": version},
                counters={"done": 1, "tokens": tokens},
                job={
                    "outcome": "analyzed",
                    "analysis_key": key,
                    "tokens": tokens,
                    "billed_audio_s": transcript.billed_seconds,
                },
                extra=[*analytics.write_items(record, contribution(record), previous), *metered],
            )
        stage_metrics("analyze").tokens(tokens)
        log.info("call_analyzed", key=key, tokens=tokens)
        return ()

    return handle


def worker_license(ctx: StageContext) -> LicenseService:
    """The license service of a stage worker: held calls it resumes are sent with a producer of their own."""

    async def send(calls: Sequence[HeldCall]) -> None:
        await send_resumed(ctx.settings, calls)

    return LicenseService(ctx.settings, ctx.dynamodb, send_held=send)


async def send_resumed(settings: Settings, calls: Sequence[HeldCall]) -> None:
    """Send resumed calls' messages from a worker (a handler has no producer; this is rare: activation, rollover)."""
    clients = AwsClients(settings)
    async with clients.sqs() as sqs, clients.s3() as s3:
        bucket = DataResources(settings.name_prefix).messages_bucket.name
        producer = Producer(sqs, QueueDirectory(sqs, settings.name_prefix), ClaimCheck(s3, bucket))
        await producer.send(resumed_envelopes(calls))


async def admitted(
    ctx: StageContext,
    license: LicenseService,
    ref: CallRef,
    journey_id: str,
    stage: str,
    expected: CallStatus,
    *,
    month: str | None = None,
) -> Admission | None:
    """The call's admission to this stage's paid work; None when the license holds it (its row moved to HELD with
    the reason, the journey's `held` counter up, a held item to resume it by), and then nothing more is to be done.

    The first admission of a month in this process resumes calls held in an earlier month (rollover)."""
    admission = await license.admit(ref.org_id, ref.task_id, journey_id, month=month)
    if admission.rollover:
        await _resume(license, ref.org_id, "rollover")
    if admission.allowed:
        return admission
    reason = admission.reason or "license_quota"
    held = HeldCall(ref.org_id, ref.task_id, journey_id, stage, expected.value, reason, admission.month, time.time())
    moved = await advance(
        ctx,
        ref.org_id,
        ref.task_id,
        journey_id,
        stage=stage,
        expected=expected,
        new=CallStatus.HELD,
        values={"held_reason": reason, "held_from": expected.value, "held_month": admission.month},
        counters={"held": 1},
        job={"outcome": "held", "stage": stage, "reason": reason},
        extra=license.hold_items(held),
    )
    if moved:
        log.warning("call_held", reason=reason, month=admission.month, stage=stage)
        # An activation that raced this hold (it read the held calls just before) must not strand the call.
        if (await license.status(ref.org_id)).can_admit:
            await _resume(license, ref.org_id, "after_hold")
    return None


async def _resume(license: LicenseService, org_id: str, why: str) -> None:
    try:
        resumed = await license.resume_held(org_id)
    except Exception as exc:  # the endpoint / CLI / next admission resume them later; this call is not affected
        log.warning("license_resume_failed", why=why, error=str(exc)[:200])
        return
    if resumed:
        log.info("license_calls_resumed", why=why, resumed=resumed)


async def _stored_analysis(ctx: StageContext, key: str, version: int, model: str) -> dict[str, Any] | None:
    """The analysis an earlier delivery of this step stored before it died, if it was made by the same prompt, model
    and pipeline version (a reprocess has a new version, hence a new key: it never reuses an older analysis)."""
    stored = await ctx.storage.get_json_if_exists(ctx.resources.results_bucket.name, key)
    if not isinstance(stored, dict):
        return None
    same = (stored.get("pipeline_version"), stored.get("prompt_version"), stored.get("model"))
    if same != (version, PROMPT_VERSION, model) or not isinstance(stored.get("analysis"), dict):
        return None
    log.info("analysis_reused", key=key)
    return stored


def _analytics_line(
    task_id: str,
    org_id: str,
    journey_id: str,
    facts: dict[str, object],
    transcript: Transcript,
    document: dict[str, Any],
) -> dict[str, object]:
    """One flat row per call for Athena (`analytics/calls/dt=…/`)."""
    analysis = document["analysis"]
    ended = facts.get("ended_ms")
    return {
        "task_id": task_id,
        "org_id": org_id,
        "journey_id": journey_id,
        "ended_at": datetime.fromtimestamp(ended / 1000, UTC).isoformat() if isinstance(ended, int) else None,
        "agent": facts.get("agent"),
        "queue": facts.get("queue"),
        "call_seconds": transcript.call_seconds,
        "billed_audio_seconds": transcript.billed_seconds,
        "language": analysis["language"],
        "reason_for_call": analysis["reason_for_call"],
        "topics": analysis["topics"],
        "resolved": analysis["resolved"],
        "customer_sentiment": analysis["customer_sentiment"],
        "agent_sentiment": analysis["agent_sentiment"],
        "qa_flags": [f["flag"] for f in analysis["qa_flags"]],
        "tokens": document["tokens"]["prompt"] + document["tokens"]["completion"],
        "pipeline_version": document["pipeline_version"],
        "prompt_version": document["prompt_version"],
    }

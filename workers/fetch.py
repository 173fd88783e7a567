"""The fetch stage: ask WXCC for a call's captures and stream every recording leg into S3."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from queues.consumer import Handler, HandlerContext
from queues.envelope import Envelope, Kind
from shared.errors import NotReadyYet, Permanent
from shared.logging import get_logger
from shared.storage import recording_key
from shared.tracking import CallStatus
from shared.wxcc.download import RecordingUrlExpired
from shared.wxcc.models import Recording
from workers.calls import CallRef, journey_running, parse_ref
from workers.context import StageContext
from workers.outcomes import advance, begin_stage, done_unsent, failures_recorded

log = get_logger(__name__)


def make_fetch_handler(ctx: StageContext) -> Handler:
    """The fetch stage's handler, bound to this process's context."""

    async def handle(envelope: Envelope, delivery: HandlerContext) -> Sequence[Envelope]:
        ref = parse_ref(envelope, "fetch")
        if not await journey_running(ctx, envelope.journey_id):
            return ()
        if not await begin_stage(ctx, ref.org_id, ref.task_id, CallStatus.CLAIMED, "fetch"):
            if await done_unsent(ctx, ref.org_id, ref.task_id, envelope.journey_id, CallStatus.FETCHED):
                return [
                    Envelope(
                        kind=Kind.TRANSCRIBE,
                        journey_id=envelope.journey_id,
                        task_id=ref.task_id,
                        payload=ref.model_dump(),
                    )
                ]
            return ()
        async with failures_recorded(
            ctx, ref.org_id, ref.task_id, envelope.journey_id, stage="fetch", expected=CallStatus.CLAIMED
        ):
            keys = await _fetch(ctx, ref)
            moved = await advance(
                ctx,
                ref.org_id,
                ref.task_id,
                envelope.journey_id,
                stage="fetch",
                expected=CallStatus.CLAIMED,
                new=CallStatus.FETCHED,
                values={"recording_keys": keys},
                counters={"done": 1},
            )
        if not moved:
            return ()
        return [
            Envelope(
                kind=Kind.TRANSCRIBE, journey_id=envelope.journey_id, task_id=ref.task_id, payload=ref.model_dump()
            )
        ]

    return handle


async def _fetch(ctx: StageContext, ref: CallRef) -> list[dict[str, Any]]:
    row = await ctx.tracking.get(ref.org_id, ref.task_id)
    # The wait for a recording is bounded from the call's end, or from its claim when the end is not known.
    since_ms = (row.facts.get("ended_ms") or int(row.claimed_at * 1000)) if row else None
    recordings = await _recordings(ctx, ref, since_ms)
    keys: list[dict[str, Any]] = []
    for rec in recordings:
        keys.append(await _store(ctx, ref, rec))
    return keys


async def _recordings(ctx: StageContext, ref: CallRef, since_ms: int | None) -> list[Recording]:
    capture = await ctx.captures.get(ref.task_id)
    if not capture.ready:
        if since_ms and time.time() * 1000 - since_ms > ctx.settings.capture_max_age_s * 1000:
            raise Permanent(f"no recording available {ctx.settings.capture_max_age_s} s after the call ended")
        raise NotReadyYet("capture not available yet")
    whole = [r for r in capture.recording if not r.segment]
    return whole or list(capture.recording)


async def _store(ctx: StageContext, ref: CallRef, rec: Recording) -> dict[str, Any]:
    """Stream one recording into S3; an expired URL is refreshed once through a new captures query."""
    key = recording_key(ref.org_id, rec.attributes.start_time, ref.task_id, rec.id)
    bucket = ctx.resources.recordings_bucket.name
    url = rec.attributes.file_path
    for attempt in (1, 2):
        try:
            async with ctx.downloader.open(url) as download:
                size, sha256 = await ctx.storage.upload_stream(bucket, key, download.chunks(), content_type="audio/wav")
            break
        except RecordingUrlExpired:
            if attempt == 2:
                raise
            fresh = await ctx.captures.get(ref.task_id)
            match = next((r for r in fresh.recording if r.id == rec.id), None)
            if match is None:
                raise
            url = match.attributes.file_path
    log.info("recording_stored", key=key, bytes=size, call_type=rec.attributes.call_type)
    return {
        "key": key,
        "recording_id": rec.id,
        "call_type": rec.attributes.call_type,
        "channel1": rec.attributes.channel1 or "",
        "channel2": rec.attributes.channel2 or "",
        "bytes": size,
        "sha256": sha256,
        "start_ms": rec.attributes.start_time or 0,
        "stop_ms": rec.attributes.stop_time or 0,
    }

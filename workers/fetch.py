"""The fetch stage: ask WXCC for a call's captures and stream every recording leg into S3.

What a fetch keeps on the call's tracking row while the call is CLAIMED, so that retries build on each other:

  capture_queries          captures answers received (an answer, not a request that failed: 5xx/429 do not count)
  capture_first_query_at   when the first of them came (epoch s)
  fetched_legs             the legs already stored in S3 (same fields as `recording_keys`): a retry after a cut
                           download of the consult leg does not download the main leg again

No recording yet (`recording: []`) means "retry later" (`NotReadyYet`) until the capture max age has passed since the
call ended (since the claim when the end is not known) AND at least `capture_min_attempts` answers came over at least
`capture_min_wait_s` since the first: a backfill of calls older than the max age gets its fair number of tries. Then:

* `captureRequested: false` (learnt while waiting)  → SKIPPED, "recording not requested": WXCC did not record it;
* `captureRequested` never set (null at poll time and ever since) → SKIPPED, "no recording": nothing says one was
  expected, so it is not a pipeline failure; the row and the journey's job record keep the reason;
* `captureRequested: true`, or unknown because the journey listed the task ids → FAILED: a recording was expected.

While the flag is unknown, each empty answer also asks WXCC for the call's current flag (a 1 ms search or tasks
window), so a call that turns out unrecorded is skipped at once instead of waiting out the max age.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from queues.consumer import Handler, HandlerContext
from queues.envelope import Envelope, Kind
from shared.dynamo import from_attr, to_attr
from shared.errors import NotReadyYet, Permanent, Retryable
from shared.logging import get_logger
from shared.privacy.keys import cached_key, customer_hash, customer_numbers
from shared.storage import recording_key
from shared.tracking import CallStatus, tracking_key
from shared.wxcc.download import RecordingUrlExpired
from shared.wxcc.errors import WxccPermanent
from shared.wxcc.models import Capture, Recording
from workers.calls import CallRef, journey_running, parse_ref
from workers.context import StageContext
from workers.outcomes import advance, begin_stage, done_unsent, erased_meanwhile, failures_recorded

log = get_logger(__name__)


@dataclass(frozen=True)
class Skipped:
    """WXCC has no recording of the call and none is expected: the call ends SKIPPED with this reason."""

    reason: str


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
            outcome = await _fetch(ctx, ref)
            if isinstance(outcome, Skipped):
                await _skip(ctx, ref, envelope.journey_id, outcome.reason)
                return ()
            moved = await advance(
                ctx,
                ref.org_id,
                ref.task_id,
                envelope.journey_id,
                stage="fetch",
                expected=CallStatus.CLAIMED,
                new=CallStatus.FETCHED,
                values={"recording_keys": outcome, **_row_hash(outcome)},
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


async def _fetch(ctx: StageContext, ref: CallRef) -> list[dict[str, Any]] | Skipped:
    capture = await ctx.captures.get(ref.task_id)
    row = await _count_answer(ctx, ref)
    if not capture.ready:
        return await _not_ready(ctx, ref, row)
    stored = {leg.get("recording_id"): leg for leg in row.get("fetched_legs", [])}
    keys: list[dict[str, Any]] = []
    for rec in _legs(capture):
        earlier = stored.get(rec.id)
        if earlier is not None and earlier.get("key") == _key(ref, rec):
            log.info("recording_already_stored", key=earlier["key"], call_type=rec.attributes.call_type)
            keys.append(earlier)
            continue
        leg = await _store(ctx, ref, rec)
        await _leg_stored(ctx, ref, leg)
        keys.append(leg)
    return keys


def _legs(capture: Capture) -> list[Recording]:
    whole = [r for r in capture.recording if not r.segment]
    return whole or list(capture.recording)


def _key(ref: CallRef, rec: Recording) -> str:
    return recording_key(ref.org_id, rec.attributes.start_time, ref.task_id, rec.id)


async def _not_ready(ctx: StageContext, ref: CallRef, row: dict[str, Any]) -> Skipped:
    """No recording listed yet: wait (`NotReadyYet`), or end the wait by the rules in the module's docstring."""
    facts: dict[str, Any] = row.get("facts", {})
    flag_unknown = "capture_requested" in facts and facts["capture_requested"] is None
    if flag_unknown:
        flag = await _capture_flag(ctx, ref, facts)
        if flag is False:
            return Skipped("recording not requested (captureRequested: false)")
        if flag is True:
            await _learn_flag(ctx, ref)
            flag_unknown = False
    now = time.time()
    since_s = (facts.get("ended_ms") or 0) / 1000 or float(row.get("claimed_at", now))
    queries = int(row.get("capture_queries", 1))
    waited_s = now - float(row.get("capture_first_query_at", now))
    s = ctx.settings
    if now - since_s <= s.capture_max_age_s or queries < s.capture_min_attempts or waited_s < s.capture_min_wait_s:
        raise NotReadyYet("capture not available yet")
    tried = f"{queries} captures queries over {waited_s:.0f} s"
    if flag_unknown:
        return Skipped(f"no recording: captureRequested was never set and WXCC listed no recording ({tried})")
    raise Permanent(f"no recording available {s.capture_max_age_s} s after the call ended ({tried})")


async def _capture_flag(ctx: StageContext, ref: CallRef, facts: dict[str, Any]) -> bool | None:
    """The call's `captureRequested` now, through the way poll found it (a 1 ms window around the call)."""
    found: bool | None = None
    try:
        if ctx.settings.wxcc_find_calls == "search" and facts.get("ended_ms"):
            ended = int(facts["ended_ms"])
            async for call in ctx.wxcc.ended_calls(ended, ended + 1):
                if call.id == ref.task_id:
                    found = call.capture_requested
        elif facts.get("created_ms"):
            created = int(facts["created_ms"])
            async for task in ctx.wxcc.tasks(created, created + 1):
                if task.id == ref.task_id:
                    found = task.attributes.capture_requested
    except WxccPermanent as exc:  # the look-up is a shortcut: without it the max age still ends the wait
        log.warning("capture_flag_lookup_refused", error=str(exc))
    return found


async def _count_answer(ctx: StageContext, ref: CallRef) -> dict[str, Any]:
    """Count one captures answer on the row (the first one's time too); the whole row after it, as plain values."""
    return await _update_held_row(
        ctx,
        ref,
        "SET capture_first_query_at = if_not_exists(capture_first_query_at, :now) ADD capture_queries :one",
        {":now": {"N": f"{time.time():.3f}"}, ":one": {"N": "1"}},
    )


async def _leg_stored(ctx: StageContext, ref: CallRef, leg: dict[str, Any]) -> None:
    """Remember one stored leg on the row, so a retry does not download it again."""
    await _update_held_row(
        ctx,
        ref,
        "SET fetched_legs = list_append(if_not_exists(fetched_legs, :none), :leg)",
        {":none": {"L": []}, ":leg": {"L": [to_attr(leg)]}},
    )


async def _learn_flag(ctx: StageContext, ref: CallRef) -> None:
    """WXCC now says the call is recorded: keep it, so the wait ends FAILED (not SKIPPED) if no recording comes."""
    await _update_held_row(ctx, ref, "SET facts.capture_requested = :true", {":true": {"BOOL": True}})


async def _update_held_row(ctx: StageContext, ref: CallRef, update: str, values: dict[str, Any]) -> dict[str, Any]:
    """One update of the call's row while fetch holds it (CLAIMED, fetch's lease); the row after it, plain."""
    try:
        resp = await ctx.dynamodb.update_item(
            TableName=ctx.tracking.table,
            Key=tracking_key(ref.org_id, ref.task_id),
            UpdateExpression=update,
            ConditionExpression="#status = :claimed AND lease_stage = :fetch",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                **values,
                ":claimed": {"S": CallStatus.CLAIMED.value},
                ":fetch": {"S": "fetch"},
            },
            ReturnValues="ALL_NEW",
        )
    except ctx.dynamodb.exceptions.ConditionalCheckFailedException as exc:
        # erased meanwhile: sweep what this fetch stored now (the redelivery finds the tombstone and just drops it)
        await erased_meanwhile(ctx, ref.org_id, ref.task_id, "fetch")
        raise Retryable(f"the fetch of {ref.task_id} is no longer ours") from exc
    return {k: from_attr(v) for k, v in resp["Attributes"].items()}


async def _skip(ctx: StageContext, ref: CallRef, journey_id: str, reason: str) -> None:
    """End the call SKIPPED with its reason (WXCC has no recording and none was expected); it counts as finished."""
    moved = await advance(
        ctx,
        ref.org_id,
        ref.task_id,
        journey_id,
        stage="fetch",
        expected=CallStatus.CLAIMED,
        new=CallStatus.SKIPPED,
        values={"error": reason[:1000], "skipped_stage": "fetch"},
        counters={"skipped": 1},
        job={"outcome": "skipped", "stage": "fetch", "reason": reason[:1000]},
    )
    if moved:
        log.info("call_skipped", stage="fetch", reason=reason)
        await ctx.journeys.complete_if_done(journey_id)


def _row_hash(legs: list[dict[str, Any]]) -> dict[str, str]:
    """The row's `customer_hash` (the main leg's, else any leg's), indexed by the tracking table's `by-customer`."""
    hashes = [
        leg["customer_hash"]
        for leg in sorted(legs, key=lambda x: x.get("call_type") != "main")
        if leg.get("customer_hash")
    ]
    return {"customer_hash": hashes[0]} if hashes else {}


async def _store(ctx: StageContext, ref: CallRef, rec: Recording) -> dict[str, Any]:
    """Stream one recording into S3; an expired URL is refreshed once through a new captures query."""
    key = _key(ref, rec)
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
        **await _customer_hash(ctx, rec),
    }


async def _customer_hash(ctx: StageContext, rec: Recording) -> dict[str, str]:
    """The keyed hash of the leg's customer number (never the number itself), for erasure by customer number."""
    numbers = customer_numbers(rec.attributes.participants)
    if not numbers:
        return {}
    return {"customer_hash": customer_hash(await cached_key(ctx.settings), numbers[0])}

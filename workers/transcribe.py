"""The transcribe stage: per-channel speech-to-text of every recording leg, silence trimmed, merged per speaker."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Awaitable, Iterable, Sequence
from pathlib import Path
from typing import Any

from queues.consumer import Handler, HandlerContext
from queues.envelope import Envelope, Kind
from shared.audio.conversation import Interval, conversation_metrics, speech_from_spans
from shared.audio.models import Chunk
from shared.audio.pool import AudioPreparer
from shared.audio.prepare import PrepareOptions
from shared.checkpoints import ChunkCheckpoints
from shared.errors import Permanent
from shared.logging import get_logger
from shared.metrics import stage_metrics
from shared.openai_client import ChunkText, Transcriber
from shared.privacy.audio import redact_recordings, stored_legs
from shared.privacy.transcript import redact_transcript
from shared.storage import checkpoint_prefix, transcript_key
from shared.tracking import CallStatus
from shared.transcripts import Segment, Transcript
from workers.analyze import admitted, worker_license
from workers.calls import journey_running, parse_ref
from workers.context import StageContext
from workers.outcomes import advance, begin_stage, done_unsent, failures_recorded

log = get_logger(__name__)


def speaker_labels(channel1: str, channel2: str) -> tuple[str, str]:
    """Speaker names for a recording's two channels from WXCC's `channel1`/`channel2` (a consult leg has two agents)."""

    def norm(value: str) -> str:
        v = value.strip().lower()
        return "agent" if "agent" in v else "customer" if v in ("caller", "customer", "callee", "") else v

    first, second = norm(channel1), norm(channel2 or "agent")
    if first == second:
        second = f"{second}2"
    return first, second


def make_transcribe_handler(ctx: StageContext, transcriber: Transcriber, preparer: AudioPreparer) -> Handler:
    """The transcribe stage's handler, bound to this process's context, speech-to-text model and audio preparer."""
    license = worker_license(ctx)
    options = PrepareOptions(
        max_chunk_s=ctx.settings.transcription_max_chunk_s, complexity=ctx.settings.transcription_opus_complexity
    )

    async def handle(envelope: Envelope, delivery: HandlerContext) -> Sequence[Envelope]:
        ref = parse_ref(envelope, "transcribe")
        if not await journey_running(ctx, envelope.journey_id):
            return ()
        if not await begin_stage(ctx, ref.org_id, ref.task_id, CallStatus.FETCHED, "transcribe"):
            if await done_unsent(ctx, ref.org_id, ref.task_id, envelope.journey_id, CallStatus.TRANSCRIBED):
                return [
                    Envelope(
                        kind=Kind.ANALYZE, journey_id=envelope.journey_id, task_id=ref.task_id, payload=ref.model_dump()
                    )
                ]
            return ()
        row = await ctx.tracking.get(ref.org_id, ref.task_id)
        assert row is not None
        async with failures_recorded(
            ctx, ref.org_id, ref.task_id, envelope.journey_id, stage="transcribe", expected=CallStatus.FETCHED
        ):
            # license: admitted to this month's paid steps before any is paid for, or held with the reason
            admission = await admitted(ctx, license, ref, envelope.journey_id, "transcribe", CallStatus.FETCHED)
            if admission is None:
                return ()
            transcript, checkpoints = await _transcribe(
                ctx, transcriber, preparer, options, ref.org_id, ref.task_id, row.recording_keys
            )
            # privacy: secrets are redacted before the transcript is stored or sent to the model (shared.privacy)
            transcript, redacted_spans = redact_transcript(transcript)
            if ctx.settings.redact_audio and redacted_spans:  # privacy: the spans muted in the stored legs too
                legs = stored_legs(row.recording_keys, speaker_labels)
                await redact_recordings(ctx.storage, ctx.resources.recordings_bucket.name, legs, redacted_spans)
            key = transcript_key(ref.org_id, row.facts.get("ended_ms"), ref.task_id)
            await ctx.storage.put_json(ctx.resources.results_bucket.name, key, transcript.model_dump())
            billed = round(transcript.billed_seconds, 3)
            moved = await advance(
                ctx,
                ref.org_id,
                ref.task_id,
                envelope.journey_id,
                stage="transcribe",
                expected=CallStatus.FETCHED,
                new=CallStatus.TRANSCRIBED,
                values={
                    "transcript_key": key,
                    "billed_audio_s": billed,
                    "redactions": transcript.redactions,
                    "license_month": admission.month,  # analyze admits in this month (one reservation)
                },
                counters={"done": 1, "billed_audio_s": billed},
            )
        await _discard(checkpoints)
        if not moved:
            return ()
        stage_metrics("transcribe").billed_audio(billed)
        log.info("call_transcribed", segments=len(transcript.segments), billed_s=billed, call_s=transcript.call_seconds)
        return [
            Envelope(kind=Kind.ANALYZE, journey_id=envelope.journey_id, task_id=ref.task_id, payload=ref.model_dump())
        ]

    return handle


async def _transcribe(
    ctx: StageContext,
    transcriber: Transcriber,
    preparer: AudioPreparer,
    options: PrepareOptions,
    org_id: str,
    task_id: str,
    recordings: list[dict[str, Any]],
) -> tuple[Transcript, ChunkCheckpoints]:
    if not recordings:
        raise Permanent("the call has no stored recording")
    bucket = ctx.resources.results_bucket.name
    checkpoints = await ChunkCheckpoints.load(ctx.storage, bucket, checkpoint_prefix(org_id, task_id))
    main_start = min((r.get("start_ms") or 0 for r in recordings), default=0)
    segments: list[Segment] = []
    speech: dict[str, list[Interval]] = {}
    billed = call_seconds = 0.0
    language: str | None = None
    with tempfile.TemporaryDirectory(prefix="callpipe-transcribe-") as tmp:
        for n, rec in enumerate(recordings):
            work = Path(tmp) / str(n)
            work.mkdir()
            local = work / "recording.wav"
            await ctx.storage.download_to(ctx.resources.recordings_bucket.name, rec["key"], local)
            labels = speaker_labels(rec.get("channel1", ""), rec.get("channel2", ""))
            prepared = await preparer.prepare(local, work, channel_labels=labels, options=options)
            local.unlink()
            leg = str(rec.get("call_type") or "main")
            offset = max(0.0, ((rec.get("start_ms") or main_start) - main_start) / 1000)
            call_seconds = max(call_seconds, offset + prepared.source_duration_s)
            length = prepared.source_duration_s
            for channel in prepared.channels:
                spans = (span for chunk in channel.chunks for span in chunk.spans)
                heard = speech_from_spans(spans, pad_s=options.pad_s, duration_s=length, offset_s=offset)
                speech.setdefault(channel.label, []).extend(heard)
            jobs: list[tuple[str, Chunk]] = [(ch.label, c) for ch in prepared.channels for c in ch.chunks]

            results = await _all_chunks(
                _chunk_text(transcriber, checkpoints, rec, f"{n}.{label}.{i}", f"{task_id}.{leg}.{label}.{i}", c)
                for i, (label, c) in enumerate(jobs)
            )
            for (label, chunk), text in zip(jobs, results, strict=True):
                billed += chunk.duration_s
                language = language or text.language
                segments.extend(_on_call_timeline(text, chunk, label, leg, offset))
    segments.sort(key=lambda s: (s.start, s.speaker))
    transcript = Transcript(
        task_id=task_id,
        model=transcriber.model,
        language=language,
        segments=segments,
        call_seconds=round(call_seconds, 3),
        billed_seconds=round(billed, 3),
        conversation=conversation_metrics(speech, call_seconds),
    )
    return transcript, checkpoints


async def _all_chunks(jobs: Iterable[Awaitable[ChunkText]]) -> list[ChunkText]:
    """Every chunk's text, in order. When a chunk fails, the attempt still waits for the other chunks' answers and
    their checkpoints before it raises the first failure: an answer already on its way is paid for, and a retry that
    started while it was still coming (the failed attempt has given its lease back) would pay for it again."""
    outcomes = await asyncio.gather(*jobs, return_exceptions=True)
    texts: list[ChunkText] = []
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
        texts.append(outcome)
    return texts


async def _chunk_text(
    transcriber: Transcriber,
    checkpoints: ChunkCheckpoints,
    recording: dict[str, Any],
    checkpoint: str,
    upload_name: str,
    chunk: Chunk,
) -> ChunkText:
    """The chunk's text: saved by an earlier attempt for exactly this audio, or transcribed now (and saved)."""
    fingerprint = {
        "recording": recording["key"],
        "sha256": recording.get("sha256"),
        "model": transcriber.model,
        "file": upload_name,
        "spans": [list(span) for span in chunk.spans],
    }
    saved = checkpoints.get(checkpoint, fingerprint)
    if saved is not None:
        return saved
    upload = f"{upload_name}.ogg"
    text = await transcriber.transcribe(chunk.path, chunk.duration_s, name=upload)
    await checkpoints.put(checkpoint, fingerprint, text)
    log.info("transcribe_chunk_saved", chunk=upload)
    return text


async def _discard(checkpoints: ChunkCheckpoints) -> None:
    try:
        await checkpoints.clear()
    except Exception as exc:  # the transcript is stored; leftovers expire by the bucket's lifecycle rule
        log.warning("transcribe_checkpoints_not_removed", error=str(exc))


def _on_call_timeline(text: ChunkText, chunk: Chunk, speaker: str, leg: str, offset: float) -> list[Segment]:
    return [
        Segment(
            speaker=speaker,
            start=round(offset + chunk.to_call_time(start), 3),
            end=round(offset + chunk.to_call_time(end, end=True), 3),
            text=words.strip(),
            leg=leg,
        )
        for start, end, words in text.segments
        if words.strip()
    ]

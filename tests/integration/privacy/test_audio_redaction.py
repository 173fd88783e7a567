"""Audio redaction over the wire (moto, and the whole pipeline with `redact_audio`): the stored recording is replaced
by one where the redacted spans are digital silence on the speaker's channel and everything else still sounds; no
earlier version of the recording is kept."""

from __future__ import annotations

import math
from array import array
from pathlib import Path
from typing import Any

from types_aiobotocore_s3 import S3Client

from queues.bootstrap import bootstrap
from shared.audio.decode import AudioDecoder
from shared.audio.models import SAMPLE_RATE
from shared.config import Settings
from shared.privacy.audio import redact_recordings, stored_legs
from shared.privacy.transcript import redact_transcript
from shared.resources import DataResources
from shared.storage import Storage
from shared.tracking import CallStatus
from shared.transcripts import Segment, Transcript
from simulator.wxcc.render import render_recording
from tests.integration.pipeline.conftest import Stack, running_stack
from tests.integration.privacy.test_redaction_pipeline import sensitive_calls
from tests.unit.audio.synth import channel_samples, write_wav
from workers.transcribe import speaker_labels

WINDOW_S = 0.05


def decode(path: Path) -> list[array[int]]:
    with AudioDecoder(path) as dec:
        channels: list[array[int]] = [array("h") for _ in range(dec.channels)]
        for block in dec.blocks():
            for channel, samples in zip(channels, block, strict=True):
                channel.extend(samples)
    return channels


def rms(samples: array[int], start_s: float, end_s: float) -> float:
    piece = samples[max(0, round(start_s * SAMPLE_RATE)) : round(end_s * SAMPLE_RATE)]
    return math.sqrt(sum(s * s for s in piece) / max(1, len(piece)))


def silent_windows(samples: array[int]) -> list[float]:
    """Starts of the 50 ms windows that are digital silence (RMS under 1: the line's noise floor never is)."""
    n = len(samples) / SAMPLE_RATE
    return [i * WINDOW_S for i in range(int(n / WINDOW_S)) if rms(samples, i * WINDOW_S, (i + 1) * WINDOW_S) < 1.0]


def _windows(samples: array[int]) -> list[float]:
    return [i * 0.5 for i in range(int(len(samples) / SAMPLE_RATE / 0.5))]


async def test_redacted_spans_are_silent_in_the_replaced_recording_and_no_version_keeps_the_original(
    s3: S3Client, settings: Settings, tmp_path: Path
) -> None:
    await bootstrap(settings)
    bucket = DataResources(settings.name_prefix).recordings_bucket.name
    await s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    customer = channel_samples(12.0, [(2.0, 9.0)], rate=8000, seed=1)
    agent = channel_samples(12.0, [(0.5, 1.5), (9.5, 11.5)], rate=8000, seed=2)
    local = write_wav(tmp_path / "leg.wav", [customer, agent], rate=8000)
    key = "recordings/org/2026/11/30/task-1/rec-1.wav"
    await s3.put_object(Bucket=bucket, Key=key, Body=local.read_bytes())
    transcript = Transcript(
        task_id="task-1",
        model="whisper-1",
        segments=[
            Segment(speaker="agent", start=0.5, end=1.5, text="may I have the card number please"),
            Segment(speaker="customer", start=2.0, end=5.5, text="it is four one one one one one one one"),
            Segment(speaker="customer", start=5.5, end=9.0, text="one one one one one one one one thanks"),
            Segment(speaker="agent", start=9.5, end=11.5, text="thank you, that is all done"),
        ],
    )
    redacted, spans = redact_transcript(transcript)
    assert redacted.redactions == {"CARD": 1} and spans and {s.speaker for s in spans} == {"customer"}

    legs = stored_legs([{"key": key, "channel1": "caller", "channel2": "agent", "start_ms": 1000}], speaker_labels)
    assert await redact_recordings(Storage(s3), bucket, legs, spans) == 1

    versions = await s3.list_object_versions(Bucket=bucket, Prefix=key)
    assert len(versions.get("Versions", [])) == 1 and not versions.get("DeleteMarkers")
    await Storage(s3).download_to(bucket, key, tmp_path / "stored.wav")
    left, right = decode(tmp_path / "stored.wav")
    for span in spans:
        assert rms(left, span.start + 0.01, span.end - 0.01) < 1.0, span
        assert rms(right, span.start, span.end) > 5  # the agent's channel is not muted
    first, last = min(s.start for s in spans), max(s.end for s in spans)
    assert rms(left, 0.0, first - 0.01) > 5 and rms(left, last + 0.01, 12.0) > 5
    assert silent_windows(right) == []


async def test_pipeline_with_audio_redaction_silences_what_was_redacted_only(
    settings: Settings, tmp_path: Path
) -> None:
    async with running_stack(settings, sensitive_calls().model_copy(update={"calls": 3}), redact_audio=True) as stack:
        now = stack.sim.state.clock.now_ms()
        calls = [c for c in stack.sim.state.ended_between(now - 2 * 3600 * 1000, now) if c.recordings]
        status = await stack.finished(await stack.start(now - 2 * 3600 * 1000, now))
        assert status.count("analyze", "done") == len(calls)
        async with stack.clients.s3() as s3:
            checked = await _check_calls(stack, Storage(s3), calls, tmp_path)
        assert checked >= 1


async def _check_calls(stack: Stack, storage: Storage, calls: list[Any], tmp_path: Path) -> int:
    org = stack.sim.config.org_id
    results = f"{stack.settings.name_prefix}-results"
    recordings = f"{stack.settings.name_prefix}-recordings"
    checked = 0
    for call in calls:
        row = await stack.tracking.get(org, call.task_id)
        assert row is not None and row.status is CallStatus.ANALYZED
        transcript = Transcript.model_validate(await storage.get_json(results, row.transcript_key or ""))
        if "CARD" not in transcript.redactions:
            continue
        (leg,) = stored_legs(row.recording_keys, speaker_labels)
        await storage.download_to(recordings, leg.key, tmp_path / "leg.wav")
        channels = decode(tmp_path / "leg.wav")
        original = tmp_path / "original.wav"
        original.write_bytes(render_recording(call.recordings[0], stack.sim.config.sample_rate, stack.sim.config.voice))
        before = decode(original)
        redacted = [s for s in transcript.segments if "[" in s.text]
        for channel, label in enumerate(leg.labels):
            allowed = [(s.start - 0.3, s.end + 0.3) for s in redacted if s.speaker == label]
            stored, heard = channels[channel], before[channel]
            assert abs(len(stored) - len(heard)) < SAMPLE_RATE * 0.01
            muted = [t for t in silent_windows(stored) if rms(heard, t, t + WINDOW_S) >= 1.0]
            # silenced only where something this speaker said was redacted …
            assert all(any(a <= t and t + WINDOW_S <= b for a, b in allowed) for t in muted), (label, muted)
            # … elsewhere the recording is as it was …
            outside = [t for t in _windows(stored) if not any(a - 0.5 <= t <= b for a, b in allowed)]
            assert outside and all(abs(rms(stored, t, t + 0.5) - rms(heard, t, t + 0.5)) < 2 for t in outside)
            # … and each of their segments that carries a card number was silenced
            for seg in redacted:
                if seg.speaker == label and "[CARD]" in seg.text:
                    assert any(seg.start - 0.3 <= t <= seg.end + 0.3 for t in muted), (label, seg)
                    checked += 1
    return checked

"""Recordings that are empty, corrupt, not audio, mono, another codec or three hours long: each call is transcribed or
FAILED with its reason, and no worker crashes."""

from __future__ import annotations

import os
import wave
from collections.abc import Callable
from pathlib import Path

import av
import pytest

from queues.envelope import Kind
from shared.config import Settings
from shared.resources import DataResources
from shared.tracking import CallStatus
from simulator.wxcc.config import SimulatorConfig
from tests.helpers import eventually, receive_all
from tests.integration.pipeline.conftest import running_stack


# Bad recordings: written from nothing.
def empty(path: Path, original: Path) -> None:
    path.write_bytes(b"")


def corrupt(path: Path, original: Path) -> None:
    path.write_bytes(os.urandom(256 * 1024))


def not_audio(path: Path, original: Path) -> None:
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(4096))


# Odd but usable recordings: the call's real recording (the fake OpenAI finds its script in it) made mono, re-encoded
# as FLAC, or followed by three hours of line silence.
def _mono_pcm(original: Path) -> bytes:
    resampler = av.AudioResampler(format="s16", layout="mono", rate=8000)
    with av.open(str(original)) as container:
        frames = [f for frame in container.decode(audio=0) for f in resampler.resample(frame)]
    frames += resampler.resample(None)
    return b"".join(bytes(f.planes[0])[: f.samples * 2] for f in frames)


def _write_wav(path: Path, pcm: bytes, *, silence_s: float = 0.0) -> None:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(pcm)
        second = bytes(2 * 8000)
        for _ in range(int(silence_s)):
            out.writeframes(second)


def mono(path: Path, original: Path) -> None:
    _write_wav(path, _mono_pcm(original))


def flac(path: Path, original: Path) -> None:
    with av.open(str(original)) as source, av.open(str(path), "w", format="flac") as out:
        stream = out.add_stream("flac", rate=8000, layout="stereo")
        for frame in source.decode(audio=0):
            frame.pts = None
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


def three_hours(path: Path, original: Path) -> None:
    pcm = _mono_pcm(original)
    _write_wav(path, pcm, silence_s=3 * 3600 - len(pcm) / 16000)  # 173 MB


FAILS: dict[str, Callable[[Path, Path], None]] = {"empty": empty, "corrupt": corrupt, "not_audio": not_audio}
WORKS: dict[str, Callable[[Path, Path], None]] = {"mono": mono, "flac": flac, "three_hours": three_hours}


@pytest.mark.timeout(300)
async def test_bad_recordings_fail_with_their_reason_and_odd_ones_are_transcribed(
    settings: Settings, tmp_path: Path
) -> None:
    config = SimulatorConfig(
        calls=8,
        seed=31,
        window_hours=1,
        duration_scale=0.05,
        availability_delay_s=0,
        capture_pending_fraction=0,
        abandoned_fraction=0,
        unrecorded_fraction=0,
        consult_fraction=0,
    )
    # Fetch first, then swap the stored recordings for the bad ones, then transcribe and analyse.
    async with running_stack(settings, config, stages=(Kind.POLL, Kind.FETCH)) as stack:
        org = stack.sim.config.org_id
        now = stack.sim.state.clock.now_ms()
        calls = [c for c in stack.sim.state.ended_between(now - 2 * 3600 * 1000, now) if c.recordings]
        assert len(calls) >= len(FAILS) + len(WORKS) + 1
        journey = await stack.start(now - 2 * 3600 * 1000, now)

        async def all_fetched() -> bool:
            rows = [await stack.tracking.get(org, c.task_id) for c in calls]
            return all(r is not None and r.status is CallStatus.FETCHED for r in rows)

        await eventually(all_fetched, timeout=90, interval=0.5)
        cases = {**FAILS, **WORKS}
        by_case = {name: call.task_id for name, call in zip(cases, calls, strict=False)}
        untouched = [c.task_id for c in calls[len(cases) :]]
        bucket = DataResources(stack.settings.name_prefix).recordings_bucket.name
        async with stack.clients.s3() as s3:
            for name, task_id in by_case.items():
                row = await stack.tracking.get(org, task_id)
                assert row is not None
                for n, rec in enumerate(row.recording_keys):
                    original, local = tmp_path / f"{name}-{n}.orig", tmp_path / f"{name}-{n}"
                    await s3.download_file(bucket, rec["key"], str(original))
                    cases[name](local, original)
                    await s3.upload_file(str(local), bucket, rec["key"])

        stack.launch(Kind.TRANSCRIBE)
        stack.launch(Kind.ANALYZE)
        status = await stack.finished(journey, timeout=240)

        assert not any(w.done() for w in stack.workers), "a worker stopped"
        for name in FAILS:
            row = await stack.tracking.get(org, by_case[name])
            assert row is not None and row.status is CallStatus.FAILED, name
            assert row.error and "audio unusable" in row.error, (name, row.error)
        for task_id in [by_case[name] for name in WORKS] + untouched:
            row = await stack.tracking.get(org, task_id)
            assert row is not None and row.status is CallStatus.ANALYZED, (task_id, row)
        assert status.count("transcribe", "failed") == len(FAILS)
        assert status.count("analyze", "done") == len(calls) - len(FAILS)

        async with stack.clients.sqs() as sqs:
            dlq = (await sqs.get_queue_url(QueueName=f"{stack.settings.name_prefix}-transcribe-dlq"))["QueueUrl"]
            dead = await receive_all(sqs, dlq, expected=len(FAILS))
        reasons = {m["MessageAttributes"]["error_message"]["StringValue"] for m in dead}  # type: ignore[index]
        assert all("audio unusable" in reason for reason in reasons), reasons

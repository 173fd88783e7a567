"""AudioPreparer: the same prepared audio from a process pool as from a thread; errors and dead processes handled."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from shared.audio import AudioUnusable, PrepareOptions
from shared.audio.pool import AudioPreparer
from shared.errors import Retryable
from tests.helpers import eventually
from tests.unit.audio.synth import write_call

LABELS = ("customer", "agent")
OPTIONS = PrepareOptions(max_chunk_s=30)


@pytest.fixture
async def pool() -> AsyncIterator[AudioPreparer]:
    preparer = AudioPreparer(1, log_level="WARNING", log_format="json")
    yield preparer
    preparer.close()


async def test_pool_prepares_what_a_thread_prepares(tmp_path: Path, pool: AudioPreparer) -> None:
    wav = write_call(tmp_path / "call.wav", 75.0, [(2.0, 30.0), (50.0, 70.0)], [(31.0, 48.0)])
    in_thread = await AudioPreparer(0).prepare(wav, tmp_path / "thread", channel_labels=LABELS, options=OPTIONS)
    in_pool = await pool.prepare(wav, tmp_path / "pool", channel_labels=LABELS, options=OPTIONS)

    assert [c.label for c in in_pool.channels] == list(LABELS)
    assert in_pool.source_duration_s == in_thread.source_duration_s
    for ours, theirs in zip(in_pool.channels, in_thread.channels, strict=True):
        assert [(c.duration_s, c.spans) for c in ours.chunks] == [(c.duration_s, c.spans) for c in theirs.chunks]
        # Same encoder, same settings: the same sizes (the bytes differ only in Ogg's random stream serial number).
        assert [c.size_bytes for c in ours.chunks] == [c.size_bytes for c in theirs.chunks]
    assert sum(len(c.chunks) for c in in_pool.channels) >= 3  # 30 s chunks: the cut points crossed the process too


async def test_unusable_audio_keeps_its_reason_across_the_process(tmp_path: Path, pool: AudioPreparer) -> None:
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"<html>403 Forbidden</html>\n" * 100)
    with pytest.raises(AudioUnusable) as raised:
        await pool.prepare(junk, tmp_path / "out", channel_labels=LABELS, options=OPTIONS)
    assert raised.value.reason.startswith("not a readable media file")
    assert str(raised.value) == f"audio unusable: {raised.value.reason}"  # not "audio unusable: audio unusable: …"


async def test_a_killed_pool_process_is_retryable_and_the_pool_recovers(tmp_path: Path, pool: AudioPreparer) -> None:
    long_call = write_call(tmp_path / "long.wav", 1800.0, [(float(s), s + 8.0) for s in range(0, 1790, 10)])
    # Processes of earlier tests' pools may still be exiting: the one to kill is the one this job starts.
    earlier = {p.pid for p in multiprocessing.active_children()}
    work = asyncio.create_task(pool.prepare(long_call, tmp_path / "long", channel_labels=LABELS, options=OPTIONS))

    def ours() -> list[int]:
        return [p.pid for p in multiprocessing.active_children() if p.pid and p.pid not in earlier]

    await eventually(lambda: bool(ours()), timeout=30, interval=0.02)
    [pid] = ours()
    await asyncio.sleep(0)  # the job is submitted before the child shows up; the kill lands while it works
    os.kill(pid, signal.SIGKILL)
    with pytest.raises(Retryable, match=r"died while preparing long\.wav"):
        await asyncio.wait_for(work, timeout=60)

    short = write_call(tmp_path / "short.wav", 10.0, [(1.0, 8.0)])
    again = await asyncio.wait_for(
        pool.prepare(short, tmp_path / "short", channel_labels=LABELS, options=OPTIONS), timeout=60
    )
    assert again.channels[0].chunks

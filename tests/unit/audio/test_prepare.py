"""prepare_call_audio end to end on generated WAV files: channel split, trimming, chunking, time mapping back."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from shared.audio import (
    AudioUnusable,
    PreparationCancelled,
    PreparedAudio,
    PrepareOptions,
    prepare_call_audio,
    prepare_call_audio_async,
)
from tests.unit.audio.synth import (
    channel_samples,
    decode_mono_16k,
    onsets,
    write_call,
    write_mp3,
    write_wav,
)

LABELS = ("customer", "agent")
PAD = 0.25
# Per burst, kept audio may exceed the burst by the pads on both sides, the detector's hangover and frame rounding.
SLACK_PER_BURST = 2 * PAD + 0.2

CUSTOMER = [(2.0, 8.0), (20.0, 26.5), (40.0, 47.0)]
AGENT = [(9.0, 18.0), (30.0, 36.0), (50.0, 55.0)]
CALL_S = 60.0


def speech_s(bursts: list[tuple[float, float]]) -> float:
    return sum(end - start for start, end in bursts)


def prepare(path: Path, out: Path, **options: Any) -> PreparedAudio:
    return prepare_call_audio(path, out, channel_labels=LABELS, options=PrepareOptions(**options))


def assert_kept_close_to_speech(kept_s: float, bursts: list[tuple[float, float]]) -> None:
    speech = speech_s(bursts)
    assert speech - 0.05 <= kept_s <= speech + SLACK_PER_BURST * len(bursts), (kept_s, speech)


def mapped_onsets(prepared: PreparedAudio, label: str) -> list[float]:
    """Where speech starts in each chunk of a channel, decoded from the files and mapped to call time."""
    channel = next(c for c in prepared.channels if c.label == label)
    found: list[float] = []
    for chunk in channel.chunks:
        samples, _ = decode_mono_16k(chunk.path)
        found.extend(chunk.to_call_time(t) for t in onsets(samples))
    return found


@pytest.fixture(scope="module")
def stereo_call(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, PreparedAudio]:
    tmp = tmp_path_factory.mktemp("stereo")
    wav = write_call(tmp / "call.wav", CALL_S, CUSTOMER, AGENT)
    return tmp, prepare(wav, tmp / "out")


def test_stereo_is_split_into_labelled_channels(stereo_call: tuple[Path, PreparedAudio]) -> None:
    _, prepared = stereo_call
    assert [c.label for c in prepared.channels] == ["customer", "agent"]
    assert prepared.source_duration_s == pytest.approx(CALL_S, abs=0.01)
    for channel in prepared.channels:
        assert channel.chunks, channel.label
        assert all(chunk.path.exists() and chunk.path.suffix == ".ogg" for chunk in channel.chunks)
    assert "customer" in prepared.channels[0].chunks[0].path.name


def test_kept_seconds_track_speech_and_silence_is_dropped(stereo_call: tuple[Path, PreparedAudio]) -> None:
    _, prepared = stereo_call
    customer, agent = prepared.channels
    assert_kept_close_to_speech(customer.kept_s, CUSTOMER)
    assert_kept_close_to_speech(agent.kept_s, AGENT)
    assert prepared.kept_s == pytest.approx(customer.kept_s + agent.kept_s)
    # Each party talks about a third of the call: naive per-channel transcription would bill 2.0x the call.
    assert prepared.kept_ratio < 0.85


def test_speech_onsets_map_back_to_call_time(stereo_call: tuple[Path, PreparedAudio]) -> None:
    _, prepared = stereo_call
    for label, bursts in (("customer", CUSTOMER), ("agent", AGENT)):
        found = mapped_onsets(prepared, label)
        assert len(found) == len(bursts), (label, found)
        for (start, _), mapped in zip(bursts, found, strict=True):
            assert mapped == pytest.approx(start, abs=0.1), (label, found)


def test_spans_cover_each_chunk_and_only_speech_regions(stereo_call: tuple[Path, PreparedAudio]) -> None:
    _, prepared = stereo_call
    for channel, bursts in zip(prepared.channels, (CUSTOMER, AGENT), strict=True):
        previous_end = 0.0
        for chunk in channel.chunks:
            assert chunk.spans[0].chunk_start_s == 0.0
            assert sum(span.length_s for span in chunk.spans) == pytest.approx(chunk.duration_s)
            for span, following in zip(chunk.spans, chunk.spans[1:], strict=False):
                assert following.chunk_start_s == pytest.approx(span.chunk_start_s + span.length_s)
            for span in chunk.spans:
                assert span.call_start_s >= previous_end - 1e-9
                previous_end = span.call_start_s + span.length_s
                # every kept span overlaps a burst (it is speech plus its pads)
                assert any(span.call_start_s < end + 0.5 and start - 0.5 < previous_end for start, end in bursts)
        assert len([span for chunk in channel.chunks for span in chunk.spans]) == len(bursts)


def test_chunks_respect_max_chunk_s_and_cut_at_pauses(tmp_path: Path) -> None:
    # One party talking for 100 s in 4 s phrases with 0.6 s pauses (kept: shorter than min_silence_s).
    bursts = [(1.0 + i * 4.6, 1.0 + i * 4.6 + 4.0) for i in range(21)]
    wav = write_call(tmp_path / "talk.wav", 100.0, bursts)
    prepared = prepare(wav, tmp_path / "out", max_chunk_s=20)
    (channel,) = prepared.channels
    assert len(channel.chunks) >= 5
    for chunk in channel.chunks:
        assert chunk.duration_s <= 20.0 + 1e-9
    for chunk in channel.chunks[:-1]:
        assert chunk.duration_s >= 15.0  # cut within the last quarter, not early
    # The cuts fall in pauses: every burst start appears as an onset somewhere, none is split.
    found = mapped_onsets(prepared, "mixed")
    assert len(found) == len(bursts)
    for (start, _), mapped in zip(bursts, found, strict=True):
        assert mapped == pytest.approx(start, abs=0.1)
    # Chunks continue one another on the call timeline.
    ends = [chunk.spans[-1].call_start_s + chunk.spans[-1].length_s for chunk in channel.chunks]
    starts = [chunk.spans[0].call_start_s for chunk in channel.chunks]
    assert all(s == pytest.approx(e, abs=1e-6) for e, s in zip(ends, starts[1:], strict=False))


def phrases(start: float, end: float, *, length: float = 3.0, pause: float = 0.4) -> list[tuple[float, float]]:
    """Continuous talk: phrases of `length` seconds separated by pauses shorter than min_silence_s."""
    out = []
    while start + length <= end:
        out.append((start, start + length))
        start += length + pause
    return out


def test_chunks_respect_max_chunk_bytes(tmp_path: Path) -> None:
    wav = write_call(tmp_path / "talk.wav", 90.0, phrases(0.5, 89.5))
    # ~28 s of Opus per chunk: the last quarter before the limit (where a cut waits for a pause) spans two of the
    # 0.4 s pauses, so no phrase is split whatever the encoder's exact bitrate.
    limit = 96 * 1024
    prepared = prepare(wav, tmp_path / "out", max_chunk_bytes=limit)
    (channel,) = prepared.channels
    assert len(channel.chunks) >= 3
    for chunk in channel.chunks:
        assert chunk.path.stat().st_size == chunk.size_bytes <= limit
    assert channel.kept_s == pytest.approx(89.0, abs=1.0)
    starts = [start for start, _ in phrases(0.5, 89.5)]
    assert mapped_onsets(prepared, "mixed") == pytest.approx(starts, abs=0.1)


def test_output_is_ogg_opus_16k_mono(stereo_call: tuple[Path, PreparedAudio]) -> None:
    _, prepared = stereo_call
    for channel in prepared.channels:
        for chunk in channel.chunks:
            samples, info = decode_mono_16k(chunk.path)
            assert info["format"] == "ogg"
            assert info["codec"] == "opus"
            assert info["channels"] == 1
            assert info["opus_head"] == b"OpusHead"
            assert info["opus_channels"] == 1
            assert info["input_rate"] == 16000
            assert len(samples) / 16000 == pytest.approx(chunk.duration_s, abs=0.05)
            # ~24 kb/s, far below the upload limit
            assert chunk.size_bytes * 8 / chunk.duration_s < 40_000


def test_mono_input_gives_one_mixed_channel(tmp_path: Path) -> None:
    wav = write_call(tmp_path / "mono.wav", 30.0, [(5.0, 12.0), (20.0, 25.0)])
    prepared = prepare(wav, tmp_path / "out")
    assert [c.label for c in prepared.channels] == ["mixed"]
    assert_kept_close_to_speech(prepared.kept_s, [(5.0, 12.0), (20.0, 25.0)])
    relabelled = prepare(wav, tmp_path / "out2", mono_label="customer")
    assert [c.label for c in relabelled.channels] == ["customer"]


@pytest.mark.parametrize("rate", [8000, 44100])
def test_input_sample_rates(tmp_path: Path, rate: int) -> None:
    wav = write_call(tmp_path / f"call-{rate}.wav", 40.0, [(3.0, 9.0), (30.0, 34.0)], [(12.0, 20.0)], rate=rate)
    prepared = prepare(wav, tmp_path / "out")
    assert prepared.source_duration_s == pytest.approx(40.0, abs=0.01)
    assert_kept_close_to_speech(prepared.channels[0].kept_s, [(3.0, 9.0), (30.0, 34.0)])
    assert_kept_close_to_speech(prepared.channels[1].kept_s, [(12.0, 20.0)])
    found = mapped_onsets(prepared, "customer")
    assert found == pytest.approx([3.0, 30.0], abs=0.1)


def test_compressed_input(tmp_path: Path) -> None:
    samples = channel_samples(30.0, [(4.0, 10.0), (18.0, 24.0)], rate=22050)
    mp3 = write_mp3(tmp_path / "call.mp3", samples, rate=22050)
    prepared = prepare(mp3, tmp_path / "out")
    assert [c.label for c in prepared.channels] == ["mixed"]
    assert prepared.source_duration_s == pytest.approx(30.0, abs=0.1)
    assert_kept_close_to_speech(prepared.kept_s, [(4.0, 10.0), (18.0, 24.0)])
    assert mapped_onsets(prepared, "mixed") == pytest.approx([4.0, 18.0], abs=0.1)


def test_all_silent_channel_has_no_chunks(tmp_path: Path) -> None:
    wav = write_call(tmp_path / "one-sided.wav", 30.0, [(5.0, 15.0)], [])
    prepared = prepare(wav, tmp_path / "out")
    customer, agent = prepared.channels
    assert customer.chunks
    assert agent.chunks == []
    assert agent.kept_s == 0.0


def test_digital_silence_everywhere_is_not_an_error(tmp_path: Path) -> None:
    silent = channel_samples(10.0, [], rate=8000, hiss=0.0)
    prepared = prepare(write_wav(tmp_path / "silent.wav", [silent, silent], rate=8000), tmp_path / "out")
    assert [len(c.chunks) for c in prepared.channels] == [0, 0]
    assert prepared.kept_s == 0.0
    assert prepared.source_duration_s == pytest.approx(10.0)
    assert list((tmp_path / "out").iterdir()) == []


def test_noisier_line_is_still_trimmed(tmp_path: Path) -> None:
    # Line noise at about -45 dBFS, speech about 20 dB above it; the floor adapts within its 20 s window.
    bursts = [(25.0, 30.0), (45.0, 52.0), (70.0, 74.0)]
    noisy = channel_samples(80.0, bursts, rate=8000, level=1800.0, hiss=180.0)
    prepared = prepare(write_wav(tmp_path / "noisy.wav", [noisy], rate=8000), tmp_path / "out")
    # The first window may keep some noise (the detector errs towards keeping); after it, only speech and pads.
    assert prepared.kept_s < speech_s(bursts) + 21.0 + SLACK_PER_BURST * len(bursts)
    assert mapped_onsets(prepared, "mixed")[-2:] == pytest.approx([45.0, 70.0], abs=0.1)


def test_stop_request_cancels_and_removes_files(tmp_path: Path) -> None:
    wav = write_call(tmp_path / "call.wav", 20.0, [(1.0, 19.0)])
    calls = 0

    def stop_after_a_while() -> bool:
        nonlocal calls
        calls += 1
        return calls > 200

    with pytest.raises(PreparationCancelled):
        prepare_call_audio(wav, tmp_path / "out", channel_labels=LABELS, should_stop=stop_after_a_while)
    assert list((tmp_path / "out").iterdir()) == []


@pytest.mark.parametrize("labels", [("customer",), ("same", "same"), "ab", ("", "agent")])
def test_bad_labels_are_rejected(tmp_path: Path, labels: tuple[str, ...]) -> None:
    wav = write_call(tmp_path / "call.wav", 2.0, [])
    with pytest.raises(ValueError, match="channel_labels"):
        prepare_call_audio(wav, tmp_path / "out", channel_labels=labels)


async def test_async_variant_does_not_block_the_loop(tmp_path: Path) -> None:
    talk = phrases(1.0, 119.0)
    wav = write_call(tmp_path / "call.wav", 120.0, talk, talk)
    ticks = 0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            await asyncio.sleep(0.01)

    ticking = asyncio.create_task(ticker())
    prepared = await prepare_call_audio_async(wav, tmp_path / "out", channel_labels=LABELS)
    done.set()
    await ticking
    assert [c.label for c in prepared.channels] == ["customer", "agent"]
    assert prepared.kept_s > 200
    assert ticks > 10


async def test_async_variant_raises_audio_unusable(tmp_path: Path) -> None:
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(AudioUnusable):
        await prepare_call_audio_async(empty, tmp_path / "out", channel_labels=LABELS)


def test_two_parties_talking_half_the_time_bill_about_the_call_length(tmp_path: Path) -> None:
    # Turns of 8 s alternate with 0.5 s gaps: each party holds the floor about half of the call.
    turns = [(0.5 + i * 8.5, 0.5 + i * 8.5 + 8.0) for i in range(14)]
    customer = [turn for i, turn in enumerate(turns) if i % 2 == 0]
    agent = [turn for i, turn in enumerate(turns) if i % 2 == 1]
    wav = write_call(tmp_path / "call.wav", 120.0, customer, agent)
    prepared = prepare(wav, tmp_path / "out")
    assert 1.0 <= prepared.kept_s / speech_s(turns) <= 1.1
    assert 0.9 <= prepared.kept_ratio <= 1.1  # naive per-channel transcription: 2.0


async def test_cancelling_the_async_variant_stops_the_thread_and_removes_files(tmp_path: Path) -> None:
    talk = phrases(1.0, 599.0)
    wav = write_call(tmp_path / "long.wav", 600.0, talk, talk)
    out = tmp_path / "out"
    task = asyncio.create_task(prepare_call_audio_async(wav, out, channel_labels=LABELS))
    for _ in range(500):  # until the first chunk file appears
        if out.exists() and any(out.iterdir()):
            break
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for _ in range(300):
        if not any(out.iterdir()):
            break
        await asyncio.sleep(0.01)
    assert list(out.iterdir()) == []

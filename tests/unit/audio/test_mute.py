"""Muting spans of a recording (audio redaction): the spans decode as silence on their channel, the rest is intact."""

from __future__ import annotations

import math
from array import array
from pathlib import Path

import pytest

from shared.audio.decode import AudioDecoder
from shared.audio.errors import AudioUnusable
from shared.audio.models import SAMPLE_RATE
from shared.audio.mute import ALL_CHANNELS, mute_spans
from tests.unit.audio.synth import tone_samples, write_mp3, write_wav

RATE = 8000


def decoded(path: Path) -> list[array[int]]:
    """Every channel of a recording through the project's decoder (16 kHz)."""
    with AudioDecoder(path) as dec:
        channels: list[array[int]] = [array("h") for _ in range(dec.channels)]
        for block in dec.blocks():
            for channel, samples in zip(channels, block, strict=True):
                channel.extend(samples)
    return channels


def rms(samples: array[int], start_s: float, end_s: float) -> float:
    piece = samples[round(start_s * SAMPLE_RATE) : round(end_s * SAMPLE_RATE)]
    return math.sqrt(sum(s * s for s in piece) / max(1, len(piece)))


def test_muted_spans_are_silent_on_their_channel_only(tmp_path: Path) -> None:
    source = write_wav(
        tmp_path / "call.wav",
        [tone_samples(4.0, 440, rate=RATE), tone_samples(4.0, 660, rate=RATE)],
        rate=RATE,
    )
    target = tmp_path / "muted.wav"
    muted = mute_spans(source, target, {0: [(1.0, 2.0)], ALL_CHANNELS: [(3.0, 3.5)]})
    assert muted == pytest.approx(1.0 + 2 * 0.5)

    left, right = decoded(target)
    assert len(left) == pytest.approx(4.0 * SAMPLE_RATE, abs=SAMPLE_RATE * 0.01)
    # inside the spans (the resampler's filter rings for a few ms at each edge): silence
    assert rms(left, 1.01, 1.99) < 1.0
    assert rms(left, 3.01, 3.49) < 1.0 and rms(right, 3.01, 3.49) < 1.0
    # outside them, and the other channel during the first span: the tone as it was
    for channel, start, end in ((left, 0.0, 0.99), (left, 2.01, 2.99), (right, 1.0, 2.0), (right, 3.51, 4.0)):
        assert rms(channel, start, end) > 4000
    original, _ = decoded(source)
    assert left[: SAMPLE_RATE // 2] == original[: SAMPLE_RATE // 2]


def test_a_mono_recording_is_muted_whatever_the_speaker_and_a_compressed_one_becomes_wav(tmp_path: Path) -> None:
    source = write_mp3(tmp_path / "call.mp3", tone_samples(2.0, 500, rate=RATE), rate=RATE)
    target = tmp_path / "muted.wav"
    mute_spans(source, target, {1: [(0.5, 1.0)]})
    (only,) = decoded(target)
    assert rms(only, 0.55, 0.95) < 1.0
    assert rms(only, 1.2, 1.8) > 3000
    assert target.read_bytes()[:4] == b"RIFF"


def test_spans_past_the_end_and_bad_input(tmp_path: Path) -> None:
    source = write_wav(tmp_path / "call.wav", [tone_samples(1.0, 440, rate=RATE)], rate=RATE)
    assert mute_spans(source, tmp_path / "a.wav", {None: [(0.5, 9.0), (2.0, 3.0)]}) == pytest.approx(0.5)
    (only,) = decoded(tmp_path / "a.wav")
    assert rms(only, 0.55, 1.0) < 1.0
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"not audio at all" * 100)
    with pytest.raises(AudioUnusable):
        mute_spans(junk, tmp_path / "b.wav", {0: [(0.0, 1.0)]})

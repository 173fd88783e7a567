"""The energy detector and the silence trimmer on hand-made frames."""

from __future__ import annotations

import itertools
from array import array

import pytest

from shared.audio.trim import SilenceTrimmer
from shared.audio.vad import EnergyVad, VadConfig, VadFrame, frame_dbfs
from tests.unit.audio.synth import channel_samples, tone_samples

RATE = 16000
FRAME = 320


def test_frame_dbfs() -> None:
    assert frame_dbfs(array("h", [0] * FRAME)) == -100.0
    assert frame_dbfs(array("h", [32767, -32767] * (FRAME // 2))) == pytest.approx(0.0, abs=0.01)
    assert frame_dbfs(tone_samples(0.02, 400, rate=RATE, level=32767)) == pytest.approx(-3.0, abs=0.2)
    assert frame_dbfs(array("h")) == -100.0


def labels(samples: array[int], config: VadConfig | None = None, block: int = 1000) -> list[VadFrame]:
    vad = EnergyVad(config)
    frames: list[VadFrame] = []
    for i in range(0, len(samples), block):
        frames.extend(vad.push(samples[i : i + block]))
    frames.extend(vad.finish())
    return frames


def speech_seconds(frames: list[VadFrame]) -> float:
    return sum(len(f.samples) for f in frames if f.speech) / RATE


def test_frames_are_contiguous_and_complete() -> None:
    samples = channel_samples(3.013, [(1.0, 2.0)], rate=RATE)
    frames = labels(samples, block=777)
    assert frames[0].start == 0
    for frame, following in itertools.pairwise(frames):
        assert following.start == frame.start + len(frame.samples)
    assert sum(len(f.samples) for f in frames) == len(samples)


def test_detects_a_burst_with_hangover() -> None:
    frames = labels(channel_samples(5.0, [(1.0, 3.0)], rate=RATE))
    assert speech_seconds(frames) == pytest.approx(2.0 + VadConfig().hangover_s, abs=0.05)
    first = next(f for f in frames if f.speech)
    assert first.start / RATE == pytest.approx(1.0, abs=0.021)


def test_a_lone_click_is_not_speech() -> None:
    samples = channel_samples(2.0, [], rate=RATE)
    samples[RATE : RATE + 100] = array("h", [20000] * 100)  # 6 ms click: one frame
    assert speech_seconds(labels(samples)) == 0.0


def test_quiet_noise_below_the_absolute_floor_is_never_speech() -> None:
    # -56 dBFS hiss over digital silence: 40 dB above the floor but below min_speech_dbfs.
    samples = channel_samples(4.0, [(1.0, 3.0)], rate=RATE, level=50.0, hiss=0.0)
    assert speech_seconds(labels(samples)) == 0.0


def test_floor_adapts_to_a_noisy_line() -> None:
    # Steady -35 dBFS noise for 30 s, then speech 15 dB above it.
    samples = channel_samples(40.0, [(32.0, 36.0)], rate=RATE, level=3300.0, hiss=580.0)
    frames = labels(samples)
    late = [f for f in frames if f.start >= 25 * RATE]
    assert speech_seconds(late) == pytest.approx(4.0 + VadConfig().hangover_s, abs=0.1)


def test_a_steady_loud_sound_never_becomes_the_noise_floor() -> None:
    frames = labels(channel_samples(60.0, [(5.0, 55.0)], rate=RATE, level=3000.0))
    assert speech_seconds(frames) == pytest.approx(50.0 + VadConfig().hangover_s, abs=0.05)


def frames_from(pattern: str, frame: int = FRAME) -> list[VadFrame]:
    """'s' = a speech frame, '.' = a silent frame, each 20 ms."""
    return [VadFrame(i * frame, array("h", [0] * frame), c == "s") for i, c in enumerate(pattern)]


def trim(pattern: str, *, min_silence_s: float = 1.0, pad_s: float = 0.2) -> str:
    trimmer = SilenceTrimmer(min_silence_s=min_silence_s, pad_s=pad_s)
    kept: list[VadFrame] = []
    for frame in frames_from(pattern):
        kept.extend(trimmer.push(frame))
    kept.extend(trimmer.finish())
    starts = {f.start for f in kept}
    assert [f.start for f in kept] == sorted(starts)
    return "".join(c if i * FRAME in starts else "x" for i, c in enumerate(pattern))


def test_trimmer_keeps_short_gaps_whole() -> None:
    pattern = "s" * 10 + "." * 40 + "s" * 10  # 0.8 s gap < 1 s
    assert trim(pattern) == pattern


def test_trimmer_drops_long_gaps_but_keeps_pads() -> None:
    pattern = "." * 30 + "s" * 10 + "." * 100 + "s" * 10 + "." * 30
    expected = "x" * 20 + "." * 10 + "s" * 10 + "." * 10 + "x" * 80 + "." * 10 + "s" * 10 + "." * 10 + "x" * 20
    assert trim(pattern) == expected


def test_trimmer_gap_exactly_at_the_limit_is_kept() -> None:
    pattern = "s" * 5 + "." * 50 + "s" * 5  # exactly 1.0 s
    assert trim(pattern) == pattern
    assert trim("s" * 5 + "." * 51 + "s" * 5).count("x") == 31


def test_trimmer_without_speech_keeps_nothing() -> None:
    assert trim("." * 200) == "x" * 200


def test_trimmer_with_zero_pad() -> None:
    assert trim("." * 10 + "s" * 3 + "." * 60 + "s" * 3 + "." * 10, pad_s=0.0) == (
        "x" * 10 + "s" * 3 + "x" * 60 + "s" * 3 + "x" * 10
    )

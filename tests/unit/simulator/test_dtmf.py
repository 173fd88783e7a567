"""DTMF codes survive what the pipeline does to a recording: mono mix-down, 8 kHz → 16 kHz, noise, quiet levels."""

from __future__ import annotations

import array
import random

import pytest

from simulator.wxcc.audio import decode_dtmf, detect_dtmf, tone_sequence
from simulator.wxcc.audio.dtmf import DIGITS, GAP_S, TONE_S
from simulator.wxcc.audio.synth import AGENT, CUSTOMER, speech
from tests.unit.simulator.audio_helpers import add_noise, mix, rms, upsample_linear


def _padded(digits: str, rate: int) -> list[float]:
    silence = [0.0] * (rate // 4)
    return silence + list(tone_sequence(digits, rate)) + silence


@pytest.mark.parametrize("rate", [8000, 16000])
def test_every_digit_round_trips(rate: int) -> None:
    assert decode_dtmf(_padded(DIGITS, rate), rate) == list(DIGITS)


def test_repeated_digits_stay_separate() -> None:
    assert decode_dtmf(_padded("000", 8000), 8000) == ["0", "0", "0"]


def test_tone_timing_is_reported() -> None:
    tones = detect_dtmf(_padded("42", 8000), 8000)
    assert [t.digit for t in tones] == ["4", "2"]
    assert tones[0].start_s == pytest.approx(0.25, abs=0.03)
    assert tones[1].start_s - tones[0].start_s == pytest.approx(TONE_S + GAP_S, abs=0.03)


def test_codes_survive_resampling_to_16k_noise_and_a_quiet_level() -> None:
    codes = "*000123#" + "000" + "001" + "017"
    signal = _padded(codes, 8000)
    processed = add_noise([x * 0.2 for x in upsample_linear(signal, 2)], sigma=150)  # about 15 dB SNR
    assert "".join(decode_dtmf(processed, 16000)) == codes


def test_codes_survive_a_mono_mix_with_the_other_party_speaking_before_and_after() -> None:
    rate = 8000
    codes = _padded("123", rate)
    talk = list(speech(CUSTOMER, rate * 2, rate, random.Random(3)))
    channel1 = [0.0] * len(talk) + codes + [0.0] * len(talk)
    channel2 = talk + [0.0] * len(codes) + talk
    mixed = add_noise(upsample_linear(mix(channel1, channel2), 2), sigma=100)
    assert decode_dtmf(mixed, 2 * rate) == ["1", "2", "3"]


def test_speech_alone_decodes_to_nothing() -> None:
    for voice in (AGENT, CUSTOMER):
        audio = speech(voice, 8000 * 30, 8000, random.Random(5))
        assert rms(audio) > 1000
        assert decode_dtmf(audio, 8000) == []


def test_accepts_raw_pcm_bytes() -> None:
    pcm = array.array("h", [round(x) for x in _padded("9#", 8000)])
    assert decode_dtmf(pcm.tobytes(), 8000) == ["9", "#"]


def test_rejects_non_dtmf_characters() -> None:
    with pytest.raises(ValueError, match="not DTMF"):
        tone_sequence("12x", 8000)

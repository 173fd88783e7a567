"""Recordings as WAV: stereo 16-bit, one party per channel at the scripted times, codes decodable, fast to make."""

from __future__ import annotations

import io
import os
import stat
import sys
import time
from pathlib import Path

import pytest

from simulator.wxcc.audio import decode_dtmf, read_wav
from simulator.wxcc.config import SimulatorConfig
from simulator.wxcc.generator import RecordingLeg, generate_calls
from simulator.wxcc.render import recording_size, render_recording
from tests.unit.simulator.audio_helpers import add_noise, mix, rms, upsample_linear


def _leg(min_s: float, max_s: float, *, consult: bool = False) -> RecordingLeg:
    config = SimulatorConfig(duration_min_s=min_s, duration_max_s=max_s, consult_fraction=1.0 if consult else 0.0)
    calls = generate_calls(config, batch=0, count=20, start_ms=0, end_ms=10**7, first_serial=1)
    legs = [leg for call in calls for leg in call.recordings if (leg.call_type == "consult") == consult]
    return legs[0]


def _check_channels(leg: RecordingLeg, wav: bytes, expected_rate: int) -> None:
    rate, channels = read_wav(wav)
    assert rate == expected_rate and len(channels) == 2
    assert len(channels[0]) == round(leg.duration_ms * rate / 1000)
    for turn in leg.script.turns:
        span = slice(round(turn.start_s * rate), round(turn.end_s * rate))
        speaking, silent = channels[turn.channel - 1][span], channels[2 - turn.channel][span]
        assert rms(speaking) > 1500, f"turn {turn.index} is not audible on channel {turn.channel}"
        assert rms(silent) < 100, f"turn {turn.index} leaks onto the other channel"
    gaps = [
        (a.end_s + 0.05, b.code_start_s - 0.05) for a, b in zip(leg.script.turns, leg.script.turns[1:], strict=False)
    ]
    for start, end in gaps:
        if end - start > 0.1:
            for channel in channels:
                assert rms(channel[round(start * rate) : round(end * rate)]) < 100, "no silence between turns"


@pytest.mark.parametrize("rate", [8000, 16000])
def test_wav_is_stereo_16_bit_with_each_party_on_its_channel(rate: int) -> None:
    leg = _leg(40, 60)
    wav = render_recording(leg, rate, "synth")
    assert len(wav) == recording_size(leg, rate)
    _check_channels(leg, wav, rate)


def test_consult_leg_has_both_agents() -> None:
    leg = _leg(120, 180, consult=True)
    wav = render_recording(leg, 8000, "synth")
    _check_channels(leg, wav, 8000)
    assert {t.speaker for t in leg.script.turns} == {"agent", "colleague"}


def test_codes_in_the_file_name_the_recording_and_each_utterance() -> None:
    leg = _leg(40, 60)
    wav = render_recording(leg, 8000, "synth")
    expected = leg.script.tag + "".join(turn.code for turn in leg.script.turns)
    assert "".join(decode_dtmf(wav, 8000)) == expected
    # what the transcription stage will hear: mono, 16 kHz, a little noise
    _, (left, right) = read_wav(wav)
    processed = add_noise(upsample_linear(mix(left, right), 2), sigma=80)
    assert "".join(decode_dtmf(processed, 16000)) == expected


def test_three_minute_call_renders_in_well_under_a_second() -> None:
    leg = _leg(175, 185)
    render_recording(leg, 8000, "synth")  # warm the syllable banks (once per process)
    for rate in (8000, 16000):
        render_recording(leg, rate, "synth")
        started = time.perf_counter()
        wav = render_recording(leg, rate, "synth")
        elapsed = time.perf_counter() - started
        print(f"{leg.duration_ms / 1000:.0f} s stereo call at {rate} Hz: {elapsed * 1000:.0f} ms, {len(wav)} bytes")
        assert elapsed < 1.0


def test_uses_espeak_ng_when_it_is_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "calls.txt"
    fake = tmp_path / "espeak-ng"
    fake.write_text(
        f"#!{sys.executable}\n"
        "import math, struct, sys, wave\n"
        "args = sys.argv[1:]\n"
        f"open({str(log)!r}, 'a').write(' '.join(args) + '\\n')\n"
        "path, text = args[args.index('-w') + 1], args[-1]\n"
        "n = int(22050 * 0.3 * len(text.split()))\n"
        "with wave.open(path, 'wb') as w:\n"
        "    w.setnchannels(1); w.setsampwidth(2); w.setframerate(22050)\n"
        "    w.writeframes(b''.join(struct.pack('<h', int(8000 * math.sin(i * 0.1))) for i in range(n)))\n"
    )
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    leg = _leg(20, 30)
    wav = render_recording(leg, 8000, "auto")
    assert len(log.read_text().splitlines()) == len(leg.script.turns)
    assert "-v en-us" in log.read_text()
    _check_channels(leg, wav, 8000)
    assert len(wav) == recording_size(leg, 8000)


def test_synth_mode_ignores_espeak(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "espeak-ng"
    fake.write_text("#!/bin/sh\nexit 3\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    leg = _leg(20, 30)
    assert render_recording(leg, 8000, "synth") == render_recording(leg, 8000, "auto")  # a failing espeak falls back


def _opus_round_trip(wav: bytes, bitrate: int) -> bytes:
    """What the transcription stage sends: 16 kHz mono Opus at `bitrate`, decoded back to 16-bit PCM."""
    av = pytest.importorskip("av")
    encoded = io.BytesIO()
    with av.open(io.BytesIO(wav)) as source, av.open(encoded, "w", format="ogg") as sink:
        stream = sink.add_stream("libopus", rate=16000, layout="mono")
        stream.bit_rate = bitrate
        resampler = av.AudioResampler(format="s16", layout="mono", rate=16000)
        for frame in [*source.decode(audio=0), None]:
            for out in resampler.resample(frame):
                for packet in stream.encode(out):
                    sink.mux(packet)
        for packet in stream.encode(None):
            sink.mux(packet)
    pcm = bytearray()
    with av.open(io.BytesIO(encoded.getvalue())) as decoded:
        resampler = av.AudioResampler(format="s16", layout="mono", rate=16000)
        for frame in decoded.decode(audio=0):
            for out in resampler.resample(frame):
                pcm += bytes(out.planes[0])[: out.samples * 2]
    return bytes(pcm)


@pytest.mark.parametrize("rate", [8000, 16000])
def test_codes_survive_opus_at_24_kbps(rate: int) -> None:
    leg = _leg(40, 60, consult=False)
    wav = render_recording(leg, rate, "synth")
    expected = leg.script.tag + "".join(turn.code for turn in leg.script.turns)
    assert "".join(decode_dtmf(_opus_round_trip(wav, 24000), 16000)) == expected

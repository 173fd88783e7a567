"""Renders a recording's script to a stereo WAV: tag and DTMF codes, speech per turn, a low noise floor between."""

from __future__ import annotations

import array
import random
from functools import lru_cache

from shared.logging import get_logger
from simulator.wxcc.audio.dtmf import tone_sequence
from simulator.wxcc.audio.espeak import Utterance, espeak_path, espeak_speech
from simulator.wxcc.audio.synth import AGENT, COLLEAGUE, CUSTOMER, Voice, speech
from simulator.wxcc.audio.wav import stereo_wav, wav_size
from simulator.wxcc.generator import RecordingLeg
from simulator.wxcc.script import LEAD_S

log = get_logger(__name__)

VOICES: dict[str, Voice] = {"agent": AGENT, "customer": CUSTOMER, "colleague": COLLEAGUE}
_NOISE_PEAK = 40  # about -58 dBFS: a quiet line, never digital silence


def frames(leg: RecordingLeg, sample_rate: int) -> int:
    """Frames in the recording's WAV file."""
    return round(leg.duration_ms * sample_rate / 1000)


def recording_size(leg: RecordingLeg, sample_rate: int) -> int:
    """Bytes of the recording's WAV file, known without rendering it."""
    return wav_size(frames(leg, sample_rate))


@lru_cache(maxsize=4)
def _noise(sample_rate: int) -> array.array[int]:
    rng = random.Random(sample_rate)
    return array.array("h", (rng.randint(-_NOISE_PEAK, _NOISE_PEAK) for _ in range(sample_rate)))


def _compose(n: int, events: list[tuple[int, array.array[int]]], sample_rate: int) -> array.array[int]:
    """One channel: the events at their sample offsets, the noise floor everywhere else."""
    table = _noise(sample_rate)
    floor = table * (n // len(table) + 1)
    out = array.array("h")
    pos = 0
    for start, segment in sorted(events, key=lambda e: e[0]):
        start = max(start, pos)  # never overlap: a late event is shifted, not mixed
        if start >= n:
            break
        out.extend(floor[pos:start])
        out.extend(segment[: n - start])
        pos = start + min(len(segment), n - start)
    out.extend(floor[pos:n])
    return out


def _use_espeak(voice_mode: str) -> str | None:
    if voice_mode == "synth":
        return None
    exe = espeak_path()
    if exe is None and voice_mode == "espeak":
        log.warning("espeak_missing", fallback="synth")
    return exe


def render_recording(leg: RecordingLeg, sample_rate: int, voice_mode: str = "auto") -> bytes:
    """The WAV file of one recording: channel 1 and 2 carry the parties of `leg.script.speakers`, in order."""
    script = leg.script
    n = frames(leg, sample_rate)

    def at(seconds: float) -> int:
        return round(seconds * sample_rate)

    events: dict[int, list[tuple[int, array.array[int]]]] = {1: [], 2: []}
    tag = tone_sequence(script.tag, sample_rate)
    for channel in (1, 2):
        events[channel].append((at(LEAD_S), tag))
    spans = [(turn, at(turn.start_s), at(turn.end_s) - at(turn.start_s)) for turn in script.turns]

    voiced: list[array.array[int]] | None = None
    exe = _use_espeak(voice_mode)
    if exe is not None:
        try:
            utterances = [Utterance(turn.text, VOICES[turn.speaker], length) for turn, _, length in spans]
            voiced = espeak_speech(utterances, sample_rate, exe)
        except (OSError, RuntimeError, ValueError) as exc:
            log.warning("espeak_failed", error=str(exc), fallback="synth")
    if voiced is None:
        rng = random.Random(leg.id)
        voiced = [speech(VOICES[turn.speaker], length, sample_rate, rng) for turn, _, length in spans]

    for (turn, start, _), audio in zip(spans, voiced, strict=True):
        events[turn.channel].append((at(turn.code_start_s), tone_sequence(turn.code, sample_rate)))
        events[turn.channel].append((start, audio))
    return stereo_wav(_compose(n, events[1], sample_rate), _compose(n, events[2], sample_rate), sample_rate)

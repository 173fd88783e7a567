"""Speech-like audio in pure Python: voiced syllables (harmonics shaped by vowel formants) strung into words.

Fast by construction: each voice has a small bank of precomputed 16-bit syllables, so an utterance is only array
concatenation. Nobody can understand it, but it has a pitch, syllable-rate loudness changes and pauses like speech.
"""

from __future__ import annotations

import array
import math
import random
from dataclasses import dataclass
from functools import lru_cache

_VOWELS = ((730.0, 1090.0), (530.0, 1840.0), (270.0, 2290.0), (570.0, 840.0), (300.0, 870.0), (660.0, 1720.0))
_BANK_SIZE = 14
_PEAK = 0.35  # loudest sample of a syllable, as a fraction of full scale


@dataclass(frozen=True)
class Voice:
    """How one party sounds: mean pitch (Hz) and a seed for its syllable bank."""

    pitch_hz: float
    seed: int


AGENT = Voice(pitch_hz=205.0, seed=11)
CUSTOMER = Voice(pitch_hz=118.0, seed=23)
COLLEAGUE = Voice(pitch_hz=160.0, seed=37)


def _syllable(rng: random.Random, voice: Voice, sample_rate: int, full_scale: int) -> array.array[int]:
    duration = rng.uniform(0.12, 0.26)
    n = round(duration * sample_rate)
    f0 = voice.pitch_hz * rng.uniform(0.9, 1.12)
    glide = rng.uniform(-0.25, 0.15)  # pitch falls or rises a little over the syllable
    f1, f2 = rng.choice(_VOWELS)
    top = min(3400.0, 0.45 * sample_rate)
    harmonics = []
    for k in range(1, int(top / f0) + 1):
        f = k * f0
        gain = (1.0 / (1 + ((f - f1) / 90) ** 2) + 0.6 / (1 + ((f - f2) / 120) ** 2) + 0.08) / math.sqrt(k)
        harmonics.append((k, gain, rng.uniform(0, 2 * math.pi)))
    norm = sum(g for _, g, _ in harmonics)
    onset = round(rng.uniform(0.01, 0.03) * sample_rate)  # a consonant-like noise burst before the vowel
    out = array.array("h", bytes(2 * n))
    phase = 0.0
    for i in range(n):
        t = i / n
        phase += 2 * math.pi * f0 * (1 + glide * t) / sample_rate
        env = math.sin(math.pi * t) ** 0.6  # syllable-rate amplitude modulation
        voiced = sum(g * math.sin(k * phase + p) for k, g, p in harmonics) / norm
        noise = rng.uniform(-0.5, 0.5) * (1 - i / onset) if i < onset else 0.0
        out[i] = round(full_scale * _PEAK * env * (voiced * 2.2 + noise))
    return out


@lru_cache(maxsize=32)
def syllable_bank(voice: Voice, sample_rate: int, full_scale: int = 32767) -> tuple[array.array[int], ...]:
    """The precomputed syllables of a voice at a sample rate (built once per process, deterministic)."""
    rng = random.Random(f"{voice.seed}:{voice.pitch_hz}:{sample_rate}")
    return tuple(_syllable(rng, voice, sample_rate, full_scale) for _ in range(_BANK_SIZE))


def speech(voice: Voice, n_samples: int, sample_rate: int, rng: random.Random) -> array.array[int]:
    """Exactly `n_samples` of speech-like audio: words of 1-3 syllables with short pauses between words."""
    bank = syllable_bank(voice, sample_rate)
    shortest = min(len(s) for s in bank)
    out = array.array("h")
    syllables_left_in_word = rng.randint(1, 3)
    while len(out) < n_samples:
        room = n_samples - len(out)
        if room < shortest:
            out.extend(array.array("h", bytes(2 * room)))
            break
        fitting = [s for s in bank if len(s) <= room]
        out.extend(rng.choice(fitting))
        syllables_left_in_word -= 1
        if syllables_left_in_word == 0:
            syllables_left_in_word = rng.randint(1, 3)
            pause = min(round(rng.uniform(0.03, 0.09) * sample_rate), max(0, n_samples - len(out) - shortest))
            out.extend(array.array("h", bytes(2 * pause)))
    return out

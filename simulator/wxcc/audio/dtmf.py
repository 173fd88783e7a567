"""DTMF tones: synthesize digit sequences and detect them again (Goertzel), robust to resampling, noise and mixing."""

from __future__ import annotations

import array
import math
import sys
import wave
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from io import BytesIO
from operator import add, mul

DIGITS = "123A456B789C*0#D"
LOW_HZ = (697.0, 770.0, 852.0, 941.0)
HIGH_HZ = (1209.0, 1336.0, 1477.0, 1633.0)
_DIGIT_FREQS = {DIGITS[r * 4 + c]: (LOW_HZ[r], HIGH_HZ[c]) for r in range(4) for c in range(4)}

TONE_S = 0.07
"""Length of one tone. With `GAP_S` this leaves every tone two detection blocks and every gap one quiet block."""
GAP_S = 0.06
"""Silence after each tone (also what separates two equal digits)."""
BLOCK_S = 0.0256
"""Analysis block: 205 samples at 8 kHz, the classic DTMF detector length (39 Hz resolution)."""
AMPLITUDE = 0.3
"""Peak of each of the two sine components, as a fraction of full scale."""

_MIN_TONE_RATIO = 0.6  # the two tones must hold this share of a block's energy
_MAX_TWIST = 6.0  # allowed power ratio between the high and low tone, either way
_MIN_RMS = 0.005  # relative to the loudest block: quieter blocks are silence


@dataclass(frozen=True)
class DtmfTone:
    """One detected digit and where it sounded, in seconds from the start of the signal."""

    digit: str
    start_s: float
    end_s: float


def sequence_duration(digits: str) -> float:
    """Seconds that `tone_sequence(digits, ...)` lasts."""
    return len(digits) * (TONE_S + GAP_S)


@lru_cache(maxsize=128)
def _tone(digit: str, sample_rate: int, peak: int) -> array.array[int]:
    low, high = _DIGIT_FREQS[digit]
    n = round(TONE_S * sample_rate)
    ramp = max(1, round(0.004 * sample_rate))  # 4 ms raised-cosine edges: no clicks, no splatter
    out = array.array("h", bytes(2 * n))
    w1, w2 = 2 * math.pi * low / sample_rate, 2 * math.pi * high / sample_rate
    for i in range(n):
        edge = min(i, n - 1 - i)
        gain = 1.0 if edge >= ramp else 0.5 - 0.5 * math.cos(math.pi * edge / ramp)
        out[i] = round(peak * gain * (math.sin(w1 * i) + math.sin(w2 * i)))
    return out


def tone_sequence(digits: str, sample_rate: int, *, full_scale: int = 32767) -> array.array[int]:
    """16-bit mono PCM of `digits` as DTMF: each tone `TONE_S` long followed by `GAP_S` of silence."""
    unknown = set(digits) - set(DIGITS)
    if unknown:
        raise ValueError(f"not DTMF digits: {sorted(unknown)}")
    gap = array.array("h", bytes(2 * round(GAP_S * sample_rate)))
    out = array.array("h")
    for digit in digits:
        out.extend(_tone(digit, sample_rate, round(AMPLITUDE * full_scale)))
        out.extend(gap)
    return out


def _mono_8k(samples: Sequence[float] | bytes, sample_rate: int) -> tuple[Sequence[float], int]:
    """Mono samples, mixed down and box-filtered to 8 kHz when the rate is a multiple of it (DTMF lives below 1.7 kHz).

    Bytes are raw 16-bit little-endian mono PCM, or a whole WAV file (its own rate and channels then apply).
    """
    pcm: Sequence[float] = samples if not isinstance(samples, bytes | bytearray | memoryview) else ()
    channels = 1
    if isinstance(samples, bytes | bytearray | memoryview):
        data = bytes(samples)
        if data[:4] == b"RIFF":
            with wave.open(BytesIO(data)) as wav:
                if wav.getsampwidth() != 2:
                    raise ValueError("only 16-bit PCM WAV is supported")
                channels, sample_rate = wav.getnchannels(), wav.getframerate()
                data = wav.readframes(wav.getnframes())
        pcm = _pcm16(data)
    factor = sample_rate // 8000 if sample_rate % 8000 == 0 and sample_rate >= 16000 else 1
    step = channels * factor
    if step == 1:
        return pcm, sample_rate
    columns = [pcm[k::step] for k in range(step)]
    n = min(len(c) for c in columns)
    mixed: Sequence[float] = columns[0][:n]
    for column in columns[1:]:
        mixed = list(map(add, mixed, column[:n]))
    return mixed, sample_rate // factor


def _pcm16(data: bytes) -> array.array[int]:
    pcm = array.array("h")
    pcm.frombytes(data[: len(data) // 2 * 2])
    if sys.byteorder == "big":
        pcm.byteswap()
    return pcm


@lru_cache(maxsize=16)
def _tables(sample_rate: int, n: int) -> tuple[tuple[list[float], list[float]], ...]:
    """Cosine and sine tables, one pair per DTMF frequency (low group first), at each frequency exactly (no bins)."""
    out = []
    for f in LOW_HZ + HIGH_HZ:
        w = 2 * math.pi * f / sample_rate
        out.append(([math.cos(w * i) for i in range(n)], [math.sin(w * i) for i in range(n)]))
    return tuple(out)


def _block_digit(block: Sequence[float], energy: float, tables: tuple[tuple[list[float], list[float]], ...]) -> str:
    """The digit sounding in one block, or "" when the block is not a clean dual tone."""
    n = len(block)

    def power(k: int) -> float:
        cos_t, sin_t = tables[k]
        re: float = sum(map(mul, block, cos_t))
        im: float = sum(map(mul, block, sin_t))
        return 2.0 * (re * re + im * im) / n  # ≈ the energy the sinusoid contributes to the block

    low = [power(k) for k in range(4)]
    best_low = max(range(4), key=low.__getitem__)
    if low[best_low] < energy * _MIN_TONE_RATIO / (1 + _MAX_TWIST):
        return ""
    high = [power(k) for k in range(4, 8)]
    best_high = max(range(4), key=high.__getitem__)
    p_low, p_high = low[best_low], high[best_high]
    if p_low + p_high < _MIN_TONE_RATIO * energy:
        return ""
    if p_high > _MAX_TWIST * p_low or p_low > _MAX_TWIST * p_high:
        return ""
    return DIGITS[best_low * 4 + best_high]


def detect_dtmf(samples: Sequence[float] | bytes, sample_rate: int) -> list[DtmfTone]:
    """Every DTMF digit in a mono signal with its timing (bytes: 16-bit LE PCM, or a WAV file mixed to mono)."""
    signal, rate = _mono_8k(samples, sample_rate)
    n = round(BLOCK_S * rate)
    if len(signal) < n:
        return []
    tables = _tables(rate, n)
    blocks = [signal[i : i + n] for i in range(0, len(signal) - n + 1, n)]
    energies = [sum(map(mul, b, b)) for b in blocks]
    floor = max(energies) * _MIN_RMS * _MIN_RMS
    labels = [_block_digit(b, e, tables) if e > floor and e > 0 else "" for b, e in zip(blocks, energies, strict=True)]

    tones: list[DtmfTone] = []
    start = 0
    for i in range(1, len(labels) + 1):
        if i < len(labels) and labels[i] == labels[start]:
            continue
        if labels[start] and i - start >= 2:  # at least two blocks in a row: speech never holds a dual tone that long
            tones.append(DtmfTone(labels[start], start * n / rate, i * n / rate))
        start = i
    return tones


def decode_dtmf(samples: Sequence[float] | bytes, sample_rate: int) -> list[str]:
    """The DTMF digits in a mono signal, in order (bytes: 16-bit LE PCM, or a WAV file mixed to mono)."""
    return [tone.digit for tone in detect_dtmf(samples, sample_rate)]

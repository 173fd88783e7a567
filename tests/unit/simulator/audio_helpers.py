"""Signal helpers for the simulator's audio tests: RMS, linear resampling, noise, mixing."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence


def rms(samples: Sequence[float]) -> float:
    """Root mean square of a signal (0 for an empty one)."""
    return math.sqrt(sum(x * x for x in samples) / len(samples)) if samples else 0.0


def upsample_linear(samples: Sequence[float], factor: int) -> list[float]:
    """Integer-factor upsampling by linear interpolation (what a cheap resampler does)."""
    out: list[float] = []
    for a, b in zip(samples, [*samples[1:], samples[-1]], strict=True):
        out.extend(a + (b - a) * k / factor for k in range(factor))
    return out


def add_noise(samples: Sequence[float], sigma: float, seed: int = 1) -> list[float]:
    """The signal plus white Gaussian noise."""
    rng = random.Random(seed)
    return [x + rng.gauss(0, sigma) for x in samples]


def mix(a: Sequence[float], b: Sequence[float]) -> list[float]:
    """Mono mix-down of two channels (their mean)."""
    return [(x + y) / 2 for x, y in zip(a, b, strict=True)]

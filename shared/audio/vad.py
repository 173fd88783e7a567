"""Energy-based voice activity detection: frame RMS in dBFS against an adaptive noise floor, with onset and hangover.

The noise floor is the quietest 100 ms stretch of the last `floor_window_s` seconds (a sliding minimum), so it follows
a line that gets noisier or quieter within that window while a party who is talking keeps it down with the short
pauses every speaker makes. Until a full window has been seen, `initial_floor_dbfs` also counts: an unexpectedly noisy
line is then kept rather than trimmed, which costs a little money and loses nothing. For the same reason the floor never
rises above `max_floor_dbfs`: a steady loud sound (a tone, music, a speaker who never pauses) that would otherwise
become the "noise floor" after a window is kept, never trimmed.
"""

from __future__ import annotations

import math
from array import array
from collections import deque
from dataclasses import dataclass
from operator import mul
from typing import NamedTuple

from shared.audio.models import SAMPLE_RATE

_FULL_SCALE_SQ = 32768.0**2
_SILENT_DB = -100.0
_SUBBLOCK_FRAMES = 5  # 100 ms at 20 ms frames: what the noise floor tracks, so one dropped-out frame cannot sink it
_BLOCK_SUBBLOCKS = 10  # the sliding minimum moves in 1 s steps
_ENERGY_STRIDE = 2  # every other sample estimates a frame's power just as well, at half the cost


@dataclass(frozen=True, slots=True)
class VadConfig:
    """Tuning of the detector; the defaults suit telephone speech."""

    frame_s: float = 0.02
    margin_db: float = 10.0  # speech is at least this far above the noise floor...
    min_speech_dbfs: float = -50.0  # ...and never quieter than this
    initial_floor_dbfs: float = -60.0
    max_floor_dbfs: float = -35.0  # so anything louder than max_floor_dbfs + margin_db is always speech
    floor_window_s: float = 20.0
    onset_frames: int = 2  # consecutive loud frames that start speech (a lone click does not)
    hangover_s: float = 0.1  # speech continues this long after the last loud frame


class VadFrame(NamedTuple):
    """One analysis frame of a channel: where it starts (sample index at 16 kHz), its samples, and the verdict."""

    start: int
    samples: array[int]
    speech: bool


def frame_dbfs(samples: array[int]) -> float:
    """Mean power of a frame in dBFS (a full-scale square wave is 0 dBFS, digital silence -100)."""
    strided = samples[::_ENERGY_STRIDE]
    if not strided:
        return _SILENT_DB
    mean_sq = sum(map(mul, strided, strided)) / len(strided)
    return _power_db(mean_sq)


def _power_db(mean_sq: float) -> float:
    return 10.0 * math.log10(mean_sq / _FULL_SCALE_SQ) if mean_sq > 0 else _SILENT_DB


class EnergyVad:
    """Streaming detector for one channel: push any number of samples, get back whole labelled frames in order."""

    def __init__(self, config: VadConfig | None = None, *, rate: int = SAMPLE_RATE) -> None:
        self._config = config or VadConfig()
        self._frame_len = max(1, round(self._config.frame_s * rate))
        frame_s = self._frame_len / rate
        self._hangover_frames = round(self._config.hangover_s / frame_s)
        self._onset_frames = max(1, self._config.onset_frames)
        window_blocks = max(1, round(self._config.floor_window_s / (frame_s * _SUBBLOCK_FRAMES * _BLOCK_SUBBLOCKS)))
        self._warmup_blocks = window_blocks
        self._pending = array("h")
        self._next_start = 0
        # Noise floor state.
        self._sub_energy = 0.0
        self._sub_frames = 0
        self._block_min = math.inf
        self._block_subs = 0
        self._blocks: deque[float] = deque(maxlen=window_blocks)
        self._window_min = self._config.initial_floor_dbfs
        # Speech state.
        self._in_speech = False
        self._quiet_run = 0
        self._held: list[VadFrame] = []  # loud frames not yet confirmed as speech onset

    @property
    def noise_floor_dbfs(self) -> float:
        """The current noise floor estimate."""
        return min(self._window_min, self._block_min, self._config.max_floor_dbfs)

    def push(self, samples: array[int]) -> list[VadFrame]:
        """Add samples; return the frames that are now decided (possibly none)."""
        self._pending.extend(samples)
        out: list[VadFrame] = []
        n = self._frame_len
        pos = 0
        while len(self._pending) - pos >= n:
            self._classify(self._pending[pos : pos + n], out)
            pos += n
        if pos:
            del self._pending[:pos]
        return out

    def finish(self) -> list[VadFrame]:
        """Flush the last partial frame and any undecided frames at the end of the channel."""
        out: list[VadFrame] = []
        if self._pending:
            self._classify(self._pending, out)
            self._pending = array("h")
        out.extend(frame._replace(speech=False) for frame in self._held)
        self._held = []
        return out

    def _classify(self, samples: array[int], out: list[VadFrame]) -> None:
        start = self._next_start
        self._next_start += len(samples)
        db = frame_dbfs(samples)
        threshold = max(self.noise_floor_dbfs + self._config.margin_db, self._config.min_speech_dbfs)
        self._track_floor(db)
        loud = db > threshold
        frame = VadFrame(start, samples, loud)
        if self._in_speech:
            if loud:
                self._quiet_run = 0
            else:
                self._quiet_run += 1
                if self._quiet_run > self._hangover_frames:
                    self._in_speech = False
            out.append(frame if loud else frame._replace(speech=self._in_speech))
            return
        if not loud:
            out.extend(held._replace(speech=False) for held in self._held)
            self._held = []
            out.append(frame)
            return
        self._held.append(frame)
        if len(self._held) >= self._onset_frames:
            out.extend(self._held)
            self._held = []
            self._in_speech = True
            self._quiet_run = 0

    def _track_floor(self, db: float) -> None:
        self._sub_energy += 10.0 ** (db / 10.0)
        self._sub_frames += 1
        if self._sub_frames < _SUBBLOCK_FRAMES:
            return
        self._block_min = min(self._block_min, 10.0 * math.log10(self._sub_energy / self._sub_frames))
        self._sub_energy = 0.0
        self._sub_frames = 0
        self._block_subs += 1
        if self._block_subs < _BLOCK_SUBBLOCKS:
            return
        self._blocks.append(self._block_min)
        self._block_min = math.inf
        self._block_subs = 0
        self._window_min = min(self._blocks)
        if self._warmup_blocks > 0:
            self._warmup_blocks -= 1
            if self._warmup_blocks > 0:
                self._window_min = min(self._window_min, self._config.initial_floor_dbfs)

"""The results of audio preparation: chunks on disk and how their time maps back to the call's timeline."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

SAMPLE_RATE = 16_000
"""Every prepared channel is 16 kHz mono: what the transcription models work at internally."""


class Span(NamedTuple):
    """A stretch of kept audio: `length_s` seconds at `chunk_start_s` in the chunk are `call_start_s` in the call."""

    chunk_start_s: float
    call_start_s: float
    length_s: float


@dataclass(frozen=True, slots=True)
class Chunk:
    """One encoded file to upload: Ogg/Opus, 16 kHz mono, with the spans that map its time to call time."""

    path: Path
    duration_s: float
    spans: list[Span]
    size_bytes: int = 0

    def to_call_time(self, t: float, *, end: bool = False) -> float:
        """Call time of chunk time `t` (see `to_call_time`)."""
        return to_call_time(self, t, end=end)


@dataclass(frozen=True, slots=True)
class PreparedChannel:
    """The chunks of one channel (e.g. customer or agent), in call order; none if the channel is all silence."""

    label: str
    chunks: list[Chunk] = field(default_factory=list)

    @property
    def kept_s(self) -> float:
        """Seconds of audio kept on this channel (what transcription will bill)."""
        return sum(chunk.duration_s for chunk in self.chunks)


@dataclass(frozen=True, slots=True)
class PreparedAudio:
    """A recording ready to transcribe: one entry per channel, its length, and how much of it was kept."""

    channels: list[PreparedChannel]
    source_duration_s: float
    kept_s: float

    @property
    def kept_ratio(self) -> float:
        """Kept seconds over all channels ÷ the recording's length (0 for an empty recording)."""
        return self.kept_s / self.source_duration_s if self.source_duration_s > 0 else 0.0


def to_call_time(chunk: Chunk, t: float, *, end: bool = False) -> float:
    """Map a time in `chunk` (e.g. a transcript segment's start) to the original call's timeline.

    A time exactly on the border between two spans maps to the start of the later span (where speech resumes after a
    dropped silence); pass `end=True` for segment end times to map it to the end of the earlier span instead. Times
    before the first span or past the last one are extrapolated from the nearest span (models round their timestamps).
    """
    spans = chunk.spans
    if not spans:
        raise ValueError(f"chunk {chunk.path.name} has no spans")
    starts = [span.chunk_start_s for span in spans]
    index = (bisect.bisect_left(starts, t) if end else bisect.bisect_right(starts, t)) - 1
    span = spans[max(index, 0)]
    return span.call_start_s + (t - span.chunk_start_s)

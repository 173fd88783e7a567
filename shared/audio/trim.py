"""Drop silences longer than a threshold from a channel's labelled frames, keeping a pad of silence around speech."""

from __future__ import annotations

from collections import deque

from shared.audio.models import SAMPLE_RATE
from shared.audio.vad import VadFrame


class SilenceTrimmer:
    """Streaming: push labelled frames in order, get back the frames to keep (with their original positions).

    A gap between two stretches of speech is kept whole when it lasts at most `min_silence_s` (so words and short
    pauses stay together); a longer one keeps only `pad_s` after the speech before it and `pad_s` before the speech
    after it. Silence before the first speech and after the last keeps only the pad next to speech. Memory is bounded
    by `max(min_silence_s, 2 * pad_s)` of audio.
    """

    def __init__(self, *, min_silence_s: float, pad_s: float, rate: int = SAMPLE_RATE) -> None:
        self._pad = round(pad_s * rate)
        self._drop_after = max(round(min_silence_s * rate), 2 * self._pad)
        self._heard_speech = False
        self._long_gap = False
        # Silence since the last speech while the gap may still be kept whole.
        self._gap: deque[VadFrame] = deque()
        self._gap_samples = 0
        # In a long gap (or before any speech): the most recent `pad` of silence, the lead-in to the next speech.
        self._lead: deque[VadFrame] = deque()
        self._lead_samples = 0

    def push(self, frame: VadFrame) -> list[VadFrame]:
        """Add the next frame; return the frames that are now known to be kept."""
        if frame.speech:
            kept = list(self._gap) if self._heard_speech and not self._long_gap else list(self._lead)
            kept.append(frame)
            self._reset_gap()
            self._heard_speech = True
            return kept
        if not self._heard_speech or self._long_gap:
            self._add_lead(frame)
            return []
        self._gap.append(frame)
        self._gap_samples += len(frame.samples)
        if self._gap_samples <= self._drop_after:
            return []
        # The gap is too long to keep: release the pad after the speech, keep the tail as the next lead-in.
        self._long_gap = True
        return self._take_tail_pad()

    def finish(self) -> list[VadFrame]:
        """The end of the channel: the pad after the last speech, if its gap was still open."""
        kept = self._take_tail_pad() if self._heard_speech and not self._long_gap else []
        self._reset_gap()
        return kept

    def _take_tail_pad(self) -> list[VadFrame]:
        kept: list[VadFrame] = []
        taken = 0
        while self._gap and taken < self._pad:
            frame = self._gap.popleft()
            kept.append(frame)
            taken += len(frame.samples)
        for frame in self._gap:
            self._add_lead(frame)
        self._gap.clear()
        self._gap_samples = 0
        return kept

    def _add_lead(self, frame: VadFrame) -> None:
        self._lead.append(frame)
        self._lead_samples += len(frame.samples)
        while self._lead and self._lead_samples - len(self._lead[0].samples) >= self._pad:
            self._lead_samples -= len(self._lead.popleft().samples)

    def _reset_gap(self) -> None:
        self._gap.clear()
        self._gap_samples = 0
        self._lead.clear()
        self._lead_samples = 0
        self._long_gap = False

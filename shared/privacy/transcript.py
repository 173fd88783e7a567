"""Redaction of a whole transcript: each speaker's segments as one stream, counts per kind, the redacted time spans."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from shared.privacy.redact import redact_texts
from shared.transcripts import Transcript

PAD_S = 0.25
"""Audio muted either side of a redacted stretch (segment times are estimated per character, not per word)."""


@dataclass(frozen=True)
class TimeSpan:
    """A redacted stretch of one speaker on one leg, seconds on the call's timeline."""

    leg: str
    speaker: str
    start: float
    end: float


def redact_transcript(transcript: Transcript) -> tuple[Transcript, list[TimeSpan]]:
    """The transcript with every secret replaced by its placeholder and `redactions` counted (added to any counts
    it already had), and where in the audio each redacted piece was said."""
    segments = list(transcript.segments)
    counts: Counter[str] = Counter(transcript.redactions)
    spans: list[TimeSpan] = []
    streams: dict[tuple[str, str], list[int]] = {}
    for i, segment in enumerate(segments):
        streams.setdefault((segment.leg, segment.speaker), []).append(i)
    for (leg, speaker), members in streams.items():
        result = redact_texts([segments[i].text for i in members])
        counts.update(result.counts)
        for n, i in enumerate(members):
            if result.texts[n] != segments[i].text:
                segments[i] = segments[i].model_copy(update={"text": result.texts[n]})
        for span in result.spans:
            seg = transcript.segments[members[span.segment]]
            length = max(1, len(seg.text))
            duration = seg.end - seg.start
            start = seg.start + duration * span.start / length - PAD_S
            end = seg.start + duration * span.end / length + PAD_S
            spans.append(TimeSpan(leg, speaker, round(max(seg.start - PAD_S, start, 0.0), 3), round(end, 3)))
    redacted = transcript.model_copy(update={"segments": segments, "redactions": dict(sorted(counts.items()))})
    return redacted, spans

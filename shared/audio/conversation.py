"""Conversation metrics of a call (talk, silence, overtalk, turns) from each party's voice activity; no LLM involved.

The voice activity is the one audio preparation already computed to trim silences: each chunk's spans are the kept
audio on the call's timeline, that is the detected speech plus `pad_s` of silence on each side of it, with pauses no
longer than `min_silence_s` kept whole. `speech_from_spans` removes the pads again, so a party's speech is exact to
the detector's 20 ms frames and 0.1 s hangover, except that a pause shorter than `min_silence_s` inside one party's
speech counts as talk (the usual convention: a breath is not a silence). Everything here is pure and picklable, so it
may run in the audio process pool or in the worker.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from pydantic import BaseModel, Field

from shared.audio.models import Span

Interval = tuple[float, float]
_EPS = 1e-6


class ConversationMetrics(BaseModel):
    """Talk and silence of one call, in seconds on the call's timeline (all legs together)."""

    duration_s: float = Field(ge=0, description="the call's length")
    talk_s: dict[str, float] = Field(description="seconds each party spoke, by speaker label")
    silence_s: float = Field(ge=0, description="seconds nobody spoke")
    silence_ratio: float = Field(ge=0, le=1, description="silence_s ÷ duration_s (0 for an empty call)")
    longest_silence_s: float = Field(ge=0)
    overtalk_s: float | None = Field(description="seconds two or more parties spoke at once; None with one channel")
    agent_talk_ratio: float | None = Field(
        description="agents' talk ÷ everyone's talk; None when no party is an agent or nobody spoke"
    )
    turns: int = Field(ge=0, description="runs of speech by one party, in the order they start")


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, non-overlapping intervals covering the same time (touching ones joined)."""
    out: list[Interval] = []
    for start, end in sorted(i for i in intervals if i[1] > i[0]):
        if out and start <= out[-1][1] + _EPS:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def speech_from_spans(
    spans: Iterable[Span], *, pad_s: float, duration_s: float, offset_s: float = 0.0
) -> list[Interval]:
    """One channel's speech on the call timeline from the spans of its chunks (in any order).

    Each stretch of kept audio is speech with `pad_s` of silence kept before and after it; the pads are removed,
    except before a stretch that starts at the recording's start or after one that reaches its end, where the
    trimmer may have had less than a pad to keep. `offset_s` moves a leg that started later onto the call's timeline.
    """
    kept = merge((s.call_start_s, s.call_start_s + s.length_s) for s in spans)
    speech: list[Interval] = []
    for start, end in kept:
        a = start if start <= _EPS else start + pad_s
        b = end if end >= duration_s - _EPS else end - pad_s
        if b > a:
            speech.append((round(a + offset_s, 3), round(b + offset_s, 3)))
    return speech


def conversation_metrics(speech: Mapping[str, Sequence[Interval]], duration_s: float) -> ConversationMetrics:
    """The metrics of a call from each speaker's speech intervals (seconds on the call's timeline)."""
    parties = {label: merge(intervals) for label, intervals in speech.items()}
    talk = {label: round(sum(b - a for a, b in ivs), 3) for label, ivs in parties.items()}
    anyone = merge(i for ivs in parties.values() for i in ivs)
    silences = _gaps(anyone, duration_s)
    silence = sum(b - a for a, b in silences)
    total_talk = sum(talk.values())
    agents = sum(v for label, v in talk.items() if label.startswith("agent"))
    has_agent = any(label.startswith("agent") for label in parties)
    return ConversationMetrics(
        duration_s=round(duration_s, 3),
        talk_s=talk,
        silence_s=round(silence, 3),
        silence_ratio=round(min(1.0, silence / duration_s), 4) if duration_s > 0 else 0.0,
        longest_silence_s=round(max((b - a for a, b in silences), default=0.0), 3),
        overtalk_s=round(_overlap(list(parties.values())), 3) if len(parties) > 1 else None,
        agent_talk_ratio=round(agents / total_talk, 4) if has_agent and total_talk > 0 else None,
        turns=_turns(parties),
    )


def _gaps(covered: list[Interval], duration_s: float) -> list[Interval]:
    """The parts of [0, duration_s] outside `covered` (merged intervals)."""
    gaps: list[Interval] = []
    at = 0.0
    for start, end in covered:
        if start > at + _EPS:
            gaps.append((at, min(start, duration_s)))
        at = max(at, end)
    if duration_s > at + _EPS:
        gaps.append((at, duration_s))
    return [(a, b) for a, b in gaps if b > a]


def _overlap(parties: list[list[Interval]]) -> float:
    """Seconds during which at least two parties speak (a sweep over every start and end)."""
    events = sorted([(a, 1) for ivs in parties for a, _ in ivs] + [(b, -1) for ivs in parties for _, b in ivs])
    active, since, total = 0, 0.0, 0.0
    for at, step in events:
        if active >= 2:
            total += at - since
        active += step
        since = at
    return total


def _turns(parties: Mapping[str, list[Interval]]) -> int:
    """Runs of consecutive speech intervals by the same speaker, ordered by start time."""
    ordered = sorted((a, label) for label, ivs in parties.items() for a, _ in ivs)
    turns, last = 0, None
    for _, label in ordered:
        if label != last:
            turns += 1
            last = label
    return turns

"""Lays dialogue lines out in time: the script of one recording, with each utterance's DTMF code and speech span."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from simulator.wxcc.audio.dtmf import sequence_duration
from simulator.wxcc.dialogue import SECONDS_PER_WORD, Line

LEAD_S = 0.3
"""Silence before the recording's tag."""
CODE_PAUSE_S = 0.1
"""Silence between an utterance's DTMF code and its speech."""
TAIL_S = 0.6
"""Silence after the last utterance."""
CODE_DIGITS = 3


@dataclass(frozen=True)
class Turn:
    """One utterance: who says what on which channel, its DTMF code and when code and speech sound (seconds)."""

    index: int
    speaker: str
    channel: int
    text: str
    code: str
    code_start_s: float
    start_s: float
    end_s: float

    def to_json(self) -> dict[str, Any]:
        """The turn as the script endpoint serves it."""
        return {
            "index": self.index,
            "speaker": self.speaker,
            "channel": self.channel,
            "text": self.text,
            "code": self.code,
            "codeStartS": self.code_start_s,
            "startS": self.start_s,
            "endS": self.end_s,
        }


@dataclass(frozen=True)
class RecordingScript:
    """Everything audible in one recording: its tag (DTMF on both channels at the start) and its turns."""

    tag: str
    speakers: tuple[str, str]
    turns: tuple[Turn, ...]
    duration_s: float
    hold_start_s: float | None = None


def utterance_code(index: int) -> str:
    """The DTMF digits that open utterance `index` of a call."""
    if not 0 <= index < 10**CODE_DIGITS:
        raise ValueError(f"utterance index out of range: {index}")
    return f"{index:0{CODE_DIGITS}d}"


def recording_tag(serial: int) -> str:
    """The DTMF digits that open a recording: `*`, its six-digit serial, `#`."""
    return f"*{serial % 10**6:06d}#"


def layout(
    lines: list[Line],
    *,
    speakers: tuple[str, str],
    first_index: int,
    tag: str,
    rng: random.Random,
    hold_s: float = 0.0,
) -> RecordingScript:
    """Place `lines` one after another with silences between turns; a `hold_after` line is followed by `hold_s`."""
    t = LEAD_S + sequence_duration(tag) + 0.4
    turns: list[Turn] = []
    hold_start: float | None = None
    for offset, line in enumerate(lines):
        index = first_index + offset
        code = utterance_code(index)
        code_start = round(t, 3)
        start = round(code_start + sequence_duration(code) + CODE_PAUSE_S, 3)
        end = round(start + max(0.5, len(line.text.split()) * SECONDS_PER_WORD), 3)
        channel = speakers.index(line.speaker) + 1
        turns.append(Turn(index, line.speaker, channel, line.text, code, code_start, start, end))
        t = end + rng.uniform(0.25, 0.9)
        if line.hold_after:
            hold_start = round(end + 0.3, 3)
            t = hold_start + hold_s + 0.5
    return RecordingScript(tag, speakers, tuple(turns), round(turns[-1].end_s + TAIL_S, 3), hold_start)

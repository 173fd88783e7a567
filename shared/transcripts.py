"""The transcript of a call: labelled, timed segments from every party, merged on the call's timeline."""

from __future__ import annotations

from pydantic import BaseModel, Field

from shared.audio.conversation import ConversationMetrics


class Segment(BaseModel):
    """One stretch of speech by one party, times in seconds from the start of the call."""

    speaker: str
    start: float = Field(ge=0)
    end: float = Field(ge=0)
    text: str
    leg: str = "main"  # main | consult


class Transcript(BaseModel):
    """What the transcribe stage stores for a call."""

    task_id: str
    model: str
    language: str | None = None
    segments: list[Segment] = Field(default_factory=list)
    call_seconds: float = 0.0
    billed_seconds: float = 0.0
    conversation: ConversationMetrics | None = None  # talk, silence, overtalk, turns (absent in older transcripts)
    redactions: dict[str, int] = Field(default_factory=dict)  # PCI/PII placeholders per kind (`shared.privacy`)

    def as_dialogue(self) -> str:
        """The transcript as `[mm:ss] speaker: text` lines, for the analysis prompt."""
        return "\n".join(
            f"[{int(s.start // 60):02}:{int(s.start % 60):02}] {s.speaker}: {s.text.strip()}" for s in self.segments
        )

"""The structured analysis of a call (`CallAnalysis`) and the versioned prompt that asks an LLM for it."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

PROMPT_VERSION = "2026-11-26.1"

SYSTEM_PROMPT = """You analyse recorded contact-centre calls for a quality and analytics team.
You get a transcript with one line per utterance: [mm:ss] speaker: text. Speakers are `agent` and `customer`
(`agent2` is a colleague on a consult leg). Use only what the transcript says; when something is not said, say so.
Quote evidence verbatim from the transcript for every compliance or QA flag."""

Sentiment = Literal["very_negative", "negative", "neutral", "positive", "very_positive"]


class QaFlag(BaseModel):
    """A compliance or quality observation, with the transcript words that support it."""

    model_config = ConfigDict(extra="forbid")

    flag: str = Field(description="short name, e.g. 'identity_not_verified', 'promised_callback'")
    severity: Literal["info", "warning", "critical"]
    evidence: str = Field(description="verbatim quote from the transcript")


class CallAnalysis(BaseModel):
    """What the analyze stage extracts from one call."""

    model_config = ConfigDict(extra="forbid")

    summary: str = Field(description="two or three sentences")
    reason_for_call: str
    topics: list[str]
    resolved: bool
    customer_sentiment: Sentiment
    agent_sentiment: Sentiment
    action_items: list[str]
    qa_flags: list[QaFlag]
    language: str = Field(description="ISO 639-1 code of the call's main language")


def user_prompt(dialogue: str) -> str:
    """The user message carrying the transcript."""
    return f"Transcript:\n{dialogue}\n\nAnalyse this call."

"""The per-call analytics record: what we know of one analysed call, joined from tracking, transcript and analysis."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from shared.audio.conversation import ConversationMetrics
from shared.config import Settings
from shared.transcripts import Transcript


class Leg(BaseModel):
    """One recording of the call and WXCC's labels of its two channels."""

    call_type: str
    channel1: str = ""
    channel2: str = ""
    start_ms: int | None = None


class QaFlagOut(BaseModel):
    """A QA flag of the analysis."""

    flag: str
    severity: str
    evidence: str = ""


class CallRecord(BaseModel):
    """One analysed call (the `record` item of the analytics table, and the API's call view)."""

    org_id: str
    task_id: str
    journey_id: str
    started_at: str | None = None
    ended_at: str = Field(description="ISO 8601 UTC; the analysis time when WXCC gave no end time")
    day: str = Field(description="UTC day of `ended_at`: the aggregates' day")
    duration_s: float
    queue: str | None = None
    agent: str | None = None
    agents: list[str] = Field(default_factory=list)
    direction: str | None = None
    consult_legs: int = 0
    legs: list[Leg] = Field(default_factory=list)
    summary: str
    reason_for_call: str
    topics: list[str]
    resolved: bool
    customer_sentiment: str
    agent_sentiment: str
    action_items: list[str] = Field(default_factory=list)
    qa_flags: list[QaFlagOut] = Field(default_factory=list)
    language: str
    pipeline_version: int
    prompt_version: str
    model: str
    billed_audio_s: float
    tokens_in: int
    tokens_out: int
    cost_usd: float = Field(description="estimated: billed audio minutes and tokens at the configured prices")
    conversation: ConversationMetrics | None = None
    analysis_key: str
    transcript_key: str | None = None
    analysed_at: str


def iso_ms(epoch_ms: int) -> str:
    """Fixed-width UTC ISO 8601 with milliseconds, so that strings sort like times."""
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def estimated_cost_usd(settings: Settings, billed_audio_s: float, tokens_in: int, tokens_out: int) -> float:
    """Transcription minutes and analysis tokens at the configured prices, to the micro-dollar."""
    cost = (
        billed_audio_s / 60 * settings.price_audio_per_minute_usd
        + tokens_in / 1e6 * settings.price_input_per_mtok_usd
        + tokens_out / 1e6 * settings.price_output_per_mtok_usd
    )
    return round(cost, 6)


def build_record(
    settings: Settings,
    *,
    org_id: str,
    task_id: str,
    journey_id: str,
    facts: dict[str, Any],
    recordings: list[dict[str, Any]],
    transcript: Transcript,
    transcript_key: str | None,
    document: dict[str, Any],
    analysis_key: str,
    now_ms: int,
) -> CallRecord:
    """The record of a call from its tracking row's facts and recordings, its transcript and its analysis document
    (the one the analyze stage stores)."""
    analysis = document["analysis"]
    starts = [int(r["start_ms"]) for r in recordings if r.get("start_ms")]
    stops = [int(r["stop_ms"]) for r in recordings if r.get("stop_ms")]
    started = min(starts) if starts else _int(facts.get("created_ms"))
    ended = _int(facts.get("ended_ms")) or (max(stops) if stops else None) or now_ms
    ended_at = iso_ms(ended)
    legs = [
        Leg(
            call_type=str(r.get("call_type") or "main"),
            channel1=str(r.get("channel1") or ""),
            channel2=str(r.get("channel2") or ""),
            start_ms=_int(r.get("start_ms")),
        )
        for r in recordings
    ]
    agent = facts.get("agent")
    tokens_in, tokens_out = int(document["tokens"]["prompt"]), int(document["tokens"]["completion"])
    billed = round(transcript.billed_seconds, 3)
    return CallRecord(
        org_id=org_id,
        task_id=task_id,
        journey_id=journey_id,
        started_at=iso_ms(started) if started else None,
        ended_at=ended_at,
        day=ended_at[:10],
        duration_s=round(transcript.call_seconds, 3),
        queue=facts.get("queue"),
        agent=agent,
        agents=[agent] if agent else [],
        direction=facts.get("direction"),
        consult_legs=sum(1 for leg in legs if leg.call_type != "main"),
        legs=legs,
        summary=analysis["summary"],
        reason_for_call=analysis["reason_for_call"],
        topics=list(analysis["topics"]),
        resolved=bool(analysis["resolved"]),
        customer_sentiment=analysis["customer_sentiment"],
        agent_sentiment=analysis["agent_sentiment"],
        action_items=list(analysis.get("action_items", [])),
        qa_flags=[QaFlagOut.model_validate(f) for f in analysis.get("qa_flags", [])],
        language=analysis["language"],
        pipeline_version=int(document["pipeline_version"]),
        prompt_version=str(document["prompt_version"]),
        model=str(document["model"]),
        billed_audio_s=billed,
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        cost_usd=estimated_cost_usd(settings, billed, tokens_in, tokens_out),
        conversation=transcript.conversation,
        analysis_key=analysis_key,
        transcript_key=transcript_key,
        analysed_at=iso_ms(now_ms),
    )


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) and value > 0 else None

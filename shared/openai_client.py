"""Adapters over the `openai` SDK: speech-to-text for one audio chunk, structured analysis of one transcript."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path

import openai
from openai import AsyncOpenAI

from shared.analysis import SYSTEM_PROMPT, CallAnalysis, user_prompt
from shared.config import Settings
from shared.errors import Permanent, Retryable

CLIENT_HEADER = "X-Callpipe-Process"
"""Sent with every request: the pid of the process that asks (no secret; lets the local fake, or a proxy's log, tell
which worker process a request came from — the chaos run matches it against the processes it SIGKILLed)."""

# Models that return timed segments (`verbose_json`); the gpt-4o transcribe models return text only.
_SEGMENT_MODELS = ("whisper-1",)


@dataclass(frozen=True)
class ChunkText:
    """Speech-to-text of one chunk: segments with times relative to the chunk."""

    segments: list[tuple[float, float, str]]
    language: str | None
    duration_s: float


@dataclass(frozen=True)
class AnalysisResult:
    analysis: CallAnalysis
    prompt_tokens: int
    completion_tokens: int


def openai_client(settings: Settings) -> AsyncOpenAI:
    """An `AsyncOpenAI` pointed at OpenAI or any compatible server (`OPENAI_BASE_URL`); the SDK retries 429/5xx."""
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else "not-needed-for-local-servers"
    return AsyncOpenAI(
        api_key=key,
        base_url=settings.openai_base_url,
        max_retries=2,
        timeout=300,
        default_headers={CLIENT_HEADER: str(os.getpid())},
    )


def _classify(exc: openai.OpenAIError) -> Exception:
    if isinstance(exc, openai.RateLimitError | openai.APIConnectionError | openai.InternalServerError):
        retry = None
        if isinstance(exc, openai.APIStatusError):
            value = exc.response.headers.get("retry-after")
            retry = float(value) if value and value.replace(".", "", 1).isdigit() else None
        return Retryable(f"OpenAI: {type(exc).__name__}: {exc}", retry_after=retry)
    if isinstance(exc, openai.APIStatusError) and exc.status_code in (408, 409):
        return Retryable(f"OpenAI {exc.status_code}: {exc}")
    return Permanent(f"OpenAI refused the request: {type(exc).__name__}: {exc}")


class Transcriber:
    """Transcribes audio chunks with bounded concurrency."""

    def __init__(self, client: AsyncOpenAI, model: str, concurrency: int) -> None:
        self._client = client
        self.model = model
        self._slots = asyncio.Semaphore(concurrency)

    async def transcribe(self, path: Path, duration_s: float, *, name: str | None = None) -> ChunkText:
        """Speech-to-text of one audio file (≤ 25 MB, within the model's duration limit), uploaded as `name`."""
        upload = name or path.name
        async with self._slots:
            try:
                with path.open("rb") as audio:
                    if self.model in _SEGMENT_MODELS:
                        verbose = await self._client.audio.transcriptions.create(
                            model=self.model,
                            file=(upload, audio),
                            response_format="verbose_json",
                            timestamp_granularities=["segment"],
                        )
                        segments = [(s.start, s.end, s.text) for s in verbose.segments or []]
                        return ChunkText(segments, verbose.language, float(verbose.duration or duration_s))
                    plain = await self._client.audio.transcriptions.create(
                        model=self.model, file=(upload, audio), response_format="json"
                    )
                    text = plain.text.strip()
                    return ChunkText([(0.0, duration_s, text)] if text else [], None, duration_s)
            except openai.OpenAIError as exc:
                raise _classify(exc) from exc


class Analyzer:
    """One structured-output call per transcript."""

    def __init__(self, client: AsyncOpenAI, model: str) -> None:
        self._client = client
        self.model = model

    async def analyse(self, dialogue: str) -> AnalysisResult:
        """A `CallAnalysis` of the transcript, with the tokens it cost."""
        try:
            completion = await self._client.chat.completions.parse(
                model=self.model,
                messages=[
                    {"role": "system", "content": SYSTEM_PROMPT},
                    {"role": "user", "content": user_prompt(dialogue)},
                ],
                response_format=CallAnalysis,
            )
        except openai.OpenAIError as exc:
            raise _classify(exc) from exc
        message = completion.choices[0].message
        if message.parsed is None:
            raise Permanent(f"the model returned no analysis: {message.refusal or 'empty answer'}")
        usage = completion.usage
        return AnalysisResult(
            message.parsed, usage.prompt_tokens if usage else 0, usage.completion_tokens if usage else 0
        )

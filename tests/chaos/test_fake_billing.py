"""The OpenAI fake's billing counters, which the chaos run's "nothing transcribed or analysed twice" rests on."""

from __future__ import annotations

import io
import math
import os
import struct
import time
import wave
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from shared.config import Settings
from shared.openai_client import CLIENT_HEADER, Transcriber, openai_client
from simulator.openai_fake.app import prompt_digest, running_openai_fake
from tests.helpers import eventually


def _tone_wav(seconds: float = 1.0, hz: float = 440.0) -> bytes:
    rate = 8000
    frames = b"".join(
        struct.pack("<h", int(8000 * math.sin(2 * math.pi * hz * n / rate))) for n in range(int(rate * seconds))
    )
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames)
    return out.getvalue()


async def _no_scripts(task_id: str) -> dict[str, str] | None:
    return None


async def _transcribe(
    http: httpx.AsyncClient,
    base: str,
    name: str,
    audio: bytes,
    timeout: float = 10,
    headers: dict[str, str] | None = None,
) -> int:
    resp = await http.post(
        f"{base}/audio/transcriptions",
        headers={"Authorization": "Bearer k", **(headers or {})},
        files={"file": (name, audio)},
        data={"model": "whisper-1"},
        timeout=timeout,
    )
    return resp.status_code


async def test_billed_only_when_answered_and_repeats_are_duplicates() -> None:
    audio = _tone_wav()
    async with running_openai_fake(_no_scripts) as fake, httpx.AsyncClient() as http:
        fake.faults.rate_limit_next = 1
        assert await _transcribe(http, fake.base_url, "t1.main.agent.0.ogg", audio) == 429
        assert fake.stats.transcriptions_by_task == {}, "a fault-injected 429 is not billed"
        assert await _transcribe(http, fake.base_url, "t1.main.agent.0.ogg", audio) == 200
        assert await _transcribe(http, fake.base_url, "t1.main.customer.0.ogg", _tone_wav(hz=880)) == 200
        assert fake.stats.duplicate_count() == 0
        assert await _transcribe(http, fake.base_url, "t1.main.agent.0.ogg", audio) == 200  # sent again
        assert fake.stats.duplicates()["chunks"] == {"t1|t1.main.agent.0.ogg": 2}
        assert len(fake.stats.duplicates()["audio"]) == 1
        assert fake.stats.transcription_duplicates() == 1

        fake.faults.reject_audio_tasks.add("bad")
        assert await _transcribe(http, fake.base_url, "bad.main.agent.0.ogg", audio) == 400
        assert "bad" not in fake.stats.transcriptions_by_task

        prompt = "Transcript:\nhello\n\nAnalyse this call."
        body = {"model": "m", "messages": [{"role": "user", "content": prompt}]}
        auth = {"Authorization": "Bearer k"}
        for _ in range(2):
            resp = await http.post(f"{fake.base_url}/chat/completions", json=body, headers=auth)
            assert resp.status_code == 200
        assert fake.stats.completions_by_prompt == {prompt_digest(prompt): 2}
        assert fake.stats.duplicate_count() == 2


async def test_a_request_whose_client_is_gone_is_not_billed() -> None:
    async with running_openai_fake(_no_scripts) as fake, httpx.AsyncClient() as http:
        fake.faults.delay_s = 1.0
        with pytest.raises(httpx.TimeoutException):
            await _transcribe(http, fake.base_url, "t2.main.agent.0.ogg", _tone_wav(), timeout=0.3)
        await eventually(lambda: fake.stats.abandoned.get("/v1/audio/transcriptions", 0) == 1, timeout=10)
        assert fake.stats.transcriptions_by_task == {}
        assert fake.stats.billed_seconds == 0


async def test_each_bill_names_the_process_that_asked_and_when_its_answer_was_written(tmp_path: Path) -> None:
    """The chaos run's attribution of a repeated request rests on these: the asking process (the pid our OpenAI client
    sends in every request) and the moment the answer had been written to it, on the clock the run's kills use."""
    audio = tmp_path / "t3.main.agent.0.ogg"
    audio.write_bytes(_tone_wav())
    async with running_openai_fake(_no_scripts) as fake:
        settings = Settings(
            openai_base_url=fake.base_url, openai_api_key=SecretStr("k"), transcription_model="whisper-1"
        )
        async with openai_client(settings) as client:
            before = time.monotonic()
            await Transcriber(client, "whisper-1", 1).transcribe(audio, 1.0, name="t3.main.agent.0.ogg")
            after = time.monotonic()
        async with httpx.AsyncClient() as http:
            assert await _transcribe(http, fake.base_url, "t3.main.agent.1.ogg", _tone_wav(hz=880)) == 200
        first, second = fake.stats.bills
    assert (first.key, first.client) == ("t3|t3.main.agent.0.ogg", str(os.getpid()))
    assert before < first.answered_at < after
    assert second.client.startswith("peer:127.0.0.1:"), "without the header, the peer's address names the client"
    assert first.answered_at < second.answered_at


async def test_an_answer_the_client_never_reads_is_billed_only_once_written(tmp_path: Path) -> None:
    """A request whose client has gone before the answer is written is not billed, and leaves no bill record."""
    async with running_openai_fake(_no_scripts) as fake, httpx.AsyncClient() as http:
        fake.faults.delay_s = 1.0
        with pytest.raises(httpx.TimeoutException):
            await _transcribe(http, fake.base_url, "t4.main.agent.0.ogg", _tone_wav(), 0.3, {CLIENT_HEADER: "4242"})
        await eventually(lambda: fake.stats.abandoned.get("/v1/audio/transcriptions", 0) == 1, timeout=10)
        assert fake.stats.bills == []

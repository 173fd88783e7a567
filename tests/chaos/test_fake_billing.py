"""The OpenAI fake's billing counters, which the chaos run's "nothing transcribed or analysed twice" rests on."""

from __future__ import annotations

import io
import math
import struct
import wave

import httpx
import pytest

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


async def _transcribe(http: httpx.AsyncClient, base: str, name: str, audio: bytes, timeout: float = 10) -> int:
    resp = await http.post(
        f"{base}/audio/transcriptions",
        headers={"Authorization": "Bearer k"},
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

        body = {"model": "m", "messages": [{"role": "user", "content": "Transcript:\nhello\n\nAnalyse this call."}]}
        auth = {"Authorization": "Bearer k"}
        for _ in range(2):
            resp = await http.post(f"{fake.base_url}/chat/completions", json=body, headers=auth)
            assert resp.status_code == 200
        assert fake.stats.completions_by_prompt == {prompt_digest(body["messages"][0]["content"]): 2}
        assert fake.stats.duplicate_count() == 2


async def test_a_request_whose_client_is_gone_is_not_billed() -> None:
    async with running_openai_fake(_no_scripts) as fake, httpx.AsyncClient() as http:
        fake.faults.delay_s = 1.0
        with pytest.raises(httpx.TimeoutException):
            await _transcribe(http, fake.base_url, "t2.main.agent.0.ogg", _tone_wav(), timeout=0.3)
        await eventually(lambda: fake.stats.abandoned.get("/v1/audio/transcriptions", 0) == 1, timeout=10)
        assert fake.stats.transcriptions_by_task == {}
        assert fake.stats.billed_seconds == 0

"""The fake's aiohttp app: transcriptions answered from the simulator's scripts, schema-true chat completions,
fault injection and billing counters at `/api/v1/simulator/openai/*`."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from aiohttp import web

from simulator.openai_fake.audio import decode_audio, find_codes
from simulator.openai_fake.schema_fill import fill

ScriptSource = Callable[[str], Awaitable[dict[str, str] | None]]
"""task id → {utterance code: text}, or None for an unknown call."""

CODE_PAUSE_S = 0.1  # the simulator's silence between an utterance's code and its speech


@dataclass
class Faults:
    """What to do wrong next: counts of 429s and 500s still to serve, and a delay for every request."""

    rate_limit_next: int = 0
    retry_after_s: float = 1.0
    server_error_next: int = 0
    delay_s: float = 0.0


@dataclass
class Stats:
    """What the fake served: requests per endpoint, audio seconds billed (per task), faults injected."""

    requests: Counter[str] = field(default_factory=Counter)
    billed_seconds: float = 0.0
    billed_by_task: dict[str, float] = field(default_factory=dict)
    transcriptions_by_task: Counter[str] = field(default_factory=Counter)
    completions: int = 0
    faults: Counter[str] = field(default_factory=Counter)

    def to_json(self) -> dict[str, Any]:
        return {
            "requests": dict(self.requests),
            "billed_seconds": round(self.billed_seconds, 3),
            "billed_by_task": {k: round(v, 3) for k, v in self.billed_by_task.items()},
            "transcriptions_by_task": dict(self.transcriptions_by_task),
            "completions": self.completions,
            "faults": dict(self.faults),
        }


STATS = web.AppKey("stats", Stats)
FAULTS = web.AppKey("faults", Faults)


def http_script_source(wxcc_simulator_url: str) -> ScriptSource:
    """Look scripts up on a running WXCC simulator (`GET /api/v1/simulator/calls/{task}/script`)."""

    async def lookup(task_id: str) -> dict[str, str] | None:
        async with httpx.AsyncClient(timeout=10) as http:
            resp = await http.get(f"{wxcc_simulator_url.rstrip('/')}/api/v1/simulator/calls/{task_id}/script")
        if resp.status_code != 200:
            return None
        return {str(t["code"]): str(t["text"]) for t in _turns(resp.json())}

    return lookup


def _turns(value: Any) -> list[dict[str, Any]]:
    """Every `turns` entry anywhere in a script document."""
    if isinstance(value, dict):
        found = [t for t in value.get("turns", []) if isinstance(t, dict)]
        return found + [t for k, v in value.items() if k != "turns" for t in _turns(v)]
    if isinstance(value, list):
        return [t for v in value for t in _turns(v)]
    return []


def _error(status: int, message: str, kind: str, headers: dict[str, str] | None = None) -> web.Response:
    body = {"error": {"message": message, "type": kind, "param": None, "code": None}}
    return web.json_response(body, status=status, headers=headers)


def create_app(scripts: ScriptSource) -> web.Application:
    """The fake OpenAI server."""
    app = web.Application(client_max_size=26 * 1024 * 1024)
    faults = Faults()
    stats = Stats()

    @web.middleware
    async def openai_behaviour(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if not request.path.startswith("/v1/"):
            return await handler(request)
        stats.requests[request.path] += 1
        if not request.headers.get("Authorization", "").startswith("Bearer "):
            return _error(401, "You didn't provide an API key.", "invalid_request_error")
        if faults.delay_s:
            await asyncio.sleep(faults.delay_s)
        if faults.rate_limit_next > 0:
            faults.rate_limit_next -= 1
            stats.faults["rate_limit"] += 1
            return _error(429, "Rate limit reached", "requests", headers={"retry-after": str(faults.retry_after_s)})
        if faults.server_error_next > 0:
            faults.server_error_next -= 1
            stats.faults["server_error"] += 1
            return _error(500, "The server had an error while processing your request.", "server_error")
        return await handler(request)

    app.middlewares.append(openai_behaviour)

    async def transcriptions(request: web.Request) -> web.Response:
        form = await request.post()
        upload = form.get("file")
        if not isinstance(upload, web.FileField):
            return _error(400, "file is required", "invalid_request_error")
        data = upload.file.read()
        if len(data) > 25 * 1024 * 1024:
            return _error(413, "Maximum content size limit (26214400) exceeded", "invalid_request_error")
        try:
            pcm, duration = decode_audio(data)
        except ValueError as exc:
            return _error(400, f"Audio file might be corrupted or unsupported: {exc}", "invalid_request_error")
        task_id = upload.filename.split(".", 1)[0]
        stats.billed_seconds += duration
        stats.billed_by_task[task_id] = stats.billed_by_task.get(task_id, 0.0) + duration
        stats.transcriptions_by_task[task_id] += 1
        texts = await scripts(task_id) or {}
        segments: list[dict[str, Any]] = []
        for code in find_codes(pcm):
            text = texts.get(code.digits)
            if text is None:
                continue
            start = code.end_s + CODE_PAUSE_S
            end = min(duration, start + max(0.5, 0.4 * len(text.split())))
            segments.append({"start": round(start, 3), "end": round(end, 3), "text": text})
        full = " ".join(s["text"] for s in segments)
        fmt = str(form.get("response_format", "json"))
        if fmt == "text":
            return web.Response(text=full)
        if fmt == "verbose_json":
            return web.json_response(
                {
                    "task": "transcribe",
                    "language": "english",
                    "duration": round(duration, 3),
                    "text": full,
                    "segments": [
                        {
                            "id": i,
                            "seek": 0,
                            "start": s["start"],
                            "end": s["end"],
                            "text": s["text"],
                            "tokens": [],
                            "temperature": 0.0,
                            "avg_logprob": -0.1,
                            "compression_ratio": 1.0,
                            "no_speech_prob": 0.0,
                        }
                        for i, s in enumerate(segments)
                    ],
                }
            )
        return web.json_response({"text": full, "usage": {"type": "duration", "seconds": round(duration)}})

    async def completions(request: web.Request) -> web.Response:
        try:
            body = await request.json()
            messages = body["messages"]
        except (json.JSONDecodeError, KeyError, TypeError):
            return _error(400, "messages is required", "invalid_request_error")
        prompt = "\n".join(str(m.get("content", "")) for m in messages if isinstance(m, dict))
        user = next((str(m.get("content", "")) for m in reversed(messages) if m.get("role") == "user"), prompt)
        fmt = body.get("response_format") or {}
        schema = fmt.get("json_schema", {}).get("schema") if fmt.get("type") == "json_schema" else None
        content = json.dumps(fill(schema, user)) if schema else "OK"
        stats.completions += 1
        prompt_tokens, completion_tokens = max(1, len(prompt) // 4), max(1, len(content) // 4)
        return web.json_response(
            {
                "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model", "fake"),
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content, "refusal": None},
                        "finish_reason": "stop",
                        "logprobs": None,
                    }
                ],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                },
            }
        )

    async def set_faults(request: web.Request) -> web.Response:
        wanted = await request.json()
        for key, value in wanted.items():
            if not hasattr(faults, key):
                return web.json_response({"error": f"unknown fault {key!r}"}, status=400)
            setattr(faults, key, type(getattr(faults, key))(value))
        return web.json_response(faults.__dict__)

    async def get_stats(request: web.Request) -> web.Response:
        return web.json_response(stats.to_json())

    async def reset(request: web.Request) -> web.Response:
        nonlocal stats
        stats.__init__()  # type: ignore[misc]
        faults.__init__()  # type: ignore[misc]
        return web.json_response({"ok": True})

    app.router.add_post("/v1/audio/transcriptions", transcriptions)
    app.router.add_post("/v1/chat/completions", completions)
    app.router.add_post("/api/v1/simulator/openai/faults", set_faults)
    app.router.add_get("/api/v1/simulator/openai/stats", get_stats)
    app.router.add_post("/api/v1/simulator/openai/reset", reset)
    app[STATS] = stats
    app[FAULTS] = faults
    return app


@dataclass
class FakeHandle:
    """A running fake: point `OPENAI_BASE_URL` at `base_url`."""

    url: str
    app: web.Application

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    @property
    def stats(self) -> Stats:
        return self.app[STATS]

    @property
    def faults(self) -> Faults:
        return self.app[FAULTS]


@asynccontextmanager
async def running_openai_fake(
    scripts: ScriptSource, *, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[FakeHandle]:
    """Serve the fake on `host:port` (0 = any free port) for the body of an `async with`."""
    app = create_app(scripts)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    server = site._server
    assert server is not None and server.sockets  # type: ignore[attr-defined]
    bound = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
    try:
        yield FakeHandle(f"http://{host}:{bound}", app)
    finally:
        await runner.cleanup()


async def serve_openai_fake(wxcc_simulator_url: str, host: str, port: int) -> None:
    """Serve the fake until SIGINT or SIGTERM (the `callpipe openai-fake` command)."""
    import signal

    from shared.logging import get_logger

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with running_openai_fake(http_script_source(wxcc_simulator_url), host=host, port=port) as fake:
        get_logger(__name__).info("openai_fake_ready", base_url=fake.base_url, scripts_from=wxcc_simulator_url)
        await stop.wait()

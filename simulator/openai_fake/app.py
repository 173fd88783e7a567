"""The fake's aiohttp app: transcriptions answered from the simulator's scripts, schema-true chat completions,
fault injection and billing counters at `/api/v1/simulator/openai/*`, and `GET /v1/models`.

A chat completion asking for the analyze stage's structured output about a simulated call is answered with that call's
true analysis (`scenario.py`: reason, topics, resolved, sentiments, QA flags quoting its lines); any other schema is
filled from the prompt's text (`schema_fill.py`). `Stats.answers` keeps what was answered, per prompt digest.

Billing, as the chaos run counts it (`Stats`): a request is *billed* only when the fake answered it successfully — a
fault-injected 429/500, a refused upload (4xx) or a request whose client had already gone is not. The last case is a
choice: when a worker is SIGKILLed mid-request the real service may or may not bill the request it was answering; the
fake does not (it checks, after its delay and work, whether the client's connection is still open before it counts
the request: `request.transport is None or request.transport.is_closing()` → `Stats.abandoned`). So a duplicate in
the counters is always work the pipeline *received* twice, never a request cut off by a crash.

Per call, the fake counts billed transcriptions by upload name (`{task}.{leg}.{speaker}.{n}.ogg`, `chunks_billed`) and
by the content of the audio (SHA-256 of the decoded PCM, so a re-encoded copy of the same chunk, whose Ogg container
differs by its random stream serial, is still the same audio; `audio_billed`), and billed chat completions per task
(`completions_by_task`: the task whose transcript — the segment texts this fake answered for it — the prompt
carries, best effort: short simulated calls share their lines) and per prompt (`completions_by_prompt`, SHA-256 of
the user message: a re-analysis of a stored transcript sends the very same prompt). `Stats.duplicates()` lists every
key billed more than once.

Every billed request is also kept as a `Bill`: its key (`task|upload name` or the prompt digest), the process that
asked (the `X-Callpipe-Process` header `shared.openai_client` sends: its pid; else the peer address) and the
`time.monotonic()` at which the answer had been written to the connection. With the moments of its SIGKILLs, the chaos
run tells from these which repeated request was in flight when the process that asked died (`simulator/chaos/`).

Faults: `rate_limit_next` / `server_error_next` serve the next N requests a 429 / 500 (a chaos run sets them in
bursts), `reject_audio_tasks` answers every transcription of those tasks 400 "corrupted audio" (a permanently bad
call), `delay_s` delays every request. Aimed at single chunks (an upload whose name contains the key):
`fail_uploads` serves the next N such transcriptions a 500, `slow_uploads` answers them this many seconds later.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx
from aiohttp import web

from shared.openai_client import CLIENT_HEADER
from simulator.openai_fake.audio import Code, decode_audio, find_codes
from simulator.openai_fake.pci import card_numbers
from simulator.openai_fake.scenario import answer as scenario_answer
from simulator.openai_fake.schema_fill import fill

if TYPE_CHECKING:
    from simulator.wxcc.server import SimulatorHandle

ScriptSource = Callable[[str], Awaitable[dict[str, str] | None]]
"""task id → {utterance code: text}, or None for an unknown call."""

MODELS = ("whisper-1", "gpt-4o-transcribe", "gpt-4o-mini-transcribe", "gpt-4o-mini", "gpt-4o")
"""What `GET /v1/models` lists (the fake answers any model name; these are the usual ones and the defaults)."""
OWNER = "callpipe-fake"
CODE_PAUSE_S = 0.1  # the simulator's silence between an utterance's code and its speech


@dataclass
class Faults:
    """What to do wrong next: counts of 429s and 500s still to serve, tasks whose audio is refused as corrupt, and a
    delay for every request."""

    rate_limit_next: int = 0
    retry_after_s: float = 1.0
    server_error_next: int = 0
    delay_s: float = 0.0
    reject_audio_tasks: set[str] = field(default_factory=set)
    fail_uploads: dict[str, int] = field(default_factory=dict)  # name part → 500s still to serve such uploads
    slow_uploads: dict[str, float] = field(default_factory=dict)  # name part → extra seconds before the answer

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "reject_audio_tasks": sorted(self.reject_audio_tasks)}

    def aimed_at(self, upload: str) -> tuple[bool, float]:
        """For one transcription upload: whether to serve it a 500 now (counting it), and its extra delay."""
        fail = next((part for part, n in self.fail_uploads.items() if n > 0 and part in upload), None)
        if fail is not None:
            self.fail_uploads[fail] -= 1
        return fail is not None, sum(s for part, s in self.slow_uploads.items() if part in upload)


UNKNOWN_TASK = "?"


def prompt_digest(user_message: str) -> str:
    """The key of `Stats.completions_by_prompt`: SHA-256 of a chat completion's (last) user message."""
    return hashlib.sha256(user_message.encode()).hexdigest()


"""`completions_by_task` key of a completion whose prompt matches no transcribed call."""


@dataclass(frozen=True)
class Bill:
    """One billed request: what it was for, who asked, and when its answer had been written to the connection."""

    key: str  # "task|upload name" for a transcription, the prompt digest for a chat completion
    client: str  # the asking process (its `X-Callpipe-Process` header: the pid), else "peer:host:port"
    answered_at: float  # time.monotonic() in the fake's process, once the answer was written
    answered_wall: float = 0.0  # time.time() at the same moment (to compare with the asking process's log times)


@dataclass
class Stats:
    """What the fake served and billed: requests per endpoint, audio seconds billed (per task), billed requests per
    chunk, per audio content and per task, faults injected, requests not billed because the client had gone."""

    requests: Counter[str] = field(default_factory=Counter)
    billed_seconds: float = 0.0
    billed_by_task: dict[str, float] = field(default_factory=dict)
    transcriptions_by_task: Counter[str] = field(default_factory=Counter)
    chunks_billed: Counter[str] = field(default_factory=Counter)  # "task|upload name"
    audio_billed: Counter[str] = field(default_factory=Counter)  # "task|sha256 of the decoded PCM"
    completions: int = 0
    completions_by_task: Counter[str] = field(default_factory=Counter)
    completions_by_prompt: Counter[str] = field(default_factory=Counter)  # sha256 of the user message
    faults: Counter[str] = field(default_factory=Counter)
    abandoned: Counter[str] = field(default_factory=Counter)  # answered after the client had gone: not billed
    texts_by_task: dict[str, set[str]] = field(default_factory=dict)  # segment texts answered per task
    bills: list[Bill] = field(default_factory=list)  # every billed request, in the order the answers were written
    answers: dict[str, Any] = field(default_factory=dict)  # prompt digest → the structured answer last billed for it
    scenario_answers: int = 0  # billed structured answers that were a simulated call's true analysis
    unredacted_cards: int = 0  # chat requests refused because they held a Luhn-valid card number (`pci`)

    def bill_transcription(
        self,
        task_id: str,
        name: str,
        pcm: bytes,
        duration: float,
        texts: list[str],
        *,
        client: str,
        answered: tuple[float, float],
    ) -> None:
        """Count one successfully answered transcription."""
        self.billed_seconds += duration
        self.billed_by_task[task_id] = self.billed_by_task.get(task_id, 0.0) + duration
        self.transcriptions_by_task[task_id] += 1
        self.chunks_billed[f"{task_id}|{name}"] += 1
        self.bills.append(Bill(f"{task_id}|{name}", client, *answered))
        self.audio_billed[f"{task_id}|{hashlib.sha256(pcm).hexdigest()[:16]}"] += 1
        self.texts_by_task.setdefault(task_id, set()).update(t for t in texts if t)

    def bill_completion(self, user_message: str, *, client: str, answered: tuple[float, float]) -> str:
        """Count one successfully answered chat completion; returns the task it was for (or `UNKNOWN_TASK`)."""
        task_id = self.task_of_prompt(user_message)
        self.completions += 1
        self.completions_by_task[task_id] += 1
        digest = prompt_digest(user_message)
        self.completions_by_prompt[digest] += 1
        self.bills.append(Bill(digest, client, *answered))
        return task_id

    def task_of_prompt(self, prompt: str) -> str:
        """The transcribed call the prompt is about, when only one fits: every segment text answered for it is in
        the prompt, and no other such call's texts cover more of it. Short simulated calls share their few lines
        ("Hi, this."), so this is best effort: `UNKNOWN_TASK` when two calls fit equally; count duplicates by prompt."""
        fits = sorted(
            ((sum(len(t) for t in texts), task_id) for task_id, texts in self.texts_by_task.items() if texts),
            reverse=True,
        )
        fits = [(size, task_id) for size, task_id in fits if all(t in prompt for t in self.texts_by_task[task_id])]
        if not fits or (len(fits) > 1 and fits[0][0] == fits[1][0]):
            return UNKNOWN_TASK
        return fits[0][1]

    def duplicates(self) -> dict[str, dict[str, int]]:
        """Every billing key billed more than once: the same chunk or the same audio of a call transcribed twice, the
        very same analysis prompt answered twice (`completions_by_task` is best effort, see `task_of_prompt`)."""
        return {
            "chunks": {k: n for k, n in self.chunks_billed.items() if n > 1},
            "audio": {k: n for k, n in self.audio_billed.items() if n > 1},
            "prompts": {k: n for k, n in self.completions_by_prompt.items() if n > 1},
        }

    def transcription_duplicates(self) -> int:
        """Transcription requests billed beyond the first, per call: the larger of its extra chunk bills and its
        extra audio bills."""
        extra: Counter[str] = Counter()
        for kind in ("chunks", "audio"):
            per_task: Counter[str] = Counter()
            for key, n in self.duplicates()[kind].items():
                per_task[key.split("|", 1)[0]] += n - 1
            for task_id, n in per_task.items():
                extra[task_id] = max(extra[task_id], n)
        return sum(extra.values())

    def duplicate_count(self) -> int:
        """Billed requests beyond the first: transcriptions (per call) and analyses (per identical prompt; two calls
        with the very same transcript would count here too — `prompt_digest` lets a caller that knows the
        transcripts tell them apart)."""
        return self.transcription_duplicates() + sum(n - 1 for n in self.duplicates()["prompts"].values())

    def to_json(self) -> dict[str, Any]:
        return {
            "requests": dict(self.requests),
            "billed_seconds": round(self.billed_seconds, 3),
            "billed_by_task": {k: round(v, 3) for k, v in self.billed_by_task.items()},
            "transcriptions_by_task": dict(self.transcriptions_by_task),
            "completions": self.completions,
            "completions_by_task": dict(self.completions_by_task),
            "scenario_answers": self.scenario_answers,
            "unredacted_cards": self.unredacted_cards,
            "faults": dict(self.faults),
            "abandoned": dict(self.abandoned),
            "duplicates": self.duplicates(),
            "duplicate_count": self.duplicate_count(),
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


def state_script_source(sim: SimulatorHandle) -> ScriptSource:
    """What `http_script_source(sim.base_url)` returns, read from the simulator's state in this process: no HTTP
    client per lookup (~26 ms of CPU for its SSL context on the event loop the simulator and the fake share)."""

    async def lookup(task_id: str) -> dict[str, str] | None:
        call = sim.state.calls.get(task_id)
        if call is None:
            return None
        return {turn.code: turn.text for leg in call.recordings for turn in leg.script.turns}

    return lookup


def _turns(value: Any) -> list[dict[str, Any]]:
    """Every `turns` entry anywhere in a script document."""
    if isinstance(value, dict):
        found = [t for t in value.get("turns", []) if isinstance(t, dict)]
        return found + [t for k, v in value.items() if k != "turns" for t in _turns(v)]
    if isinstance(value, list):
        return [t for v in value for t in _turns(v)]
    return []


def _client_gone(request: web.Request) -> bool:
    """Whether the client closed its connection before the answer could be sent (a killed worker)."""
    return request.transport is None or request.transport.is_closing()


def client_of(request: web.Request) -> str:
    """Who asked: the `X-Callpipe-Process` header (the asking process's pid), else the peer's address."""
    named = request.headers.get(CLIENT_HEADER)
    if named:
        return named
    peer = request.transport.get_extra_info("peername") if request.transport else None
    return f"peer:{peer[0]}:{peer[1]}" if peer else "peer:?"


async def _deliver(request: web.Request, response: web.StreamResponse) -> tuple[float, float] | None:
    """Write `response` to the client now; `time.monotonic()` and `time.time()` once written, or None if the client
    was gone."""
    if _client_gone(request):
        return None
    try:
        await response.prepare(request)
        await response.write_eof()
    except ConnectionError:
        return None
    return time.monotonic(), time.time()


def _read_audio(data: bytes) -> tuple[bytes, float, list[Code]]:
    pcm, duration = decode_audio(data)
    return pcm, duration, find_codes(pcm)


def _error(status: int, message: str, kind: str, headers: dict[str, str] | None = None) -> web.Response:
    body = {"error": {"message": message, "type": kind, "param": None, "code": None}}
    return web.json_response(body, status=status, headers=headers)


def _transcription_response(fmt: str, full: str, segments: list[dict[str, Any]], duration: float) -> web.Response:
    """The answer to a transcription in the `response_format` asked for."""
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
        try:
            form = await request.post()
        except ConnectionError:  # the client went away during the fake's delay, before its upload was read
            stats.abandoned[request.path] += 1
            return _error(499, "client closed the connection", "client_closed")
        upload = form.get("file")
        if not isinstance(upload, web.FileField):
            return _error(400, "file is required", "invalid_request_error")
        data = upload.file.read()
        if len(data) > 25 * 1024 * 1024:
            return _error(413, "Maximum content size limit (26214400) exceeded", "invalid_request_error")
        try:
            # In a thread: decoding and DTMF search are CPU work, and the event loop also serves other requests (and,
            # in tests and benches, the WXCC simulator).
            pcm, duration, codes = await asyncio.to_thread(_read_audio, data)
        except ValueError as exc:
            return _error(400, f"Audio file might be corrupted or unsupported: {exc}", "invalid_request_error")
        task_id = upload.filename.split(".", 1)[0]
        fail, slow_s = faults.aimed_at(upload.filename)
        if slow_s:
            await asyncio.sleep(slow_s)
        if fail:
            stats.faults["server_error"] += 1
            return _error(500, "The server had an error while processing your request.", "server_error")
        if task_id in faults.reject_audio_tasks:
            stats.faults["rejected_audio"] += 1
            return _error(400, "Audio file might be corrupted or unsupported", "invalid_request_error")
        texts = await scripts(task_id) or {}
        segments: list[dict[str, Any]] = []
        for code in codes:
            text = texts.get(code.digits)
            if text is None:
                continue
            start = code.end_s + CODE_PAUSE_S
            end = min(duration, start + max(0.5, 0.4 * len(text.split())))
            segments.append({"start": round(start, 3), "end": round(end, 3), "text": text})
        full = " ".join(s["text"] for s in segments)
        response = _transcription_response(str(form.get("response_format", "json")), full, segments, duration)
        answered = await _deliver(request, response)
        if answered is None:
            stats.abandoned[request.path] += 1
            return response if response.prepared else _error(499, "client closed the connection", "client_closed")
        texts_said = [s["text"] for s in segments]
        stats.bill_transcription(
            task_id, upload.filename, pcm, duration, texts_said, client=client_of(request), answered=answered
        )
        return response

    async def completions(request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ConnectionError:
            stats.abandoned[request.path] += 1
            return _error(499, "client closed the connection", "client_closed")
        except json.JSONDecodeError:
            return _error(400, "messages is required", "invalid_request_error")
        try:
            messages = body["messages"]
        except (json.JSONDecodeError, KeyError, TypeError):
            return _error(400, "messages is required", "invalid_request_error")
        prompt = "\n".join(str(m.get("content", "")) for m in messages if isinstance(m, dict))
        user = next((str(m.get("content", "")) for m in reversed(messages) if m.get("role") == "user"), prompt)
        if card_numbers(prompt):  # a model must never see a card number: the pipeline redacts transcripts first
            stats.unredacted_cards += 1
            return _error(400, "the request holds an unredacted payment card number", "invalid_request_error")
        fmt = body.get("response_format") or {}
        schema = fmt.get("json_schema", {}).get("schema") if fmt.get("type") == "json_schema" else None
        truth = scenario_answer(schema, user) if schema else None
        value = truth if truth is not None else (fill(schema, user) if schema else None)
        content = json.dumps(value) if schema else "OK"
        prompt_tokens, completion_tokens = max(1, len(prompt) // 4), max(1, len(content) // 4)
        response = web.json_response(
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
        answered = await _deliver(request, response)
        if answered is None:
            stats.abandoned[request.path] += 1
            return response if response.prepared else _error(499, "client closed the connection", "client_closed")
        stats.bill_completion(user, client=client_of(request), answered=answered)
        if schema:
            stats.answers[prompt_digest(user)] = value
            stats.scenario_answers += truth is not None
        return response

    async def models(request: web.Request) -> web.Response:
        return web.json_response(
            {"object": "list", "data": [{"id": m, "object": "model", "created": 0, "owned_by": OWNER} for m in MODELS]}
        )

    async def set_faults(request: web.Request) -> web.Response:
        wanted = await request.json()
        for key, value in wanted.items():
            if not hasattr(faults, key):
                return web.json_response({"error": f"unknown fault {key!r}"}, status=400)
            setattr(faults, key, type(getattr(faults, key))(value))
        return web.json_response(faults.to_json())

    async def get_stats(request: web.Request) -> web.Response:
        return web.json_response(stats.to_json())

    async def reset(request: web.Request) -> web.Response:
        nonlocal stats
        stats.__init__()  # type: ignore[misc]
        faults.__init__()  # type: ignore[misc]
        return web.json_response({"ok": True})

    app.router.add_post("/v1/audio/transcriptions", transcriptions)
    app.router.add_post("/v1/chat/completions", completions)
    app.router.add_get("/v1/models", models)
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

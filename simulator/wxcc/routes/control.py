"""`/api/v1/simulator/*`: stats, reset, faults, calls and their truth, scripts, truncations, token expiry, the clock."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import TypeAdapter, ValidationError

from shared.logging import get_logger
from simulator.wxcc.config import SimulatorConfig
from simulator.wxcc.errors import ApiError
from simulator.wxcc.faults import FaultRule
from simulator.wxcc.generator import Call
from simulator.wxcc.http import read_optional_json, state_of
from simulator.wxcc.render import recording_size
from simulator.wxcc.script import RecordingScript
from simulator.wxcc.state import SimulatorState

log = get_logger(__name__)
_RULES = TypeAdapter(list[FaultRule])


def _call_json(state: SimulatorState, call: Call) -> dict[str, Any]:
    """The truth about a call (what the API will say, and when)."""
    delay_ms = round(state.config.availability_delay_s * 1000)
    return {
        "taskId": call.task_id,
        "direction": call.direction,
        "topic": call.topic,
        "queue": {"id": call.queue.id, "name": call.queue.name},
        "agent": {"id": call.agent.id, "name": call.agent.name} if call.agent else None,
        "createdTime": call.created_ms,
        "answeredTime": call.answered_ms,
        "endedTime": call.ended_ms,
        "abandoned": call.abandoned,
        "captureRequested": call.capture_requested,
        "captureKnownTime": call.capture_known_ms if call.capture_flag_set else None,
        "captureFlagSet": call.capture_flag_set,
        "availableFrom": call.recordings_available_from(delay_ms),
        "captureQueries": state.capture_queries[call.task_id],
        "recordings": [
            {
                "id": leg.id,
                "callType": leg.call_type,
                "tag": leg.script.tag,
                "fileName": leg.file_name,
                "startTime": leg.start_ms,
                "stopTime": leg.stop_ms,
                "bytes": recording_size(leg, state.config.sample_rate),
                "downloads": state.leg_downloads[leg.id],
            }
            for leg in call.recordings
        ],
    }


def _script_json(script: RecordingScript, sample_rate: int) -> dict[str, Any]:
    return {
        "tag": script.tag,
        "speakers": {"1": script.speakers[0], "2": script.speakers[1]},
        "sampleRate": sample_rate,
        "durationS": script.duration_s,
        "holdStartS": script.hold_start_s,
        "turns": [turn.to_json() for turn in script.turns],
    }


def _call(state: SimulatorState, task_id: str) -> Call:
    call = state.calls.get(task_id)
    if call is None:
        raise ApiError(404, f"No simulated call {task_id}.")
    return call


async def health(request: web.Request) -> web.Response:
    """Liveness."""
    return web.json_response({"status": "ok", "calls": len(state_of(request).calls)})


async def stats(request: web.Request) -> web.Response:
    """Counts per endpoint and status, faults injected per kind, tokens issued per grant, downloads, renders."""
    return web.json_response(state_of(request).stats_json())


async def reset(request: web.Request) -> web.Response:
    """Start over from the config; a JSON body of config fields (snake_case) overrides them from now on."""
    state = state_of(request)
    overrides = await read_optional_json(request)
    try:
        config = SimulatorConfig.model_validate({**state.config.model_dump(), **overrides})
    except ValidationError as exc:
        raise ApiError(400, f"Invalid config: {exc.errors(include_url=False)}")
    state.reset(config)
    log.info("simulator_reset", calls=len(state.calls))
    return web.json_response({"calls": len(state.calls)})


async def get_faults(request: web.Request) -> web.Response:
    """The active fault rules with what is left of their counts."""
    state = state_of(request)
    return web.json_response({"rules": state.faults.describe(), "injected": dict(state.faults.injected)})


async def set_faults(request: web.Request) -> web.Response:
    """`{"rules": [...], "append": false}` (or a bare list of rules): replace, or append to, the active rules."""
    state = state_of(request)
    try:
        body: Any = await request.json()
    except ValueError:
        raise ApiError(400, "The request body is not valid JSON.")
    if not isinstance(body, list | dict):
        raise ApiError(400, 'The body must be {"rules": [...], "append": false} or a list of rules.')
    raw, append = (body, False) if isinstance(body, list) else (body.get("rules"), bool(body.get("append")))
    try:
        rules = _RULES.validate_python(raw)
    except ValidationError as exc:
        raise ApiError(400, f"Invalid fault rules: {exc.errors(include_url=False)}")
    (state.faults.add if append else state.faults.replace)(rules)
    log.info("faults_set", rules=len(rules), append=append)
    return web.json_response({"rules": state.faults.describe()})


async def clear_faults(request: web.Request) -> web.Response:
    """Drop every active fault rule."""
    state_of(request).faults.replace([])
    return web.json_response({"rules": []})


async def list_calls(request: web.Request) -> web.Response:
    """Every simulated call, by createdTime, with the truth about it."""
    state = state_of(request)
    calls = sorted(state.calls.values(), key=lambda c: (c.created_ms, c.task_id))
    return web.json_response({"calls": [_call_json(state, call) for call in calls]})


async def add_calls(request: web.Request) -> web.Response:
    """Generate more calls: `{"count": n, "startMs": a, "endMs": b}` or `{"count": n, "lastSeconds": s}` (to now)."""
    state = state_of(request)
    body = await read_optional_json(request)
    count = body.get("count", 10)
    now = state.clock.now_ms()
    if "startMs" in body or "endMs" in body:
        start, end = body.get("startMs"), body.get("endMs")
    else:
        seconds = body.get("lastSeconds", 3600)
        start, end = (now - round(seconds * 1000), now) if isinstance(seconds, int | float) else (None, None)
    if not isinstance(count, int) or not 0 <= count <= 100_000:
        raise ApiError(400, "count must be an integer between 0 and 100000.")
    if not isinstance(start, int) or not isinstance(end, int) or start >= end:
        raise ApiError(400, "Give startMs < endMs (epoch ms), or lastSeconds > 0.")
    calls = state.generate(count, start, end)
    return web.json_response({"calls": [_call_json(state, call) for call in calls]})


async def get_call(request: web.Request) -> web.Response:
    """The truth about one call."""
    state = state_of(request)
    return web.json_response(_call_json(state, _call(state, request.match_info["task_id"])))


async def get_script(request: web.Request) -> web.Response:
    """What is said in each recording of a call, by whom, on which channel, when, and each utterance's DTMF code."""
    state = state_of(request)
    call = _call(state, request.match_info["task_id"])
    recordings = [
        {"id": leg.id, "callType": leg.call_type, "channel1": leg.channel1, "channel2": leg.channel2,
         **_script_json(leg.script, state.config.sample_rate)}
        for leg in call.recordings
    ]  # fmt: skip
    return web.json_response({"taskId": call.task_id, "topic": call.topic, "recordings": recordings})


async def get_tag(request: web.Request) -> web.Response:
    """The recording whose tag is `*{serial:06d}#` (what a fake transcriber decodes first), with its script."""
    state = state_of(request)
    serial = request.match_info["serial"]
    ref = state.tags.get(f"*{serial.zfill(6)}#") if serial.isdigit() else None
    if ref is None:
        raise ApiError(404, f"No recording with tag serial {serial}.")
    return web.json_response(
        {"taskId": ref.call.task_id, "recordingId": ref.leg.id, "callType": ref.leg.call_type,
         **_script_json(ref.leg.script, state.config.sample_rate)}
    )  # fmt: skip


async def truncate_recording(request: web.Request) -> web.Response:
    """`{"count": 1, "fraction": 0.5}`: cut the next `count` downloads of one recording after `fraction` of it."""
    state = state_of(request)
    recording_id = request.match_info["recording_id"]
    if recording_id not in state.legs:
        raise ApiError(404, f"No simulated recording {recording_id}.")
    body = await read_optional_json(request)
    count, fraction = body.get("count", 1), body.get("fraction", 0.5)
    if not isinstance(count, int) or isinstance(count, bool) or not 0 <= count <= 1000:
        raise ApiError(400, "count must be an integer between 0 and 1000.")
    if not isinstance(fraction, int | float) or isinstance(fraction, bool) or not 0 <= fraction < 1:
        raise ApiError(400, "fraction must be a number in [0, 1).")
    state.truncate_leg(recording_id, count, float(fraction))
    return web.json_response({"recordingId": recording_id, "count": count, "fraction": fraction})


async def expire_tokens(request: web.Request) -> web.Response:
    """Invalidate every access token (`{"refreshTokens": true}` revokes refresh tokens too)."""
    state = state_of(request)
    body = await read_optional_json(request)
    expired = state.tokens.expire_access_tokens()
    revoked = state.tokens.revoke_refresh_tokens() if body.get("refreshTokens") else 0
    log.info("tokens_expired", access_tokens=expired, refresh_tokens=revoked)
    return web.json_response({"expiredAccessTokens": expired, "revokedRefreshTokens": revoked})


async def clock(request: web.Request) -> web.Response:
    """GET: the simulated now. POST `{"advanceS": n}`: move it forward n seconds (availability, expiry, tokens)."""
    state = state_of(request)
    if request.method == "POST":
        body = await read_optional_json(request)
        seconds = body.get("advanceS", 0)
        if not isinstance(seconds, int | float) or seconds < 0:
            raise ApiError(400, "advanceS must be a number of seconds >= 0.")
        state.clock.advance(seconds)
    return web.json_response({"now": state.clock.now_ms(), "offsetMs": state.clock.offset_ms})


def add_routes(app: web.Application, prefix: str) -> None:
    """Register every control route under `prefix`."""
    r = app.router
    r.add_get(f"{prefix}/health", health)
    r.add_get(f"{prefix}/stats", stats)
    r.add_post(f"{prefix}/reset", reset)
    r.add_get(f"{prefix}/faults", get_faults)
    r.add_post(f"{prefix}/faults", set_faults)
    r.add_delete(f"{prefix}/faults", clear_faults)
    r.add_get(f"{prefix}/calls", list_calls)
    r.add_post(f"{prefix}/calls", add_calls)
    r.add_get(f"{prefix}/calls/{{task_id}}", get_call)
    r.add_get(f"{prefix}/calls/{{task_id}}/script", get_script)
    r.add_get(f"{prefix}/tags/{{serial}}", get_tag)
    r.add_post(f"{prefix}/recordings/{{recording_id}}/truncate", truncate_recording)
    r.add_post(f"{prefix}/tokens/expire", expire_tokens)
    r.add_get(f"{prefix}/clock", clock)
    r.add_post(f"{prefix}/clock", clock)

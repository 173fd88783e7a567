"""`POST /v1/captures/query`: the recordings of up to 10 tasks with presigned URLs valid for `urlExpiration` minutes.

`recording[]` is empty for unknown tasks, calls without recordings, and recorded calls until their recordings are
available (`availability_delay_s` after the end, and not before `captureRequested` is known, unless it never will be)
and the task has been asked about `captures_listed_from_query` times.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from simulator.wxcc.errors import ApiError
from simulator.wxcc.generator import Call, RecordingLeg
from simulator.wxcc.http import read_json, state_of
from simulator.wxcc.state import SimulatorState
from simulator.wxcc.views import capture_recording

MAX_TASK_IDS = 10
DEFAULT_URL_EXPIRATION_MIN = 30


def recording_path(org_id: str, call: Call, leg: RecordingLeg) -> str:
    """Path of a recording file on this server (what the presigned URL signs)."""
    return f"/recordings/{org_id}/{call.task_id}/{leg.id}/{leg.file_name}"


def _signed_url(state: SimulatorState, base: str, call: Call, leg: RecordingLeg, minutes: int, expired: bool) -> str:
    path = recording_path(state.config.org_id, call, leg)
    issued_s = state.clock.now_ms() // 1000
    if expired:  # the fault: a URL whose lifetime is already over
        issued_s -= minutes * 60 + 1
    query = state.signer.sign(path, issued_s=issued_s, expires_in_s=minutes * 60)
    return f"{base}{path}?{urlencode(query)}"


def _validated(body: dict[str, Any], org_id: str) -> tuple[list[str], int]:
    query = body.get("query")
    if not isinstance(query, dict):
        raise ApiError(400, 'The body must be {"query": {orgId, taskIds, urlExpiration, includeSegments}}.')
    if query.get("orgId") not in (None, org_id):
        raise ApiError(403, "Not authorized for this orgId.")
    task_ids = query.get("taskIds")
    if not isinstance(task_ids, list) or not all(isinstance(t, str) for t in task_ids):
        raise ApiError(400, "taskIds must be a list of task ids.")
    if not 1 <= len(task_ids) <= MAX_TASK_IDS:
        raise ApiError(400, f"taskIds must hold between 1 and {MAX_TASK_IDS} task ids.")
    minutes = query.get("urlExpiration", DEFAULT_URL_EXPIRATION_MIN)
    if not isinstance(minutes, int) or isinstance(minutes, bool) or not 1 <= minutes <= 60:
        raise ApiError(400, "urlExpiration must be an integer number of minutes between 1 and 60.")
    return task_ids, minutes


async def query_captures(request: web.Request) -> web.Response:
    """One `data[]` entry per requested task id, in request order."""
    state = state_of(request)
    task_ids, minutes = _validated(await read_json(request), state.config.org_id)
    expired = state.faults.take("expired_url", "captures") is not None
    base = state.config.public_base_url or f"{request.scheme}://{request.host}"
    now = state.clock.now_ms()
    delay_ms = round(state.config.availability_delay_s * 1000)
    data = []
    for task_id in task_ids:
        state.capture_queries[task_id] += 1
        call = state.calls.get(task_id)
        recordings: list[dict[str, Any]] = []
        available = call.recordings_available_from(delay_ms) if call is not None else None
        asked_enough = state.capture_queries[task_id] >= state.config.captures_listed_from_query
        if call is not None and available is not None and now >= available and asked_enough:
            recordings = [
                capture_recording(leg, _signed_url(state, base, call, leg, minutes, expired)) for leg in call.recordings
            ]
        data.append({"taskId": task_id, "recording": recordings, "transcription": []})
    return web.json_response({"meta": {"orgId": state.config.org_id, "urlExpiration": minutes}, "data": data})

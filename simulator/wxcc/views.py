"""How a call looks in each API at a given moment: a `/v1/tasks` item, a `/search` task, a captures recording."""

from __future__ import annotations

from typing import Any

from simulator.wxcc.generator import Call, Party, RecordingLeg


def _party(party: Party) -> dict[str, str]:
    return {"id": party.id, "name": party.name}


def task_item(call: Call, now_ms: int) -> dict[str, Any]:
    """One element of `GET /v1/tasks` `data[]` (see `tasks-response.json`): no `owner` until an agent has it."""
    attributes: dict[str, Any] = {}
    if call.agent is not None and call.answered_ms is not None and now_ms >= call.answered_ms:
        attributes["owner"] = _party(call.agent)
    attributes.update(
        queue=_party(call.queue),
        channelType="telephony",
        status=call.status_at(now_ms),
        createdTime=call.created_ms,
        lastUpdatedTime=call.last_updated_at(now_ms),
        captureRequested=call.capture_requested_at(now_ms),
        origin=call.origin,
        destination=call.destination,
        direction=call.direction,
    )
    if call.reason_code is not None and now_ms >= call.ended_ms:
        attributes["reasonCode"] = call.reason_code
    return {"id": call.task_id, "attributes": attributes}


def search_task(call: Call, now_ms: int) -> dict[str, Any]:
    """Every field a `/search` `taskDetails` task can select (the query picks which ones are sent)."""
    ended = now_ms >= call.ended_ms
    capture = call.capture_requested_at(now_ms)
    answered = call.answered_ms is not None and now_ms >= call.answered_ms
    owner = _party(call.agent) if call.agent is not None and answered else None
    status = call.status_at(now_ms)
    return {
        "id": call.task_id,
        "channelType": "telephony",
        "createdTime": call.created_ms,
        "endedTime": call.ended_ms if ended else None,
        "lastUpdatedTime": call.last_updated_at(now_ms),
        "captureRequested": capture,
        "recordingCount": call.recording_count_at(now_ms),
        "isActive": not ended,
        "status": "ended" if status == "completed" else status,
        "owner": owner,
        "queue": _party(call.queue),
        "origin": call.origin,
        "destination": call.destination,
        "direction": call.direction,
    }


def capture_recording(leg: RecordingLeg, file_path: str) -> dict[str, Any]:
    """One element of a captures `recording[]` (see `captures-response.json`).

    Like the real API the types are mixed: main legs carry `startTime`/`stopTime` as strings, consult legs as integers.
    """
    as_text = leg.call_type == "main"
    attributes: dict[str, Any] = {
        "fileName": leg.file_name,
        "filePath": file_path,
        "startTime": str(leg.start_ms) if as_text else leg.start_ms,
        "stopTime": str(leg.stop_ms) if as_text else leg.stop_ms,
        "participants": list(leg.participants),
        "channel1": leg.channel1,
        "channel2": leg.channel2,
        "callType": leg.call_type,
    }
    if as_text:
        attributes["sensitive"] = False
    return {"id": leg.id, "segment": False, "attributes": attributes}

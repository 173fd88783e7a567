"""Starting a journey: store its record and first poll window, then enqueue its first poll message."""

from __future__ import annotations

from dataclasses import dataclass

from queues.envelope import Envelope, Kind
from queues.producer import Producer
from shared.journeys import Journey, JourneyKind, JourneyStore


@dataclass(frozen=True)
class JourneyRequest:
    """What a client asks for: a window of call end times (epoch ms) or a list of task ids."""

    org_id: str
    from_ms: int | None = None
    to_ms: int | None = None
    task_ids: tuple[str, ...] | None = None
    created_by: str = "api"
    retry_failed: bool = False
    pipeline_version: int = 1


def _poll_payload(req: JourneyRequest) -> dict[str, object]:
    if req.task_ids:
        return {"org_id": req.org_id, "task_ids": list(req.task_ids)}
    if req.from_ms is None or req.to_ms is None or req.from_ms >= req.to_ms:
        raise ValueError("a journey needs task ids or a window with from < to")
    return {"org_id": req.org_id, "from_ms": req.from_ms, "to_ms": req.to_ms}


async def start_journey(journeys: JourneyStore, producer: Producer, req: JourneyRequest) -> Journey:
    """Create the journey (RUNNING, one PENDING poll window) and send its first poll message."""
    payload = _poll_payload(req)
    kind = JourneyKind.TASKS if req.task_ids else JourneyKind.WINDOW
    journey = Journey.new(
        kind,
        payload,
        org_id=req.org_id,
        created_by=req.created_by,
        pipeline_version=req.pipeline_version,
        retry_failed=req.retry_failed,
    )
    await journeys.create(journey, first_window="tasks" if req.task_ids else f"{req.from_ms}-{req.to_ms}")
    await producer.send([Envelope(kind=Kind.POLL, journey_id=journey.id, payload=payload)])
    return journey

"""Starting a journey: check its bounds, store its record and first poll window, then enqueue its first poll message.

The API and `callpipe journey start` both come through here with their settings, so both refuse a journey over a
bound (`shared.bounds`) with the same message; the poll stage checks again what it reads from a message.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from api.errors import ApiError
from queues.envelope import Envelope, Kind
from queues.producer import Producer
from shared.bounds import check_task_ids, check_window
from shared.config import Settings
from shared.dynamo import transact
from shared.journeys import Journey, JourneyKind, JourneyStore
from shared.license.errors import LicenseError
from shared.license.service import LicenseService
from shared.tracking import TrackingTable

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

REPROCESS_WINDOW = "reprocess"
_REOPEN_CONCURRENCY = 32


@dataclass(frozen=True)
class JourneyRequest:
    """What a client asks for: a window of call end times (epoch ms) or a list of task ids.

    `journey_id` fixes the new journey's id in advance (the API's idempotency keys map to it); None draws a new one.
    """

    org_id: str
    from_ms: int | None = None
    to_ms: int | None = None
    task_ids: tuple[str, ...] | None = None
    created_by: str = "api"
    retry_failed: bool = False
    pipeline_version: int = 1
    journey_id: str | None = None
    reprocess_version: int | None = None  # a window to re-analyse at this pipeline version (REPROCESS journey)


def _poll_payload(req: JourneyRequest) -> dict[str, object]:
    if req.task_ids:
        return {"org_id": req.org_id, "task_ids": list(req.task_ids)}
    if req.from_ms is None or req.to_ms is None or req.from_ms >= req.to_ms:
        raise ValueError("a journey needs task ids or a window with from < to")
    window: dict[str, object] = {"org_id": req.org_id, "from_ms": req.from_ms, "to_ms": req.to_ms}
    if req.reprocess_version is not None:
        window["reprocess_version"] = req.reprocess_version
    return window


def check_request(req: JourneyRequest, settings: Settings, *, now_ms: int | None = None) -> None:
    """Raise `shared.bounds.JourneyTooLarge` if the request breaks a bound (window, lookback, future end, task ids)."""
    if req.task_ids:
        check_task_ids(len(req.task_ids), settings)
        return
    if req.from_ms is None or req.to_ms is None:
        raise ValueError("a journey needs task ids or a window with from < to")
    check_window(req.from_ms, req.to_ms, settings, now_ms=now_ms)


class LicenseRefused(ApiError):
    """No new journey under an expired or invalid license: 403 `license_expired` / `license_invalid`."""

    def __init__(self, exc: LicenseError) -> None:
        super().__init__(403, exc.code, exc.message)


async def check_license(settings: Settings, dynamodb: DynamoDBClient, org_id: str) -> None:
    """Raise `LicenseRefused` when the org's license lets no new journey start (work already queued still finishes
    or is held by the workers: nothing is lost)."""
    try:
        await LicenseService(settings, dynamodb).check_can_start(org_id)
    except LicenseError as exc:
        raise LicenseRefused(exc) from None


async def start_journey(
    journeys: JourneyStore, producer: Producer, req: JourneyRequest, *, settings: Settings | None = None
) -> Journey:
    """Create the journey (RUNNING, one PENDING poll window) and send its first poll message.

    Front doors pass their `settings`: a request over a bound then raises `JourneyTooLarge`, and one under an
    expired or invalid license `LicenseRefused`, before anything is written (`check_request`, `check_license`).
    """
    if settings is not None:
        check_request(req, settings)
        await check_license(settings, journeys.dynamodb, req.org_id)
    payload = _poll_payload(req)
    kind = JourneyKind.TASKS if req.task_ids else JourneyKind.WINDOW
    if req.reprocess_version is not None:
        kind = JourneyKind.REPROCESS
    journey = Journey.new(
        kind,
        payload,
        org_id=req.org_id,
        created_by=req.created_by,
        pipeline_version=req.reprocess_version or req.pipeline_version,
        retry_failed=req.retry_failed,
    )
    if req.journey_id:
        journey = replace(journey, id=req.journey_id)
    await journeys.create(journey, first_window="tasks" if req.task_ids else f"{req.from_ms}-{req.to_ms}")
    await producer.send([Envelope(kind=Kind.POLL, journey_id=journey.id, payload=payload)])
    return journey


@dataclass(frozen=True)
class ReprocessRequest:
    """Re-analyse already analysed calls under a newer `pipeline_version` (their transcripts are kept)."""

    org_id: str
    task_ids: tuple[str, ...]
    pipeline_version: int
    created_by: str = "api"
    journey_id: str | None = None


def check_reprocess(req: ReprocessRequest, settings: Settings) -> None:
    """Raise `shared.bounds.JourneyTooLarge` if the reprocess request lists too many task ids."""
    check_task_ids(len(req.task_ids), settings)


async def start_reprocess(
    dynamodb: DynamoDBClient,
    journeys: JourneyStore,
    tracking: TrackingTable,
    producer: Producer,
    req: ReprocessRequest,
    *,
    settings: Settings | None = None,
) -> Journey:
    """Create a REPROCESS journey, reopen each analysed call of an older version and enqueue its analysis.

    The journey's one "poll window" is closed at once: the reopened calls count as discovered (poll.queued), the
    others (unknown, not analysed, already this version) as skipped, so the journey completes as usual. With
    `settings`, a list over the bound raises `JourneyTooLarge` first.
    """
    if settings is not None:
        check_reprocess(req, settings)
        await check_license(settings, dynamodb, req.org_id)
    params: dict[str, object] = {
        "org_id": req.org_id,
        "task_ids": list(req.task_ids),
        "pipeline_version": req.pipeline_version,
    }
    journey = Journey.new(
        JourneyKind.REPROCESS,
        params,
        org_id=req.org_id,
        created_by=req.created_by,
        pipeline_version=req.pipeline_version,
    )
    if req.journey_id:
        journey = replace(journey, id=req.journey_id)
    await journeys.create(journey, first_window=REPROCESS_WINDOW)
    gate = asyncio.Semaphore(_REOPEN_CONCURRENCY)

    async def reopen(task_id: str) -> bool:
        async with gate:
            return await tracking.reopen_for_analysis(req.org_id, task_id, journey.id, req.pipeline_version)

    flags = await asyncio.gather(*(reopen(t) for t in req.task_ids))
    reopened = [t for t, ok in zip(req.task_ids, flags, strict=True) if ok]
    await transact(
        dynamodb,
        [
            {"Update": journeys.poll_window_done(journey.id, REPROCESS_WINDOW)},
            {
                "Update": journeys.counter_update(
                    journey.id, "poll", queued=len(reopened), skipped=len(req.task_ids) - len(reopened)
                )
            },
        ],
    )
    await producer.send(
        Envelope(kind=Kind.ANALYZE, journey_id=journey.id, task_id=t, payload={"org_id": req.org_id, "task_id": t})
        for t in reopened
    )
    await journeys.complete_if_done(journey.id)
    return journey

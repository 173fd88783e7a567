"""Operations every front door shares (HTTP routes, MCP tools): cancel a journey, start a DLQ replay job, the license
service with the API's sender for resumed calls."""

from __future__ import annotations

from api.context import ApiContext
from api.errors import ApiError
from api.replay_jobs import ReplayFilters, ReplayJob
from queues.claimcheck import ClaimCheck
from queues.dlq import ReplayCounts, replay, tracking_reopener
from queues.envelope import Kind
from queues.resume import held_sender
from shared.journeys import STAGES, Journey, JourneyKind, JourneyState
from shared.license.service import LicenseService
from shared.logging import get_logger

log = get_logger(__name__)


def license_service(c: ApiContext) -> LicenseService:
    """The license service, sending the calls a resume (or an activation) releases with the API's producer."""

    return LicenseService(c.settings, c.dynamodb, send_held=held_sender(c.producer))


async def cancel_journey(c: ApiContext, journey_id: str) -> Journey:
    """Stop a RUNNING journey; its in-flight messages are then acknowledged without work. 404 unknown; 409 if it is
    not RUNNING, or if it is an org's live journey (webhook-found calls would stay claimed and never be fetched)."""
    journey = await c.journeys.get(journey_id)
    if journey is None:
        raise ApiError(404, "journey_not_found", f"no journey {journey_id}")
    if journey.kind is JourneyKind.LIVE:
        raise ApiError(
            409, "journey_is_live", f"journey {journey_id} is an org's standing webhook journey; it cannot be cancelled"
        )
    if not await c.journeys.set_state(journey_id, JourneyState.CANCELLED, expected=JourneyState.RUNNING):
        current = await c.journeys.get(journey_id) or journey
        raise ApiError(
            409, "journey_not_running", f"journey {journey_id} is {current.state.value}", {"state": current.state}
        )
    log.info("journey_cancelled", journey_id=journey_id)
    return await c.journeys.get(journey_id) or journey


async def start_replay(c: ApiContext, stage: str, filters: ReplayFilters) -> ReplayJob:
    """Start a job moving a stage's matching dead-lettered messages back to its queue (a dry run only counts them);
    it runs on in this process. 404 for an unknown stage."""
    if stage not in STAGES:
        raise ApiError(404, "stage_not_found", f"no stage {stage!r}; stages: {', '.join(STAGES)}")
    kind = Kind(stage)
    urls = await c.directory.urls(kind)
    before_send = tracking_reopener(
        c.dynamodb,
        c.resources.tracking_table.name,
        c.resources.journeys_table.name,
        kind,
        claim_check=ClaimCheck(c.s3, c.resources.messages_bucket.name),
    )

    async def work(counts: ReplayCounts) -> ReplayCounts:
        try:
            return await replay(
                c.sqs,
                urls,
                journey_id=filters.journey_id,
                error_type=filters.error_type,
                max_messages=filters.max,
                rate_per_s=filters.rate_per_s,
                dry_run=filters.dry_run,
                max_replays=filters.max_replays,
                before_send=before_send,
                progress=counts,
            )
        finally:
            c.dlq_depths.pop(stage, None)

    return await c.replays.start(stage, filters, work)

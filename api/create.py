"""Creating a journey from a validated `POST /api/v1/journeys` body, honouring its Idempotency-Key."""

from __future__ import annotations

from datetime import datetime

from api.context import ApiContext
from api.errors import ApiError
from api.idempotency import IdempotencyKeys
from api.models import JourneyCreate, ReprocessJourneyCreate, TasksJourneyCreate, WindowJourneyCreate
from api.start import JourneyRequest, ReprocessRequest, start_journey, start_reprocess
from shared.journeys import Journey
from shared.logging import get_logger

log = get_logger(__name__)


def _ms(value: datetime) -> int:
    return int(value.timestamp() * 1000)


def _org(ctx: ApiContext, requested: str | None) -> str:
    org = requested or ctx.settings.wxcc_org_id
    if not org:
        raise ApiError(
            422,
            "validation_failed",
            "`org_id` is required: the server has no default WXCC org",
            [{"loc": ["org_id"], "msg": "Field required", "type": "missing"}],
        )
    return org


def check_supported(ctx: ApiContext, body: JourneyCreate) -> None:
    """Refuse, before any write, what validates but cannot be done (422: a reprocess version not newer)."""
    req = body.root
    _org(ctx, req.org_id)
    if isinstance(req, ReprocessJourneyCreate) and req.pipeline_version <= ctx.settings.pipeline_version:
        raise ApiError(
            422,
            "validation_failed",
            f"`pipeline_version` must be greater than the current {ctx.settings.pipeline_version}",
            [{"loc": ["pipeline_version"], "msg": "not newer than the current version", "type": "value_error"}],
        )


async def _start(ctx: ApiContext, body: JourneyCreate, journey_id: str | None, created_by: str) -> Journey:
    req = body.root
    org = _org(ctx, req.org_id)
    if isinstance(req, WindowJourneyCreate):
        return await start_journey(
            ctx.journeys,
            ctx.producer,
            JourneyRequest(
                org,
                from_ms=_ms(req.from_),
                to_ms=_ms(req.to),
                created_by=created_by,
                retry_failed=req.retry_failed,
                pipeline_version=ctx.settings.pipeline_version,
                journey_id=journey_id,
            ),
        )
    if isinstance(req, TasksJourneyCreate):
        return await start_journey(
            ctx.journeys,
            ctx.producer,
            JourneyRequest(
                org,
                task_ids=tuple(dict.fromkeys(req.task_ids)),
                created_by=created_by,
                retry_failed=req.retry_failed,
                pipeline_version=ctx.settings.pipeline_version,
                journey_id=journey_id,
            ),
        )
    if req.task_ids is None:
        assert req.window is not None
        return await start_journey(
            ctx.journeys,
            ctx.producer,
            JourneyRequest(
                org,
                from_ms=_ms(req.window.from_),
                to_ms=_ms(req.window.to),
                created_by=created_by,
                reprocess_version=req.pipeline_version,
                journey_id=journey_id,
            ),
        )
    journey = await start_reprocess(
        ctx.dynamodb,
        ctx.journeys,
        ctx.tracking,
        ctx.producer,
        ReprocessRequest(
            org,
            task_ids=tuple(dict.fromkeys(req.task_ids)),
            pipeline_version=req.pipeline_version,
            created_by=created_by,
            journey_id=journey_id,
        ),
    )
    return await ctx.journeys.get(journey.id) or journey


async def create_journey(
    ctx: ApiContext, body: JourneyCreate, *, idempotency: tuple[str, str] | None, created_by: str = "api"
) -> tuple[Journey, bool]:
    """Start the journey a body asks for; with `(key, body_hash)`, a replay returns the first journey.

    Returns the journey and whether this call created it.
    """
    check_supported(ctx, body)
    if idempotency is None:
        return await _start(ctx, body, None, created_by), True
    key, digest = idempotency
    reservation = await IdempotencyKeys(ctx.dynamodb, ctx.journeys.table).reserve(key, digest)
    if not reservation.fresh:
        existing = await ctx.journeys.get(reservation.journey_id)
        if existing is not None:
            log.info("journey_replayed", journey_id=existing.id)
            return existing, False
    try:
        journey = await _start(ctx, body, reservation.journey_id, created_by)
    except ValueError:  # a concurrent retry created it first
        existing = await ctx.journeys.get(reservation.journey_id)
        if existing is None:
            raise
        return existing, False
    return journey, True

"""Creating a journey from a validated `POST /api/v1/journeys` body: bounds, Idempotency-Key, per-key rate limit."""

from __future__ import annotations

from datetime import datetime

from api.context import ApiContext, org_of
from api.errors import ApiError
from api.idempotency import IdempotencyKeys
from api.models import JourneyCreate, ReprocessJourneyCreate, TasksJourneyCreate, WindowJourneyCreate
from api.ratelimit import ANONYMOUS
from api.start import (
    JourneyRequest,
    ReprocessRequest,
    check_reprocess,
    check_request,
    start_journey,
    start_reprocess,
)
from shared.bounds import JourneyTooLarge
from shared.journeys import Journey
from shared.logging import get_logger

log = get_logger(__name__)


def _ms(value: datetime) -> int:
    return int(value.timestamp() * 1000)


def _bounds_error(exc: JourneyTooLarge, loc_prefix: tuple[str, ...]) -> ApiError:
    v = exc.violation
    return ApiError(
        422,
        "journey_too_large",
        v.message,
        [
            {
                "loc": [*loc_prefix, v.field],
                "msg": v.message,
                "type": "bound",
                "setting": v.setting or None,
                "limit": v.limit,
            }
        ],
    )


def _request(
    ctx: ApiContext, body: JourneyCreate, journey_id: str | None, created_by: str
) -> JourneyRequest | ReprocessRequest:
    """The service request a body asks for."""
    req = body.root
    org = org_of(ctx, req.org_id)
    version = ctx.settings.pipeline_version
    if isinstance(req, WindowJourneyCreate):
        return JourneyRequest(
            org,
            from_ms=_ms(req.from_),
            to_ms=_ms(req.to),
            created_by=created_by,
            retry_failed=req.retry_failed,
            pipeline_version=version,
            journey_id=journey_id,
        )
    if isinstance(req, TasksJourneyCreate):
        return JourneyRequest(
            org,
            task_ids=tuple(dict.fromkeys(req.task_ids)),
            created_by=created_by,
            retry_failed=req.retry_failed,
            pipeline_version=version,
            journey_id=journey_id,
        )
    if req.task_ids is None:
        assert req.window is not None
        return JourneyRequest(
            org,
            from_ms=_ms(req.window.from_),
            to_ms=_ms(req.window.to),
            created_by=created_by,
            reprocess_version=req.pipeline_version,
            journey_id=journey_id,
        )
    return ReprocessRequest(
        org,
        task_ids=tuple(dict.fromkeys(req.task_ids)),
        pipeline_version=req.pipeline_version,
        created_by=created_by,
        journey_id=journey_id,
    )


def check_supported(ctx: ApiContext, body: JourneyCreate) -> None:
    """Refuse, before any write, what validates but cannot be done (422: a reprocess version not newer, a journey
    over a bound of `shared.bounds`, no org)."""
    req = body.root
    org_of(ctx, req.org_id)
    if isinstance(req, ReprocessJourneyCreate) and req.pipeline_version <= ctx.settings.pipeline_version:
        raise ApiError(
            422,
            "validation_failed",
            f"`pipeline_version` must be greater than the current {ctx.settings.pipeline_version}",
            [{"loc": ["pipeline_version"], "msg": "not newer than the current version", "type": "value_error"}],
        )
    service = _request(ctx, body, None, "api")
    in_window = isinstance(req, ReprocessJourneyCreate) and req.window is not None
    try:
        if isinstance(service, ReprocessRequest):
            check_reprocess(service, ctx.settings)
        else:
            check_request(service, ctx.settings)
    except JourneyTooLarge as exc:
        raise _bounds_error(exc, ("window",) if in_window else ()) from None


async def _start(ctx: ApiContext, body: JourneyCreate, journey_id: str | None, created_by: str) -> Journey:
    service = _request(ctx, body, journey_id, created_by)
    try:
        if isinstance(service, JourneyRequest):
            return await start_journey(ctx.journeys, ctx.producer, service, settings=ctx.settings)
        journey = await start_reprocess(
            ctx.dynamodb, ctx.journeys, ctx.tracking, ctx.producer, service, settings=ctx.settings
        )
    except JourneyTooLarge as exc:  # the clock moved past a bound since `check_supported`
        raise _bounds_error(exc, ()) from None
    return await ctx.journeys.get(journey.id) or journey


async def create_journey(
    ctx: ApiContext,
    body: JourneyCreate,
    *,
    idempotency: tuple[str, str] | None,
    created_by: str = "api",
    identity: str = ANONYMOUS,
) -> tuple[Journey, bool]:
    """Start the journey a body asks for; with `(key, body_hash)`, a replay returns the first journey.

    Order: bounds (422) before anything is written; a live Idempotency-Key answers with its journey before the
    per-key creation limit is counted (a retried POST is never refused with 429); then the limit (429), then the
    journey. Returns the journey and whether this call created it.
    """
    check_supported(ctx, body)
    keys = IdempotencyKeys(ctx.dynamodb, ctx.journeys.table, ttl_s=ctx.config.idempotency_ttl_s)
    if idempotency is not None:
        bound = await keys.lookup(*idempotency)
        if bound is not None:
            existing = await ctx.journeys.get(bound.journey_id)
            if existing is not None:
                log.info("journey_replayed", journey_id=existing.id)
                return existing, False
    await ctx.limiter.take(identity)
    if idempotency is None:
        return await _start(ctx, body, None, created_by), True
    key, digest = idempotency
    reservation = await keys.reserve(key, digest)
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

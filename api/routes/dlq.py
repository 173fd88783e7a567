"""The dead-letter routes: depth of every stage's DLQ, and replaying a stage's DLQ back to its queue."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from api.context import ctx
from api.errors import ApiError, ErrorBody
from api.models import DlqDepth
from api.parsing import json_response, read_json, validate
from api.routing import Route, RouteGroup
from api.status import dlq_depth
from queues.dlq import DEFAULT_MAX_REPLAYS, replay, tracking_reopener
from queues.envelope import Kind
from shared.journeys import STAGES
from shared.logging import get_logger

log = get_logger(__name__)


class DlqDepths(BaseModel):
    """Messages in each stage's dead-letter queue."""

    stages: list[DlqDepth]


class DlqReplayRequest(BaseModel):
    """Which dead-lettered messages to move back to the stage's queue (all of them without filters)."""

    model_config = ConfigDict(extra="forbid")

    journey_id: str | None = Field(default=None, min_length=1, max_length=128)
    error_type: str | None = Field(default=None, min_length=1, max_length=200)
    max: int | None = Field(default=None, ge=1, le=100_000, description="Move at most this many messages.")
    rate_per_s: float | None = Field(default=None, gt=0, le=1000)
    dry_run: bool = False
    max_replays: int = Field(default=DEFAULT_MAX_REPLAYS, ge=1, le=100)


class DlqReplayOut(BaseModel):
    """What the replay did."""

    stage: str
    dry_run: bool
    moved: int
    would_move: int
    skipped_non_matching: int
    refused_over_cap: int
    reopened: int = Field(description="FAILED calls put back to the stage's expected status.")
    move_task: str | None = Field(default=None, description="StartMessageMoveTask handle when SQS moved them itself.")


async def depths(request: web.Request) -> web.Response:
    """Visible + in-flight messages in each stage's DLQ (None when a queue could not be read)."""
    c = ctx(request)
    return json_response(DlqDepths(stages=[await dlq_depth(c, stage) for stage in STAGES]))


async def replay_stage(request: web.Request) -> web.Response:
    """Move matching messages of a stage's DLQ back to its queue; 404 for an unknown stage, 422 for bad filters."""
    stage = request.match_info["stage"]
    if stage not in STAGES:
        raise ApiError(404, "stage_not_found", f"no stage {stage!r}; stages: {', '.join(STAGES)}")
    body = validate(DlqReplayRequest, await read_json(request) if request.body_exists else {})
    c = ctx(request)
    kind = Kind(stage)
    urls = await c.directory.urls(kind)
    counts = await replay(
        c.sqs,
        urls,
        journey_id=body.journey_id,
        error_type=body.error_type,
        max_messages=body.max,
        rate_per_s=body.rate_per_s,
        dry_run=body.dry_run,
        max_replays=body.max_replays,
        before_send=tracking_reopener(
            c.dynamodb, c.resources.tracking_table.name, c.resources.journeys_table.name, kind
        ),
    )
    c.dlq_depths.pop(stage, None)
    log.info("dlq_replay_requested", stage=stage, dry_run=body.dry_run, moved=counts.moved)
    return json_response(
        DlqReplayOut(
            stage=stage,
            dry_run=body.dry_run,
            moved=counts.moved,
            would_move=counts.would_move,
            skipped_non_matching=counts.skipped_non_matching,
            refused_over_cap=counts.refused_over_cap,
            reopened=counts.reopened,
            move_task=counts.move_task,
        )
    )


GROUP = RouteGroup(
    "/api/v1",
    [
        Route(
            "GET", "/dlq", depths, "listDlqDepths", "Depth of each stage's dead-letter queue", "dlq", {200: DlqDepths}
        ),
        Route(
            "POST",
            "/dlq/{stage}/replay",
            replay_stage,
            "replayDlq",
            "Move a stage's dead-lettered messages back to its queue",
            "dlq",
            {200: DlqReplayOut, 400: ErrorBody, 404: ErrorBody, 422: ErrorBody},
            body=DlqReplayRequest,
        ),
    ],
)

"""The dead-letter routes: depth of every stage's DLQ, and replay jobs that move a stage's DLQ back to its queue."""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from api.context import ctx
from api.errors import ApiError, ErrorBody
from api.models import DlqDepth
from api.operations import start_replay
from api.parsing import json_response, parse_query, read_json, validate
from api.replay_jobs import ReplayFilters, ReplayJob, ReplayState
from api.routing import Route, RouteGroup, Scope
from api.status import dlq_depth
from queues.dlq import DEFAULT_MAX_REPLAYS, list_dead_letters
from queues.envelope import Kind
from shared.journeys import STAGES
from shared.logging import get_logger

log = get_logger(__name__)
PREFIX = "/api/v1"


class DlqDepths(BaseModel):
    """Messages in each stage's dead-letter queue."""

    stages: list[DlqDepth]


class DeadLetterOut(BaseModel):
    """One dead-lettered message: which call, why it failed, how long it has waited."""

    message_id: str
    journey_id: str | None
    task_id: str | None
    kind: str | None
    error_type: str | None
    error_message: str | None = Field(description="The reason the stage gave when it dead-lettered the message.")
    receive_count: int
    age_s: float = Field(description="Seconds since the message entered the dead-letter queue.")
    replay_count: int


class DeadLetterPage(BaseModel):
    """Up to `limit` messages of a stage's dead-letter queue, read without consuming them."""

    stage: str
    messages: list[DeadLetterOut]


class DeadLetterQuery(BaseModel):
    """How many dead letters to show."""

    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=20, ge=1, le=100)


class DlqReplayRequest(BaseModel):
    """Which dead-lettered messages to move back to the stage's queue (all of them without filters)."""

    model_config = ConfigDict(extra="forbid")

    journey_id: str | None = Field(default=None, min_length=1, max_length=128)
    error_type: str | None = Field(default=None, min_length=1, max_length=200)
    max: int | None = Field(default=None, ge=1, le=100_000, description="Move at most this many messages.")
    rate_per_s: float | None = Field(default=None, gt=0, le=1000)
    dry_run: bool = False
    max_replays: int = Field(default=DEFAULT_MAX_REPLAYS, ge=1, le=100)


class ReplayJobOut(BaseModel):
    """A replay job: its request, state and progress so far (counts grow while it runs)."""

    id: str
    stage: str
    state: ReplayState = Field(
        description="RUNNING, then SUCCEEDED, FAILED (see `error`) or INTERRUPTED (the API process stopped)."
    )
    dry_run: bool
    journey_id: str | None
    error_type: str | None
    max: int | None
    rate_per_s: float | None
    max_replays: int
    moved: int
    would_move: int = Field(description="Messages a dry run found that a replay would move.")
    skipped_non_matching: int
    refused_over_cap: int
    reopened: int = Field(description="FAILED calls put back to the stage's expected status.")
    move_task: str | None = Field(default=None, description="StartMessageMoveTask handle when SQS moved them itself.")
    created_at: str
    updated_at: str = Field(description="When the job last wrote its progress.")
    finished_at: str | None
    error: str | None

    @classmethod
    def of(cls, job: ReplayJob) -> ReplayJobOut:
        c, f = job.counts, job.filters
        return cls(
            id=job.id,
            stage=job.stage,
            state=job.state,
            dry_run=f.dry_run,
            journey_id=f.journey_id,
            error_type=f.error_type,
            max=f.max,
            rate_per_s=f.rate_per_s,
            max_replays=f.max_replays,
            moved=c.moved,
            would_move=c.would_move,
            skipped_non_matching=c.skipped_non_matching,
            refused_over_cap=c.refused_over_cap,
            reopened=c.reopened,
            move_task=c.move_task,
            created_at=job.created_at,
            updated_at=datetime.fromtimestamp(job.updated_at, UTC).isoformat(timespec="milliseconds"),
            finished_at=job.finished_at,
            error=job.error,
        )


def _location(replay_id: str) -> str:
    return f"{PREFIX}/dlq/replays/{replay_id}"


async def depths(request: web.Request) -> web.Response:
    """Visible + in-flight messages in each stage's DLQ (None when a queue could not be read)."""
    c = ctx(request)
    return json_response(DlqDepths(stages=[await dlq_depth(c, stage) for stage in STAGES]))


async def dead_letters(request: web.Request) -> web.Response:
    """Up to `limit` messages of a stage's DLQ with their reasons (peeked: made visible again at once). 404 for an
    unknown stage."""
    stage = request.match_info["stage"]
    if stage not in STAGES:
        raise ApiError(404, "stage_not_found", f"no stage {stage!r}; stages: {', '.join(STAGES)}")
    query = parse_query(request, DeadLetterQuery)
    c = ctx(request)
    letters = await list_dead_letters(c.sqs, await c.directory.urls(Kind(stage)), max_messages=query.limit)
    letters.sort(key=lambda letter: letter.age_s)
    page = DeadLetterPage(
        stage=stage,
        messages=[DeadLetterOut(**{**letter.__dict__, "age_s": round(letter.age_s, 1)}) for letter in letters],
    )
    return json_response(page)


async def replay_stage(request: web.Request) -> web.Response:
    """Start a job that moves matching messages of a stage's DLQ back to its queue (a dry run only counts them);
    202 at once with the job and its Location, whatever the DLQ's size. 404 for an unknown stage."""
    body = validate(DlqReplayRequest, await read_json(request) if request.body_exists else {})
    filters = ReplayFilters(
        journey_id=body.journey_id,
        error_type=body.error_type,
        max=body.max,
        rate_per_s=body.rate_per_s,
        dry_run=body.dry_run,
        max_replays=body.max_replays,
    )
    job = await start_replay(ctx(request), request.match_info["stage"], filters)
    return json_response(ReplayJobOut.of(job), status=202, headers={"Location": _location(job.id)})


async def get_replay(request: web.Request) -> web.Response:
    """A replay job's state and counts; a job whose API process stopped shows INTERRUPTED. 404 if unknown."""
    replay_id = request.match_info["replay_id"]
    job = await ctx(request).replay_jobs.get(replay_id)
    if job is None:
        raise ApiError(404, "replay_not_found", "no such replay job", {"replay_id": replay_id[:64]})
    return json_response(ReplayJobOut.of(job))


GROUP = RouteGroup(
    PREFIX,
    [
        Route(
            "GET",
            "/dlq",
            depths,
            "listDlqDepths",
            "Depth of each stage's dead-letter queue",
            "dlq",
            {200: DlqDepths},
            scope=Scope.READ,
        ),
        Route(
            "GET",
            "/dlq/{stage}/messages",
            dead_letters,
            "listDeadLetters",
            "A stage's dead-lettered messages with their reasons, newest first (read without consuming them)",
            "dlq",
            {200: DeadLetterPage, 404: ErrorBody, 422: ErrorBody},
            query=DeadLetterQuery,
            notes={404: "No such stage", 422: "`limit` is not an integer from 1 to 100, or an unknown parameter"},
            scope=Scope.READ,
        ),
        Route(
            "POST",
            "/dlq/{stage}/replay",
            replay_stage,
            "replayDlq",
            "Start a job moving a stage's dead-lettered messages back to its queue",
            "dlq",
            {202: ReplayJobOut, 400: ErrorBody, 404: ErrorBody, 422: ErrorBody, 429: ErrorBody},
            body=DlqReplayRequest,
            notes={
                404: "No such stage",
                422: "The body does not validate",
                429: (
                    "This API process already runs CALLPIPE_API_REPLAY_JOBS_PER_PROCESS replay jobs (4 by default); "
                    "retry after `Retry-After` seconds"
                ),
            },
            response_headers={
                202: {"Location": "The replay job's URL"},
                429: {"Retry-After": "Seconds to wait before asking again"},
            },
            scope=Scope.OPERATE,
        ),
        Route(
            "GET",
            "/dlq/replays/{replay_id}",
            get_replay,
            "getDlqReplay",
            "A replay job's progress",
            "dlq",
            {200: ReplayJobOut, 404: ErrorBody},
            scope=Scope.READ,
        ),
    ],
)

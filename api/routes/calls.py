"""`GET /api/v1/calls/{task_id}`: a call's tracking row and where its recording, transcript and analysis are."""

from __future__ import annotations

from aiohttp import web

from api.context import ctx
from api.errors import ApiError, ErrorBody
from api.models import CallOut, CallQuery, S3Object
from api.parsing import json_response, parse_query
from api.routing import Route, RouteGroup


async def get_call(request: web.Request) -> web.Response:
    """The call's row; org from `?org_id=` or the server's WXCC org."""
    c = ctx(request)
    task_id = request.match_info["task_id"]
    org = parse_query(request, CallQuery).org_id or c.settings.wxcc_org_id
    if not org:
        raise ApiError(422, "validation_failed", "`org_id` is required: the server has no default WXCC org")
    row = await c.tracking.get(org, task_id)
    if row is None:
        raise ApiError(404, "call_not_found", f"no call {task_id} in org {org}")
    results = c.resources.results_bucket.name
    recordings = c.resources.recordings_bucket.name
    return json_response(
        CallOut(
            org_id=row.org_id,
            task_id=row.task_id,
            status=row.status.value,
            journey_id=row.journey_id,
            pipeline_version=row.pipeline_version,
            attempts=row.attempts,
            error=row.error,
            lease_stage=row.lease_stage,
            lease_until=row.lease_until,
            claimed_at=row.claimed_at,
            facts=row.facts,
            recordings=[S3Object(bucket=recordings, key=str(r.get("key", ""))) for r in row.recording_keys],
            transcript=S3Object(bucket=results, key=row.transcript_key) if row.transcript_key else None,
            analysis=S3Object(bucket=results, key=row.analysis_key) if row.analysis_key else None,
        )
    )


GROUP = RouteGroup(
    "/api/v1",
    [
        Route(
            "GET",
            "/calls/{task_id}",
            get_call,
            "getCall",
            "A call's tracking row and stored objects",
            "calls",
            {200: CallOut, 404: ErrorBody, 422: ErrorBody},
            query=CallQuery,
        )
    ],
)

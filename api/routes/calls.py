"""The call explorer: analysed calls newest first, one call's row and record, its transcript turns, its recordings.

`GET /api/v1/calls/{task_id}` keeps returning the tracking row and where the recording, transcript and analysis are,
and adds the analytics record once the call is analysed. A recording is never served through the API: its route
answers short-lived presigned S3 URLs.
"""

from __future__ import annotations

from aiohttp import web

from api.context import ApiContext, ctx, org_of
from api.errors import ApiError, ErrorBody
from api.models import CallListQuery, CallOut, CallQuery, S3Object
from api.parsing import json_response, parse_query
from api.routing import Route, RouteGroup, Scope
from shared.analytics import queries
from shared.analytics.queries import CallPage, RecordingLinks, TranscriptOut
from shared.analytics.store import AnalyticsStore, BadCursor, ListFilters
from shared.storage import Storage
from shared.tracking import TrackingRow


def analytics_store(c: ApiContext) -> AnalyticsStore:
    """The analytics table of this deployment."""
    return AnalyticsStore(c.dynamodb, c.resources.analytics_table.name)


async def _row(request: web.Request) -> tuple[ApiContext, TrackingRow]:
    c = ctx(request)
    task_id = request.match_info["task_id"]
    org = org_of(c, parse_query(request, CallQuery).org_id)
    row = await c.tracking.get(org, task_id)
    if row is None:
        raise ApiError(404, "call_not_found", f"no call {task_id} in org {org}")
    return c, row


async def list_calls(request: web.Request) -> web.Response:
    """Analysed calls that ended in [from, to) and match every filter, newest first, a page at a time (pass
    `next_cursor` as `cursor`). A page may hold fewer than `limit` calls and still have a `next_cursor` when the
    filters are selective: keep paging until `next_cursor` is null."""
    c = ctx(request)
    q = parse_query(request, CallListQuery)
    filters = ListFilters(q.queue, q.agent, q.sentiment, q.resolved, q.topic, q.qa_severity)
    try:
        page = await queries.list_calls(
            analytics_store(c), org_of(c, q.org_id), *q.window(), filters, limit=q.limit, cursor=q.cursor
        )
    except BadCursor as exc:
        raise ApiError(422, "invalid_cursor", str(exc)) from exc
    return json_response(page)


async def get_transcript(request: web.Request) -> web.Response:
    """The call's transcript as turns (speaker, start and end in seconds from the start of the call, text)."""
    c, row = await _row(request)
    if not row.transcript_key:
        raise ApiError(404, "transcript_not_found", f"call {row.task_id} has no transcript yet ({row.status.value})")
    storage = Storage(c.s3)
    return json_response(await queries.transcript(storage, c.resources.results_bucket.name, row.transcript_key))


async def get_recording(request: web.Request) -> web.Response:
    """Short-lived presigned URLs of the call's stored recordings (one per leg); the bytes never pass the API."""
    c, row = await _row(request)
    if not row.recording_keys:
        raise ApiError(404, "recording_not_found", f"call {row.task_id} has no stored recording ({row.status.value})")
    links = await queries.recording_links(c.s3, c.resources.recordings_bucket.name, row.task_id, row.recording_keys)
    return json_response(links)


async def get_call(request: web.Request) -> web.Response:
    """The call's row, where its objects are, and its analytics record once analysed; org from `?org_id=` or the
    server's WXCC org."""
    c, row = await _row(request)
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
            record=await queries.call_record(analytics_store(c), row.org_id, row.task_id),
        )
    )


GROUP = RouteGroup(
    "/api/v1",
    [
        Route(
            "GET",
            "/calls",
            list_calls,
            "listCalls",
            "Analysed calls, newest first, filtered and paged",
            "calls",
            {200: CallPage, 422: ErrorBody},
            query=CallListQuery,
            scope=Scope.READ,
        ),
        Route(
            "GET",
            "/calls/{task_id}/transcript",
            get_transcript,
            "getCallTranscript",
            "A call's transcript turns",
            "calls",
            {200: TranscriptOut, 404: ErrorBody, 422: ErrorBody},
            query=CallQuery,
            scope=Scope.READ,
        ),
        Route(
            "GET",
            "/calls/{task_id}/recording",
            get_recording,
            "getCallRecording",
            "Short-lived download URLs of a call's recordings",
            "calls",
            {200: RecordingLinks, 404: ErrorBody, 422: ErrorBody},
            query=CallQuery,
            scope=Scope.READ,
        ),
        Route(
            "GET",
            "/calls/{task_id}",
            get_call,
            "getCall",
            "A call's tracking row, stored objects and analytics record",
            "calls",
            {200: CallOut, 404: ErrorBody, 422: ErrorBody},
            query=CallQuery,
            scope=Scope.READ,
        ),
    ],
)

"""`GET /api/v1/journeys/{journey_id}/report`: a journey's report as JSON, CSV or HTML.

A COMPLETED journey's report is the one its last worker stored (`shared.reports`); while the journey runs, after it
was cancelled, or when the stored copy is missing (the write failed, or it predates reports), the report is built from
the journey store on the spot. `X-Report-Source` tells which (`stored` or `built`).
"""

from __future__ import annotations

from typing import Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict

from api.context import ApiContext, ctx
from api.errors import ApiError, ErrorBody
from api.parsing import parse_query
from api.routing import Route, RouteGroup, Scope
from shared.journeys import JourneyState
from shared.logging import get_logger
from shared.reports import CHUNK, FORMATS, ReportSummary, build_report, render_html, report_key, summary_json

log = get_logger(__name__)

SOURCE_HEADER = "X-Report-Source"


class ReportQuery(BaseModel):
    """Query of `GET /api/v1/journeys/{journey_id}/report`."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["json", "csv", "html"] = "json"


async def _stored(request: web.Request, c: ApiContext, key: str, fmt: str) -> web.StreamResponse | None:
    """Stream the stored object to the client; None when it is not there."""
    bucket = c.resources.results_bucket.name
    try:
        obj = await c.s3.get_object(Bucket=bucket, Key=key)
    except c.s3.exceptions.NoSuchKey:
        return None
    body = obj["Body"]
    try:
        response = web.StreamResponse(headers={"Content-Type": FORMATS[fmt], SOURCE_HEADER: "stored"})
        response.content_length = obj["ContentLength"]
        await response.prepare(request)
        async for chunk in body.iter_chunks(CHUNK):
            await response.write(chunk)
        await response.write_eof()
    finally:
        body.close()
    return response


async def get_report(request: web.Request) -> web.StreamResponse:
    """The journey's report: `format=json` (summary), `csv` (one row per call with its outcome and reason) or `html`
    (a self-contained page with the summary table and a chart)."""
    c = ctx(request)
    journey_id = request.match_info["journey_id"]
    fmt = parse_query(request, ReportQuery).format
    journey = await c.journeys.get(journey_id)
    if journey is None:
        raise ApiError(404, "journey_not_found", f"no journey {journey_id}")
    if journey.state is JourneyState.COMPLETED:
        stored = await _stored(request, c, report_key(journey_id, fmt), fmt)
        if stored is not None:
            return stored
        log.info("journey_report_built_on_demand", journey_id=journey_id, reason="no stored report")
    built = await build_report(c.journeys, journey_id)
    if built is None:
        raise ApiError(404, "journey_not_found", f"no journey {journey_id}")
    try:
        headers = {"Content-Type": FORMATS[fmt], SOURCE_HEADER: "built"}
        if fmt == "json":
            return web.Response(body=summary_json(built.summary), headers=headers)
        if fmt == "html":
            return web.Response(body=render_html(built.summary).encode(), headers=headers)
        response = web.StreamResponse(headers=headers)
        await response.prepare(request)
        while chunk := built.csv_file.read(CHUNK):
            await response.write(chunk)
        await response.write_eof()
        return response
    finally:
        built.close()


GROUP = RouteGroup(
    "/api/v1",
    [
        Route(
            "GET",
            "/journeys/{journey_id}/report",
            get_report,
            "getJourneyReport",
            "A journey's report (JSON, CSV or HTML)",
            "journeys",
            {200: ReportSummary, 404: ErrorBody, 422: ErrorBody},
            query=ReportQuery,
            notes={
                200: (
                    "`format=json`: the summary (application/json); `format=csv`: one row per call "
                    "(task_id, outcome, stage, reason, billed_audio_seconds, tokens, analysis_key, at); "
                    "`format=html`: a self-contained page"
                ),
                422: "`format` is not json, csv or html, or an unknown query parameter",
            },
            response_headers={200: {SOURCE_HEADER: "`stored` (written when the journey completed) or `built` (now)"}},
            media_types={200: ("text/csv", "text/html")},
            scope=Scope.READ,
        )
    ],
)

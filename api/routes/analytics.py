"""`GET /api/v1/analytics/summary`: exact totals and groups of analysed calls (see `shared.analytics.aggregates`)."""

from __future__ import annotations

from aiohttp import web

from api.context import ctx, org_of
from api.errors import ErrorBody
from api.models import AnalyticsSummaryQuery
from api.parsing import json_response, parse_query
from api.routes.calls import analytics_store
from api.routing import Route, RouteGroup, Scope
from shared.analytics import queries
from shared.analytics.queries import Summary
from shared.analytics.store import ListFilters


async def summary(request: web.Request) -> web.Response:
    """Calls analysed, resolution rate, sentiment per party, top reasons and topics, average duration, talk and
    silence, QA flags by severity, billed audio minutes, tokens and estimated cost, for the calls that ended in the
    UTC days of [from, to), in total and grouped by day, queue, agent, topic or customer sentiment. Without filters
    it reads pre-computed aggregates; with filters it counts the matching calls' records. Both are exact."""
    c = ctx(request)
    q = parse_query(request, AnalyticsSummaryQuery)
    filters = ListFilters(queue=q.queue, agent=q.agent, sentiment=q.sentiment, resolved=q.resolved)
    result = await queries.summary(analytics_store(c), org_of(c, q.org_id), *q.window(), q.group_by, filters)
    return json_response(result)


GROUP = RouteGroup(
    "/api/v1",
    [
        Route(
            "GET",
            "/analytics/summary",
            summary,
            "getAnalyticsSummary",
            "Exact aggregates of analysed calls",
            "analytics",
            {200: Summary, 422: ErrorBody},
            query=AnalyticsSummaryQuery,
            scope=Scope.READ,
        )
    ],
)

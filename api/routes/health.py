"""`GET /health` (liveness), `GET /ready` (queues, tables, buckets reachable), `GET /metrics`; all without a key."""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from api.context import ctx
from api.errors import ErrorBody, error_response
from api.models import Health, Ready
from api.parsing import json_response
from api.readiness import readiness
from api.routing import Route, RouteGroup


async def health(_request: web.Request) -> web.Response:
    """The process is up."""
    return json_response(Health())


async def ready(request: web.Request) -> web.Response:
    """Every dependency answers, else 503 with the failing checks."""
    checks = await readiness(ctx(request))
    failed = [c for c in checks if not c.ok]
    if failed:
        return error_response(
            503,
            "not_ready",
            f"{len(failed)} of {len(checks)} dependencies are not reachable",
            [c.model_dump() for c in failed],
        )
    return json_response(Ready(status="ready", checks=checks))


async def metrics(_request: web.Request) -> web.Response:
    """The process's Prometheus metrics (text exposition format)."""
    body = generate_latest(REGISTRY)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


GROUP = RouteGroup(
    "",
    [
        Route("GET", "/health", health, "health", "Liveness", "health", {200: Health}, public=True),
        Route("GET", "/ready", ready, "ready", "Readiness", "health", {200: Ready, 503: ErrorBody}, public=True),
        Route("GET", "/metrics", metrics, "metrics", "Prometheus metrics", "health", {200: None}, public=True),
    ],
)

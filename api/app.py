"""Builds the aiohttp application: middlewares, route groups, the OpenAPI document, AWS clients on startup."""

from __future__ import annotations

from collections.abc import Sequence

from aiohttp import web

from api.auth import KeyChecker
from api.config import ApiConfig
from api.console import install_console
from api.context import CHECKER, CONFIG, aws_context
from api.middleware import PUBLIC_ROUTES, auth_middleware, errors_middleware
from api.openapi import openapi_document
from api.routes import analytics, calls, dlq, health, journeys, meta, reports
from api.routing import Route, RouteGroup, register
from shared.aws import AwsClients
from shared.config import Settings

# Each group is a module of its own; license, analytics, MCP and webhooks join this tuple.
ROUTE_GROUPS: tuple[RouteGroup, ...] = (
    health.GROUP,
    journeys.GROUP,
    reports.GROUP,
    analytics.GROUP,
    calls.GROUP,
    dlq.GROUP,
    meta.GROUP,
)


def app_routes(groups: Sequence[RouteGroup] = ROUTE_GROUPS) -> list[Route]:
    """Every route of the groups, with full paths."""
    return [route for group in groups for route in group.full()]


def create_app(
    settings: Settings,
    api_config: ApiConfig | None = None,
    *,
    clients: AwsClients | None = None,
    groups: Sequence[RouteGroup] = ROUTE_GROUPS,
) -> web.Application:
    """The API application; its AWS clients open on startup and close on cleanup."""
    config = api_config or ApiConfig()
    app = web.Application(middlewares=[errors_middleware, auth_middleware], client_max_size=config.max_body_bytes)
    routes = app_routes(groups)
    register(app, routes)
    install_console(app, config, settings)  # the web console: a fallback for unrouted GETs, not a route
    app[CONFIG] = config
    app[CHECKER] = KeyChecker(config.key_hashes, allow_anonymous=config.allow_anonymous)
    app[PUBLIC_ROUTES] = frozenset((r.method, r.path) for r in routes if r.public)
    app[meta.OPENAPI] = openapi_document(routes)
    app.cleanup_ctx.append(aws_context(settings, config, clients or AwsClients(settings)))
    return app

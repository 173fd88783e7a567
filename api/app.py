"""Builds the aiohttp application: middlewares, route groups, the OpenAPI document, AWS clients on startup."""

from __future__ import annotations

from collections.abc import Sequence

from aiohttp import web

from api.config import ApiConfig
from api.console import install_console
from api.context import CONFIG, aws_context
from api.middleware import audit_middleware, auth_middleware, errors_middleware, install_access_control
from api.openapi import openapi_document
from api.routes import analytics, calls, dlq, health, journeys, meta, reports
from api.routes import audit as audit_routes  # access control (issue 20)
from api.routes import auth as auth_routes  # access control (issue 20)
from api.routes import license as license_routes  # license (issue 14)
from api.routes import privacy as privacy_routes  # privacy (issue 16)
from api.routes import webhooks as webhook_routes  # webhooks (issue 17)
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
    auth_routes.GROUP,  # access control (issue 20)
    audit_routes.GROUP,  # access control (issue 20)
    webhook_routes.GROUP,  # webhooks (issue 17)
    license_routes.GROUP,  # license (issue 14)
    privacy_routes.GROUP,  # privacy (issue 16)
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
    app = web.Application(
        middlewares=[audit_middleware, errors_middleware, auth_middleware], client_max_size=config.max_body_bytes
    )
    routes = app_routes(groups)
    register(app, routes)
    install_console(app, config, settings)  # the web console: a fallback for unrouted GETs, not a route
    app[CONFIG] = config
    install_access_control(app, config, routes)  # keys, OIDC, each route's scope
    app[meta.OPENAPI] = openapi_document(routes)
    app.cleanup_ctx.append(aws_context(settings, config, clients or AwsClients(settings)))
    return app

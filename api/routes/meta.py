"""`GET /api/v1/openapi.json`: the OpenAPI document of the running app (no key needed)."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import RootModel

from api.routing import Route, RouteGroup

OPENAPI = web.AppKey("callpipe_api_openapi", dict[str, Any])


class OpenApiDocument(RootModel[dict[str, Any]]):
    """An OpenAPI 3.1 document."""


async def openapi(request: web.Request) -> web.Response:
    """This API's OpenAPI 3.1 document."""
    return web.json_response(request.app[OPENAPI])


GROUP = RouteGroup(
    "/api/v1",
    [
        Route(
            "GET",
            "/openapi.json",
            openapi,
            "getOpenApi",
            "OpenAPI document",
            "meta",
            {200: OpenApiDocument},
            public=True,
        )
    ],
)

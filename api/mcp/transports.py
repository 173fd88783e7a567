"""The two front doors of the MCP server: stdio (`callpipe mcp`, for desktop clients) and streamable HTTP
(`callpipe mcp --http PORT`, at `/mcp`, behind the API's keys)."""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn
from mcp.server.mcpserver import MCPServer
from starlette.types import ASGIApp

from api.config import ApiConfig
from api.mcp.access import KeyGate, RequireKey
from api.mcp.server import build_server
from api.mcp.services import api_context
from shared.config import Settings
from shared.logging import get_logger

log = get_logger(__name__)

PATH = "/mcp"


async def serve_stdio(settings: Settings, config: ApiConfig | None = None) -> None:
    """Serve the tools on stdin/stdout until the client closes them (logs go to stderr)."""
    async with api_context(settings, config) as c:
        log.info("mcp_stdio_ready", prefix=settings.name_prefix)
        await build_server(c, http=False).run_stdio_async()


def http_app(server: MCPServer[Any], config: ApiConfig, host: str) -> ASGIApp:
    """The streamable HTTP app at `/mcp`, refusing every request without an accepted API key."""
    return RequireKey(server.streamable_http_app(streamable_http_path=PATH, host=host), KeyGate.from_config(config))


async def serve_http(
    settings: Settings,
    host: str = "127.0.0.1",
    port: int = 8081,
    *,
    api_config: ApiConfig | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Serve the tools over streamable HTTP at `http://host:port/mcp` until SIGTERM/SIGINT or `stop` is set."""
    config = api_config or ApiConfig()
    if not config.has_keys and not config.allow_anonymous:
        log.warning("mcp_no_keys", hint="set CALLPIPE_API_KEYS or CALLPIPE_API_KEY_HASHES; every request gets 401")
    async with api_context(settings, config) as c:
        app = http_app(build_server(c, http=True), config, host)
        server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False))
        serving = asyncio.create_task(server.serve())
        log.info("mcp_http_listening", host=host, port=port, path=PATH)
        if stop is None:
            await serving
            return
        stopped = asyncio.create_task(stop.wait())
        await asyncio.wait({serving, stopped}, return_when=asyncio.FIRST_COMPLETED)
        server.should_exit = True
        stopped.cancel()
        await serving

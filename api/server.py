"""Serves the API on a host and port until SIGTERM/SIGINT (or a given stop event), then shuts down cleanly."""

from __future__ import annotations

import asyncio
import signal

from aiohttp import web
from aiohttp.http_exceptions import LineTooLong
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

from api.app import create_app
from api.config import ApiConfig
from api.errors import HTTP_CODES, error_response
from shared.config import Settings
from shared.logging import get_logger

log = get_logger(__name__)

MAX_LINE_BYTES = 8190  # aiohttp's limit on the request line and on each header; over it: 400 `request_too_large`


class _JsonErrorRequestHandler(RequestHandler):
    """aiohttp's connection handler, with its own errors (unparsable request line or headers, a line over the size
    limit) as the API's JSON error body instead of text that echoes the offending bytes (which can hold a key)."""

    def handle_error(
        self, request: BaseRequest, status: int = 500, exc: BaseException | None = None, message: str | None = None
    ) -> web.StreamResponse:
        log.warning("api_bad_http_request", status=status, error=type(exc).__name__ if exc else None)
        if request.writer.output_size > 0:
            raise ConnectionError("the response was already started; the connection is closed")
        if isinstance(exc, LineTooLong):
            response = error_response(
                status,
                "request_too_large",
                "the request line or a header is over the size limit",
                {"limit": MAX_LINE_BYTES},
            )
        elif status < 500:
            code = HTTP_CODES.get(status, f"http_{status}")
            response = error_response(status, code, "the request is not valid HTTP")
        else:
            response = error_response(status, "internal_error", "an unexpected error occurred")
        response.force_close()
        return response


class _JsonErrorServer(web.Server):
    def __call__(self) -> RequestHandler:
        return _JsonErrorRequestHandler(self, loop=self._loop, **self._kwargs)


class ApiRunner(web.AppRunner):
    """An `AppRunner` whose HTTP-level errors (before any route or middleware runs) are JSON error bodies too."""

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        server.__class__ = _JsonErrorServer
        return server


async def run_api(
    settings: Settings,
    host: str = "127.0.0.1",
    port: int = 8080,
    *,
    api_config: ApiConfig | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Serve until SIGTERM/SIGINT or `stop` is set; AWS clients are opened before the port accepts requests."""
    config = api_config or ApiConfig()
    if not config.has_keys and not config.oidc.enabled and not config.allow_anonymous:
        log.warning(
            "api_no_keys",
            hint="set CALLPIPE_API_KEYS, CALLPIPE_API_KEY_HASHES or OIDC; every authenticated route will answer 401",
        )
    done = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, done.set)
    runner = ApiRunner(
        create_app(settings, config),
        access_log=None,
        handle_signals=False,
        max_line_size=MAX_LINE_BYTES,
        max_field_size=MAX_LINE_BYTES,
    )
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        log.info("api_listening", host=host, port=port, prefix=settings.name_prefix)
        await done.wait()
        log.info("api_stopping")
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        await runner.cleanup()

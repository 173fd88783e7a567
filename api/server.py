"""Serves the API on a host and port until SIGTERM/SIGINT (or a given stop event), then shuts down cleanly."""

from __future__ import annotations

import asyncio
import signal

from aiohttp import web

from api.app import create_app
from api.config import ApiConfig
from shared.config import Settings
from shared.logging import get_logger

log = get_logger(__name__)


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
    if not config.key_hashes and not config.allow_anonymous:
        log.warning("api_no_keys", hint="set CALLPIPE_API_KEY_HASHES; every authenticated route will answer 401")
    done = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, done.set)
    runner = web.AppRunner(create_app(settings, config), access_log=None, handle_signals=False)
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

"""Runs the simulator on 127.0.0.1 (port 0 picks a free one): a start/stop server and an async context manager."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiohttp import web

from shared.logging import get_logger
from simulator.wxcc.clock import Clock
from simulator.wxcc.config import SimulatorConfig
from simulator.wxcc.http import STATE
from simulator.wxcc.state import SimulatorState

log = get_logger(__name__)


@dataclass(frozen=True)
class SimulatorHandle:
    """A running simulator: where it listens and its state (calls, tokens, faults, stats, clock)."""

    base_url: str
    app: web.Application
    state: SimulatorState

    @property
    def config(self) -> SimulatorConfig:
        """The config in force (changes on a reset with overrides)."""
        return self.state.config

    def url(self, path: str) -> str:
        """An absolute URL on this simulator."""
        return f"{self.base_url}{path}"


class SimulatorServer:
    """The app behind an aiohttp runner; `start()` returns the handle with the bound URL."""

    def __init__(
        self,
        config: SimulatorConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Clock | None = None,
    ) -> None:
        from simulator.wxcc.app import create_app

        self._app = create_app(config, clock=clock)
        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None

    async def start(self) -> SimulatorHandle:
        """Bind and serve."""
        self._runner = web.AppRunner(self._app, access_log=None, handle_signals=False)
        await self._runner.setup()
        await web.TCPSite(self._runner, self._host, self._port).start()
        port = self._runner.addresses[0][1]
        host = f"[{self._host}]" if ":" in self._host else self._host
        handle = SimulatorHandle(f"http://{host}:{port}", self._app, self._app[STATE])
        log.info("simulator_started", url=handle.base_url, calls=len(handle.state.calls))
        return handle

    async def stop(self) -> None:
        """Stop serving and close open connections."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


@asynccontextmanager
async def running_simulator(
    config: SimulatorConfig | None = None, *, host: str = "127.0.0.1", port: int = 0, clock: Clock | None = None
) -> AsyncIterator[SimulatorHandle]:
    """Serve the simulator for the body of an `async with` (port 0 by default: `handle.base_url` says where)."""
    server = SimulatorServer(config, host=host, port=port, clock=clock)
    handle = await server.start()
    try:
        yield handle
    finally:
        await server.stop()

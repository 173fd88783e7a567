"""Builds the simulator's aiohttp application: WXCC + Webex OAuth endpoints on one server, plus the control API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from aiohttp import web

from simulator.wxcc.clock import Clock
from simulator.wxcc.config import SimulatorConfig
from simulator.wxcc.http import CONTROL_PREFIX, STATE
from simulator.wxcc.middleware import api_middleware
from simulator.wxcc.routes import captures, control, oauth, recordings, search, tasks
from simulator.wxcc.state import SimulatorState
from simulator.wxcc.subscriptions import add_routes as add_subscription_routes


def create_app(config: SimulatorConfig | None = None, *, clock: Clock | None = None) -> web.Application:
    """The application; its state is `app[STATE]` (a `SimulatorState`).

    One server plays both hosts: `webexapis.com` (the token routes) and `api.wxcc-{dc}.cisco.com` (the rest).
    """
    app = web.Application(middlewares=[api_middleware], client_max_size=2 * 2**20)
    app[STATE] = SimulatorState(config or SimulatorConfig(), clock)
    r = app.router
    r.add_post("/v1/access_token", oauth.access_token, name="token.refresh")
    r.add_post("/v1/applications/{application_id}/token", oauth.service_app_token, name="token.service_app")
    r.add_get("/v1/tasks", tasks.list_tasks, name="tasks")
    r.add_post("/search", search.search, name="search")
    r.add_post("/v1/captures/query", captures.query_captures, name="captures")
    r.add_get("/recordings/{org_id}/{task_id}/{recording_id}/{file_name}", recordings.get_recording, name="recordings")
    control.add_routes(app, CONTROL_PREFIX)
    add_subscription_routes(app)  # webhooks (issue 17): the Subscriptions API
    app.cleanup_ctx.append(_webhook_sender)  # ... and the deliveries to its subscriptions
    return app


async def _webhook_sender(app: web.Application) -> AsyncIterator[None]:
    """Deliver webhooks in the background while the server runs (the state's current sender, after any reset)."""
    stop = asyncio.Event()

    async def loop() -> None:
        while not stop.is_set():
            await app[STATE].webhooks.run(stop)

    task = asyncio.create_task(loop())
    yield
    stop.set()
    await task

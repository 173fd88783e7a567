"""Builds the simulator's aiohttp application: WXCC + Webex OAuth endpoints on one server, plus the control API."""

from __future__ import annotations

from aiohttp import web

from simulator.wxcc.clock import Clock
from simulator.wxcc.config import SimulatorConfig
from simulator.wxcc.http import CONTROL_PREFIX, STATE
from simulator.wxcc.middleware import api_middleware
from simulator.wxcc.routes import captures, control, oauth, recordings, search, tasks
from simulator.wxcc.state import SimulatorState


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
    return app

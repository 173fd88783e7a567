"""Fixtures: a simulator on 127.0.0.1 (port 0) with calls that ended an hour ago, an httpx client, a bearer token."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from simulator.wxcc import SimulatorConfig, SimulatorHandle, running_simulator

HOUR_MS = 3_600_000


def past_window(**overrides: Any) -> SimulatorConfig:
    """Calls created between 3 and 2 hours ago (all ended, all listed), short enough to render fast."""
    now = int(time.time() * 1000)
    values: dict[str, Any] = {
        "seed": 11,
        "calls": 60,
        "window_start_ms": now - 3 * HOUR_MS,
        "window_end_ms": now - 2 * HOUR_MS,
        "duration_scale": 0.25,
        "availability_delay_s": 0,
        "capture_pending_fraction": 0,
        "consult_fraction": 0.5,
        "voice": "synth",
    }
    return SimulatorConfig.model_validate({**values, **overrides})


@pytest.fixture
def sim_config() -> SimulatorConfig:
    """The config `sim` starts with (override this fixture in a module to change it)."""
    return past_window()


@pytest.fixture
async def sim(sim_config: SimulatorConfig) -> AsyncIterator[SimulatorHandle]:
    async with running_simulator(sim_config) as handle:
        yield handle


@pytest.fixture
async def http(sim: SimulatorHandle) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sim.base_url, timeout=30) as client:
        yield client


async def service_app_token(http: httpx.AsyncClient, config: SimulatorConfig) -> dict[str, Any]:
    """A token response from the service-app grant."""
    response = await http.post(
        f"/v1/applications/{config.application_id}/token",
        json={"clientId": config.client_id, "clientSecret": config.client_secret, "targetOrgId": config.org_id},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
async def auth(http: httpx.AsyncClient, sim: SimulatorHandle) -> dict[str, str]:
    """Headers with a valid bearer token."""
    token = await service_app_token(http, sim.config)
    return {"Authorization": f"Bearer {token['access_token']}"}

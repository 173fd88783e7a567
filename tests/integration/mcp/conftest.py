"""One dev stack per module (moto, the WXCC simulator, the OpenAI fake, every stage's worker) and the MCP server on
it over streamable HTTP (in process, behind API keys of each scope) and over stdio (`callpipe mcp`, a subprocess)."""

from __future__ import annotations

import asyncio
import socket
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from mcp.client.stdio import StdioServerParameters

from api.auth import hash_key
from api.config import ApiConfig, ApiKey
from api.mcp.transports import PATH, serve_http
from api.routing import Scope
from shared.config import Settings
from simulator.aws import LocalAws
from simulator.wxcc.config import SimulatorConfig
from tests.helpers import eventually, settings_env
from tests.integration.pipeline.conftest import Stack, running_stack

CALLPIPE = str(Path(sys.executable).with_name("callpipe"))
KEYS = {Scope.ADMIN: "admin-key-for-mcp-tests", Scope.OPERATE: "operate-key-for-mcp", Scope.READ: "read-key-for-mcp"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sim_config() -> SimulatorConfig:
    """A few short recorded calls, available at once: a journey over them completes in seconds."""
    return SimulatorConfig(
        calls=4,
        seed=15,
        window_hours=1,
        duration_scale=0.1,
        abandoned_fraction=0,
        unrecorded_fraction=0,
        consult_fraction=0,
        capture_pending_fraction=0,
        null_capture_fraction=0,
        availability_delay_s=0,
    )


@dataclass
class McpStack:
    """The dev stack, its settings with the simulator's control URL, and the two MCP front doors."""

    stack: Stack
    settings: Settings
    url: str  # the streamable HTTP endpoint
    stdio: StdioServerParameters

    def headers(self, scope: Scope) -> dict[str, str]:
        return {"Authorization": f"Bearer {KEYS[scope]}"}


@pytest.fixture(scope="module")
async def mcp_stack(local_aws: LocalAws) -> AsyncIterator[McpStack]:
    base = Settings(
        name_prefix=f"t-{uuid.uuid4().hex[:10]}",
        aws_region="us-east-1",
        aws_endpoint_url=local_aws.endpoint,
        aws_max_attempts=1,
        consumer_wait_time_s=1,
        consumer_grace_period_s=10,
        backoff_base_s=1,
        backoff_max_s=4,
        log_format="json",
    )
    async with running_stack(base, sim_config()) as stack:
        settings = stack.settings.model_copy(update={"wxcc_simulator_url": stack.sim.base_url})
        config = ApiConfig(
            keys=[ApiKey(id=scope.value, hash=hash_key(key), scope=scope) for scope, key in KEYS.items()],
            console_dir=None,
        )
        port, stop = free_port(), asyncio.Event()
        server = asyncio.create_task(serve_http(settings, "127.0.0.1", port, api_config=config, stop=stop))
        url = f"http://127.0.0.1:{port}{PATH}"

        async def listening() -> bool:
            if server.done():
                server.result()  # a crashed server fails the fixture with its error
            try:
                async with httpx.AsyncClient(timeout=2) as http:
                    return (await http.post(url, json={})).status_code == 401
            except httpx.TransportError:
                return False

        await eventually(listening, timeout=30)
        env = settings_env(settings)
        env.update(
            CALLPIPE_WXCC_ORG_ID=settings.wxcc_org_id,
            CALLPIPE_WXCC_SIMULATOR_URL=stack.sim.base_url,
            CALLPIPE_LOG_LEVEL="WARNING",
            AWS_ACCESS_KEY_ID="test",
            AWS_SECRET_ACCESS_KEY="test",
            AWS_REGION="us-east-1",
        )
        env.pop("CALLPIPE_API_KEYS", None)
        try:
            yield McpStack(stack, settings, url, StdioServerParameters(command=CALLPIPE, args=["mcp"], env=env))
        finally:
            stop.set()
            await asyncio.wait_for(server, timeout=30)

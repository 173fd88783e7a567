"""The local development stack in one process: AWS emulator, WXCC simulator, OpenAI fake and every stage's worker."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from pydantic import SecretStr

from queues.bootstrap import bootstrap
from queues.envelope import Kind
from shared.config import Settings
from simulator.aws import LocalAws
from simulator.openai_fake.app import http_script_source, running_openai_fake
from simulator.wxcc.config import SimulatorConfig
from simulator.wxcc.server import SimulatorHandle, running_simulator
from workers.runner import run_stage

STAGES = (Kind.POLL, Kind.FETCH, Kind.TRANSCRIBE, Kind.ANALYZE)


@dataclass(frozen=True)
class DevStack:
    """Where everything listens, and the settings every process of the stack uses."""

    settings: Settings
    sim: SimulatorHandle
    openai_base_url: str

    def environment(self) -> dict[str, str]:
        """The variables that point another shell's `callpipe` at this stack (the simulator's made-up secret too)."""
        s = self.settings
        return {
            "AWS_ENDPOINT_URL": s.aws_endpoint_url or "",
            "AWS_REGION": s.aws_region,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "CALLPIPE_NAME_PREFIX": s.name_prefix,
            "CALLPIPE_WXCC_BASE_URL": s.wxcc_base_url or "",
            "CALLPIPE_WEBEX_AUTH_BASE_URL": s.webex_auth_base_url,
            "CALLPIPE_WXCC_ORG_ID": s.wxcc_org_id,
            "CALLPIPE_WXCC_CLIENT_ID": s.wxcc_client_id,
            "CALLPIPE_WXCC_CLIENT_SECRET": s.wxcc_client_secret.get_secret_value() if s.wxcc_client_secret else "",
            "CALLPIPE_WXCC_APPLICATION_ID": s.wxcc_application_id,
            "CALLPIPE_WXCC_DOWNLOAD_HOSTS": "127.0.0.1",
            "CALLPIPE_WXCC_DOWNLOAD_ALLOW_HTTP": "true",
            "OPENAI_BASE_URL": self.openai_base_url,
        }


def dev_settings(endpoint: str, sim: SimulatorHandle, openai_base_url: str, *, prefix: str) -> Settings:
    """Settings that point every client at the local stand-ins (short waits: simulated calls are short)."""
    cfg = sim.config
    return Settings(
        name_prefix=prefix,
        aws_endpoint_url=endpoint,
        aws_region="us-east-1",
        wxcc_base_url=sim.base_url,
        webex_auth_base_url=sim.base_url,
        wxcc_org_id=cfg.org_id,
        wxcc_client_id=cfg.client_id,
        wxcc_client_secret=SecretStr(cfg.client_secret),
        wxcc_application_id=cfg.application_id,
        wxcc_download_hosts=["127.0.0.1"],
        wxcc_download_allow_http=True,
        openai_base_url=openai_base_url,
        consumer_wait_time_s=1,
        not_ready_base_s=2,
        poll_recheck_s=5,
        log_level="WARNING",
    )


@asynccontextmanager
async def dev_stack(
    sim_config: SimulatorConfig, *, prefix: str = "callpipe-dev", aws_port: int = 0
) -> AsyncIterator[DevStack]:
    """Run the whole stack for the body of an `async with`; leaving it stops every worker, then every server."""
    # The emulator takes any credentials; these keep the SDK from looking for real ones.
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
    with LocalAws(port=aws_port) as aws:
        async with (
            running_simulator(sim_config) as sim,
            running_openai_fake(http_script_source(sim.base_url)) as fake,
        ):
            settings = dev_settings(aws.endpoint, sim, fake.base_url, prefix=prefix)
            await bootstrap(settings)
            stop = asyncio.Event()
            workers = [asyncio.create_task(run_stage(kind, settings, stop)) for kind in STAGES]
            try:
                yield DevStack(settings, sim, fake.base_url)
            finally:
                stop.set()
                await asyncio.gather(*workers, return_exceptions=True)


async def serve_dev(sim_config: SimulatorConfig, *, aws_port: int = 4566, api_port: int = 8080) -> None:
    """`callpipe dev`: the stack plus the API (no key needed) until Ctrl-C / SIGTERM; prints how to use it."""
    import signal

    import httpx

    from api.config import ApiConfig
    from api.server import run_api

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    api_config = ApiConfig(allow_anonymous=True)  # CALLPIPE_API_KEY_HASHES, when set, still requires a key
    async with dev_stack(sim_config, aws_port=aws_port) as stack:
        api = asyncio.create_task(run_api(stack.settings, "127.0.0.1", api_port, api_config=api_config, stop=stop))
        api_url = f"http://127.0.0.1:{api_port}"
        async with httpx.AsyncClient() as http:
            while not api.done():
                try:
                    if (await http.get(f"{api_url}/health")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)  # the API is still opening its clients
        keys = "an API key needed" if api_config.has_keys else "no key needed"
        print(f"callpipe dev stack is up: API {api_url} ({keys}), WXCC simulator {stack.sim.base_url},")
        if api_config.console_dir is not None:
            print(f"Web console: {api_url}/ (served from {api_config.console_dir})")
        print(f"OpenAI fake {stack.openai_base_url}, AWS endpoint {stack.settings.aws_endpoint_url}. In another shell:")
        for key, value in stack.environment().items():
            print(f"  export {key}='{value}'")
        print("  callpipe journey start --lookback-minutes 1440 && callpipe journey watch <journey id>")
        print(f'  curl -X POST {api_url}/api/v1/journeys -d \'{{"kind": "window", "from": ..., "to": ...}}\'')
        print("Ctrl-C stops the API and the workers, then the simulators and the AWS endpoint.", flush=True)
        await stop.wait()
        await api
    print("stopped", flush=True)

"""No secret reaches a log: a whole run at DEBUG, every process's output read back and searched for what it was given.

The API and one worker per stage run as real `callpipe` processes with distinctive values for every secret they can
hold: the plaintext API key the client uses (the server only has its hash), the WXCC client secret and refresh token,
the OpenAI key and the AWS secret key. The test makes requests with the right key, wrong keys, keys in both header
styles and keys inside a header too long for the HTTP parser, and drives a journey of recorded calls through all four
stages. Then nothing any process wrote to stdout or stderr may contain any of those values, their Basic-auth or
base64 forms, or any access or refresh token the WXCC simulator issued during the run.
"""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import socket
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from api.auth import hash_key
from queues.bootstrap import bootstrap
from shared.config import Settings
from simulator.aws import LocalAws
from simulator.openai_fake.app import http_script_source, running_openai_fake
from simulator.wxcc.config import SimulatorConfig
from simulator.wxcc.server import SimulatorHandle, running_simulator
from tests.helpers import eventually, settings_env

pytestmark = pytest.mark.slow

CALLPIPE = str(Path(sys.executable).with_name("callpipe"))
STAGES = ("poll", "fetch", "transcribe", "analyze")

API_KEY = "apikey-Zq7xK1vN3mP9sR2tLw"  # the client's plaintext key; the server is configured with its hash
WRONG_KEY = "wrongkey-Hh4Jj6Kk8Ll0Xc"  # a mistyped key is as secret as the right one
CLIENT_ID = "sec-client-id"
CLIENT_SECRET = "clientsecret-Ww3Ee5Rr7Tt9"
REFRESH_TOKEN = "refreshtoken-Yy2Uu4Ii6Oo8"
OPENAI_KEY = "sk-openaikey-Aa1Ss3Dd5Ff7Gg9"
AWS_SECRET = "awssecret-Pp0Oo9Ii8Uu7Yy6Tt"


def _forms(secret: str) -> list[str]:
    """A secret and the encodings it could be logged in."""
    return [secret, base64.b64encode(secret.encode()).decode().rstrip("=")]


SECRETS = [
    *_forms(API_KEY),
    *_forms(WRONG_KEY),
    *_forms(CLIENT_SECRET),
    *_forms(REFRESH_TOKEN),
    *_forms(OPENAI_KEY),
    *_forms(AWS_SECRET),
    base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode().rstrip("="),  # Basic auth of the client
    base64.b64encode(f"user:{API_KEY}".encode()).decode().rstrip("="),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _sim_config() -> SimulatorConfig:
    return SimulatorConfig(
        calls=4,
        seed=5,
        window_hours=1,
        duration_scale=0.05,
        abandoned_fraction=0,
        unrecorded_fraction=0,
        consult_fraction=0,
        capture_pending_fraction=0,
        availability_delay_s=0,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        refresh_token=REFRESH_TOKEN,
    )


def _tail(log: Path) -> str:
    return log.read_text()[-3000:]


def _read_logs(folder: Path) -> dict[str, str]:
    return {path.name: path.read_text() for path in sorted(folder.glob("*.log"))}


@asynccontextmanager
async def _process(args: list[str], env: dict[str, str], log: Path) -> AsyncIterator[asyncio.subprocess.Process]:
    """A `callpipe` process writing stdout and stderr to `log`; SIGTERM and a clean exit at the end."""
    out = log.open("wb")  # a local file, opened once before the process starts
    try:
        proc = await asyncio.create_subprocess_exec(CALLPIPE, *args, env=env, stdout=out, stderr=out)
    finally:
        out.close()
    try:
        yield proc
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        try:
            code = await asyncio.wait_for(proc.wait(), timeout=60)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise
        assert code == 0, f"{args} exited with {code}:\n{_tail(log)}"


async def test_no_secret_appears_in_any_log_line_of_a_debug_run(local_aws: LocalAws, tmp_path: Path) -> None:
    settings = Settings(name_prefix=f"t-{uuid.uuid4().hex[:10]}", aws_endpoint_url=local_aws.endpoint)
    await bootstrap(settings, include_echo=False)
    api_port = _free_port()
    api = f"http://127.0.0.1:{api_port}"
    async with AsyncExitStack() as stack:
        sim: SimulatorHandle = await stack.enter_async_context(running_simulator(_sim_config()))
        fake = await stack.enter_async_context(running_openai_fake(http_script_source(sim.base_url)))
        env = settings_env(settings)
        env.update(
            CALLPIPE_LOG_LEVEL="DEBUG",
            CALLPIPE_LOG_FORMAT="json",
            CALLPIPE_METRICS_PORT="0",
            CALLPIPE_API_KEY_HASHES=f'["{hash_key(API_KEY)}"]',
            AWS_ACCESS_KEY_ID="AKIDSECURITYTEST",
            AWS_SECRET_ACCESS_KEY=AWS_SECRET,
            OPENAI_API_KEY=OPENAI_KEY,
            OPENAI_BASE_URL=fake.base_url,
            CALLPIPE_WXCC_BASE_URL=sim.base_url,
            CALLPIPE_WEBEX_AUTH_BASE_URL=sim.base_url,
            CALLPIPE_WXCC_ORG_ID=sim.config.org_id,
            CALLPIPE_WXCC_AUTH_MODE="refresh_token",
            CALLPIPE_WXCC_CLIENT_ID=CLIENT_ID,
            CALLPIPE_WXCC_CLIENT_SECRET=CLIENT_SECRET,
            CALLPIPE_WXCC_REFRESH_TOKEN=REFRESH_TOKEN,
            CALLPIPE_WXCC_DOWNLOAD_HOSTS='["127.0.0.1"]',
            CALLPIPE_WXCC_DOWNLOAD_ALLOW_HTTP="true",
            CALLPIPE_NOT_READY_BASE_S="1",
            CALLPIPE_NOT_READY_MAX_S="2",
            CALLPIPE_BACKOFF_BASE_S="1",
            CALLPIPE_BACKOFF_MAX_S="2",
            CALLPIPE_CONSUMER_GRACE_PERIOD_S="10",
            CALLPIPE_CONSUMER_WAIT_TIME_S="1",
            CALLPIPE_POLL_RECHECK_S="2",
        )
        await stack.enter_async_context(_process(["api", "--port", str(api_port)], env, tmp_path / "api.log"))
        for stage in STAGES:
            await stack.enter_async_context(_process(["worker", "--stage", stage], env, tmp_path / f"{stage}.log"))

        async with httpx.AsyncClient(base_url=api, timeout=10) as http:

            async def up() -> bool:
                try:
                    return (await http.get("/ready")).status_code == 200
                except httpx.TransportError:
                    return False

            await eventually(up, timeout=60, interval=0.2)
            refused = [
                {"Authorization": f"Bearer {WRONG_KEY}"},
                {"X-API-Key": WRONG_KEY},
                {"Authorization": "Basic " + base64.b64encode(f"user:{API_KEY}".encode()).decode()},
                {"Authorization": f"Token {API_KEY}"},
            ]
            for headers in refused:
                assert (await http.get("/api/v1/journeys", headers=headers)).status_code == 401
            for name in ("Authorization", "X-API-Key"):  # a key in a header the HTTP parser refuses as too long
                value = f"Bearer {API_KEY}" if name == "Authorization" else API_KEY
                resp = await http.get("/api/v1/journeys", headers={name: value + "x" * 9000})
                assert resp.status_code == 400 and API_KEY not in resp.text, resp.text
            bad_body = await http.post(
                "/api/v1/journeys", content=f'{{"api_key": "{API_KEY}", '.encode(), headers={"X-API-Key": API_KEY}
            )
            assert bad_body.status_code == 400
            assert (await http.get("/api/v1/journeys", headers={"X-API-Key": API_KEY})).status_code == 200

            now = datetime.now(UTC)
            window = {"kind": "window", "from": (now - timedelta(hours=2)).isoformat(), "to": now.isoformat()}
            created = await http.post("/api/v1/journeys", json=window, headers={"Authorization": f"Bearer {API_KEY}"})
            assert created.status_code == 202, created.text
            journey_id = created.json()["id"]
            status: dict[str, object] = {}

            async def completed() -> bool:
                nonlocal status
                status = (await http.get(created.headers["Location"], headers={"X-API-Key": API_KEY})).json()
                return status["journey"]["state"] == "COMPLETED"  # type: ignore[index]

            await eventually(completed, timeout=180, interval=1)
        assert status["stages"]["analyze"]["done"] == 4, status  # type: ignore[index]
        issued = [*sim.state.tokens._access, *sim.state.tokens._refresh]  # every token the run was given
        assert len(issued) >= 3  # the seed refresh token, and at least one access + refresh token pair

    logs = _read_logs(tmp_path)
    assert set(logs) == {"api.log", *(f"{s}.log" for s in STAGES)}
    everything = "\n".join(logs.values())
    # The capture works: what is not secret is there, at DEBUG level, from every process.
    assert journey_id in logs["api.log"] and journey_id in logs["analyze.log"]
    assert all(text.strip() for text in logs.values()), {k: len(v) for k, v in logs.items()}
    assert '"level": "debug"' in everything
    leaks = {(name, secret[:12]) for name, text in logs.items() for secret in [*SECRETS, *issued] if secret in text}
    assert not leaks, f"secrets in the logs (file, secret prefix): {sorted(leaks)}"
    assert os.environ.get("AWS_SECRET_ACCESS_KEY") != AWS_SECRET  # the test's own process kept its dummy key

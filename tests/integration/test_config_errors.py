"""The real `callpipe` entry point with configuration mistakes: one line per problem, exit 2, nothing started.

Each case is one of issue 19's mistakes. The AWS endpoint given points at a closed port: a command that got past its
checks would hang or fail there instead of answering at once with the line.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from types_aiobotocore_dynamodb import DynamoDBClient

from queues.bootstrap import bootstrap
from shared.aws import AwsClients
from shared.config import Settings
from shared.resources import DataResources
from shared.wxcc.tokens import TokenProvider, token_key
from simulator.wxcc.config import SimulatorConfig
from simulator.wxcc.server import running_simulator
from tests.helpers import settings_env
from tests.integration.wxcc.conftest import wxcc_settings

CALLPIPE = str(Path(sys.executable).with_name("callpipe"))
ORG = "f4b1c2d3-0000-4a5b-9c8d-111122223333"
FRESH = "fresh-refresh-token-from-a-new-authorization"  # a made-up token the simulator is told to accept
NOWHERE = "http://127.0.0.1:9"  # the discard port: nothing answers


def bare_env(**variables: str) -> dict[str, str]:
    """The test process's environment without any callpipe, AWS endpoint or OpenAI setting, plus `variables`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CALLPIPE_", "AWS_ENDPOINT_URL", "OPENAI_"))}
    return {**env, "AWS_ENDPOINT_URL": NOWHERE, **variables}


def wxcc_env(**variables: str) -> dict[str, str]:
    """A complete service-app configuration (for every role), changed by `variables` ("" removes one)."""
    complete = {
        "CALLPIPE_WXCC_ORG_ID": ORG,
        "CALLPIPE_WXCC_CLIENT_ID": "client",
        "CALLPIPE_WXCC_CLIENT_SECRET": "secret",
        "CALLPIPE_WXCC_APPLICATION_ID": "app",
        "OPENAI_API_KEY": "sk-test",
    }
    merged = {**complete, **variables}
    return bare_env(**{k: v for k, v in merged.items() if v != ""})


async def callpipe(*args: str, env: dict[str, str], timeout: float = 60) -> tuple[int, list[str], str]:
    """Run `callpipe args…`; its exit code, its stderr lines and its stdout."""
    proc = await asyncio.create_subprocess_exec(
        CALLPIPE, *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=timeout)
    assert proc.returncode is not None
    return proc.returncode, err.decode().splitlines(), out.decode()


async def test_journey_start_without_an_org_stops_at_once_with_the_variable_and_the_fix() -> None:
    # The download hosts as a plain list, which used to print a pydantic-settings traceback from every command.
    env = wxcc_env(CALLPIPE_WXCC_ORG_ID="", CALLPIPE_WXCC_DOWNLOAD_HOSTS="127.0.0.1")
    code, err, out = await callpipe("journey", "start", "--lookback-minutes", "60", env=env)
    assert (code, out) == (2, "")
    assert err == [
        "callpipe: error: CALLPIPE_WXCC_ORG_ID: is not set, and `journey start` needs the org — set "
        "CALLPIPE_WXCC_ORG_ID to your WXCC org id (UUID)"
    ]


async def test_the_api_without_an_org_does_not_start() -> None:
    code, err, _ = await callpipe("api", "--port", "0", env=wxcc_env(CALLPIPE_WXCC_ORG_ID=""))
    assert code == 2
    assert err == [
        "callpipe: error: CALLPIPE_WXCC_ORG_ID: is not set, and creating a journey needs the org — set "
        "CALLPIPE_WXCC_ORG_ID to your WXCC org id (UUID)"
    ]


@pytest.mark.parametrize(
    ("stage", "variables", "expected"),
    [
        (
            "poll",
            {"CALLPIPE_WXCC_ORG_ID": ""},
            "CALLPIPE_WXCC_ORG_ID: is not set, and every WXCC request needs the org — set CALLPIPE_WXCC_ORG_ID to "
            "your WXCC org id (UUID)",
        ),
        (
            "poll",
            {"CALLPIPE_WXCC_APPLICATION_ID": ""},
            "CALLPIPE_WXCC_APPLICATION_ID: is not set, and CALLPIPE_WXCC_AUTH_MODE=service_app (the default) needs "
            "it — set CALLPIPE_WXCC_APPLICATION_ID to the service app's id, or CALLPIPE_WXCC_AUTH_MODE=refresh_token "
            "with CALLPIPE_WXCC_REFRESH_TOKEN",
        ),
        (
            "fetch",
            {"CALLPIPE_WXCC_BASE_URL": "http://127.0.0.1:8089", "CALLPIPE_WXCC_DOWNLOAD_HOSTS": "127.0.0.1"},
            "CALLPIPE_WXCC_DOWNLOAD_ALLOW_HTTP: is false, but CALLPIPE_WXCC_BASE_URL is plain http "
            "(http://127.0.0.1:8089): its recordings would be refused — set CALLPIPE_WXCC_DOWNLOAD_ALLOW_HTTP=true "
            "(local simulators only)",
        ),
        (
            "transcribe",
            {"OPENAI_API_KEY": ""},
            "OPENAI_API_KEY: is not set, and OPENAI_BASE_URL does not name another server — set OPENAI_API_KEY (or "
            "OPENAI_BASE_URL for an OpenAI-compatible server)",
        ),
    ],
)
async def test_a_worker_missing_what_its_stage_needs_does_not_start(
    stage: str, variables: dict[str, str], expected: str
) -> None:
    code, err, _ = await callpipe("worker", "--stage", stage, env=wxcc_env(**variables))
    assert (code, err) == (2, [f"callpipe: error: {expected}"])


async def test_values_that_do_not_parse_are_one_line_each_without_a_traceback() -> None:
    env = wxcc_env(CALLPIPE_WXCC_DOWNLOAD_HOSTS='["127.0.0.1"', CALLPIPE_CONSUMER_CONCURRENCY="ten")
    code, err, _ = await callpipe("bootstrap", "--verify", env=env)
    assert code == 2
    assert sorted(err) == [
        "callpipe: error: CALLPIPE_CONSUMER_CONCURRENCY: 'ten' is not valid: input should be a valid integer, unable "
        "to parse string as an integer — set CALLPIPE_CONSUMER_CONCURRENCY to a whole number ≥ 1 and ≤ 1000",
        "callpipe: error: CALLPIPE_WXCC_DOWNLOAD_HOSTS: '[\"127.0.0.1\"' starts with [ but is not a valid JSON list "
        "— set CALLPIPE_WXCC_DOWNLOAD_HOSTS to host names, .domains or IP addresses, comma-separated (e.g. "
        "127.0.0.1,.amazonaws.com)",
    ]


async def test_a_misspelt_variable_is_warned_about_and_an_empty_dlq_says_so(settings: Settings) -> None:
    await bootstrap(settings, include_echo=False)
    env = {**settings_env(settings), "CALLPIPE_WXCC_ORGID": ORG, "CALLPIPE_LOG_LEVEL": "WARNING"}
    code, err, out = await callpipe("dlq", "list", "fetch", env=env)
    assert (code, out) == (0, "")
    assert err == [
        "callpipe: warning: CALLPIPE_WXCC_ORGID: is not a callpipe setting and is ignored — did you mean "
        "CALLPIPE_WXCC_ORG_ID?",
        f"the fetch DLQ ({settings.name_prefix}-fetch-dlq) is empty",
    ]


async def _stored(ddb: DynamoDBClient, settings: Settings) -> dict[str, object] | None:
    table = DataResources(settings.name_prefix).coordination_table.name
    item = (await ddb.get_item(TableName=table, Key=token_key(settings), ConsistentRead=True)).get("Item")
    return dict(item) if item else None


async def test_reset_token_deletes_the_stored_token_so_the_configured_one_seeds_it_again(settings: Settings) -> None:
    await bootstrap(settings, include_echo=False)
    async with running_simulator(SimulatorConfig(calls=0)) as sim, httpx.AsyncClient() as http:
        s = wxcc_settings(settings, sim, wxcc_auth_mode="refresh_token")
        table = DataResources(s.name_prefix).coordination_table.name
        env = {
            **settings_env(s),
            "CALLPIPE_WXCC_AUTH_MODE": "refresh_token",
            "CALLPIPE_WXCC_CLIENT_ID": s.wxcc_client_id,
            "CALLPIPE_LOG_LEVEL": "WARNING",
        }
        async with AwsClients(s).dynamodb() as ddb:
            await TokenProvider(ddb, table, http, s).access_token()
            assert await _stored(ddb, s) is not None

            # Without a configured refresh token nothing could seed the store again: refused, the token kept.
            code, err, _ = await callpipe("wxcc", "reset-token", env=env)
            assert code == 2
            assert err[-1].startswith("callpipe: error: CALLPIPE_WXCC_REFRESH_TOKEN: is not set")
            assert await _stored(ddb, s) is not None

            # The stored chain dies (revoked); the operator authorizes again and configures the fresh token.
            sim.state.tokens.revoke_refresh_tokens()
            sim.state.tokens.add_refresh_token(FRESH, s.wxcc_client_id)
            env["CALLPIPE_WXCC_REFRESH_TOKEN"] = FRESH
            code, _, out = await callpipe("wxcc", "reset-token", env=env)
            assert code == 0
            assert out.strip() == (
                f"deleted the stored WXCC token of client {s.wxcc_client_id} from {table}; the next "
                "worker that needs a token gets one from CALLPIPE_WXCC_REFRESH_TOKEN"
            )
            assert await _stored(ddb, s) is None

            code, _, out = await callpipe("wxcc", "reset-token", env=env)
            assert (code, out.strip()) == (0, f"no stored WXCC token for client {s.wxcc_client_id} in {table}: "
                                              "nothing to reset")  # fmt: skip

            # The next token comes from the configured (fresh) refresh token.
            fresh = s.model_copy(update={"wxcc_refresh_token": SecretStr(FRESH)})
            assert await TokenProvider(ddb, table, http, fresh).access_token()
            assert await _stored(ddb, s) is not None

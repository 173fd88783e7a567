"""`callpipe doctor` against the dev stack: every line green; one broken setting turns its line red, with the fix."""

from __future__ import annotations

import asyncio
import os
import re
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cli.devstack import DevStack, dev_stack
from shared.aws import AwsClients
from shared.resources import DataResources
from simulator.wxcc.config import SimulatorConfig

CALLPIPE = str(Path(sys.executable).with_name("callpipe"))
RED = "\x1b[31m"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture(scope="module")
async def stack() -> AsyncIterator[DevStack]:
    config = SimulatorConfig(calls=6, seed=3, window_hours=1, duration_scale=0.05, availability_delay_s=0)
    async with dev_stack(config, prefix=f"t-{uuid.uuid4().hex[:10]}") as running:
        yield running


def stack_env(stack: DevStack, **changes: str) -> dict[str, str]:
    """What `callpipe dev` tells a newcomer to export, with `changes`; colour off unless a test turns it on."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CALLPIPE_", "AWS_ENDPOINT_URL", "OPENAI_"))}
    env = {k: v for k, v in env.items() if k not in ("FORCE_COLOR", "NO_COLOR")}
    return {**env, **stack.environment(), "TERM": "dumb", "COLUMNS": "300", **changes}


async def doctor(env: dict[str, str], *args: str) -> tuple[int, list[str]]:
    proc = await asyncio.create_subprocess_exec(
        CALLPIPE, "doctor", *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    assert proc.returncode is not None
    lines = out.decode().splitlines()
    assert err.decode().strip() == "", err.decode()
    return proc.returncode, lines


def plain(line: str) -> str:
    return ANSI.sub("", line)


def line_of(lines: list[str], name: str) -> str:
    (found,) = [line for line in lines if name in line.split(":", 1)[0]]
    return found


async def test_the_dev_stack_is_all_green(stack: DevStack) -> None:
    code, lines = await doctor(stack_env(stack))
    print("\n".join(lines))  # the checklist, for whoever reads the test output
    assert code == 0, "\n".join(lines)
    assert not [line for line in lines if line.startswith("✗")]
    assert line_of(lines, "settings").startswith("✓ settings: valid and complete for every role")
    assert line_of(lines, "AWS resources").startswith("✓ AWS resources: ")
    assert line_of(lines, "WXCC token").startswith("✓ WXCC token: refreshed through the token store")
    assert line_of(lines, "WXCC /search").startswith("✓ WXCC /search: ")
    # The fake serves GET /v1/models with the configured transcription and analysis models.
    assert line_of(lines, "OpenAI models").startswith("✓ OpenAI models: ")
    assert lines[-1].startswith("all good")


async def test_a_wrong_client_secret_turns_the_token_line_red_with_the_fix(stack: DevStack) -> None:
    env = stack_env(stack, CALLPIPE_WXCC_CLIENT_SECRET="not-the-secret", FORCE_COLOR="1", TERM="xterm")
    code, coloured = await doctor(env)
    assert code == 1
    red = [plain(line) for line in coloured if RED in line]
    assert [line.split(":", 1)[0] for line in red] == ["✗ WXCC token"]
    assert "WXCC refused the credentials (401)" in red[0]
    assert "— fix: check CALLPIPE_WXCC_CLIENT_ID, _CLIENT_SECRET and _APPLICATION_ID" in red[0]
    lines = [plain(line) for line in coloured]
    assert line_of(lines, "WXCC /search") == "- WXCC /search: skipped: no WXCC token"
    assert lines[-1].startswith("1 failed")


async def test_a_missing_org_is_a_red_settings_line(stack: DevStack) -> None:
    code, lines = await doctor(stack_env(stack, CALLPIPE_WXCC_ORG_ID=""))
    assert code == 1
    assert line_of(lines, "settings") == (
        "✗ settings: CALLPIPE_WXCC_ORG_ID: is not set, and every WXCC request needs the org — fix: set "
        "CALLPIPE_WXCC_ORG_ID to your WXCC org id (UUID)"
    )


async def test_a_value_that_does_not_parse_is_a_red_line_and_nothing_is_contacted(stack: DevStack) -> None:
    code, lines = await doctor(stack_env(stack, CALLPIPE_CONSUMER_CONCURRENCY="ten"))
    assert code == 1
    assert lines[:-1] == [
        "✗ settings: CALLPIPE_CONSUMER_CONCURRENCY: 'ten' is not valid: input should be a valid integer, unable to "
        "parse string as an integer — fix: set CALLPIPE_CONSUMER_CONCURRENCY to a whole number ≥ 1 and ≤ 1000",
        "- services: skipped: the settings are not valid",
    ]


async def test_only_what_a_stage_needs_is_checked(stack: DevStack) -> None:
    # An analyze task has no WXCC secret and needs none.
    code, lines = await doctor(stack_env(stack, CALLPIPE_WXCC_CLIENT_SECRET=""), "--for", "analyze")
    assert code == 0, "\n".join(lines)
    assert [line.split(":", 1)[0][2:] for line in lines[:-1]] == ["settings", "AWS resources", "OpenAI models"]


async def test_a_wrong_org_is_refused_at_the_token_line(stack: DevStack) -> None:
    code, lines = await doctor(stack_env(stack, CALLPIPE_WXCC_ORG_ID="00000000-0000-4000-8000-000000000000"))
    assert code == 1
    token = line_of(lines, "WXCC token")
    assert token.startswith("✗ WXCC token: WXCC refused the credentials (403)")
    assert "authorized in CALLPIPE_WXCC_ORG_ID" in token


async def test_a_missing_bucket_is_a_red_line_naming_it(stack: DevStack) -> None:
    bucket = DataResources(stack.settings.name_prefix).results_bucket.name
    async with AwsClients(stack.settings).s3() as s3:
        listed = await s3.list_objects_v2(Bucket=bucket)
        for item in listed.get("Contents", []):
            await s3.delete_object(Bucket=bucket, Key=item["Key"])
        await s3.delete_bucket(Bucket=bucket)
    code, lines = await doctor(stack_env(stack))
    assert code == 1
    assert line_of(lines, "AWS resources") == (
        f"✗ AWS resources: bucket {bucket} is missing — fix: run `callpipe bootstrap` (local) or `terraform apply` "
        "(AWS), with the same CALLPIPE_NAME_PREFIX"
    )

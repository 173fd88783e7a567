"""`callpipe audit` as a process: reads the logs bucket by range and action, prints JSON lines; bad ranges exit 2."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import UTC, datetime, timedelta

import pytest

from cli.audit import configure, run
from shared.audit import AuditEvent, AuditLog, FrontDoor, Outcome
from shared.aws import AwsClients
from shared.config import Settings
from tests.helpers import settings_env


async def _callpipe(settings: Settings, *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cli.main",
        "audit",
        *args,
        env={**settings_env(settings), "COLUMNS": "250"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    return proc.returncode or 0, out.decode(), err.decode()


async def test_callpipe_audit_prints_the_range_and_refuses_bad_ones(
    settings: Settings, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "250")
    now = datetime.now(UTC)
    events = [
        AuditEvent(
            actor="cli:ops",
            front_door=FrontDoor.CLI,
            action=action,
            targets={"journey_id": f"j{i}"},
            outcome=Outcome.OK,
            at=now - timedelta(minutes=10 - i),
        )
        for i, action in enumerate(["createJourney", "license.activate", "createJourney"])
    ]
    old = AuditEvent(
        actor="cli:ops",
        front_door=FrontDoor.CLI,
        action="createJourney",
        outcome=Outcome.OK,
        at=now - timedelta(days=3),
    )
    async with AwsClients(settings).s3() as s3:
        log = AuditLog.for_prefix(s3, settings.name_prefix)
        await s3.create_bucket(Bucket=log.bucket)
        for event in [*events, old]:
            await log.write(event)

    code, out, err = await _callpipe(settings, "--json", "--from", "1h", "--action", "createJourney")
    assert code == 0, err
    assert [json.loads(line)["id"] for line in out.splitlines()] == [events[0].id, events[2].id]
    # The table and the refusals, in process (the subprocess above proved the command is registered).
    parser = argparse.ArgumentParser()
    configure(parser)
    assert await run(parser.parse_args(["--from", "4d"]), settings) == 0
    out = capsys.readouterr().out
    assert "license.activate" in out and "4 events" in out
    assert await run(parser.parse_args(["--from", "yesterday-ish"]), settings) == 2
    assert "neither an ISO 8601 time" in capsys.readouterr().err
    assert await run(parser.parse_args(["--from", "40d"]), settings) == 2
    assert "over 31 days" in capsys.readouterr().err

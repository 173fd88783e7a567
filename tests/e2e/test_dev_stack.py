"""`callpipe dev` as a newcomer runs it: a journey through the HTTP API ends COMPLETED, Ctrl-C stops everything."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from tests.helpers import eventually

CALLPIPE = str(Path(sys.executable).with_name("callpipe"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_a_journey_through_the_api_of_the_dev_stack(tmp_path: Path) -> None:
    api_port, aws_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CALLPIPE_", "AWS_ENDPOINT"))}
    proc = await asyncio.create_subprocess_exec(
        CALLPIPE, "dev", "--calls", "10", "--api-port", str(api_port), "--aws-port", str(aws_port),
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output: list[str] = []

    async def read() -> None:
        assert proc.stdout
        async for line in proc.stdout:
            output.append(line.decode(errors="replace"))

    reader = asyncio.create_task(read())
    api = f"http://127.0.0.1:{api_port}"
    try:
        await eventually(lambda: any("stack is up" in line for line in output), timeout=60)
        now = datetime.now(UTC)
        body = {"kind": "window", "from": (now - timedelta(hours=25)).isoformat(), "to": now.isoformat()}
        async with httpx.AsyncClient(base_url=api, timeout=10) as http:
            created = await http.post("/api/v1/journeys", json=body)
            assert created.status_code == 202, created.text
            location = created.headers["Location"]
            journey: dict[str, object] = {}

            async def completed() -> bool:
                nonlocal journey
                journey = (await http.get(location)).json()
                return journey["journey"]["state"] == "COMPLETED"  # type: ignore[index]

            await eventually(completed, timeout=120, interval=1)
        assert journey["discovered"] == 10
        stages = journey["stages"]
        assert isinstance(stages, dict)
        analysed = stages["analyze"]["done"]
        # An unrecorded call is skipped by poll, or by fetch when its capture flag was still unknown at poll time.
        skipped = stages["poll"]["skipped"] + stages["fetch"].get("skipped", 0)
        assert analysed > 0 and analysed + skipped == 10
    finally:
        proc.send_signal(signal.SIGINT)
        code = await asyncio.wait_for(proc.wait(), timeout=60)
        await reader
    assert code == 0, "".join(output[-30:])
    assert output[-1].strip() == "stopped"

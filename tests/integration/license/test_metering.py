"""Usage is counted exactly once per call: a real analyze worker process SIGKILLed mid-run, its messages redelivered
to another worker, and every analyze message sent again afterwards leave usage equal to the calls analysed."""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
from contextlib import suppress

import httpx

from queues.directory import QueueDirectory
from queues.envelope import Envelope, Kind
from shared.config import Settings
from shared.license.service import LicenseService
from shared.license.table import org_key
from tests.helpers import eventually, settings_env
from tests.integration.license.test_quota import all_recorded
from tests.integration.pipeline.conftest import PIPELINE, running_stack

CALLS = 8
VISIBILITY_S = 5  # the analyze queue's, so a killed worker's messages are back within seconds


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def analyze_in_flight(metrics: str) -> int:
    for line in metrics.splitlines():
        if line.startswith("callpipe_messages_in_flight{"):
            return int(float(line.rsplit(" ", 1)[1]))
    return 0


async def test_usage_equals_analysed_calls_after_a_kill_and_redeliveries(settings: Settings) -> None:
    stages = tuple(k for k in PIPELINE if k is not Kind.ANALYZE)
    async with running_stack(settings, all_recorded(CALLS), stages=stages, stage_lease_s=3) as stack:
        org = stack.sim.config.org_id
        s = stack.settings
        async with stack.clients.sqs() as sqs, stack.clients.dynamodb() as ddb:
            urls = await QueueDirectory(sqs, s.name_prefix).urls(Kind.ANALYZE)
            await sqs.set_queue_attributes(QueueUrl=urls.url, Attributes={"VisibilityTimeout": str(VISIBILITY_S)})
            now = stack.sim.state.clock.now_ms()
            journey = await stack.start(now - 2 * 3600 * 1000, now)

            async def all_transcribed() -> bool:
                status = await stack.journeys.status(journey.id)
                return status is not None and status.count("transcribe", "done") == CALLS

            await eventually(all_transcribed, timeout=90, interval=0.5)
            stack.openai.faults.delay_s = 1.5  # analyses take a while: the kill lands while some are in flight
            port = free_port()
            env = {
                **settings_env(s),
                "OPENAI_BASE_URL": s.openai_base_url or "",
                "OPENAI_API_KEY": "test",
                "CALLPIPE_ANALYSIS_MODEL": s.analysis_model,
                "CALLPIPE_STAGE_LEASE_S": "3",
                "CALLPIPE_CONSUMER_CONCURRENCY": "4",
                "CALLPIPE_METRICS_PORT": str(port),
                "CALLPIPE_EMF_INTERVAL_S": "0",
                "CALLPIPE_WXCC_ORG_ID": org,
            }
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "cli.main", "worker", "--stage", "analyze", env=env,
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
            )  # fmt: skip
            try:
                async with httpx.AsyncClient() as http:

                    async def busy_after_some_done() -> bool:
                        status = await stack.journeys.status(journey.id)
                        if status is None or status.count("analyze", "done") < 2:
                            return False
                        with suppress(httpx.HTTPError):
                            text = (await http.get(f"http://127.0.0.1:{port}/metrics", timeout=2)).text
                            return analyze_in_flight(text) > 0
                        return False

                    await eventually(busy_after_some_done, timeout=60, interval=0.1)
                proc.send_signal(signal.SIGKILL)
            finally:
                with suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
            killed_at = (await stack.journeys.status(journey.id)).count("analyze", "done")  # type: ignore[union-attr]
            assert killed_at < CALLS, "the worker finished everything before it was killed"

            stack.openai.faults.delay_s = 0
            stack.launch(Kind.ANALYZE)  # the replacement worker takes the killed one's calls over
            status = await stack.finished(journey, timeout=90)
            assert status.count("analyze", "done") == CALLS

            # Every analyze message again (a redelivery storm): nothing more is analysed or counted.
            tasks = [c.task_id for c in stack.sim.state.calls.values()]
            await stack.send(
                *(
                    Envelope(kind=Kind.ANALYZE, journey_id=journey.id, task_id=t, payload={"org_id": org, "task_id": t})
                    for t in tasks
                )
            )

            async def redeliveries_consumed() -> bool:
                attrs = await sqs.get_queue_attributes(
                    QueueUrl=urls.url,
                    AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
                )
                return sum(int(v) for v in attrs["Attributes"].values()) == 0

            await eventually(redeliveries_consumed, timeout=60, interval=0.5)
            service = LicenseService(s, ddb)
            usage = (await service.usage(org, 1))[0]
            assert usage.analysed_calls == CALLS, usage
            assert usage.reserved_calls == CALLS, usage
            table = service.table.table
            for t in tasks:
                item = (await ddb.get_item(TableName=table, Key=org_key(org, f"RES#{usage.month}#{t}")))["Item"]
                assert item.get("analysed") == {"BOOL": True}, t
                # the month transcribe admitted it in is on the row (analyze admits and meters in that month)
                assert await service.recorded_month(org, t) == usage.month, t
            assert usage.billed_audio_seconds == round(status.count("transcribe", "billed_audio_s"), 3)

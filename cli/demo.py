"""`callpipe demo`: the consumer runtime end to end on a local AWS endpoint, in under a minute."""

from __future__ import annotations

import asyncio
import os
import time
from typing import TYPE_CHECKING

from queues.bootstrap import bootstrap
from queues.claimcheck import ClaimCheck
from queues.directory import QueueDirectory
from queues.envelope import Envelope, Kind
from queues.producer import Producer
from shared.aws import AwsClients
from shared.config import Settings
from shared.resources import DataResources
from simulator.aws import LocalAws
from workers.runner import run_stage

if TYPE_CHECKING:
    pass


async def _demo(settings: Settings) -> int:
    report = await bootstrap(settings)
    print(f"bootstrap: {len(report.created)} queues/tables/buckets created on {settings.aws_endpoint_url}")
    work = [
        Envelope(kind=Kind.ECHO, journey_id="demo", task_id=f"call-{i:02}", payload={"text": f"call {i}"})
        for i in range(20)
    ]
    work.append(
        Envelope(
            kind=Kind.ECHO,
            journey_id="demo",
            task_id="flaky",
            payload={"text": "flaky", "fail": "retryable", "fail_times": 2},
        )
    )
    work.append(
        Envelope(kind=Kind.ECHO, journey_id="demo", task_id="broken", payload={"text": "broken", "fail": "permanent"})
    )
    clients = AwsClients(settings)
    async with clients.sqs() as sqs, clients.s3() as s3:
        directory = QueueDirectory(sqs, settings.name_prefix)
        claim = ClaimCheck(s3, DataResources(settings.name_prefix).messages_bucket.name)
        sent = await Producer(sqs, directory, claim).send(work)
        print(f"enqueued {sent} echo messages (one fails twice then succeeds, one is permanently bad)")
        stop = asyncio.Event()
        worker = asyncio.create_task(run_stage(Kind.ECHO, settings, stop))
        urls = await directory.urls(Kind.ECHO)
        started = time.monotonic()
        while time.monotonic() - started < 60:
            attrs = await sqs.get_queue_attributes(
                QueueUrl=urls.url,
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )
            if sum(int(v) for v in attrs["Attributes"].values()) == 0:
                break
            await asyncio.sleep(0.5)
        stop.set()
        stats = await worker
        dlq = await sqs.get_queue_attributes(QueueUrl=urls.dlq_url, AttributeNames=["ApproximateNumberOfMessages"])
    dead = int(dlq["Attributes"]["ApproximateNumberOfMessages"])
    print(
        f"done in {time.monotonic() - started:.1f} s: {stats.succeeded} processed, {stats.retried} retries, "
        f"{stats.dead_lettered} dead-lettered ({dead} in the DLQ with its reason)"
    )
    ok = stats.succeeded == 21 and dead == 1
    print("demo OK" if ok else "demo FAILED: the counts above are not what the runtime promises")
    return 0 if ok else 1


def run_demo() -> int:
    """Start a local AWS endpoint, run the echo stage over a small batch, print what happened."""
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
    with LocalAws(port=0) as aws:
        settings = Settings(
            name_prefix="callpipe-demo",
            aws_endpoint_url=aws.endpoint,
            aws_region="us-east-1",
            consumer_wait_time_s=1,
            backoff_base_s=1,
            backoff_max_s=2,
            consumer_concurrency=5,
        )
        return asyncio.run(_demo(settings))

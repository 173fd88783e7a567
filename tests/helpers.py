"""Test helpers: waiting on conditions, throwaway queues, running a consumer, subprocess environments."""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from types_aiobotocore_sqs import SQSClient

from queues.claimcheck import ClaimCheck
from queues.consumer import Consumer, ConsumerConfig, ConsumerStats, Handler
from queues.directory import QueueUrls
from queues.envelope import Kind
from queues.producer import Producer
from shared.config import Settings


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment a subprocess needs to see the same settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLPIPE_")}
    env.update(
        CALLPIPE_NAME_PREFIX=settings.name_prefix,
        AWS_ENDPOINT_URL=settings.aws_endpoint_url or "",
        CALLPIPE_LOG_FORMAT="json",
        CALLPIPE_CONSUMER_WAIT_TIME_S=str(settings.consumer_wait_time_s),
    )
    for key, value in (
        ("AWS_ENDPOINT_URL_SQS", settings.aws_endpoint_url_sqs),
        ("AWS_ENDPOINT_URL_S3", settings.aws_endpoint_url_s3),
    ):
        if value:
            env[key] = value
        else:
            env.pop(key, None)
    return env


async def eventually(
    predicate: Callable[[], Awaitable[bool]] | Callable[[], bool], *, timeout: float = 20.0, interval: float = 0.1
) -> None:
    """Wait until `predicate()` is true, failing the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(interval)


async def make_queue(sqs: SQSClient, prefix: str, *, visibility_s: int = 30, max_receive_count: int = 5) -> QueueUrls:
    """A throwaway work queue + DLQ with a redrive policy (random names, the test's own settings)."""
    name = f"{prefix}-{uuid.uuid4().hex[:6]}"
    dlq_url = (await sqs.create_queue(QueueName=f"{name}-dlq"))["QueueUrl"]
    dlq_arn = (await sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"]))["Attributes"]["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receive_count})
    url = (
        await sqs.create_queue(
            QueueName=name, Attributes={"VisibilityTimeout": str(visibility_s), "RedrivePolicy": redrive}
        )
    )["QueueUrl"]
    return QueueUrls(url, dlq_url)


async def depth(sqs: SQSClient, url: str) -> int:
    """Messages in a queue, visible or not (the emulators report these exactly)."""
    attrs = (
        await sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=[
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed",
            ],
        )
    )["Attributes"]
    return sum(int(v) for v in attrs.values())


@asynccontextmanager
async def running_consumer(
    sqs: SQSClient,
    urls: QueueUrls,
    handler: Handler,
    *,
    config: ConsumerConfig,
    claim_check: ClaimCheck | None = None,
    producer: Producer | None = None,
    kind: Kind = Kind.ECHO,
) -> AsyncIterator[ConsumerStats]:
    """Run a consumer in the background for the body of a `with`, then stop and drain it."""
    consumer = Consumer(
        sqs=sqs, kind=kind, urls=urls, handler=handler, config=config, claim_check=claim_check, producer=producer
    )
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    try:
        yield consumer.stats
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=60)


def consumer_config(settings: Settings, **overrides: float) -> ConsumerConfig:
    """Consumer tuning for tests: short long-polls and backoffs so behaviour shows in seconds."""
    base = ConsumerConfig.from_settings(settings)
    return ConsumerConfig(**{**base.__dict__, **overrides})


async def receive_all(sqs: SQSClient, url: str, *, expected: int, timeout: float = 20) -> list[dict[str, object]]:
    """Receive (without deleting) until `expected` messages were seen, with their attributes."""
    seen: dict[str, dict[str, object]] = {}

    async def got_all() -> bool:
        resp = await sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=1,
            MessageAttributeNames=["All"],
            MessageSystemAttributeNames=["All"],
            VisibilityTimeout=30,
        )
        for m in resp.get("Messages", []):
            seen[m["MessageId"]] = dict(m)
        return len(seen) >= expected

    await eventually(got_all, timeout=timeout, interval=0)
    return list(seen.values())

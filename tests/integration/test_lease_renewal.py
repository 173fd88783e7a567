"""Stage lease renewal over the wire: a live holder keeps its call, a dead one's call is taken over within seconds.

A 3 s lease (renewed every 1 s from the consumer's heartbeat) stands in for the default 60 s one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from types_aiobotocore_sqs import SQSClient

from queues.bootstrap import Bootstrapper
from queues.envelope import Envelope, Kind
from shared.aws import AwsClients
from shared.config import Settings
from shared.resources import DataResources
from shared.tracking import Begin, CallStatus, TrackingRow, tracking_key
from tests.helpers import consumer_config, eventually, make_queue, running_consumer, settings_env
from tests.integration.lease_stage import Outcomes, lease_handler
from workers.context import StageContext, stage_context

ORG = "org-lease"
LEASE_S = 3
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
async def ctx(settings: Settings) -> AsyncIterator[StageContext]:
    short = settings.model_copy(update={"stage_lease_s": LEASE_S})
    data = DataResources(short.name_prefix)
    clients = AwsClients(short)
    async with clients.dynamodb() as ddb, clients.sqs() as sqs, clients.s3() as s3:
        boot = Bootstrapper(sqs, ddb, s3, region=short.aws_region, verify=False)
        await boot.table(data.tracking_table)
        await boot.table(data.journeys_table)
    async with stage_context(short) as context:
        yield context


async def claim(ctx: StageContext, task_id: str) -> None:
    put = ctx.tracking.claim_put(ORG, task_id, "j-lease", pipeline_version=1, retry_failed=False, lease_s=0, facts={})
    await ctx.dynamodb.put_item(**put)


def message(task_id: str) -> str:
    env = Envelope(kind=Kind.FETCH, journey_id="j-lease", task_id=task_id, payload={"org_id": ORG, "task_id": task_id})
    return env.to_body()


async def row(ctx: StageContext, task_id: str) -> TrackingRow:
    found = await ctx.tracking.get(ORG, task_id)
    assert found is not None
    return found


async def fetched_by(ctx: StageContext, task_id: str) -> str | None:
    item = (await ctx.dynamodb.get_item(TableName=ctx.tracking.table, Key=tracking_key(ORG, task_id)))["Item"]
    return item["fetched_by"]["S"] if "fetched_by" in item else None


async def test_a_slow_handler_keeps_its_lease_and_a_second_delivery_gets_busy(
    sqs: SQSClient, settings: Settings, ctx: StageContext
) -> None:
    urls = await make_queue(sqs, settings.name_prefix, visibility_s=30, max_receive_count=10)
    await claim(ctx, "slow")
    outcomes = Outcomes()
    handler = lease_handler(ctx, "a", 3 * LEASE_S, outcomes)  # works three leases long
    async with running_consumer(sqs, urls, handler, config=consumer_config(ctx.settings), kind=Kind.FETCH) as stats:
        await sqs.send_message(QueueUrl=urls.url, MessageBody=message("slow"))
        await eventually(lambda: outcomes.began == ["slow"])
        first = await row(ctx, "slow")
        await sqs.send_message(QueueUrl=urls.url, MessageBody=message("slow"))  # a duplicate, while the first works

        async def renewed_past_the_first_lease() -> bool:
            return (await row(ctx, "slow")).lease_until > first.lease_until + LEASE_S

        await eventually(renewed_past_the_first_lease, timeout=15)
        await eventually(lambda: stats.succeeded == 2, timeout=40)  # the work, then the duplicate found it done
    done = await row(ctx, "slow")
    assert done.status is CallStatus.FETCHED
    assert outcomes.began == ["slow"], "the duplicate took the lease of a live holder"
    assert done.attempts == 1
    assert outcomes.finished == [("slow", False, True)]
    assert await fetched_by(ctx, "slow") == "a"
    # The duplicate came back while the holder worked, past the first lease period, and was refused each time.
    assert stats.by_error_type.get("Retryable", 0) >= 2
    assert stats.dead_lettered == 0


async def test_a_holder_whose_lease_was_taken_over_records_nothing(
    sqs: SQSClient, settings: Settings, ctx: StageContext
) -> None:
    urls = await make_queue(sqs, settings.name_prefix, visibility_s=30)
    await claim(ctx, "stolen")
    outcomes = Outcomes()
    handler = lease_handler(ctx, "a", 2 * LEASE_S, outcomes)
    async with running_consumer(sqs, urls, handler, config=consumer_config(ctx.settings), kind=Kind.FETCH) as stats:
        await sqs.send_message(QueueUrl=urls.url, MessageBody=message("stolen"))
        await eventually(lambda: outcomes.began == ["stolen"])
        # The holder stalls past its lease (as if its loop froze) and another delivery takes the call over.
        await ctx.dynamodb.update_item(
            TableName=ctx.tracking.table,
            Key=tracking_key(ORG, "stolen"),
            UpdateExpression="SET lease_until = :past",
            ExpressionAttributeValues={":past": {"N": "0"}},
        )
        took = await ctx.tracking.begin(ORG, "stolen", CallStatus.CLAIMED, "fetch", 60, owner="new-holder")
        assert took is Begin.STARTED
        await eventually(lambda: stats.succeeded == 1, timeout=20)
    assert outcomes.finished == [("stolen", True, False)], "the old holder did not learn it lost the lease"
    after = await row(ctx, "stolen")
    assert after.status is CallStatus.CLAIMED, "the old holder recorded its result over the new holder's lease"
    assert after.lease_owner == "new-holder"
    assert after.lease_until > time.time() + 30, "the old holder released or shortened the new holder's lease"
    assert await fetched_by(ctx, "stolen") is None


async def test_a_killed_worker_s_call_is_taken_over_within_seconds(
    sqs: SQSClient, settings: Settings, ctx: StageContext
) -> None:
    # Visibility 3 s: the killed worker's message comes back within seconds; the lease must not hold it longer.
    urls = await make_queue(sqs, settings.name_prefix, visibility_s=3, max_receive_count=10)
    await claim(ctx, "orphan")
    env = {
        **settings_env(ctx.settings),
        "CALLPIPE_STAGE_LEASE_S": str(LEASE_S),
        "LEASE_TEST_QUEUE_URL": urls.url,
        "LEASE_TEST_DLQ_URL": urls.dlq_url,
        "LEASE_TEST_WORKER": "killed",
        "LEASE_TEST_WORK_S": "3600",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.integration.lease_stage", env=env, cwd=REPO, stderr=asyncio.subprocess.PIPE
    )
    lines: list[dict[str, object]] = []

    async def read() -> None:
        assert proc.stderr is not None
        async for raw in proc.stderr:
            with contextlib.suppress(json.JSONDecodeError):
                lines.append(json.loads(raw))

    reader = asyncio.create_task(read())
    try:
        await sqs.send_message(QueueUrl=urls.url, MessageBody=message("orphan"))
        await eventually(lambda: any(line.get("event") == "lease_work_started" for line in lines), timeout=60)
        began = await row(ctx, "orphan")

        async def renewing() -> bool:  # the worker is alive and keeps its lease past the first period
            return (await row(ctx, "orphan")).lease_until > began.lease_until + LEASE_S

        await eventually(renewing, timeout=15)
        proc.kill()  # SIGKILL mid-stage: no release, no visibility reset
        await proc.wait()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await reader

    outcomes = Outcomes()
    handler = lease_handler(ctx, "survivor", 0.1, outcomes)
    async with running_consumer(sqs, urls, handler, config=consumer_config(ctx.settings), kind=Kind.FETCH) as stats:

        async def taken_over() -> bool:
            return (await row(ctx, "orphan")).status is CallStatus.FETCHED

        await eventually(taken_over, timeout=20)  # the old 900 s lease would hold it for 15 minutes
        await eventually(lambda: stats.succeeded == 1)
    assert await fetched_by(ctx, "orphan") == "survivor"
    assert (await row(ctx, "orphan")).attempts == 2
    assert outcomes.finished == [("orphan", False, True)]

"""Dead-letter inspection and replay over the wire (moto, and LocalStack with `make test-localstack`)."""

from __future__ import annotations

import asyncio
import json
import os
from collections import Counter
from collections.abc import AsyncIterator, Sequence

import pytest
from types_aiobotocore_dynamodb import DynamoDBClient
from types_aiobotocore_s3 import S3Client
from types_aiobotocore_sqs import SQSClient

from queues.bootstrap import Bootstrapper
from queues.claimcheck import ClaimCheck
from queues.consumer import HandlerContext
from queues.directory import QueueUrls
from queues.dlq import ATTR_REPLAY_COUNT, list_dead_letters, replay, tracking_reopener
from queues.envelope import Envelope, Kind
from shared.aws import AwsClients
from shared.config import Settings
from shared.dynamo import transact
from shared.errors import Permanent
from shared.journeys import Journey, JourneyKind, JourneyStore
from shared.resources import DataResources
from shared.tracking import Begin, CallStatus, TrackingTable
from tests.helpers import consumer_config, depth, eventually, make_queue, receive_all, running_consumer

ON_LOCALSTACK = bool(os.environ.get("CALLPIPE_TEST_SQS_ENDPOINT"))


def echo(task_id: str, journey: str = "j-a") -> Envelope:
    return Envelope(kind=Kind.ECHO, journey_id=journey, task_id=task_id, payload={"text": task_id})


async def send(sqs: SQSClient, url: str, *envelopes: Envelope) -> None:
    for env in envelopes:
        await sqs.send_message(QueueUrl=url, MessageBody=env.to_body(), MessageAttributes=env.message_attributes())  # type: ignore[arg-type]


async def dead_letter(
    sqs: SQSClient, urls: QueueUrls, env: Envelope, *, error_type: str = "Permanent", replays: int = 0
) -> None:
    """Put a message into the DLQ the way the consumer does (body + attributes + error ones)."""
    attributes: dict[str, dict[str, str]] = {
        **env.message_attributes(),
        "error_type": {"DataType": "String", "StringValue": error_type},
        "error_message": {"DataType": "String", "StringValue": f"{error_type} of {env.task_id}"},
        "source_queue": {"DataType": "String", "StringValue": urls.url.rsplit("/", 1)[-1]},
    }
    if replays:
        attributes[ATTR_REPLAY_COUNT] = {"DataType": "Number", "StringValue": str(replays)}
    await sqs.send_message(QueueUrl=urls.dlq_url, MessageBody=env.to_body(), MessageAttributes=attributes)  # type: ignore[arg-type]


async def task_ids(sqs: SQSClient, url: str, expected: int) -> list[str]:
    """Task ids of the messages in a queue (received, then made visible again at once)."""
    seen = await receive_all(sqs, url, expected=expected)
    for m in seen:
        await sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=str(m["ReceiptHandle"]), VisibilityTimeout=0)
    return [str(json.loads(str(m["Body"])).get("task_id")) for m in seen]


async def test_poison_and_permanent_failures_land_in_the_dlq_and_list_reads_them_without_consuming(
    sqs: SQSClient, settings: Settings
) -> None:
    urls = await make_queue(sqs, settings.name_prefix)
    await sqs.send_message(QueueUrl=urls.url, MessageBody="not json {")
    await send(sqs, urls.url, echo("p1"), echo("p2", "j-b"))

    async def handler(env: Envelope, ctx: HandlerContext) -> Sequence[Envelope]:
        raise Permanent("customer record is invalid")

    async with running_consumer(sqs, urls, handler, config=consumer_config(settings)) as stats:
        await eventually(lambda: stats.dead_lettered == 3)
    letters = await list_dead_letters(sqs, urls, max_messages=50)
    by_task = {letter.task_id: letter for letter in letters}
    assert set(by_task) == {None, "p1", "p2"}
    assert by_task[None].error_type == "PoisonMessage" and "not JSON" in (by_task[None].error_message or "")
    assert (by_task["p1"].error_type, by_task["p1"].error_message) == ("Permanent", "customer record is invalid")
    assert (by_task["p2"].journey_id, by_task["p2"].kind) == ("j-b", "echo")
    assert all(letter.receive_count >= 1 and letter.age_s >= 0 and letter.replay_count == 0 for letter in letters)
    # Nothing was consumed, and everything is visible again at once: a second look sees all of it.
    assert await depth(sqs, urls.dlq_url) == 3
    assert len(await list_dead_letters(sqs, urls, max_messages=50)) == 3
    assert len(await list_dead_letters(sqs, urls, max_messages=2)) == 2


async def test_filters_move_only_what_they_match(sqs: SQSClient, settings: Settings) -> None:
    urls = await make_queue(sqs, settings.name_prefix)
    for i in range(4):
        await dead_letter(sqs, urls, echo(f"a{i}", "j-a"))
    for i in range(3):
        await dead_letter(sqs, urls, echo(f"b{i}", "j-b"))
    await dead_letter(sqs, urls, echo("b-poison", "j-b"), error_type="PoisonMessage")

    counts = await replay(sqs, urls, journey_id="j-a")
    assert (counts.moved, counts.skipped_non_matching) == (4, 4)
    assert sorted(await task_ids(sqs, urls.url, 4)) == ["a0", "a1", "a2", "a3"]
    assert await depth(sqs, urls.dlq_url) == 4

    counts = await replay(sqs, urls, error_type="PoisonMessage")
    assert (counts.moved, counts.skipped_non_matching) == (1, 3)
    assert await depth(sqs, urls.dlq_url) == 3
    assert await depth(sqs, urls.url) == 5

    counts = await replay(sqs, urls, journey_id="j-b", error_type="Permanent", max_messages=2)
    assert counts.moved == 2
    assert await depth(sqs, urls.dlq_url) == 1


async def test_replayed_messages_keep_body_and_attributes_and_count_replays(sqs: SQSClient, settings: Settings) -> None:
    urls = await make_queue(sqs, settings.name_prefix)
    env = echo("keep")
    await dead_letter(sqs, urls, env, replays=1)
    counts = await replay(sqs, urls, journey_id="j-a")
    assert counts.moved == 1
    [msg] = await receive_all(sqs, urls.url, expected=1)
    assert Envelope.from_body(str(msg["Body"])) == env
    attrs = msg["MessageAttributes"]
    assert isinstance(attrs, dict)
    assert attrs[ATTR_REPLAY_COUNT] == {"DataType": "Number", "StringValue": "2"}
    assert attrs["journey_id"]["StringValue"] == "j-a" and attrs["kind"]["StringValue"] == "echo"
    assert not {"error_type", "error_message", "source_queue"} & set(attrs)


async def test_dry_run_moves_nothing(sqs: SQSClient, settings: Settings) -> None:
    urls = await make_queue(sqs, settings.name_prefix)
    for i in range(5):
        await dead_letter(sqs, urls, echo(f"d{i}", "j-a" if i < 3 else "j-b"))
    counts = await replay(sqs, urls, dry_run=True, journey_id="j-a")
    assert (counts.would_move, counts.moved, counts.skipped_non_matching) == (3, 0, 2)
    assert await depth(sqs, urls.url) == 0
    assert len(await list_dead_letters(sqs, urls)) == 5  # all visible again at once


async def test_the_replay_cap_refuses_messages_replayed_too_often(sqs: SQSClient, settings: Settings) -> None:
    urls = await make_queue(sqs, settings.name_prefix)
    await dead_letter(sqs, urls, echo("looping"), replays=3)
    await dead_letter(sqs, urls, echo("fresh"), replays=2)
    counts = await replay(sqs, urls, journey_id="j-a", max_replays=3)
    assert (counts.moved, counts.refused_over_cap) == (1, 1)
    [left] = await list_dead_letters(sqs, urls)
    assert (left.task_id, left.replay_count) == ("looping", 3)
    assert await task_ids(sqs, urls.url, 1) == ["fresh"]


async def test_an_interrupted_replay_loses_nothing(sqs: SQSClient, settings: Settings) -> None:
    urls = await make_queue(sqs, settings.name_prefix)
    total = 30
    for i in range(total):
        await dead_letter(sqs, urls, echo(f"i{i:02}"))
    job = asyncio.create_task(replay(sqs, urls, journey_id="j-a", rate_per_s=20))
    await eventually(lambda: _depth_at_least(sqs, urls.url, 5), interval=0.05)
    job.cancel()
    with pytest.raises(asyncio.CancelledError):
        await job
    in_source, in_dlq = await depth(sqs, urls.url), await depth(sqs, urls.dlq_url)
    assert 0 < in_source < total
    assert total <= in_source + in_dlq <= total + 1  # at worst one duplicate (sent, not yet deleted)
    # What stayed behind is visible again at once, and a second replay finishes the job.
    counts = await replay(sqs, urls, journey_id="j-a")
    assert counts.moved == in_dlq
    assert await depth(sqs, urls.dlq_url) == 0
    ids = Counter(await _drain_ids(sqs, urls.url))
    assert set(ids) == {f"i{i:02}" for i in range(total)}
    assert sum(ids.values()) <= total + 1


async def _depth_at_least(sqs: SQSClient, url: str, n: int) -> bool:
    return await depth(sqs, url) >= n


async def _drain_ids(sqs: SQSClient, url: str) -> list[str]:
    ids: list[str] = []
    while True:
        got = (await sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)).get("Messages", [])
        if not got:
            return ids
        for m in got:
            ids.append(str(json.loads(m["Body"])["task_id"]))
            await sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


async def test_after_replay_a_working_consumer_completes_every_message_exactly_once(
    sqs: SQSClient, settings: Settings
) -> None:
    urls = await make_queue(sqs, settings.name_prefix)
    sent = [echo(f"w{i}") for i in range(8)]
    await send(sqs, urls.url, *sent)
    broken = True
    done: Counter[str] = Counter()

    async def handler(env: Envelope, ctx: HandlerContext) -> Sequence[Envelope]:
        if broken:
            raise Permanent("downstream rejects everything")
        done[env.task_id or ""] += 1
        return ()

    async with running_consumer(sqs, urls, handler, config=consumer_config(settings)) as stats:
        await eventually(lambda: stats.dead_lettered == 8)
    broken = False  # the cause is fixed
    counts = await replay(sqs, urls, error_type="Permanent")
    assert counts.moved == 8
    async with running_consumer(sqs, urls, handler, config=consumer_config(settings)) as stats:
        await eventually(lambda: stats.succeeded == 8)
        await eventually(lambda: _empty(sqs, urls))
    assert done == Counter({e.task_id or "": 1 for e in sent})


async def _empty(sqs: SQSClient, urls: QueueUrls) -> bool:
    return await depth(sqs, urls.url) == 0 and await depth(sqs, urls.dlq_url) == 0


@pytest.mark.skipif(ON_LOCALSTACK, reason="LocalStack implements StartMessageMoveTask: the fallback is not taken there")
async def test_without_filters_the_loop_is_the_fallback_when_the_endpoint_lacks_move_tasks(
    sqs: SQSClient, settings: Settings
) -> None:
    urls = await make_queue(sqs, settings.name_prefix)
    for i in range(12):
        await dead_letter(sqs, urls, echo(f"f{i}"))
    counts = await replay(sqs, urls)
    assert counts.move_task is None
    assert counts.moved == 12
    assert await depth(sqs, urls.url) == 12 and await depth(sqs, urls.dlq_url) == 0


@pytest.mark.skipif(
    not ON_LOCALSTACK,
    reason="StartMessageMoveTask needs LocalStack (`make test-localstack` sets CALLPIPE_TEST_SQS_ENDPOINT); moto: 500",
)
async def test_without_filters_sqs_moves_the_messages_itself(sqs: SQSClient, settings: Settings) -> None:
    urls = await make_queue(sqs, settings.name_prefix)
    for i in range(6):
        await dead_letter(sqs, urls, echo(f"m{i}"))
    counts = await replay(sqs, urls)
    assert counts.move_task is not None
    await eventually(lambda: _depth_is(sqs, urls.url, 6), timeout=30)
    assert await depth(sqs, urls.dlq_url) == 0


async def _depth_is(sqs: SQSClient, url: str, n: int) -> bool:
    return await depth(sqs, url) == n


# --- tracking rows -----------------------------------------------------------------------------------------------

ORG = "org-dlq"


@pytest.fixture
async def ddb(clients: AwsClients, settings: Settings, sqs: SQSClient) -> AsyncIterator[DynamoDBClient]:
    data = DataResources(settings.name_prefix)
    async with clients.dynamodb() as client, clients.s3() as s3:
        boot = Bootstrapper(sqs, client, s3, region=settings.aws_region, verify=False)
        await boot.table(data.tracking_table)
        await boot.table(data.journeys_table)
        yield client


async def test_replay_reopens_the_failed_call_and_compensates_the_journey_counter(
    sqs: SQSClient, ddb: DynamoDBClient, settings: Settings
) -> None:
    data = DataResources(settings.name_prefix)
    tracking = TrackingTable(ddb, data.tracking_table.name)
    journeys = JourneyStore(ddb, data.journeys_table.name)
    journey = Journey.new(JourneyKind.TASKS, {"task_ids": ["t1"]}, org_id=ORG)
    await journeys.create(journey, "0#1")
    put = tracking.claim_put(ORG, "t1", journey.id, pipeline_version=1, retry_failed=False, lease_s=0, facts={})
    assert await transact(ddb, [{"Put": put}])
    assert await tracking.begin(ORG, "t1", CallStatus.CLAIMED, "fetch", 60) is Begin.STARTED
    failed = tracking.advance_update(
        ORG,
        "t1",
        expected=CallStatus.CLAIMED,
        new=CallStatus.FAILED,
        stage="fetch",
        values={"error": "recording gone", "failed_stage": "fetch"},
    )
    assert await transact(ddb, [{"Update": failed}, {"Update": journeys.counter_update(journey.id, "fetch", failed=1)}])

    urls = await make_queue(sqs, settings.name_prefix)
    message = Envelope(kind=Kind.FETCH, journey_id=journey.id, task_id="t1", payload={"org_id": ORG, "task_id": "t1"})
    await dead_letter(sqs, urls, message)
    await dead_letter(sqs, urls, message)  # a duplicate in the DLQ reopens nothing twice
    hook = tracking_reopener(ddb, data.tracking_table.name, data.journeys_table.name, Kind.FETCH)
    counts = await replay(sqs, urls, before_send=hook)
    assert (counts.moved, counts.reopened) == (2, 1)

    row = await tracking.get(ORG, "t1")
    assert row is not None and row.status is CallStatus.CLAIMED and row.error is None
    status = await journeys.status(journey.id)
    assert status is not None and status.count("fetch", "failed") == 0
    # The stage can now take the call again.
    assert await tracking.begin(ORG, "t1", CallStatus.CLAIMED, "fetch", 60) is Begin.STARTED
    assert tracking_reopener(ddb, data.tracking_table.name, data.journeys_table.name, Kind.POLL) is None


async def test_the_reopener_reads_a_claim_checked_dead_letter_s_body_to_find_its_call(
    sqs: SQSClient, s3: S3Client, ddb: DynamoDBClient, settings: Settings
) -> None:
    data = DataResources(settings.name_prefix)
    tracking = TrackingTable(ddb, data.tracking_table.name)
    journeys = JourneyStore(ddb, data.journeys_table.name)
    journey = Journey.new(JourneyKind.TASKS, {"task_ids": ["t2"]}, org_id=ORG)
    await journeys.create(journey, "0#1")
    put = tracking.claim_put(ORG, "t2", journey.id, pipeline_version=1, retry_failed=False, lease_s=0, facts={})
    assert await transact(ddb, [{"Put": put}])
    assert await tracking.begin(ORG, "t2", CallStatus.CLAIMED, "fetch", 60) is Begin.STARTED
    failed = tracking.advance_update(
        ORG,
        "t2",
        expected=CallStatus.CLAIMED,
        new=CallStatus.FAILED,
        stage="fetch",
        values={"error": "x", "failed_stage": "fetch"},
    )
    assert await transact(ddb, [{"Update": failed}, {"Update": journeys.counter_update(journey.id, "fetch", failed=1)}])
    await s3.create_bucket(Bucket=f"{settings.name_prefix}-messages")
    store = ClaimCheck(s3, f"{settings.name_prefix}-messages")
    message = Envelope(kind=Kind.FETCH, journey_id=journey.id, task_id="t2", payload={"org_id": ORG, "task_id": "t2"})
    key = await store.put("fetch", message.to_body())
    pointer = json.dumps({"claim_check": key, "kind": "fetch", "journey_id": journey.id, "task_id": "t2"})

    blind = tracking_reopener(ddb, data.tracking_table.name, data.journeys_table.name, Kind.FETCH)
    hook = tracking_reopener(ddb, data.tracking_table.name, data.journeys_table.name, Kind.FETCH, claim_check=store)
    assert blind is not None and hook is not None
    assert not await blind(pointer), "without the store the call cannot be known"
    assert await hook(pointer)
    row = await tracking.get(ORG, "t2")
    assert row is not None and row.status is CallStatus.CLAIMED

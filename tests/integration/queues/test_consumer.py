"""The consumer runtime over the wire: delivery, retry, dead-lettering, heartbeat, concurrency, claim check."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Sequence

from prometheus_client import REGISTRY
from types_aiobotocore_s3 import S3Client
from types_aiobotocore_sqs import SQSClient

from queues.claimcheck import ClaimCheck
from queues.consumer import HandlerContext, current_delivery
from queues.directory import QueueDirectory
from queues.envelope import Envelope, Kind
from queues.producer import Producer
from shared.config import Settings
from shared.errors import NotReadyYet, Permanent, Retryable
from tests.helpers import consumer_config, depth, eventually, make_queue, receive_all, running_consumer


def echo(task_id: str, **payload: object) -> Envelope:
    return Envelope(kind=Kind.ECHO, journey_id="j-test", task_id=task_id, payload={"text": task_id, **payload})


async def send(sqs: SQSClient, url: str, *envelopes: Envelope) -> None:
    for env in envelopes:
        await sqs.send_message(QueueUrl=url, MessageBody=env.to_body(), MessageAttributes=env.message_attributes())  # type: ignore[arg-type]


async def test_delivers_each_message_to_the_handler_and_deletes_it(sqs: SQSClient, settings: Settings) -> None:
    urls = await make_queue(sqs, settings.name_prefix)
    sent = [echo(f"m{i}") for i in range(12)]
    await send(sqs, urls.url, *sent)
    seen: list[Envelope] = []

    async def handler(env: Envelope, ctx: HandlerContext) -> Sequence[Envelope]:
        seen.append(env)
        return ()

    async with running_consumer(sqs, urls, handler, config=consumer_config(settings)) as stats:
        await eventually(lambda: stats.succeeded == 12)
        await eventually(lambda: _is_empty(sqs, urls.url))
    assert sorted(e.task_id or "" for e in seen) == sorted(e.task_id or "" for e in sent)
    assert seen[0] == next(e for e in sent if e.task_id == seen[0].task_id)
    assert await depth(sqs, urls.dlq_url) == 0


async def _is_empty(sqs: SQSClient, url: str) -> bool:
    return await depth(sqs, url) == 0


async def test_retryable_failure_backs_off_then_succeeds(sqs: SQSClient, settings: Settings) -> None:
    urls = await make_queue(sqs, settings.name_prefix)
    await send(sqs, urls.url, echo("flaky"))
    attempts: list[tuple[int, float]] = []

    async def handler(env: Envelope, ctx: HandlerContext) -> Sequence[Envelope]:
        attempts.append((ctx.receive_count, time.monotonic()))
        if ctx.receive_count < 3:
            raise Retryable("not yet", retry_after=2 if ctx.receive_count == 2 else None)
        return ()

    async with running_consumer(sqs, urls, handler, config=consumer_config(settings, backoff_base_s=1)) as stats:
        await eventually(lambda: stats.succeeded == 1, timeout=30)
    assert [count for count, _ in attempts] == [1, 2, 3]
    first_gap = attempts[1][1] - attempts[0][1]
    second_gap = attempts[2][1] - attempts[1][1]
    assert first_gap >= 0.9, "the first retry came back before its backoff"
    assert second_gap >= 1.9, "Retry-After (2 s) was not honoured"
    assert stats.retried == 2
    await eventually(lambda: _is_empty(sqs, urls.url))


async def test_message_failing_every_time_reaches_the_dlq_after_max_receive_count(
    sqs: SQSClient, settings: Settings
) -> None:
    urls = await make_queue(sqs, settings.name_prefix, max_receive_count=2)
    await send(sqs, urls.url, echo("doomed"))
    calls = 0

    async def handler(env: Envelope, ctx: HandlerContext) -> Sequence[Envelope]:
        nonlocal calls
        calls += 1
        raise Retryable("always down")

    async with running_consumer(sqs, urls, handler, config=consumer_config(settings, backoff_base_s=1)):
        await eventually(lambda: _has(sqs, urls.dlq_url, 1), timeout=30)
    assert calls == 2
    assert await depth(sqs, urls.url) == 0
    [dead] = await receive_all(sqs, urls.dlq_url, expected=1)
    assert Envelope.from_body(str(dead["Body"])).task_id == "doomed"


async def _has(sqs: SQSClient, url: str, n: int) -> bool:
    return await depth(sqs, url) == n


async def test_poison_and_permanent_failures_go_to_the_dlq_on_first_receive_with_reason(
    sqs: SQSClient, settings: Settings
) -> None:
    urls = await make_queue(sqs, settings.name_prefix, max_receive_count=5)
    bodies = {
        "not json": "this is not json {",
        "wrong shape": json.dumps({"schema_version": 1, "kind": "echo"}),
        "future schema": json.dumps({"schema_version": 99, "kind": "echo", "journey_id": "j"}),
        "wrong kind": Envelope(kind=Kind.FETCH, journey_id="j", task_id="t").to_body(),
    }
    for body in bodies.values():
        await sqs.send_message(QueueUrl=urls.url, MessageBody=body)
    await send(sqs, urls.url, echo("bad-payload", fail="permanent"))
    handled: list[str] = []

    async def handler(env: Envelope, ctx: HandlerContext) -> Sequence[Envelope]:
        handled.append(env.task_id or "")
        raise Permanent("customer record is invalid")

    async with running_consumer(sqs, urls, handler, config=consumer_config(settings)) as stats:
        await eventually(lambda: stats.dead_lettered == 5)
    dead = await receive_all(sqs, urls.dlq_url, expected=5)
    reasons = {
        str(m["Body"]): (
            m["MessageAttributes"]["error_type"]["StringValue"],  # type: ignore[index]
            m["MessageAttributes"]["error_message"]["StringValue"],  # type: ignore[index]
            int(m["Attributes"]["ApproximateReceiveCount"]),  # type: ignore[index]
        )
        for m in dead
    }
    assert reasons[bodies["not json"]][:2] == ("PoisonMessage", reasons[bodies["not json"]][1])
    assert "not JSON" in reasons[bodies["not json"]][1]
    assert "journey_id" in reasons[bodies["wrong shape"]][1]
    assert "schema_version 99" in reasons[bodies["future schema"]][1]
    assert "'fetch'" in reasons[bodies["wrong kind"]][1]
    permanent = next(v for k, v in reasons.items() if "bad-payload" in k)
    assert permanent[:2] == ("Permanent", "customer record is invalid")
    assert handled == ["bad-payload"], "the handler saw a message that should never have reached it"
    assert stats.retried == 0
    assert await depth(sqs, urls.url) == 0


async def test_heartbeat_keeps_a_slow_handler_from_being_redelivered(sqs: SQSClient, settings: Settings) -> None:
    urls = await make_queue(sqs, settings.name_prefix, visibility_s=2)
    await send(sqs, urls.url, echo("slow"))
    calls = 0

    async def handler(env: Envelope, ctx: HandlerContext) -> Sequence[Envelope]:
        nonlocal calls
        calls += 1
        await asyncio.sleep(5)  # the unit of work: 2.5 visibility timeouts long
        return ()

    async with running_consumer(sqs, urls, handler, config=consumer_config(settings, concurrency=4)) as stats:
        await eventually(lambda: stats.succeeded == 1, timeout=30)
    assert calls == 1
    assert stats.heartbeats >= 2
    await eventually(lambda: _is_empty(sqs, urls.url))


async def test_keep_alives_run_on_their_own_interval_while_their_delivery_lasts(
    sqs: SQSClient, settings: Settings
) -> None:
    # Visibility 30 s: the visibility heartbeat ticks every 5 s, so keep-alives every 0.2 s need their own schedule.
    urls = await make_queue(sqs, settings.name_prefix, visibility_s=30)
    await send(sqs, urls.url, echo("keeps-alive"))
    calls: list[float] = []
    enough = asyncio.Event()
    ended: dict[str, float] = {}
    same_context: list[bool] = []

    async def keep_alive() -> None:
        calls.append(time.monotonic())
        if len(calls) >= 3:
            enough.set()

    async def handler(env: Envelope, ctx: HandlerContext) -> Sequence[Envelope]:
        same_context.append(current_delivery.get() is ctx)
        if env.task_id == "keeps-alive":
            assert ctx.keep_alive(keep_alive, 0.2)
            await asyncio.wait_for(enough.wait(), timeout=4)  # three calls well before the 5 s heartbeat tick
            ended["keeps-alive"] = time.monotonic()
            await send(sqs, urls.url, echo("after"))
        else:
            await asyncio.sleep(1.0)  # the consumer lives on: a keep-alive of the ended delivery would show here
            ended["after"] = time.monotonic()
        return ()

    async with running_consumer(sqs, urls, handler, config=consumer_config(settings)) as stats:
        await eventually(lambda: stats.succeeded == 2, timeout=30)
    assert len(calls) >= 3
    assert all(t <= ended["keeps-alive"] for t in calls), "a keep-alive ran after its delivery ended"
    assert same_context == [True, True], "current_delivery is not the handler's own delivery"
    assert HandlerContext(Kind.ECHO, "m", 1, 0.0).keep_alive(keep_alive, 1) is False  # outside a consumer


async def test_never_runs_more_handlers_than_the_concurrency_bound(sqs: SQSClient, settings: Settings) -> None:
    urls = await make_queue(sqs, settings.name_prefix)
    await send(sqs, urls.url, *(echo(f"c{i}") for i in range(20)))
    running = peak = 0

    async def handler(env: Envelope, ctx: HandlerContext) -> Sequence[Envelope]:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.3)
        running -= 1
        return ()

    config = consumer_config(settings, concurrency=4, receivers=3)
    async with running_consumer(sqs, urls, handler, config=config) as stats:
        await eventually(lambda: stats.succeeded == 20, timeout=30)
    assert peak == 4


async def test_claim_check_round_trip_for_a_body_over_the_sqs_limit(
    sqs: SQSClient, s3: S3Client, settings: Settings
) -> None:
    bucket = f"{settings.name_prefix}-messages"
    await s3.create_bucket(Bucket=bucket)
    urls = await make_queue(sqs, settings.name_prefix)
    directory = QueueDirectory(sqs, settings.name_prefix)
    directory._cache[Kind.ECHO] = urls  # route echo messages to this test's throwaway queue
    claim_check = ClaimCheck(s3, bucket)
    producer = Producer(sqs, directory, claim_check, claim_check_threshold=200_000)
    big = echo("big", text="x" * 300_000)
    small = echo("small")
    assert await producer.send([big, small]) == 2
    stored = await s3.list_objects_v2(Bucket=bucket, Prefix="claim-check/")
    assert stored.get("KeyCount") == 1
    seen: dict[str, Envelope] = {}

    async def handler(env: Envelope, ctx: HandlerContext) -> Sequence[Envelope]:
        seen[env.task_id or ""] = env
        return ()

    config = consumer_config(settings)
    async with running_consumer(sqs, urls, handler, config=config, claim_check=claim_check) as stats:
        await eventually(lambda: stats.succeeded == 2)
    assert seen["big"] == big
    assert seen["small"] == small
    await eventually(lambda: _bucket_empty(s3, bucket))


async def _bucket_empty(s3: S3Client, bucket: str) -> bool:
    return (await s3.list_objects_v2(Bucket=bucket)).get("KeyCount") == 0


async def test_producer_sends_many_in_batches_of_at_most_ten(sqs: SQSClient, s3: S3Client, settings: Settings) -> None:
    urls = await make_queue(sqs, settings.name_prefix)
    directory = QueueDirectory(sqs, settings.name_prefix)
    directory._cache[Kind.ECHO] = urls
    producer = Producer(sqs, directory, ClaimCheck(s3, "unused"))
    assert await producer.send(echo(f"b{i}") for i in range(23)) == 23
    assert await depth(sqs, urls.url) == 23


async def test_not_ready_work_is_resent_later_without_using_up_receives(
    sqs: SQSClient, s3: S3Client, settings: Settings
) -> None:
    urls = await make_queue(sqs, settings.name_prefix, max_receive_count=2)
    directory = QueueDirectory(sqs, settings.name_prefix)
    directory._cache[Kind.ECHO] = urls
    producer = Producer(sqs, directory, ClaimCheck(s3, "unused"))
    await send(sqs, urls.url, echo("late-capture"))
    seen: list[tuple[int, int, float]] = []

    async def handler(env: Envelope, ctx: HandlerContext) -> Sequence[Envelope]:
        seen.append((env.attempt, ctx.receive_count, time.monotonic()))
        if env.attempt < 4:
            raise NotReadyYet("no capture yet")
        return ()

    config = consumer_config(settings, not_ready_base_s=1, not_ready_max_s=2)
    async with running_consumer(sqs, urls, handler, config=config, producer=producer) as stats:
        await eventually(lambda: stats.succeeded == 1, timeout=30)
    assert [(attempt, receives) for attempt, receives, _ in seen] == [(1, 1), (2, 1), (3, 1), (4, 1)]
    assert all(later[2] - earlier[2] >= 0.9 for earlier, later in itertools.pairwise(seen))
    assert await depth(sqs, urls.dlq_url) == 0
    await eventually(lambda: _is_empty(sqs, urls.url))


async def test_metrics_count_what_the_consumer_did(sqs: SQSClient, settings: Settings) -> None:
    def sample(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, {"stage": "echo", **labels}) or 0.0

    names: tuple[tuple[str, dict[str, str]], ...] = (
        ("callpipe_messages_received_total", {}),
        ("callpipe_messages_succeeded_total", {}),
        ("callpipe_messages_retried_total", {"error_type": "Retryable"}),
        ("callpipe_messages_dead_lettered_total", {"error_type": "Permanent"}),
        ("callpipe_handler_seconds_count", {}),
    )
    before = [sample(name, **labels) for name, labels in names]
    urls = await make_queue(sqs, settings.name_prefix)
    await send(sqs, urls.url, echo("ok-1"), echo("ok-2"), echo("ok-3"), echo("flaky"), echo("bad"))

    async def handler(env: Envelope, ctx: HandlerContext) -> Sequence[Envelope]:
        if env.task_id == "bad":
            raise Permanent("bad call")
        if env.task_id == "flaky" and ctx.receive_count == 1:
            raise Retryable("once")
        return ()

    config = consumer_config(settings, backoff_base_s=1)
    async with running_consumer(sqs, urls, handler, config=config) as stats:
        await eventually(lambda: stats.succeeded == 4 and stats.dead_lettered == 1, timeout=30)
    after = [sample(name, **labels) for name, labels in names]
    assert [a - b for a, b in zip(after, before, strict=True)] == [6, 4, 1, 1, 6]
    assert sample("callpipe_messages_in_flight") == 0

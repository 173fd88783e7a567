"""Consumer runtime overhead: messages/s of the runtime with a no-op handler vs a raw aioboto3 receive→delete loop.

Both drain the same number of messages from the same endpoint with the same batch size (10) and the same number of
concurrent receive loops; the runtime additionally parses each envelope, runs the handler in a task under its
concurrency bound and batches deletes. Rounds alternate raw/runtime so drift in the emulator hits both alike, and
which of the two goes first alternates too; each round gives one paired ratio runtime/raw. On a busy machine single
rounds swing by ±10 %, so the bench runs many rounds (9 by default) and reports the median ratio (`ratio`, also
`ratio_median`) and the worst round (`ratio_min`).

Endpoint: `CALLPIPE_BENCH_SQS_ENDPOINT` (LocalStack, via `make bench`), else a moto server started here — moto's SQS
slows as the queue grows, so its figures measure moto more than us.
Last line: raw_msgs_s=… runtime_msgs_s=… ratio=… ratio_median=… ratio_min=… rounds=…
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid
from collections.abc import Sequence

from queues.consumer import Consumer, ConsumerConfig, HandlerContext
from queues.directory import QueueUrls
from queues.envelope import Envelope, Kind
from shared.aws import AwsClients
from shared.config import Settings
from shared.logging import configure_logging
from simulator.aws import local_aws_process

os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")


async def fill(sqs: object, url: str, n: int) -> None:
    body = Envelope(kind=Kind.ECHO, journey_id="bench", payload={"text": "x"}).to_body()
    batches = [[{"Id": str(i), "MessageBody": body} for i in range(min(10, n - start))] for start in range(0, n, 10)]
    sem = asyncio.Semaphore(16)

    async def one(entries: list[dict[str, str]]) -> None:
        async with sem:
            await sqs.send_message_batch(QueueUrl=url, Entries=entries)  # type: ignore[attr-defined]

    await asyncio.gather(*(one(b) for b in batches))


async def raw_drain(sqs: object, url: str, n: int, loops: int) -> float:
    done = 0
    start = time.perf_counter()

    async def loop() -> None:
        nonlocal done
        while done < n:
            resp = await sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)  # type: ignore[attr-defined]
            messages = resp.get("Messages", [])
            if not messages:
                continue
            done += len(messages)
            entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
            await sqs.delete_message_batch(QueueUrl=url, Entries=entries)  # type: ignore[attr-defined]

    await asyncio.gather(*(loop() for _ in range(loops)))
    return n / (time.perf_counter() - start)


async def runtime_drain(sqs: object, urls: QueueUrls, n: int, loops: int) -> float:
    handled = 0
    all_handled = asyncio.Event()

    async def noop(envelope: Envelope, ctx: HandlerContext) -> Sequence[Envelope]:
        nonlocal handled
        handled += 1
        if handled >= n:
            all_handled.set()
        return ()

    config = ConsumerConfig(concurrency=10 * loops, receivers=loops, batch_size=10, wait_time_s=1, grace_period_s=30)
    consumer = Consumer(sqs=sqs, kind=Kind.ECHO, urls=urls, handler=noop, config=config)  # type: ignore[arg-type]
    stop = asyncio.Event()
    start = time.perf_counter()
    task = asyncio.create_task(consumer.run(stop))
    await all_handled.wait()
    stop.set()
    await task  # includes the final batched deletes
    return n / (time.perf_counter() - start)


async def main(messages: int, loops: int, rounds: int, endpoint: str) -> None:
    settings = Settings(aws_endpoint_url=endpoint, aws_region="us-east-1", log_level="WARNING")
    configure_logging("WARNING", "json")
    async with AwsClients(settings).sqs() as sqs:
        raw: list[float] = []
        runtime: list[float] = []
        for r in range(rounds):
            order = [(raw, "raw"), (runtime, "runtime")]
            for results, drain in order if r % 2 == 0 else order[::-1]:
                # A fresh queue per drain: each run starts from exactly `messages` visible messages.
                name = f"bench-{uuid.uuid4().hex[:8]}"
                dlq = (await sqs.create_queue(QueueName=f"{name}-dlq"))["QueueUrl"]
                url = (await sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "60"}))["QueueUrl"]
                await fill(sqs, url, messages)
                if drain == "raw":
                    results.append(await raw_drain(sqs, url, messages, loops))
                else:
                    results.append(await runtime_drain(sqs, QueueUrls(url, dlq), messages, loops))
                await sqs.delete_queue(QueueUrl=url)
                await sqs.delete_queue(QueueUrl=dlq)
            print(f"round {r + 1}: raw {raw[-1]:.0f} msg/s, runtime {runtime[-1]:.0f} msg/s", flush=True)
    # Paired rounds: the ratio is the median of each round's runtime/raw, robust to the emulator's drift over a run.
    ratios = [b / a for a, b in zip(raw, runtime, strict=True)]
    median, worst = statistics.median(ratios), min(ratios)
    print(f"endpoint={endpoint} messages={messages} loops={loops} batch=10 rounds={rounds}")
    print("ratios: " + " ".join(f"{r:.3f}" for r in ratios))
    print(
        f"raw_msgs_s={statistics.median(raw):.0f} runtime_msgs_s={statistics.median(runtime):.0f} ratio={median:.3f} "
        f"ratio_median={median:.3f} ratio_min={worst:.3f} rounds={rounds}"
    )


async def on_moto(messages: int, loops: int, rounds: int) -> None:
    """The bench against a moto server in its own process, so the emulator never competes for this one's GIL."""
    async with local_aws_process() as (endpoint, _):
        await main(messages, loops, rounds, endpoint)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=0, help="per drain (default 5000 on LocalStack, 500 on moto)")
    parser.add_argument("--loops", type=int, default=8, help="concurrent receive loops (runtime: receivers)")
    parser.add_argument("--rounds", type=int, default=9, help="paired raw/runtime rounds (median ratio reported)")
    args = parser.parse_args()
    endpoint = os.environ.get("CALLPIPE_BENCH_SQS_ENDPOINT")
    if endpoint:
        asyncio.run(main(args.messages or 5000, args.loops, args.rounds, endpoint))
    else:
        print("no CALLPIPE_BENCH_SQS_ENDPOINT: using moto, whose SQS is slower on deep queues (figures measure moto)")
        asyncio.run(on_moto(args.messages or 500, args.loops, args.rounds))

"""Analytics read latency over a month of analysed calls: the summary grouped by queue, a filtered call list's first
page and one raw GetItem, on the same local DynamoDB endpoint.

Method: moto as its own process (`callpipe local-aws`), the real topology (`bootstrap`). `--calls` analysed calls
(default 100,000) with ends spread over the last `--days` (30) days, 12 queues, 60 agents, topics, reasons,
sentiments, QA flags and conversation metrics, are written straight into the analytics table, not through the
pipeline: each record item is the one `AnalyticsStore.write_items` puts, and the aggregate items are
`AnalyticsStore.aggregate_items` of the sum of the calls' `contribution()` — exactly what the analyze stage's ADDs
leave. BatchWriteItem of 25, `--writers` concurrent writers. The API then serves in this process (aiohttp on
127.0.0.1, anonymous); requests are sequential (one at a time, after a warm-up): `GET /api/v1/analytics/summary`
over the last 30 days grouped by queue (p50/p95 of `--requests`, ≥ 50) alternating with a raw aiobotocore GetItem of
a record (what `GET /calls/{id}` starts with; the floor), so both see the same load on a shared machine, then
`GET /api/v1/calls` first page (limit 50) filtered by queue and resolved (p50 of `--list-requests`). To show where
the summary's time goes it also times the raw BatchGetItem of the summary's aggregate items and the summary called
in-process (`queries.summary`, no HTTP).

What the emulator charges: moto's response serializer costs ~50 µs per attribute returned (idle machine), and every
Query walks the whole table (moto/dynamodb/models/table.py `query` → `all_items`), then sorts the matches. The
summary therefore reads no Query at all: one BatchGetItem of the signed day blocks (`shared.analytics.periods`) of
the `queue` and `tops` items, ~400 attributes whatever the number of calls (it was ~9,000 attributes in ~1,300 items
from four Queries before: p95 4.3 s at 20,000 calls). A filtered list page is one Query of the `by-org-queue` index
(real DynamoDB reads ~50 / 0.74 items of that partition; moto walks all 100,000 records and sorts the queue's
8,000), so on moto the list still grows with the table.
Last line: calls=… summary_p50_ms=… summary_p95_ms=… list_p50_ms=… raw_getitem_p50_ms=…
(target: summary p95 ≤ 10 x raw GetItem p50).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx
from aiohttp import web

from api.app import create_app
from api.config import ApiConfig
from queues.bootstrap import bootstrap
from shared.analytics import queries
from shared.analytics.aggregates import Counters, add, contribution
from shared.analytics.layout import TOPS
from shared.analytics.periods import cover
from shared.analytics.record import CallRecord, QaFlagOut, iso_ms
from shared.analytics.store import AnalyticsStore, ListFilters
from shared.audio.conversation import ConversationMetrics
from shared.aws import AwsClients
from shared.config import Settings
from shared.logging import configure_logging
from simulator.aws import local_aws_process

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_REGION="us-east-1")
for _var in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
    os.environ.pop(_var, None)

ORG = "bench-org"
QUEUES = [f"Queue-{name}" for name in ("Sales", "Billing", "Support", "Retention", "Tech", "Claims", "Orders",
                                       "Returns", "VIP", "Partners", "Spanish", "Overflow")]  # fmt: skip
AGENTS = [f"agent-{i:02}" for i in range(60)]
TOPICS = ["refund", "double charge", "login", "password reset", "delivery delay", "cancellation", "upgrade",
          "invoice", "address change", "card declined", "outage", "roaming", "contract", "discount", "complaint",
          "warranty", "installation", "porting", "data plan", "loyalty"]  # fmt: skip
REASONS = ["billing dispute", "technical issue", "cancel service", "order status", "account access", "new contract",
           "complaint", "change plan", "payment arrangement", "general question"]  # fmt: skip
SENTIMENTS = ["very_negative", "negative", "neutral", "positive", "very_positive"]
SENTIMENT_WEIGHTS = [5, 15, 35, 35, 10]
FLAGS = [("identity_not_verified", "critical"), ("no_greeting", "warning"), ("long_hold", "warning"),
         ("promised_callback", "info")]  # fmt: skip
BATCH = 25


def a_record(rng: random.Random, i: int, start_ms: int, span_ms: int) -> CallRecord:
    """One plausible analysed call ending somewhere in [start_ms, start_ms + span_ms)."""
    ended_at = iso_ms(start_ms + rng.randrange(span_ms))
    duration = round(rng.uniform(60, 900), 3)
    agent_talk, customer_talk = round(duration * rng.uniform(0.25, 0.45), 3), round(duration * rng.uniform(0.2, 0.4), 3)
    silence = round(max(0.0, duration - agent_talk - customer_talk), 3)
    agent = rng.choice(AGENTS)
    tokens_in, tokens_out = rng.randint(800, 6000), rng.randint(150, 600)
    billed = round(duration * 0.8, 3)
    return CallRecord(
        org_id=ORG,
        task_id=f"bench-{i:07}-{uuid.UUID(int=rng.getrandbits(128)).hex[:8]}",
        journey_id="j-bench",
        started_at=None,
        ended_at=ended_at,
        day=ended_at[:10],
        duration_s=duration,
        queue=rng.choice(QUEUES),
        agent=agent,
        agents=[agent],
        direction=rng.choice(["inbound", "inbound", "outbound"]),
        summary="The customer called about an issue; the agent explained the next steps.",
        reason_for_call=rng.choice(REASONS),
        topics=rng.sample(TOPICS, rng.randint(1, 3)),
        resolved=rng.random() < 0.74,
        customer_sentiment=rng.choices(SENTIMENTS, SENTIMENT_WEIGHTS)[0],
        agent_sentiment=rng.choices(SENTIMENTS, [1, 4, 40, 45, 10])[0],
        qa_flags=[QaFlagOut(flag=f, severity=s, evidence="…") for f, s in FLAGS if rng.random() < 0.1],
        language="en",
        pipeline_version=1,
        prompt_version="analysis-v3",
        model="gpt-4o-mini",
        billed_audio_s=billed,
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        cost_usd=round(billed / 60 * 0.006 + tokens_in * 0.15e-6 + tokens_out * 0.6e-6, 6),
        conversation=ConversationMetrics(
            duration_s=duration,
            talk_s={"agent": agent_talk, "customer": customer_talk},
            silence_s=silence,
            silence_ratio=round(silence / duration, 4),
            longest_silence_s=round(min(silence, rng.uniform(2, 40)), 3),
            overtalk_s=round(rng.uniform(0, 15), 3),
            agent_talk_ratio=round(agent_talk / (agent_talk + customer_talk), 4),
            turns=rng.randint(6, 80),
        ),
        analysis_key=f"analyses/bench/{i}.json",
        transcript_key=f"transcripts/bench/{i}.json",
        analysed_at=ended_at,
    )


def seed_items(store: AnalyticsStore, calls: int, start_ms: int, span_ms: int) -> Iterator[dict[str, Any]]:
    """The record items, then the aggregate items (sums of every call's contribution), as the analyze stage leaves
    them."""
    rng = random.Random(12)
    totals: dict[str, Counters] = {}
    for i in range(calls):
        record = a_record(rng, i, start_ms, span_ms)
        own = contribution(record)
        yield store.write_items(record, own, None)[0]["Put"]["Item"]
        for key, counts in own.items():
            add(totals.setdefault(key, {}), counts)
    yield from store.aggregate_items(ORG, totals)


async def seed(
    ddb: DynamoDBClient, store: AnalyticsStore, calls: int, start_ms: int, span_ms: int, writers: int
) -> int:
    """Write the items with `writers` concurrent BatchWriteItem loops; returns the number of items written."""
    batches: asyncio.Queue[list[dict[str, Any]] | None] = asyncio.Queue(maxsize=writers * 4)
    written = 0

    async def writer() -> None:
        nonlocal written
        while (batch := await batches.get()) is not None:
            requests: list[dict[str, Any]] = [{"PutRequest": {"Item": item}} for item in batch]
            while requests:
                answer = await ddb.batch_write_item(RequestItems={store.table: requests})  # type: ignore[dict-item]
                requests = [dict(r) for r in answer.get("UnprocessedItems", {}).get(store.table, [])]
            written += len(batch)

    tasks = [asyncio.create_task(writer()) for _ in range(writers)]
    batch: list[dict[str, Any]] = []
    last = time.perf_counter()
    for item in seed_items(store, calls, start_ms, span_ms):
        batch.append(item)
        if len(batch) == BATCH:
            await batches.put(batch)
            batch = []
        if time.perf_counter() - last > 30:
            print(f"  … {written} items written", flush=True)
            last = time.perf_counter()
    if batch:
        await batches.put(batch)
    for _ in tasks:
        await batches.put(None)
    await asyncio.gather(*tasks)
    return written


async def timed(call: Callable[[], Awaitable[object]], n: int, warmup: int = 3) -> list[float]:
    """Milliseconds of `n` sequential calls after `warmup` untimed ones."""
    for _ in range(warmup):
        await call()
    out: list[float] = []
    for _ in range(n):
        began = time.perf_counter()
        await call()
        out.append((time.perf_counter() - began) * 1000)
    return out


async def paired(
    first: Callable[[], Awaitable[object]], second: Callable[[], Awaitable[object]], n: int, warmup: int = 3
) -> tuple[list[float], list[float]]:
    """Milliseconds of `n` alternating calls of `first` and `second`, after `warmup` untimed pairs."""
    a: list[float] = []
    b: list[float] = []
    for i in range(warmup + n):
        for call, out in ((first, a), (second, b)):
            began = time.perf_counter()
            await call()
            if i >= warmup:
                out.append((time.perf_counter() - began) * 1000)
    return a, b


def p(values: list[float], q: int) -> float:
    """The q-th percentile (inclusive method)."""
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


async def main(calls: int, days: int, writers: int, requests: int, list_requests: int) -> None:
    async with local_aws_process() as (endpoint, _pid):
        settings = Settings(
            name_prefix=f"bench-an-{uuid.uuid4().hex[:6]}",
            aws_endpoint_url=endpoint,
            aws_region="us-east-1",
            wxcc_org_id=ORG,
            log_level="WARNING",
        )
        await bootstrap(settings, include_echo=False)
        table = f"{settings.name_prefix}-analytics"
        now = datetime.now(UTC)
        start = now - timedelta(days=days)
        start_ms = int(start.timestamp() * 1000) + 60_000
        span_ms = days * 86_400_000 - 120_000
        async with AwsClients(settings).dynamodb() as ddb:
            store = AnalyticsStore(ddb, table)
            began = time.perf_counter()
            items = await seed(ddb, store, calls, start_ms, span_ms, writers)
            seed_s = time.perf_counter() - began
            print(f"seeded {calls} calls: {items} items ({items - calls} aggregate items) in {seed_s:.0f} s, "
                  f"{writers} writers x BatchWriteItem of {BATCH}", flush=True)  # fmt: skip

            some = await ddb.query(
                TableName=table,
                IndexName="by-org-time",
                KeyConditionExpression="list_pk = :o",
                ExpressionAttributeValues={":o": {"S": f"org#{ORG}"}},
                Limit=1,
            )
            a_key = {"pk": some["Items"][0]["pk"], "sk": some["Items"][0]["sk"]}

            from_day, to_day = queries.days_of(start, now)

            blocks = cover(from_day, to_day)
            wanted = [(d, b.key) for b in blocks for d in ("queue", TOPS)]

            async def raw_batch() -> None:
                await store.read_blocks(ORG, wanted)

            raw_b = await timed(raw_batch, 10)
            got = await store.read_blocks(ORG, wanted)
            print(f"raw BatchGetItem of the summary's items ({from_day}..{to_day} = {len(blocks)} signed blocks, "
                  f"{len(got)} items, {sum(len(a) for a in got.values())} attributes): p50 {p(raw_b, 50):.2f} ms "
                  "over 10", flush=True)  # fmt: skip

            async def direct_summary() -> None:
                await queries.summary(store, ORG, start, now, "queue", ListFilters())

            direct = await timed(direct_summary, 10)
            print(f"queries.summary in-process (one BatchGetItem): p50 {p(direct, 50):.2f} "
                  "ms over 10", flush=True)  # fmt: skip

        runner = web.AppRunner(create_app(settings, ApiConfig(allow_anonymous=True)), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        base = f"http://127.0.0.1:{runner.addresses[0][1]}"
        window = {"from": start.isoformat(), "to": now.isoformat()}
        list_params = {**window, "queue": QUEUES[0], "resolved": "true", "limit": "50"}
        try:
            async with httpx.AsyncClient(base_url=base, timeout=900) as http, AwsClients(settings).dynamodb() as ddb:

                async def raw_get() -> None:
                    assert "Item" in await ddb.get_item(TableName=table, Key=a_key, ConsistentRead=True)

                first = (await http.get("/api/v1/analytics/summary", params={**window, "group_by": "queue"})).json()
                assert first["totals"]["calls"] == calls, first["totals"]
                assert sum(g["calls"] for g in first["groups"]) == calls

                async def get_summary() -> None:
                    r = await http.get("/api/v1/analytics/summary", params={**window, "group_by": "queue"})
                    r.raise_for_status()

                async def get_list() -> None:
                    r = await http.get("/api/v1/calls", params=list_params)
                    r.raise_for_status()
                    assert r.json()["items"], "the filtered list's first page is empty"

                # Paired: a raw GetItem then a summary, `requests` times, so both see the same load on a shared host.
                raw, summary_ms = await paired(raw_get, get_summary, requests)
                print(f"raw GetItem of a record: p50 {p(raw, 50):.2f} ms over {len(raw)}", flush=True)
                p50, p95 = p(summary_ms, 50), p(summary_ms, 95)
                print(f"GET summary 30 days by queue: p50 {p50:.2f} ms p95 {p95:.2f} ms over {len(summary_ms)} "
                      f"({p95 / p(raw, 50):.1f} x raw GetItem p50; target ≤ 10)", flush=True)  # fmt: skip
                list_ms = await timed(get_list, list_requests, warmup=1)
        finally:
            await runner.cleanup()

    raw_p50, summary_p50, summary_p95 = p(raw, 50), p(summary_ms, 50), p(summary_ms, 95)
    print(f"endpoint: moto {endpoint} (its own process); API in this process; requests sequential after a warm-up")
    print(f"GET calls queue={QUEUES[0]} resolved=true limit=50: p50 {p(list_ms, 50):.1f} ms over {len(list_ms)}")
    print(
        f"calls={calls} summary_p50_ms={summary_p50:.2f} summary_p95_ms={summary_p95:.2f} "
        f"list_p50_ms={p(list_ms, 50):.2f} raw_getitem_p50_ms={raw_p50:.2f}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100_000, help="analysed calls to seed")
    parser.add_argument("--days", type=int, default=30, help="the calls end over the last N days")
    parser.add_argument("--writers", type=int, default=4, help="concurrent BatchWriteItem loops")
    parser.add_argument("--requests", type=int, default=50, help="summary requests timed (≥ 50)")
    parser.add_argument("--list-requests", type=int, default=5, help="call list requests timed")
    args = parser.parse_args()
    configure_logging("WARNING", "json")
    asyncio.run(main(args.calls, args.days, args.writers, max(args.requests, 50), args.list_requests))

"""API load on loopback: GET /api/v1/journeys/{id} and POST /api/v1/journeys, next to the emulator's raw GetItem rate.

Method: a moto endpoint and the API (same process, its own aiohttp server on 127.0.0.1) with the real topology;
`--concurrency` clients for `--seconds` each: (1) raw aioboto3 GetItem of a journey's META item — the floor any GET
shares, (2) GET of a journey's status (one Query over the journey's items, one Query of its failures, the DLQ depth
of the four stages), (3) POST of a window journey (a transaction + one SQS send) with the per-key creation limit off,
(4) the same POST through the limit (one more conditional UpdateItem; the limit set too high to refuse). Latency p99
over all GETs. Then a DLQ replay job: `--dlq` dead letters in the fetch DLQ, a dry-run replay POSTed; the time to its
202 (the request never waits for the DLQ) and the time until the job reports SUCCEEDED.
Last line: get_rps=… get_p99_ms=… post_rps=… post_limited_rps=… raw_getitem_rps=… ratio=<get_rps/raw_getitem_rps>
replay_dlq=… replay_post_ms=… replay_job_s=…
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import httpx
from aiohttp import web

from api.app import create_app
from api.config import ApiConfig
from queues.bootstrap import bootstrap
from queues.directory import QueueDirectory
from queues.envelope import Envelope, Kind
from shared.aws import AwsClients
from shared.config import Settings
from shared.logging import configure_logging
from shared.resources import DataResources
from simulator.aws import LocalAws

os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")


async def hammer(call: Callable[[], Awaitable[None]], concurrency: int, seconds: float) -> tuple[float, list[float]]:
    """Requests/s and each request's latency (s) of `concurrency` loops calling `call` for `seconds`."""
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def loop() -> None:
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            await call()
            latencies.append(time.perf_counter() - start)

    began = time.perf_counter()
    await asyncio.gather(*(loop() for _ in range(concurrency)))
    return len(latencies) / (time.perf_counter() - began), latencies


async def serve(settings: Settings, config: ApiConfig) -> tuple[web.AppRunner, str]:
    """The API on a free loopback port."""
    runner = web.AppRunner(create_app(settings, config), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


async def fill_dlq(settings: Settings, count: int) -> None:
    """`count` dead letters in the fetch DLQ, 10 per SendMessageBatch."""
    async with AwsClients(settings).sqs() as sqs:
        url = (await QueueDirectory(sqs, settings.name_prefix).urls(Kind.FETCH)).dlq_url
        for start in range(0, count, 10):
            entries = []
            for i in range(start, min(start + 10, count)):
                env = Envelope(kind=Kind.FETCH, journey_id="j-bench", task_id=f"t{i}", payload={"task_id": f"t{i}"})
                entries.append({"Id": str(i - start), "MessageBody": env.to_body()})
            await sqs.send_message_batch(QueueUrl=url, Entries=entries)  # type: ignore[arg-type]


async def replay_job(http: httpx.AsyncClient) -> tuple[float, float]:
    """Seconds to the 202 of a dry-run replay, and until its job is no longer RUNNING."""
    began = time.perf_counter()
    resp = await http.post("/api/v1/dlq/fetch/replay", json={"dry_run": True})
    answered = time.perf_counter() - began
    resp.raise_for_status()
    location = resp.headers["Location"]
    for _ in range(36_000):  # at most an hour
        job = (await http.get(location)).json()
        if job["state"] != "RUNNING":
            break
        await asyncio.sleep(0.1)
    if job["state"] != "SUCCEEDED":
        raise RuntimeError(f"the replay job ended {job['state']}: {job['error']}")
    return answered, time.perf_counter() - began


async def main(concurrency: int, seconds: float, endpoint: str, dlq: int) -> None:
    settings = Settings(
        name_prefix="bench-api", aws_endpoint_url=endpoint, aws_region="us-east-1", wxcc_org_id="bench-org"
    )
    await bootstrap(settings)
    runner, base = await serve(settings, ApiConfig(allow_anonymous=True, journey_creates_per_minute=0))
    limited_runner, limited_base = await serve(
        settings, ApiConfig(allow_anonymous=True, journey_creates_per_minute=10**9)
    )
    now = datetime.now(UTC)
    window = {"kind": "window", "from": (now - timedelta(hours=1)).isoformat(), "to": now.isoformat()}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    try:
        async with (
            httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as http,
            httpx.AsyncClient(base_url=limited_base, limits=limits, timeout=30) as limited,
        ):
            created = await http.post("/api/v1/journeys", json=window)
            created.raise_for_status()
            location = created.headers["Location"]
            journey_id = location.rsplit("/", 1)[-1]
            table = DataResources(settings.name_prefix).journeys_table.name
            key = {"pk": {"S": f"JOURNEY#{journey_id}"}, "sk": {"S": "META"}}
            async with AwsClients(settings).dynamodb() as ddb:

                async def raw_get() -> None:
                    await ddb.get_item(TableName=table, Key=key)

                raw_rps, _ = await hammer(raw_get, concurrency, seconds)

            async def api_get() -> None:
                (await http.get(location)).raise_for_status()

            async def api_post() -> None:
                (await http.post("/api/v1/journeys", json=window)).raise_for_status()

            async def api_post_limited() -> None:
                (await limited.post("/api/v1/journeys", json=window)).raise_for_status()

            get_rps, latencies = await hammer(api_get, concurrency, seconds)
            post_rps, _ = await hammer(api_post, concurrency, seconds)
            post_limited_rps, _ = await hammer(api_post_limited, concurrency, seconds)
            await fill_dlq(settings, dlq)
            replay_answer_s, replay_job_s = await replay_job(http)
    finally:
        await limited_runner.cleanup()
        await runner.cleanup()
    p99 = statistics.quantiles(latencies, n=100)[98] * 1000
    print(f"endpoint={endpoint} concurrency={concurrency} seconds={seconds} (moto: every figure includes the emulator)")
    print(
        f"get_rps={get_rps:.0f} get_p99_ms={p99:.1f} post_rps={post_rps:.0f} post_limited_rps={post_limited_rps:.0f} "
        f"raw_getitem_rps={raw_rps:.0f} ratio={get_rps / raw_rps:.3f} replay_dlq={dlq} "
        f"replay_post_ms={replay_answer_s * 1000:.1f} replay_job_s={replay_job_s:.2f}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--dlq", type=int, default=500, help="dead letters the replay job reads")
    args = parser.parse_args()
    configure_logging("WARNING", "json")
    with LocalAws() as aws:
        asyncio.run(main(args.concurrency, args.seconds, aws.endpoint, args.dlq))

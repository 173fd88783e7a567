"""API load on loopback: GET /api/v1/journeys/{id} and POST /api/v1/journeys, next to the emulator's raw GetItem rate.

Method: a moto endpoint and the API (same process, its own aiohttp server on 127.0.0.1) with the real topology;
`--concurrency` clients for `--seconds` each: (1) raw aioboto3 GetItem of a journey's META item — the floor any GET
shares, (2) GET of a journey's status (one Query over the journey's items, one Query of its failures, the DLQ depth
of the four stages), (3) POST of a window journey (a transaction + one SQS send). Latency p99 over all GETs.
Last line: get_rps=… get_p99_ms=… post_rps=… raw_getitem_rps=… ratio=<get_rps/raw_getitem_rps>
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


async def main(concurrency: int, seconds: float, endpoint: str) -> None:
    settings = Settings(
        name_prefix="bench-api", aws_endpoint_url=endpoint, aws_region="us-east-1", wxcc_org_id="bench-org"
    )
    await bootstrap(settings)
    runner = web.AppRunner(create_app(settings, ApiConfig(allow_anonymous=True)), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    now = datetime.now(UTC)
    window = {"kind": "window", "from": (now - timedelta(hours=1)).isoformat(), "to": now.isoformat()}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    try:
        async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as http:
            created = await http.post("/api/v1/journeys", json=window)
            created.raise_for_status()
            location = created.headers["Location"]
            journey_id = location.rsplit("/", 1)[-1]
            table = DataResources(settings.name_prefix).journeys_table.name
            key = {"pk": {"S": f"JOURNEY#{journey_id}"}, "sk": {"S": "META"}}
            async with AwsClients(settings).dynamodb() as ddb:

                async def raw_get() -> None:
                    await ddb.get_item(TableName=table, Key=key)  # type: ignore[arg-type]

                raw_rps, _ = await hammer(raw_get, concurrency, seconds)

            async def api_get() -> None:
                (await http.get(location)).raise_for_status()

            async def api_post() -> None:
                (await http.post("/api/v1/journeys", json=window)).raise_for_status()

            get_rps, latencies = await hammer(api_get, concurrency, seconds)
            post_rps, _ = await hammer(api_post, concurrency, seconds)
    finally:
        await runner.cleanup()
    p99 = statistics.quantiles(latencies, n=100)[98] * 1000
    print(f"endpoint={endpoint} concurrency={concurrency} seconds={seconds} (moto: every figure includes the emulator)")
    print(
        f"get_rps={get_rps:.0f} get_p99_ms={p99:.1f} post_rps={post_rps:.0f} "
        f"raw_getitem_rps={raw_rps:.0f} ratio={get_rps / raw_rps:.3f}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    configure_logging("WARNING", "json")
    with LocalAws() as aws:
        asyncio.run(main(args.concurrency, args.seconds, aws.endpoint))

"""The WXCC client against the running simulator: paging, faults, shared tokens, captures, downloads, budget."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from aiohttp import web
from types_aiobotocore_dynamodb import DynamoDBClient

from shared.config import Settings
from shared.resources import DataResources
from shared.wxcc.batcher import CapturesBatcher
from shared.wxcc.budget import RateBudget
from shared.wxcc.client import WxccClient
from shared.wxcc.download import RecordingDownloader
from shared.wxcc.errors import RecordingRejected, WxccAuthError, WxccRetryable
from shared.wxcc.tokens import TokenProvider
from simulator.wxcc.config import SimulatorConfig
from simulator.wxcc.server import SimulatorHandle, running_simulator
from tests.integration.wxcc.conftest import wxcc_settings


@asynccontextmanager
async def client_for(settings: Settings, ddb: DynamoDBClient, *, owner: str | None = None) -> AsyncIterator[WxccClient]:
    table = DataResources(settings.name_prefix).coordination_table.name
    async with httpx.AsyncClient() as http:
        tokens = TokenProvider(ddb, table, http, settings, owner=owner)
        budget = RateBudget(ddb, table, settings.wxcc_client_id, per_minute=settings.wxcc_rate_per_minute)
        yield WxccClient(http, tokens, settings, budget=budget)


async def sim_stats(sim: SimulatorHandle) -> dict[str, object]:
    async with httpx.AsyncClient() as http:
        return dict((await http.get(sim.url("/api/v1/simulator/stats"))).json())


async def test_search_pages_over_more_than_a_thousand_calls_each_once(settings: Settings, ddb: DynamoDBClient) -> None:
    async with running_simulator(SimulatorConfig(calls=1100, seed=5, search_page_size=100)) as sim:
        s = wxcc_settings(settings, sim, wxcc_rate_per_minute=100_000)
        now = sim.state.clock.now_ms()
        start = now - 48 * 3600 * 1000
        expected = {c.task_id for c in sim.state.ended_between(start, now)}
        async with client_for(s, ddb) as client:
            found = [t.id async for t in client.ended_calls(start, now)]
        assert len(expected) > 1000
        assert len(found) == len(set(found)), "a call was returned twice"
        assert set(found) == expected
        assert (await sim_stats(sim))["requests"]["search"] == -(-len(expected) // 100)  # type: ignore[index]


async def test_tasks_fallback_pages_by_created_time_and_dedupes_shared_instants(
    settings: Settings, ddb: DynamoDBClient
) -> None:
    async with running_simulator(SimulatorConfig(calls=1200, seed=9, same_created_fraction=0.3)) as sim:
        s = wxcc_settings(settings, sim, wxcc_rate_per_minute=100_000)
        now = sim.state.clock.now_ms()
        start = now - 48 * 3600 * 1000
        expected = {c.task_id for c in sim.state.created_between(start, now)}
        async with client_for(s, ddb) as client:
            found = [t.id async for t in client.tasks(start, now, page_size=100)]
        assert len(found) == len(set(found)) == len(expected)
        assert set(found) == expected


@pytest.mark.slow  # ~35 s of storms: `make test-slow`
async def test_429_and_5xx_storms_are_ridden_out(settings: Settings, ddb: DynamoDBClient) -> None:
    faults = [
        {"kind": "rate_limit", "endpoints": ["search", "captures"], "probability": 0.3, "retryAfterS": 0},
        {"kind": "server_error", "endpoints": ["search", "captures"], "probability": 0.2, "status": 503},
    ]
    config = SimulatorConfig(calls=300, seed=3, search_page_size=20, availability_delay_s=0, faults=tuple(faults))  # type: ignore[arg-type]
    async with running_simulator(config) as sim:
        s = wxcc_settings(settings, sim, wxcc_max_attempts=10, wxcc_rate_per_minute=100_000)
        now = sim.state.clock.now_ms()
        start = now - 48 * 3600 * 1000
        async with client_for(s, ddb) as client:
            found = [t.id async for t in client.ended_calls(start, now)]
            captures = await client.captures(found[:30])
        stats = await sim_stats(sim)
    assert set(found) == {c.task_id for c in sim.state.ended_between(start, now)}
    assert len(captures) == 30
    injected: dict[str, int] = stats["faults"]  # type: ignore[assignment]
    assert injected.get("rate_limit", 0) > 0 and injected.get("server_error", 0) > 0


async def test_token_expiry_mid_run_refreshes_once_across_two_workers(
    settings: Settings, ddb: DynamoDBClient, sim: SimulatorHandle
) -> None:
    s = wxcc_settings(settings, sim, wxcc_auth_mode="refresh_token")
    now = sim.state.clock.now_ms()
    async with client_for(s, ddb, owner="worker-a") as a, client_for(s, ddb, owner="worker-b") as b:
        await a.captures(["warm-up"])
        assert sim.state.tokens.issued["refresh_token"] == 1
        async with httpx.AsyncClient() as http:
            await http.post(sim.url("/api/v1/simulator/tokens/expire"), json={})
        # Both workers hit 401 at once; one refreshes, the other reuses what the first stored.
        results = await asyncio.gather(*(c.captures([f"t{i}"]) for i, c in enumerate([a, b] * 4)))
        assert len(results) == 8
        assert sim.state.tokens.issued["refresh_token"] == 2
        # The rotated refresh token was stored: a later refresh (tokens expired again) still works.
        async with httpx.AsyncClient() as http:
            await http.post(sim.url("/api/v1/simulator/tokens/expire"), json={})
        _ = [t async for t in b.tasks(now - 60_000, now)]
        assert sim.state.tokens.issued["refresh_token"] == 3


async def test_a_refused_refresh_fails_clearly(settings: Settings, ddb: DynamoDBClient, sim: SimulatorHandle) -> None:
    s = wxcc_settings(settings, sim, wxcc_auth_mode="refresh_token")
    async with client_for(s, ddb) as client:
        await client.captures(["warm-up"])
        async with httpx.AsyncClient() as http:
            await http.post(sim.url("/api/v1/simulator/tokens/expire"), json={"refreshTokens": True})
        with pytest.raises(WxccAuthError, match="refused the credentials"):
            await client.captures(["t1"])


async def test_captures_for_25_ids_take_3_calls_and_empty_means_not_ready(
    settings: Settings, ddb: DynamoDBClient, sim: SimulatorHandle
) -> None:
    s = wxcc_settings(settings, sim, wxcc_auth_mode="service_app")
    recorded = [c.task_id for c in sim.state.calls.values() if c.recordings_available_from(0) is not None]
    ids = [*recorded[:20], *(f"unknown-{i}" for i in range(5))]
    async with client_for(s, ddb) as client:
        captures = await client.captures(ids)
    assert (await sim_stats(sim))["requests"]["captures"] == 3  # type: ignore[index]
    assert set(captures) == set(ids)
    assert all(not captures[f"unknown-{i}"].ready for i in range(5))
    ready = [captures[t] for t in recorded[:20] if captures[t].ready]
    assert ready, "no recorded call was ready"
    legs = Counter(r.attributes.call_type for c in ready for r in c.recording)
    assert legs["main"] == len(ready)


async def test_downloads_check_length_and_allow_list(
    settings: Settings, ddb: DynamoDBClient, sim: SimulatorHandle
) -> None:
    s = wxcc_settings(settings, sim)
    recorded = [c.task_id for c in sim.state.calls.values() if c.recordings_available_from(0) is not None]
    async with client_for(s, ddb) as client:
        capture = (await client.captures(recorded[:1]))[recorded[0]]
    url = capture.recording[0].attributes.file_path
    async with httpx.AsyncClient() as http:
        downloader = RecordingDownloader(http, ["127.0.0.1"], max_bytes=10**9, allow_http=True)
        async with downloader.open(url) as download:
            size = sum([len(c) async for c in download.chunks(65536)])
        assert size == download.content_length and len(download.sha256) == 64

        async with httpx.AsyncClient() as control:
            await control.post(sim.url("/api/v1/simulator/faults"), json={"rules": [{"kind": "truncate", "count": 1}]})
        with pytest.raises(WxccRetryable, match=r"truncated|interrupted"):
            async with downloader.open(url) as download:
                async for _ in download.chunks(65536):
                    pass

        elsewhere = RecordingDownloader(http, [".amazonaws.com"], max_bytes=10**9, allow_http=True)
        with pytest.raises(RecordingRejected, match="not allowed"):
            async with elsewhere.open(url):
                pass
        capped = RecordingDownloader(http, ["127.0.0.1"], max_bytes=1000, allow_http=True)
        with pytest.raises(RecordingRejected, match="cap"):
            async with capped.open(url):
                pass


async def test_the_request_budget_is_shared_and_waits_for_the_next_window(
    settings: Settings, ddb: DynamoDBClient
) -> None:
    table = DataResources(settings.name_prefix).coordination_table.name
    # 24/min in 5 s windows: 2 requests per window, shared by two "workers".
    a = RateBudget(ddb, table, "client-x", per_minute=24, window_s=5)
    b = RateBudget(ddb, table, "client-x", per_minute=24, window_s=5)
    granted: list[float] = []

    async def take(budget: RateBudget) -> None:
        await budget.acquire()
        granted.append(time.time())

    await asyncio.gather(*(take(x) for x in (a, b, a, b, a)))
    assert len(granted) == 5
    # Each window's grants as the table counted them (the time a caller resumes may fall in the next window on a
    # loaded machine; the window a grant was counted in is what the budget promises about).
    items = (await ddb.scan(TableName=table))["Items"]
    used = {i["pk"]["S"]: int(i["used"]["N"]) for i in items if i["pk"]["S"].startswith("WXCC#BUDGET#client-x#")}
    assert sum(used.values()) == 5 and max(used.values()) <= 2, f"more than the budget in one window: {used}"
    assert a.waited_s + b.waited_s > 0


async def test_redirects_are_followed_only_to_allowed_hosts() -> None:
    async def file(request: web.Request) -> web.Response:
        return web.Response(body=b"RIFF" + b"\0" * 2000, content_type="audio/wav")

    async def hop(request: web.Request) -> web.Response:
        raise web.HTTPFound(request.query["to"])

    app = web.Application()
    app.router.add_get("/file.wav", file)
    app.router.add_get("/hop", hop)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with httpx.AsyncClient() as http:
            downloader = RecordingDownloader(http, ["127.0.0.1"], max_bytes=10**6, allow_http=True)
            inside = f"http://127.0.0.1:{port}/hop?to=http://127.0.0.1:{port}/file.wav"
            async with downloader.open(inside) as download:
                assert sum([len(c) async for c in download.chunks()]) == 2004
            # localhost is the same machine, but not on the list: a redirect there is refused before it is followed.
            outside = f"http://127.0.0.1:{port}/hop?to=http://localhost:{port}/file.wav"
            with pytest.raises(RecordingRejected, match="not allowed"):
                async with downloader.open(outside):
                    pass
    finally:
        await runner.cleanup()


async def test_concurrent_captures_lookups_share_requests_of_up_to_ten_ids(
    settings: Settings, ddb: DynamoDBClient, sim: SimulatorHandle
) -> None:
    s = wxcc_settings(settings, sim)
    ids = [c.task_id for c in sim.state.calls.values()][:23]
    async with client_for(s, ddb) as client:
        batcher = CapturesBatcher(client, max_wait_s=0.2)
        captures = await asyncio.gather(*(batcher.get(task_id) for task_id in ids))
    assert [c.task_id for c in captures] == ids
    assert (await sim_stats(sim))["requests"]["captures"] == 3  # type: ignore[index]

"""Captures batches that fail per task, a batcher that fills its requests, and a budget that every worker pauses
after a 429 — against the simulator and the local DynamoDB."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest
from types_aiobotocore_dynamodb import DynamoDBClient

from shared.config import Settings
from shared.resources import DataResources
from shared.wxcc.batcher import CapturesBatcher
from shared.wxcc.budget import RateBudget
from shared.wxcc.errors import WxccMalformedResponse, WxccRetryable
from shared.wxcc.models import Capture
from simulator.wxcc.server import SimulatorHandle
from tests.integration.wxcc.conftest import wxcc_settings
from tests.integration.wxcc.test_client import client_for


async def add_faults(sim: SimulatorHandle, *rules: dict[str, Any]) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.post(sim.url("/api/v1/simulator/faults"), json={"rules": list(rules)})
        assert response.status_code == 200, response.text


def ready_recorded(sim: SimulatorHandle, n: int) -> list[str]:
    now = sim.state.clock.now_ms()
    ids = [
        c.task_id
        for c in sim.state.calls.values()
        if (available := c.recordings_available_from(0)) is not None and available <= now
    ]
    assert len(ids) >= n, "the simulated mix lacks ready recordings"
    return ids[:n]


# The answer lists tasks in request order: entry 3 is the fourth task asked for.
SPOIL_FOURTH = {
    "kind": "malformed",
    "endpoints": ["captures"],
    "mutation": "drop_field",
    "field": "data.3.recording.0.attributes.filePath",
}


async def test_one_malformed_entry_fails_only_its_own_task(
    settings: Settings, ddb: DynamoDBClient, sim: SimulatorHandle
) -> None:
    ids = ready_recorded(sim, 10)
    await add_faults(sim, {**SPOIL_FOURTH, "count": 1})
    s = wxcc_settings(settings, sim, wxcc_max_attempts=1)
    async with client_for(s, ddb) as client:
        outcomes = await client.query_captures(ids)
    victim = outcomes[ids[3]]
    assert isinstance(victim, WxccMalformedResponse)
    assert "data.3.recording.0.attributes.filePath: Field required" in str(victim)
    others = [outcomes[t] for t in ids if t != ids[3]]
    assert all(isinstance(o, Capture) and o.ready for o in others), others
    assert sim.state.stats.requests["captures"] == 1


async def test_a_malformed_entry_is_asked_for_again_alone_within_the_attempts(
    settings: Settings, ddb: DynamoDBClient, sim: SimulatorHandle
) -> None:
    ids = ready_recorded(sim, 10)
    await add_faults(sim, {**SPOIL_FOURTH, "count": 1})
    s = wxcc_settings(settings, sim, wxcc_max_attempts=3)
    async with client_for(s, ddb) as client:
        captures = await client.captures(ids)
    assert all(captures[t].ready for t in ids)
    assert sim.state.stats.requests["captures"] == 2
    assert sim.state.faults.injected["malformed"] == 1


async def test_the_batcher_hands_each_waiter_its_own_outcome(
    settings: Settings, ddb: DynamoDBClient, sim: SimulatorHandle
) -> None:
    ids = ready_recorded(sim, 10)
    await add_faults(sim, {**SPOIL_FOURTH, "count": 1})
    s = wxcc_settings(settings, sim, wxcc_max_attempts=1)
    async with client_for(s, ddb) as client:
        batcher = CapturesBatcher(client, max_wait_s=5)  # a full batch goes at once, whatever the wait
        results = await asyncio.gather(*(batcher.get(t) for t in ids), return_exceptions=True)
    assert isinstance(results[3], WxccMalformedResponse)
    assert all(isinstance(r, Capture) and r.ready for i, r in enumerate(results) if i != 3), results
    assert sim.state.stats.requests["captures"] == 1


async def test_a_partial_batch_waits_while_a_query_is_in_flight_and_gathers_the_ids_arriving_meanwhile(
    settings: Settings, ddb: DynamoDBClient, sim: SimulatorHandle
) -> None:
    """Lookups trickling in one at a time (as fetches do) share requests instead of each starting one."""
    ids = [c.task_id for c in sim.state.calls.values()][:30]
    await add_faults(sim, {"kind": "slow", "endpoints": ["captures"], "delayS": 0.3, "count": 100})
    s = wxcc_settings(settings, sim)
    async with client_for(s, ddb) as client:
        batcher = CapturesBatcher(client, max_wait_s=0.05)
        lookups = []
        for task_id in ids:
            lookups.append(asyncio.create_task(batcher.get(task_id)))
            await asyncio.sleep(0.02)  # spread arrivals: 30 lookups over 0.6 s
        results = await asyncio.gather(*lookups)
    assert [r.task_id for r in results] == ids
    requests = sim.state.stats.requests["captures"]
    # Without the in-flight rule every 0.05 s window would send its own request (~12 of them).
    assert requests <= 5, f"{requests} requests for 30 lookups"
    assert batcher.requests == requests and batcher.lookups == 30


async def test_the_batching_window_comes_from_the_settings(
    settings: Settings, ddb: DynamoDBClient, sim: SimulatorHandle
) -> None:
    s = wxcc_settings(settings, sim, wxcc_captures_batch_wait_s=0.3)
    ids = [c.task_id for c in sim.state.calls.values()][:4]
    async with client_for(s, ddb) as client:
        batcher = CapturesBatcher(client)
        first = asyncio.create_task(batcher.get(ids[0]))
        await asyncio.sleep(0.15)  # well inside the 0.3 s window: the others join the first one's request
        rest = [asyncio.create_task(batcher.get(t)) for t in ids[1:]]
        await asyncio.gather(first, *rest)
    assert sim.state.stats.requests["captures"] == 1


async def test_a_429_pauses_the_budget_of_every_worker_for_its_retry_after(
    settings: Settings, ddb: DynamoDBClient, sim: SimulatorHandle
) -> None:
    s = wxcc_settings(settings, sim, wxcc_max_attempts=1)
    table = DataResources(s.name_prefix).coordination_table.name
    await add_faults(sim, {"kind": "rate_limit", "endpoints": ["captures"], "retryAfterS": 2, "count": 1})
    async with client_for(s, ddb) as a:
        started = time.time()
        with pytest.raises(WxccRetryable, match="429"):
            await a.captures(["t1"])
    # Another worker of the same client: its next unit of budget waits out the pause.
    other_worker = RateBudget(ddb, table, s.wxcc_client_id, per_minute=s.wxcc_rate_per_minute)
    await other_worker.acquire()
    assert time.time() >= started + 2, "a worker sent a request during the Retry-After of another's 429"
    assert other_worker.waited_s > 0
    # Another client's budget is not paused.
    unrelated = RateBudget(ddb, table, "another-client", per_minute=s.wxcc_rate_per_minute)
    await unrelated.acquire()
    assert unrelated.waited_s == 0


async def test_a_pause_never_shortens_a_longer_one(settings: Settings, ddb: DynamoDBClient) -> None:
    table = DataResources(settings.name_prefix).coordination_table.name
    a = RateBudget(ddb, table, "client-p", per_minute=600, window_s=1)
    b = RateBudget(ddb, table, "client-p", per_minute=600, window_s=1)
    long_until = await a.pause(2.5)
    await b.pause(0.5)
    await b.acquire()
    assert time.time() >= long_until

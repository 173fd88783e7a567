"""Per-key creation limits (429 + Retry-After), idempotency keys that expire, and the TTL that deletes them."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from api.app import create_app
from api.errors import ApiError
from api.ratelimit import WINDOW_S, CreationLimiter, key_identity
from queues.bootstrap import bootstrap
from shared.aws import AwsClients
from shared.config import Settings
from shared.resources import DataResources
from tests.helpers import eventually
from tests.integration.api.conftest import API_KEY, AUTH, OTHER_KEY, api_config

Client = TestClient[web.Request, web.Application]


def _window() -> dict[str, str]:
    now = datetime.now(UTC)
    return {"kind": "window", "from": (now - timedelta(hours=2)).isoformat(), "to": now.isoformat()}


@pytest.fixture
async def limited(booted: Settings) -> AsyncIterator[Client]:
    """An API whose keys may create 3 journeys a minute, and whose idempotency keys live 2 s."""
    config = api_config(journey_creates_per_minute=3, idempotency_ttl_s=2)
    async with TestClient(TestServer(create_app(booted, config))) as client:
        yield client


async def test_a_key_over_its_creation_limit_gets_429_with_retry_after(limited: Client) -> None:
    statuses: list[int] = []
    refused: Any = None
    for _ in range(7):  # 7 requests inside 60 s meet at most one window boundary: at most 6 pass
        resp = await limited.post("/api/v1/journeys", json=_window(), headers=AUTH)
        statuses.append(resp.status)
        if resp.status == 429:
            refused = resp
            body = await resp.json()
    assert refused is not None and statuses.count(202) <= 6, statuses
    assert set(statuses) == {202, 429}, statuses
    assert 1 <= int(refused.headers["Retry-After"]) <= WINDOW_S
    assert body["error"]["code"] == "rate_limited"
    assert body["error"]["details"]["limit"] == 3
    assert "CALLPIPE_API_JOURNEY_CREATES_PER_MINUTE" in body["error"]["message"]
    # The limit is per key: another key still creates.
    other = await limited.post("/api/v1/journeys", json=_window(), headers={"X-API-Key": OTHER_KEY})
    assert other.status == 202, await other.text()
    # An invalid request is refused for what it is, not counted.
    assert (await limited.post("/api/v1/journeys", json={"kind": "nope"}, headers=AUTH)).status == 422


async def test_the_limiter_counts_per_window_and_says_when_the_next_one_starts(booted: Settings) -> None:
    """The counter itself, against the table, with a clock the test moves (one window = one minute)."""
    now = [1_800_000_000.0 + 0.25]  # 0.25 s into a window
    async with AwsClients(booted).dynamodb() as ddb:
        table = DataResources(booted.name_prefix).journeys_table.name
        limiter = CreationLimiter(ddb, table, per_minute=2, clock=lambda: now[0])
        me = key_identity(API_KEY)
        await limiter.take(me)
        await limiter.take(me)
        with pytest.raises(ApiError) as refused:
            await limiter.take(me)
        assert refused.value.status == 429 and refused.value.headers == {"Retry-After": "60"}
        await limiter.take(key_identity(OTHER_KEY))  # another key's own counter
        now[0] += 59.5
        with pytest.raises(ApiError) as later:
            await limiter.take(me)
        assert later.value.headers == {"Retry-After": "1"}
        now[0] += 1  # the next window
        await limiter.take(me)
        unlimited = CreationLimiter(ddb, table, per_minute=0, clock=lambda: now[0])
        for _ in range(5):
            await unlimited.take("unlimited")  # 0: no limit, and no write
        nothing = await ddb.get_item(
            TableName=table, Key={"pk": {"S": f"RATE#journeys#unlimited#{int(now[0] // 60)}"}, "sk": {"S": "RATE"}}
        )
        assert "Item" not in nothing
        item = await ddb.get_item(
            TableName=table, Key={"pk": {"S": f"RATE#journeys#{me}#{int(now[0] // 60)}"}, "sk": {"S": "RATE"}}
        )
    assert item["Item"]["used"] == {"N": "1"} and int(item["Item"]["ttl"]["N"]) > now[0]
    assert me != API_KEY and len(me) == 16  # the key itself is never stored


async def test_a_retried_post_returns_the_same_journey_until_the_key_expires(limited: Client, booted: Settings) -> None:
    body = _window()
    headers = {**AUTH, "Idempotency-Key": "retry-me-1"}
    first = await limited.post("/api/v1/journeys", json=body, headers=headers)
    assert first.status == 202, await first.text()
    journey_id = (await first.json())["id"]
    # Spend the rest of this key's minute: the retry is still answered (no work, so no 429).
    while (await limited.post("/api/v1/journeys", json=_window(), headers=AUTH)).status != 429:
        pass
    again = await limited.post("/api/v1/journeys", json=body, headers=headers)
    assert again.status == 202 and again.headers["Idempotent-Replayed"] == "true"
    assert (await again.json())["id"] == journey_id

    async with AwsClients(booted).dynamodb() as ddb:
        item = await ddb.get_item(
            TableName=DataResources(booted.name_prefix).journeys_table.name,
            Key={"pk": {"S": "IDEMPOTENCY#retry-me-1"}, "sk": {"S": "IDEMPOTENCY"}},
        )
    assert int(item["Item"]["ttl"]["N"]) <= time.time() + 2  # DynamoDB's TTL deletes it after its lifetime

    other_key = {"X-API-Key": OTHER_KEY, "Idempotency-Key": "retry-me-1"}  # keys are global, not per API key

    async def a_new_journey() -> bool:
        resp = await limited.post("/api/v1/journeys", json={**body, "retry_failed": True}, headers=other_key)
        if resp.status == 409:  # still bound to the first body
            return False
        assert resp.status == 202, await resp.text()
        assert "Idempotent-Replayed" not in resp.headers
        return bool((await resp.json())["id"] != journey_id)

    await eventually(a_new_journey, timeout=15, interval=0.25)  # expired: the key is bound afresh


async def test_idempotency_keys_live_24_hours_by_default(api: Client, booted: Settings) -> None:
    resp = await api.post("/api/v1/journeys", json=_window(), headers={**AUTH, "Idempotency-Key": "default-ttl"})
    assert resp.status == 202
    async with AwsClients(booted).dynamodb() as ddb:
        item = await ddb.get_item(
            TableName=DataResources(booted.name_prefix).journeys_table.name,
            Key={"pk": {"S": "IDEMPOTENCY#default-ttl"}, "sk": {"S": "IDEMPOTENCY"}},
        )
    assert abs(int(item["Item"]["ttl"]["N"]) - (time.time() + 24 * 3600)) < 60


async def test_bootstrap_turns_ttl_on_for_a_table_made_without_it(booted: Settings) -> None:
    """A deployment whose table predates its TTL gets it from the next bootstrap; `--verify` reports it missing."""
    table = DataResources(booted.name_prefix).coordination_table.name
    async with AwsClients(booted).dynamodb() as ddb:
        await ddb.update_time_to_live(
            TableName=table, TimeToLiveSpecification={"Enabled": False, "AttributeName": "ttl"}
        )
        checked = await bootstrap(booted, verify=True, include_echo=False)
        assert f"table {table} has no TTL on `ttl`" in checked.problems
        fixed = await bootstrap(booted, include_echo=False)
        assert f"table {table}: TTL on `ttl`" in fixed.updated
        ttl = (await ddb.describe_time_to_live(TableName=table))["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl.get("AttributeName")) == ("ENABLED", "ttl")
    assert not (await bootstrap(booted, verify=True, include_echo=False)).problems


async def test_the_journeys_table_expires_idempotency_keys_by_ttl(booted: Settings) -> None:
    """Idempotency keys, creation windows and replay jobs live in the journeys table: bootstrap turns its TTL on."""
    table = DataResources(booted.name_prefix).journeys_table.name
    async with AwsClients(booted).dynamodb() as ddb:
        ttl = (await ddb.describe_time_to_live(TableName=table))["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl.get("AttributeName")) == ("ENABLED", "ttl")

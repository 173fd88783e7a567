"""Call lookup, liveness and readiness over HTTP."""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from api.app import create_app
from shared.aws import AwsClients
from shared.config import Settings
from shared.dynamo import transact
from shared.resources import DataResources
from shared.tracking import CallStatus, TrackingTable
from tests.integration.api.conftest import AUTH, ORG, api_config

Client = TestClient[web.Request, web.Application]


async def put_call(settings: Settings, org: str, task: str, *, status: CallStatus = CallStatus.CLAIMED) -> None:
    async with AwsClients(settings).dynamodb() as ddb:
        tracking = TrackingTable(ddb, DataResources(settings.name_prefix).tracking_table.name)
        put = tracking.claim_put(
            org, task, "j-abc", pipeline_version=1, retry_failed=False, lease_s=60, facts={"ended_ms": 5}, status=status
        )
        assert await transact(ddb, [{"Put": put}])


async def test_a_call_is_found_in_the_default_org_or_a_given_one(api: Client, booted: Settings) -> None:
    await put_call(booted, ORG, "task-1")
    resp = await api.get("/api/v1/calls/task-1", headers=AUTH)
    assert resp.status == 200, await resp.text()
    call = await resp.json()
    assert call["task_id"] == "task-1" and call["org_id"] == ORG and call["status"] == "CLAIMED"
    assert call["journey_id"] == "j-abc" and call["facts"] == {"ended_ms": 5}
    assert call["recordings"] == [] and call["transcript"] is None and call["analysis"] is None

    await put_call(booted, "org-2", "task-2")
    assert (await api.get("/api/v1/calls/task-2", headers=AUTH)).status == 404
    other = await api.get("/api/v1/calls/task-2?org_id=org-2", headers=AUTH)
    assert (await other.json())["org_id"] == "org-2"


async def test_an_unknown_call_is_404(api: Client) -> None:
    resp = await api.get("/api/v1/calls/never-seen", headers=AUTH)
    assert resp.status == 404
    assert (await resp.json())["error"]["code"] == "call_not_found"
    extra = await api.get("/api/v1/calls/never-seen?colour=red", headers=AUTH)
    assert extra.status == 422


async def test_ready_when_everything_exists(api: Client) -> None:
    resp = await api.get("/ready")
    assert resp.status == 200
    body = await resp.json()
    assert body["status"] == "ready"
    kinds = {c["kind"] for c in body["checks"]}
    assert kinds == {"queue", "table", "bucket"} and all(c["ok"] for c in body["checks"])
    data = DataResources("any")
    assert len(body["checks"]) == 4 * 2 + len(data.tables()) + len(data.buckets())


async def test_not_ready_when_nothing_was_bootstrapped(settings: Settings) -> None:
    never = settings.model_copy(update={"name_prefix": f"t-{uuid.uuid4().hex[:10]}"})
    async with TestClient(TestServer(create_app(never, api_config()))) as client:
        assert (await client.get("/health")).status == 200
        resp = await client.get("/ready")
        assert resp.status == 503
        error: dict[str, Any] = (await resp.json())["error"]
        assert error["code"] == "not_ready"
        failed = {(d["kind"], d["name"]) for d in error["details"]}
        assert ("table", f"{never.name_prefix}-journeys") in failed
        assert ("queue", f"{never.name_prefix}-poll") in failed
        assert ("bucket", f"{never.name_prefix}-results") in failed


async def test_not_ready_when_one_table_is_missing(api: Client, booted: Settings) -> None:
    table = DataResources(booted.name_prefix).license_table.name
    async with AwsClients(booted).dynamodb() as ddb:
        await ddb.delete_table(TableName=table)
    resp = await api.get("/ready")
    assert resp.status == 503
    assert [d["name"] for d in (await resp.json())["error"]["details"]] == [table]

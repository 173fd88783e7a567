"""`POST /api/v1/privacy/erasures` and `GET …/{id}` over real HTTP: 202 with the running job and its Location, its
progress then its result; 422 with a JSON error for a bad body (nothing erased); 403 for a key without the admin
scope; 404 for an unknown erasure."""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from api.app import create_app
from cli import privacy as privacy_cli
from queues.bootstrap import bootstrap
from shared.aws import AwsClients
from shared.config import Settings
from shared.resources import DataResources
from shared.storage import recording_key, transcript_key
from shared.tracking import CallStatus, TrackingTable
from tests.security.test_scopes import KEYS, scoped_config

Client = TestClient[web.Request, web.Application]
ORG = "org-erasures"
URL = "/api/v1/privacy/erasures"
ADMIN = {"X-API-Key": KEYS["admin"]}
CALLS = 25  # more than one progress step (shared.privacy.jobs.PROGRESS_EVERY)


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[Client]:
    await bootstrap(settings, include_echo=False)
    booted = settings.model_copy(update={"wxcc_org_id": ORG})
    async with TestClient(TestServer(create_app(booted, scoped_config()))) as client:
        yield client


async def _seed(settings: Settings, task_ids: list[str]) -> dict[str, list[str]]:
    """A claimed tracking row, a recording and a transcript per call; the objects' keys per bucket."""
    res = DataResources(settings.name_prefix)
    now_ms = int(time.time() * 1000)
    keys: dict[str, list[str]] = {res.recordings_bucket.name: [], res.results_bucket.name: []}
    async with AwsClients(settings).dynamodb() as ddb, AwsClients(settings).s3() as s3:
        tracking = TrackingTable(ddb, res.tracking_table.name)
        for task in task_ids:
            facts = {"ended_ms": now_ms}
            await ddb.put_item(
                **tracking.claim_put(ORG, task, "j-1", pipeline_version=1, retry_failed=False, lease_s=1, facts=facts)
            )
            for bucket, key in (
                (res.recordings_bucket.name, recording_key(ORG, now_ms, task, "r1")),
                (res.results_bucket.name, transcript_key(ORG, now_ms, task)),
            ):
                await s3.put_object(Bucket=bucket, Key=key, Body=f"call {task}".encode())
                keys[bucket].append(key)
    return keys


async def _left(settings: Settings, keys: dict[str, list[str]]) -> list[str]:
    async with AwsClients(settings).s3() as s3:
        left: list[str] = []
        for bucket, wanted in keys.items():
            page = await s3.list_objects_v2(Bucket=bucket)
            left += [o["Key"] for o in page.get("Contents", []) if o["Key"] in wanted]
        return left


async def test_an_erasure_is_accepted_shows_its_progress_then_its_result(api: Client, settings: Settings) -> None:
    tasks = [f"task-{i:02d}" for i in range(CALLS)]
    keys = await _seed(settings, tasks)

    resp = await api.post(URL, json={"task_ids": tasks}, headers=ADMIN)
    assert resp.status == 202, await resp.text()
    job = await resp.json()
    assert job["state"] == "RUNNING" and job["mode"] == "task_ids" and job["finished_at"] is None
    assert resp.headers["Location"] == f"{URL}/{job['id']}"

    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        got = await api.get(resp.headers["Location"], headers=ADMIN)
        assert got.status == 200
        seen.append(await got.json())
        if seen[-1]["state"] != "RUNNING":
            break
        await asyncio.sleep(0.02)
    result = seen[-1]
    assert result["state"] == "SUCCEEDED", result
    assert result["calls_found"] == result["calls_erased"] == CALLS
    assert result["counts"]["calls"] == CALLS and result["counts"]["recordings"] == CALLS
    assert result["counts"]["transcripts"] == CALLS and result["audit_event_id"]
    running = [s for s in seen if s["state"] == "RUNNING"]
    erased = [s["calls_erased"] for s in running]
    assert erased == sorted(erased) and all(n < CALLS for n in erased)  # progress only ever moves forward
    assert await _left(settings, keys) == []

    async with AwsClients(settings).dynamodb() as ddb:
        tracking = TrackingTable(ddb, DataResources(settings.name_prefix).tracking_table.name)
        row = await tracking.get(ORG, tasks[0])
    assert row is not None and row.status is CallStatus.ERASED


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"task_ids": ["t-1"], "customer_number": "+447700900123"},
        {"task_ids": []},
        {"customer_number": "call me"},
        {"from": "2026-01-02T00:00:00+00:00", "to": "2026-01-01T00:00:00+00:00"},
        {"from": "2026-01-01T00:00:00", "to": "2026-01-02T00:00:00"},
        {"task_ids": ["t-1"], "unknown": 1},
        ["t-1"],
    ],
)
async def test_a_bad_body_is_422_with_a_json_error_and_erases_nothing(
    api: Client, settings: Settings, body: object
) -> None:
    keys = await _seed(settings, ["t-1"])
    resp = await api.post(URL, json=body, headers=ADMIN)
    assert resp.status == 422, await resp.text()
    assert resp.content_type == "application/json"
    error = (await resp.json())["error"]
    assert error["code"] and error["message"]
    assert await _left(settings, keys) == [k for ks in keys.values() for k in ks]


async def test_a_malformed_json_body_is_rejected(api: Client) -> None:
    resp = await api.post(URL, data=b"{not json", headers={**ADMIN, "Content-Type": "application/json"})
    assert 400 <= resp.status < 500 and (await resp.json())["error"]["code"]


async def test_keys_without_the_admin_scope_are_403_and_erase_nothing(api: Client, settings: Settings) -> None:
    keys = await _seed(settings, ["t-1"])
    for scope in ("read", "operate"):
        headers = {"X-API-Key": KEYS[scope]}
        posted = await api.post(URL, json={"task_ids": ["t-1"]}, headers=headers)
        assert posted.status == 403 and (await posted.json())["error"]["code"] == "insufficient_scope"
        got = await api.get(f"{URL}/0123456789abcdef", headers=headers)
        assert got.status == 403
    assert (await api.post(URL, json={"task_ids": ["t-1"]})).status == 401
    assert await _left(settings, keys) == [k for ks in keys.values() for k in ks]


async def test_an_unknown_erasure_is_404(api: Client) -> None:
    resp = await api.get(f"{URL}/0123456789abcdef0123456789abcdef", headers=ADMIN)
    assert resp.status == 404
    assert (await resp.json())["error"]["code"] == "erasure_not_found"


async def test_task_ids_without_an_org_are_422_when_the_server_has_no_default_org(settings: Settings) -> None:
    await bootstrap(settings, include_echo=False)
    keys = await _seed(settings, ["t-1"])
    orgless = settings.model_copy(update={"wxcc_org_id": ""})
    async with TestClient(TestServer(create_app(orgless, scoped_config()))) as client:
        resp = await client.post(URL, json={"task_ids": ["t-1"]}, headers=ADMIN)
        assert resp.status == 422, await resp.text()
        error = (await resp.json())["error"]
        assert error["code"] == "validation_failed" and "org_id" in error["message"]
        assert await _left(settings, keys) == [k for ks in keys.values() for k in ks]

        named = await client.post(URL, json={"task_ids": ["t-1"], "org_id": ORG}, headers=ADMIN)
        assert named.status == 202, await named.text()
        deadline = time.monotonic() + 30
        while (job := await (await client.get(named.headers["Location"], headers=ADMIN)).json())["state"] == "RUNNING":
            assert time.monotonic() < deadline, job
            await asyncio.sleep(0.02)
        assert job["state"] == "SUCCEEDED" and job["counts"]["calls"] == 1
        assert await _left(settings, keys) == []


async def test_the_cli_refuses_task_ids_without_an_org_when_none_is_configured(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    parser = argparse.ArgumentParser()
    privacy_cli.configure(parser)
    args = parser.parse_args(["erase", "--task-id", "t-1"])
    assert await privacy_cli.run(args, settings.model_copy(update={"wxcc_org_id": ""})) == privacy_cli.BAD_ARGUMENTS
    err = capsys.readouterr().err
    assert "--org" in err and err.count("\n") == 1

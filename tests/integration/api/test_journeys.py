"""Journeys over HTTP: create (window, tasks), read, list with paging, cancel, idempotency keys."""

from __future__ import annotations

import json
import uuid

from aiohttp import web
from aiohttp.test_utils import TestClient

from queues.envelope import Envelope, Kind
from queues.topology import stage_queue
from shared.aws import AwsClients
from shared.config import Settings
from shared.journeys import JourneyStore
from shared.resources import DataResources
from tests.helpers import receive_all
from tests.integration.api.conftest import AUTH, ORG

Client = TestClient[web.Request, web.Application]
WINDOW = {"kind": "window", "from": "2026-01-01T00:00:00Z", "to": "2026-01-01T06:00:00+00:00"}


async def poll_messages(settings: Settings, expected: int) -> list[Envelope]:
    async with AwsClients(settings).sqs() as sqs:
        url = (await sqs.get_queue_url(QueueName=stage_queue(settings.name_prefix, Kind.POLL).name))["QueueUrl"]
        raw = await receive_all(sqs, url, expected=expected)
    return [Envelope.from_body(str(m["Body"])) for m in raw]


async def test_a_window_journey_enqueues_its_poll_and_reads_running(api: Client, booted: Settings) -> None:
    resp = await api.post("/api/v1/journeys", json=WINDOW, headers=AUTH)
    assert resp.status == 202, await resp.text()
    journey = await resp.json()
    assert resp.headers["Location"] == f"/api/v1/journeys/{journey['id']}"
    assert journey["kind"] == "window" and journey["state"] == "RUNNING" and journey["org_id"] == ORG
    assert journey["params"] == {"org_id": ORG, "from_ms": 1767225600000, "to_ms": 1767247200000}

    (message,) = await poll_messages(booted, 1)
    assert message.kind is Kind.POLL and message.journey_id == journey["id"]

    status = await (await api.get(resp.headers["Location"], headers=AUTH)).json()
    assert status["journey"]["state"] == "RUNNING"
    assert status["pending_poll_windows"] == 1 and status["discovered"] == 0 and status["failures"] == []
    assert set(status["stages"]) == {"poll", "fetch", "transcribe", "analyze"}
    assert {d["stage"]: d["messages"] for d in status["dlq_depth"]} == {
        "poll": 0,
        "fetch": 0,
        "transcribe": 0,
        "analyze": 0,
    }


async def test_a_tasks_journey_enqueues_its_task_ids(api: Client, booted: Settings) -> None:
    body = {"kind": "tasks", "task_ids": ["t-1", "t-2", "t-1"], "org_id": "org-x"}
    resp = await api.post("/api/v1/journeys", json=body, headers={"X-API-Key": "second-key-abcdef"})
    assert resp.status == 202, await resp.text()
    journey = await resp.json()
    (message,) = await poll_messages(booted, 1)
    assert message.payload == {"org_id": "org-x", "task_ids": ["t-1", "t-2"]}
    assert message.journey_id == journey["id"]


async def test_the_same_idempotency_key_returns_the_same_journey(api: Client, booted: Settings) -> None:
    key = {**AUTH, "Idempotency-Key": f"k-{uuid.uuid4().hex}"}
    first = await api.post("/api/v1/journeys", json=WINDOW, headers=key)
    # same body, other key order and whitespace
    again = await api.post("/api/v1/journeys", data=json.dumps(dict(reversed(WINDOW.items())), indent=2), headers=key)
    assert first.status == again.status == 202
    assert (await first.json())["id"] == (await again.json())["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(await poll_messages(booted, 1)) == 1
    listed = await (await api.get("/api/v1/journeys", headers=AUTH)).json()
    assert len(listed["items"]) == 1

    other = await api.post("/api/v1/journeys", json={**WINDOW, "org_id": "org-y"}, headers=key)
    assert other.status == 409
    error = (await other.json())["error"]
    assert error["code"] == "idempotency_key_reused"
    assert error["details"]["journey_id"] == (await first.json())["id"]


async def test_list_filters_by_state_and_pages_with_a_cursor(api: Client) -> None:
    ids = []
    for _ in range(5):
        resp = await api.post("/api/v1/journeys", json=WINDOW, headers=AUTH)
        ids.append((await resp.json())["id"])
    assert (await api.post(f"/api/v1/journeys/{ids[0]}/cancel", headers=AUTH)).status == 200

    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        query = {"state": "RUNNING", "limit": "2", **({"cursor": cursor} if cursor else {})}
        page = await (await api.get("/api/v1/journeys", params=query, headers=AUTH)).json()
        assert all(j["state"] == "RUNNING" for j in page["items"])
        seen += [j["id"] for j in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(ids[1:]) and pages >= 2

    cancelled = await (await api.get("/api/v1/journeys?state=CANCELLED", headers=AUTH)).json()
    assert [j["id"] for j in cancelled["items"]] == [ids[0]]

    everything: list[str] = []
    cursor = None
    while True:
        query = {"limit": "3", **({"cursor": cursor} if cursor else {})}
        page = await (await api.get("/api/v1/journeys", params=query, headers=AUTH)).json()
        everything += [j["id"] for j in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(everything) == sorted(ids)

    bad = await api.get("/api/v1/journeys?state=SLEEPING", headers=AUTH)
    assert bad.status == 422 and (await bad.json())["error"]["code"] == "validation_failed"
    bad_cursor = await api.get("/api/v1/journeys?cursor=nonsense", headers=AUTH)
    assert bad_cursor.status == 422 and (await bad_cursor.json())["error"]["code"] == "invalid_cursor"


async def test_cancel_stops_a_running_journey_once(api: Client) -> None:
    journey = await (await api.post("/api/v1/journeys", json=WINDOW, headers=AUTH)).json()
    first = await api.post(f"/api/v1/journeys/{journey['id']}/cancel", headers=AUTH)
    assert first.status == 200 and (await first.json())["state"] == "CANCELLED"
    second = await api.post(f"/api/v1/journeys/{journey['id']}/cancel", headers=AUTH)
    assert second.status == 409
    assert (await second.json())["error"] == {
        "code": "journey_not_running",
        "message": f"journey {journey['id']} is CANCELLED",
        "details": {"state": "CANCELLED"},
    }
    status = await (await api.get(f"/api/v1/journeys/{journey['id']}", headers=AUTH)).json()
    assert status["journey"]["state"] == "CANCELLED"
    missing = await api.post("/api/v1/journeys/j-nope/cancel", headers=AUTH)
    assert missing.status == 404 and (await missing.json())["error"]["code"] == "journey_not_found"


async def test_an_orgs_live_journey_cannot_be_cancelled(api: Client, booted: Settings) -> None:
    """Webhook deliveries claim calls under it for good: cancelled, their fetches would be skipped."""
    async with AwsClients(booted).dynamodb() as ddb:
        live = await JourneyStore(ddb, DataResources(booted.name_prefix).journeys_table.name).ensure_live(ORG)
    refused = await api.post(f"/api/v1/journeys/{live.id}/cancel", headers=AUTH)
    assert refused.status == 409 and (await refused.json())["error"]["code"] == "journey_is_live"
    status = await (await api.get(f"/api/v1/journeys/{live.id}", headers=AUTH)).json()
    assert status["journey"]["state"] == "RUNNING"

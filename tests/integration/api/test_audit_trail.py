"""Every mutating call of a journey's life over HTTP (create, cancel, DLQ replay, and a refused create) leaves
exactly one audit event with the right key id, outcome and targets; reads leave none; `GET /api/v1/audit` reads them."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from api.app import create_app
from queues.bootstrap import bootstrap
from shared.config import Settings
from tests.security.test_scopes import KEYS, scoped_config

Client = TestClient[web.Request, web.Application]
WINDOW = {"kind": "window", "from": "2026-01-01T00:00:00Z", "to": "2026-01-01T06:00:00Z"}


def key(scope: str) -> dict[str, str]:
    return {"X-API-Key": KEYS[scope]}


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[Client]:
    await bootstrap(settings, include_echo=False)
    booted = settings.model_copy(update={"wxcc_org_id": "org-audit"})
    async with TestClient(TestServer(create_app(booted, scoped_config()))) as client:
        yield client


async def audit(api: Client, **query: str) -> list[dict[str, Any]]:
    resp = await api.get("/api/v1/audit", params=query, headers=key("admin"))
    assert resp.status == 200, await resp.text()
    return list((await resp.json())["events"])


async def test_each_mutating_call_leaves_exactly_one_event_with_its_key_id(api: Client) -> None:
    started = datetime.now(UTC) - timedelta(seconds=1)
    calls: dict[str, tuple[str, str, int]] = {}  # request id → (actor, action, status)

    create = await api.post("/api/v1/journeys", json=WINDOW, headers=key("operate"))
    assert create.status == 202
    journey_id = (await create.json())["id"]
    calls[create.headers["X-Request-Id"]] = ("key:operate", "createJourney", 202)

    cancel = await api.post(f"/api/v1/journeys/{journey_id}/cancel", headers=key("operate"))
    assert cancel.status == 200
    calls[cancel.headers["X-Request-Id"]] = ("key:operate", "cancelJourney", 200)

    replay = await api.post("/api/v1/dlq/fetch/replay", json={"dry_run": True}, headers=key("admin"))
    assert replay.status == 202
    calls[replay.headers["X-Request-Id"]] = ("key:admin", "replayDlq", 202)

    refused = await api.post("/api/v1/journeys", json=WINDOW, headers={**key("read"), "X-Request-Id": "my-req-1"})
    assert refused.status == 403 and refused.headers["X-Request-Id"] == "my-req-1"
    calls["my-req-1"] = ("key:read", "createJourney", 403)

    # Neither reads nor unauthenticated requests are audited.
    assert (await api.get(f"/api/v1/journeys/{journey_id}", headers=key("read"))).status == 200
    assert (await api.post("/api/v1/journeys", json=WINDOW)).status == 401
    assert (await api.post("/api/v1/journeys", json=WINDOW, headers={"X-API-Key": "nope-nope-nope"})).status == 401

    events = await audit(
        api, **{"from": started.isoformat(), "to": (datetime.now(UTC) + timedelta(seconds=1)).isoformat()}
    )
    assert Counter(e["request_id"] for e in events) == Counter(dict.fromkeys(calls, 1))
    by_id = {e["request_id"]: e for e in events}
    for request_id, (actor, action, status) in calls.items():
        e = by_id[request_id]
        assert (e["actor"], e["action"], e["status"], e["front_door"]) == (actor, action, status, "http")
    assert by_id[create.headers["X-Request-Id"]]["targets"] == {"created": journey_id}
    assert by_id[create.headers["X-Request-Id"]]["actor_label"] == "operate key"
    assert by_id[cancel.headers["X-Request-Id"]]["targets"] == {"journey_id": journey_id}
    assert by_id[cancel.headers["X-Request-Id"]]["outcome"] == "ok"
    assert by_id[replay.headers["X-Request-Id"]]["targets"]["stage"] == "fetch"
    assert by_id["my-req-1"]["outcome"] == "denied"
    assert KEYS["operate"] not in str(events) and KEYS["read"] not in str(events)

    only_cancels = await audit(api, **{"from": started.isoformat(), "action": "cancelJourney"})
    assert [e["request_id"] for e in only_cancels] == [cancel.headers["X-Request-Id"]]


async def test_the_audit_trail_needs_admin_and_a_sane_range(api: Client) -> None:
    assert (await api.get("/api/v1/audit", headers=key("operate"))).status == 403
    now = datetime.now(UTC)
    for query in (
        {"from": now.isoformat(), "to": (now - timedelta(hours=1)).isoformat()},
        {"from": (now - timedelta(days=40)).isoformat()},
        {"from": "2026-01-01T00:00:00"},  # no zone
        {"action": "has space"},
    ):
        resp = await api.get("/api/v1/audit", params=query, headers=key("admin"))
        assert resp.status == 422, query

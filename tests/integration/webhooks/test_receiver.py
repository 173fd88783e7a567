"""The webhook receiver over real HTTP: what it accepts (claim + fetch queued), what it refuses with no side effect,
and that it never acknowledges an event it could not queue."""

from __future__ import annotations

import socket
import time
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from api.app import create_app
from api.config import ApiConfig
from queues.bootstrap import bootstrap
from shared.aws import AwsClients
from shared.config import Settings
from shared.journeys import JourneyStore, live_journey_id
from shared.resources import DataResources
from shared.tracking import CallStatus, TrackingTable, tracking_key
from shared.webhooks.ledger import EventLedger
from tests.helpers import depth
from tests.integration.webhooks.deliveries import SECRET, delivery, event_id_of

ORG = "org-webhooks"
PATH = "/api/v1/webhooks/wxcc"
Client = TestClient[web.Request, web.Application]


@pytest.fixture
async def booted(settings: Settings) -> Settings:
    await bootstrap(settings, include_echo=False)
    return settings.model_copy(update={"wxcc_org_id": ORG, "webhook_secret": SecretStr(SECRET)})


def _app(settings: Settings) -> web.Application:
    return create_app(settings, ApiConfig(key_hashes=["0" * 64]))  # a key is required elsewhere; not here


@pytest.fixture
async def api(booted: Settings) -> AsyncIterator[Client]:
    async with TestClient(TestServer(_app(booted))) as client:
        yield client


class Effects:
    """What a delivery may have left behind: tracking rows, fetch messages, ledger marks, live-journey counters."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.resources = DataResources(settings.name_prefix)

    async def row(self, task_id: str) -> object:
        async with AwsClients(self.settings).dynamodb() as ddb:
            return await TrackingTable(ddb, self.resources.tracking_table.name).get(ORG, task_id)

    async def fetch_depth(self) -> int:
        async with AwsClients(self.settings).sqs() as sqs:
            url = (await sqs.get_queue_url(QueueName=f"{self.settings.name_prefix}-fetch"))["QueueUrl"]
            return await depth(sqs, url)

    async def mark(self, event_id: str) -> str | None:
        async with AwsClients(self.settings).dynamodb() as ddb:
            return await EventLedger(ddb, self.resources.coordination_table.name, ttl_s=60).outcome(event_id)

    async def live_queued(self) -> float:
        async with AwsClients(self.settings).dynamodb() as ddb:
            status = await JourneyStore(ddb, self.resources.journeys_table.name).status(live_journey_id(ORG))
        return 0 if status is None else status.count("poll", "queued")


async def test_a_capture_available_is_claimed_under_the_live_journey_and_its_fetch_queued_once(
    api: Client, booted: Settings
) -> None:
    effects = Effects(booted)
    body, headers = delivery("task-a", ORG)

    resp = await api.post(PATH, data=body, headers=headers)
    assert resp.status == 202, await resp.text()
    ack = await resp.json()
    assert ack == {"status": "accepted", "event_id": event_id_of(body), "task_id": "task-a", "claim": "CLAIMED"}
    row = await effects.row("task-a")
    assert row is not None and row.status is CallStatus.CLAIMED and row.journey_id == live_journey_id(ORG)  # type: ignore[attr-defined]
    assert row.facts["source"] == "webhook"  # type: ignore[attr-defined]
    assert await effects.fetch_depth() == 1
    assert await effects.mark(event_id_of(body)) == "DONE"
    assert await effects.live_queued() == 1

    again = await api.post(PATH, data=body, headers=headers)  # WXCC delivers the same event twice
    assert again.status == 200 and (await again.json())["status"] == "duplicate"
    other_event, other_headers = delivery("task-a", ORG)  # a second event about the same call
    second = await api.post(PATH, data=other_event, headers=other_headers)
    assert second.status == 202 and (await second.json())["claim"] == "RESEND"  # no fetch has begun: sent again
    assert await effects.live_queued() == 1  # the call counts once

    journey = await api.get(f"/api/v1/journeys/{live_journey_id(ORG)}", headers={"Authorization": "Bearer x"})
    assert journey.status in (401, 403)  # the journey routes still need a key: only the receiver is public


async def test_a_capture_available_for_an_erased_call_fetches_nothing_and_records_nothing(
    api: Client, booted: Settings
) -> None:
    resources = DataResources(booted.name_prefix)
    async with AwsClients(booted).dynamodb() as ddb:
        tombstone = {**tracking_key(ORG, "task-erased"), "org_id": {"S": ORG}, "status": {"S": CallStatus.ERASED.value}}
        await ddb.put_item(TableName=resources.tracking_table.name, Item=tombstone)
    body, headers = delivery("task-erased", ORG)
    resp = await api.post(PATH, data=body, headers=headers)
    assert resp.status == 202 and (await resp.json())["claim"] == "ERASED"
    effects = Effects(booted)
    assert await effects.fetch_depth() == 0
    async with AwsClients(booted).dynamodb() as ddb:
        jobs = await JourneyStore(ddb, resources.journeys_table.name).jobs(live_journey_id(ORG), limit=10)
    assert jobs == []  # no JOB# row would hold the erased call's task id again


async def test_bad_deliveries_are_refused_with_a_reason_and_leave_nothing_behind(api: Client, booted: Settings) -> None:
    effects = Effects(booted)
    now = int(time.time() * 1000)
    good_body, good_headers = delivery("task-x", ORG)
    cases: dict[str, tuple[int, str, tuple[bytes, dict[str, str]]]] = {
        "unsigned": (401, "signature_missing", delivery("t-unsigned", ORG, secret="")),
        "wrong secret": (401, "signature_mismatch", delivery("t-wrong", ORG, secret="another-secret-" + "x" * 32)),
        "tampered body": (
            401,
            "signature_mismatch",
            (good_body.replace(b"task-x", b"task-y"), good_headers),
        ),
        "replayed, 10 min old": (401, "stale_delivery", delivery("t-old", ORG, stamp_ms=now - 600_000)),
        "dated in the future": (401, "stale_delivery", delivery("t-future", ORG, stamp_ms=now + 600_000)),
        "header and body disagree": (
            401,
            "timestamp_mismatch",
            delivery("t-mismatch", ORG, stamp_ms=now - 600_000, header_stamp_ms=now),
        ),
        "V1 (no replay protection)": (401, "timestamp_missing", delivery("t-v1", ORG, v1=True)),
        "oversized": (
            413,
            "payload_too_large",
            delivery("t-big", ORG, data={"taskId": "t-big", "pad": "x" * (70 * 1024)}),
        ),
        "not JSON": (400, "malformed_event", delivery("t-junk", ORG, raw=b"{not json")),
        "no task id": (400, "malformed_event", delivery("t-none", ORG, data={"filePath": "https://x"})),
        "another org": (403, "org_not_served", delivery("t-org", "org-other")),
    }
    for name, (status, code, (body, headers)) in cases.items():
        resp = await api.post(PATH, data=body, headers=headers)
        payload = await resp.json()
        assert (resp.status, payload["error"]["code"]) == (status, code), (name, payload)
        assert payload["error"]["message"], name

    unknown_body, unknown_headers = delivery("t-agent", ORG, event_type="agent:login")
    ignored = await api.post(PATH, data=unknown_body, headers=unknown_headers)
    assert ignored.status == 200 and (await ignored.json())["status"] == "ignored"

    for task_id in ("task-x", "task-y", "t-unsigned", "t-wrong", "t-old", "t-future", "t-mismatch", "t-v1", "t-big"):
        assert await effects.row(task_id) is None, task_id
    for task_id in ("t-junk", "t-none", "t-org", "t-agent"):
        assert await effects.row(task_id) is None, task_id
    assert await effects.fetch_depth() == 0
    assert await effects.mark(event_id_of(good_body)) is None
    assert await effects.mark(event_id_of(unknown_body)) is None
    assert await effects.live_queued() == 0


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_with_the_queue_endpoint_down_the_delivery_gets_a_5xx_and_no_ack_then_its_retry_is_accepted(
    booted: Settings,
) -> None:
    effects = Effects(booted)
    dead = booted.model_copy(update={"aws_endpoint_url_sqs": f"http://127.0.0.1:{_dead_port()}"})
    body, headers = delivery("task-q", ORG)
    async with TestClient(TestServer(_app(dead))) as down:
        resp = await down.post(PATH, data=body, headers=headers)
        assert resp.status == 503, await resp.text()
        assert (await resp.json())["error"]["code"] == "queue_unavailable"
    assert await effects.row("task-q") is None  # the claim was rolled back
    assert await effects.mark(event_id_of(body)) is None  # the retry is not a "duplicate"
    assert await effects.live_queued() == 0
    assert await effects.fetch_depth() == 0

    async with TestClient(TestServer(_app(booted))) as up:  # WXCC retries once the queue is back
        retry = await up.post(PATH, data=body, headers=headers)
        assert retry.status == 202 and (await retry.json())["claim"] == "CLAIMED"
    assert await effects.fetch_depth() == 1
    assert await effects.live_queued() == 1

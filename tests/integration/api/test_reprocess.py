"""Reprocess journeys by task id: analysed calls of an older version go back to analysis, the rest are skipped."""

from __future__ import annotations

from aiohttp import web
from aiohttp.test_utils import TestClient

from queues.envelope import Envelope, Kind
from queues.topology import stage_queue
from shared.aws import AwsClients
from shared.config import Settings
from shared.resources import DataResources
from shared.tracking import CallStatus, TrackingTable
from tests.helpers import depth, receive_all
from tests.integration.api.conftest import AUTH, ORG
from tests.integration.api.test_calls_and_health import put_call

Client = TestClient[web.Request, web.Application]


async def test_reprocess_reopens_analysed_calls_and_enqueues_their_analysis(api: Client, booted: Settings) -> None:
    await put_call(booted, ORG, "done-1", status=CallStatus.ANALYZED)
    await put_call(booted, ORG, "busy-1", status=CallStatus.CLAIMED)
    body = {"kind": "reprocess", "pipeline_version": 2, "task_ids": ["done-1", "busy-1", "unknown-1"]}
    resp = await api.post("/api/v1/journeys", json=body, headers=AUTH)
    assert resp.status == 202, await resp.text()
    journey = await resp.json()
    assert journey["kind"] == "reprocess" and journey["pipeline_version"] == 2 and journey["state"] == "RUNNING"

    async with AwsClients(booted).sqs() as sqs:
        url = (await sqs.get_queue_url(QueueName=stage_queue(booted.name_prefix, Kind.ANALYZE).name))["QueueUrl"]
        (raw,) = await receive_all(sqs, url, expected=1)
        assert await depth(sqs, url) == 1
    message = Envelope.from_body(str(raw["Body"]))
    assert message.journey_id == journey["id"] and message.payload == {"org_id": ORG, "task_id": "done-1"}

    async with AwsClients(booted).dynamodb() as ddb:
        row = await TrackingTable(ddb, DataResources(booted.name_prefix).tracking_table.name).get(ORG, "done-1")
    assert row is not None and row.status is CallStatus.TRANSCRIBED and row.journey_id == journey["id"]

    status = await (await api.get(f"/api/v1/journeys/{journey['id']}", headers=AUTH)).json()
    assert status["pending_poll_windows"] == 0
    assert status["discovered"] == 3 and status["finished"] == 2
    assert status["stages"]["poll"]["queued"] == 1 and status["stages"]["poll"]["skipped"] == 2


async def test_reprocess_with_nothing_to_do_completes_at_once(api: Client) -> None:
    body = {"kind": "reprocess", "pipeline_version": 3, "task_ids": ["unknown-2"]}
    resp = await api.post("/api/v1/journeys", json=body, headers=AUTH)
    assert resp.status == 202
    assert (await resp.json())["state"] == "COMPLETED"

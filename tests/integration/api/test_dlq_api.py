"""`GET /api/v1/dlq` and `POST /api/v1/dlq/{stage}/replay` against a bootstrapped local endpoint."""

from __future__ import annotations

from aiohttp import web
from aiohttp.test_utils import TestClient

from queues.directory import QueueDirectory
from queues.envelope import Envelope, Kind
from shared.aws import AwsClients
from shared.config import Settings
from tests.helpers import depth
from tests.integration.api.conftest import AUTH

Client = TestClient[web.Request, web.Application]


async def _dead_letter(booted: Settings, kind: Kind, journey: str, task: str, error_type: str = "Permanent") -> None:
    env = Envelope(kind=kind, journey_id=journey, task_id=task, payload={"org_id": "org-x", "task_id": task})
    async with AwsClients(booted).sqs() as sqs:
        urls = await QueueDirectory(sqs, booted.name_prefix).urls(kind)
        await sqs.send_message(
            QueueUrl=urls.dlq_url,
            MessageBody=env.to_body(),
            MessageAttributes={
                **env.message_attributes(),  # type: ignore[dict-item]
                "error_type": {"DataType": "String", "StringValue": error_type},
                "error_message": {"DataType": "String", "StringValue": "broken"},
            },
        )


async def _depths(booted: Settings, kind: Kind) -> tuple[int, int]:
    async with AwsClients(booted).sqs() as sqs:
        urls = await QueueDirectory(sqs, booted.name_prefix).urls(kind)
        return await depth(sqs, urls.url), await depth(sqs, urls.dlq_url)


async def test_get_dlq_reports_the_depth_of_every_stage(api: Client, booted: Settings) -> None:
    await _dead_letter(booted, Kind.FETCH, "j-1", "t1")
    await _dead_letter(booted, Kind.FETCH, "j-1", "t2")
    await _dead_letter(booted, Kind.ANALYZE, "j-1", "t3")
    resp = await api.get("/api/v1/dlq", headers=AUTH)
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert {s["stage"]: s["messages"] for s in body["stages"]} == {"poll": 0, "fetch": 2, "transcribe": 0, "analyze": 1}


async def test_post_replay_moves_what_matches_and_returns_counts(api: Client, booted: Settings) -> None:
    await _dead_letter(booted, Kind.FETCH, "j-1", "t1")
    await _dead_letter(booted, Kind.FETCH, "j-1", "t2", error_type="PoisonMessage")
    await _dead_letter(booted, Kind.FETCH, "j-2", "t3")

    dry = await api.post("/api/v1/dlq/fetch/replay", json={"journey_id": "j-1", "dry_run": True}, headers=AUTH)
    assert dry.status == 200, await dry.text()
    assert (await dry.json())["would_move"] == 2
    assert await _depths(booted, Kind.FETCH) == (0, 3)

    resp = await api.post(
        "/api/v1/dlq/fetch/replay", json={"journey_id": "j-1", "error_type": "Permanent"}, headers=AUTH
    )
    assert resp.status == 200, await resp.text()
    counts = await resp.json()
    assert counts["stage"] == "fetch" and counts["dry_run"] is False
    assert (counts["moved"], counts["skipped_non_matching"], counts["refused_over_cap"]) == (1, 2, 0)
    assert counts["reopened"] == 0  # no tracking row for these calls: nothing to reopen
    assert await _depths(booted, Kind.FETCH) == (1, 2)

    everything = await api.post("/api/v1/dlq/fetch/replay", headers=AUTH)  # no body: no filters
    assert everything.status == 200, await everything.text()
    assert (await everything.json())["moved"] == 2
    assert await _depths(booted, Kind.FETCH) == (3, 0)


async def test_replay_of_a_stage_without_a_tracking_hook_falls_back_to_the_loop(api: Client, booted: Settings) -> None:
    await _dead_letter(booted, Kind.POLL, "j-1", "w1")
    resp = await api.post("/api/v1/dlq/poll/replay", json={}, headers=AUTH)
    assert resp.status == 200, await resp.text()
    counts = await resp.json()
    if counts["move_task"] is None:  # moto has no StartMessageMoveTask: the receive→send→delete loop ran
        assert counts["moved"] == 1
        assert await _depths(booted, Kind.POLL) == (1, 0)


async def test_unknown_stage_is_404_and_bad_filters_are_422(api: Client) -> None:
    resp = await api.post("/api/v1/dlq/nope/replay", json={}, headers=AUTH)
    assert resp.status == 404
    assert (await resp.json())["error"]["code"] == "stage_not_found"
    for bad in ({"max": 0}, {"rate_per_s": -1}, {"journey_id": ""}, {"unknown": 1}, {"dry_run": "maybe"}):
        resp = await api.post("/api/v1/dlq/fetch/replay", json=bad, headers=AUTH)
        assert resp.status == 422, (bad, await resp.text())
        assert (await resp.json())["error"]["code"] == "validation_failed"


async def test_dlq_routes_need_a_key(api: Client) -> None:
    assert (await api.get("/api/v1/dlq")).status == 401
    assert (await api.post("/api/v1/dlq/fetch/replay", json={})).status == 401

"""`GET /api/v1/dlq` and replay jobs (`POST /api/v1/dlq/{stage}/replay`, `GET /api/v1/dlq/replays/{id}`)."""

from __future__ import annotations

import asyncio
import socket
import sys
from pathlib import Path
from typing import Any

import httpx
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from api.app import create_app
from api.auth import hash_key
from queues.directory import QueueDirectory
from queues.envelope import Envelope, Kind
from shared.aws import AwsClients
from shared.config import Settings
from tests.helpers import depth, eventually, settings_env
from tests.integration.api.conftest import API_KEY, AUTH, ORG, api_config

Client = TestClient[web.Request, web.Application]
CALLPIPE = str(Path(sys.executable).with_name("callpipe"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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


async def test_get_dead_letters_lists_a_stages_messages_with_their_reasons_without_consuming_them(
    api: Client, booted: Settings
) -> None:
    await _dead_letter(booted, Kind.TRANSCRIBE, "j-1", "t1")
    await _dead_letter(booted, Kind.TRANSCRIBE, "j-2", "t2", error_type="PoisonMessage")
    resp = await api.get("/api/v1/dlq/transcribe/messages?limit=10", headers=AUTH)
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert body["stage"] == "transcribe"
    got = {(m["journey_id"], m["task_id"], m["error_type"], m["error_message"]) for m in body["messages"]}
    assert got == {("j-1", "t1", "Permanent", "broken"), ("j-2", "t2", "PoisonMessage", "broken")}
    assert await _depths(booted, Kind.TRANSCRIBE) == (0, 2), "peeked, not consumed"
    assert (await api.get("/api/v1/dlq/nope/messages", headers=AUTH)).status == 404
    assert (await api.get("/api/v1/dlq/fetch/messages?limit=0", headers=AUTH)).status == 422


async def _finished(api: Client, resp: Any) -> dict[str, Any]:
    """The job a 202 started, once it is no longer RUNNING."""
    assert resp.status == 202, await resp.text()
    location = resp.headers["Location"]
    job: dict[str, Any] = await resp.json()
    assert location == f"/api/v1/dlq/replays/{job['id']}"

    async def done() -> bool:
        nonlocal job
        got = await api.get(location, headers=AUTH)
        assert got.status == 200, await got.text()
        job = await got.json()
        return job["state"] != "RUNNING"

    await eventually(done, timeout=30)
    return job


async def test_post_replay_starts_a_job_that_moves_what_matches(api: Client, booted: Settings) -> None:
    await _dead_letter(booted, Kind.FETCH, "j-1", "t1")
    await _dead_letter(booted, Kind.FETCH, "j-1", "t2", error_type="PoisonMessage")
    await _dead_letter(booted, Kind.FETCH, "j-2", "t3")

    dry = await _finished(
        api, await api.post("/api/v1/dlq/fetch/replay", json={"journey_id": "j-1", "dry_run": True}, headers=AUTH)
    )
    assert (dry["state"], dry["dry_run"], dry["would_move"], dry["moved"]) == ("SUCCEEDED", True, 2, 0)
    assert await _depths(booted, Kind.FETCH) == (0, 3)

    job = await _finished(
        api,
        await api.post("/api/v1/dlq/fetch/replay", json={"journey_id": "j-1", "error_type": "Permanent"}, headers=AUTH),
    )
    assert job["stage"] == "fetch" and job["dry_run"] is False and job["state"] == "SUCCEEDED"
    assert (job["journey_id"], job["error_type"]) == ("j-1", "Permanent")
    assert (job["moved"], job["skipped_non_matching"], job["refused_over_cap"]) == (1, 2, 0)
    assert job["reopened"] == 0  # no tracking row for these calls: nothing to reopen
    assert job["finished_at"] and job["error"] is None
    assert await _depths(booted, Kind.FETCH) == (1, 2)

    everything = await _finished(api, await api.post("/api/v1/dlq/fetch/replay", headers=AUTH))  # no filters
    assert everything["moved"] == 2
    assert await _depths(booted, Kind.FETCH) == (3, 0)


async def test_replay_of_a_stage_without_a_tracking_hook_falls_back_to_the_loop(api: Client, booted: Settings) -> None:
    await _dead_letter(booted, Kind.POLL, "j-1", "w1")
    job = await _finished(api, await api.post("/api/v1/dlq/poll/replay", json={}, headers=AUTH))
    assert job["state"] == "SUCCEEDED"
    if job["move_task"] is None:  # moto has no StartMessageMoveTask: the receive→send→delete loop ran
        assert job["moved"] == 1
        assert await _depths(booted, Kind.POLL) == (1, 0)


async def test_a_large_replay_answers_at_once_and_its_progress_grows(booted: Settings) -> None:
    for i in range(12):
        await _dead_letter(booted, Kind.ANALYZE, "j-big", f"t{i}")
    config = api_config(replay_heartbeat_s=0.2)
    async with TestClient(TestServer(create_app(booted, config))) as api:
        resp = await api.post("/api/v1/dlq/analyze/replay", json={"rate_per_s": 4}, headers=AUTH)  # ~3 s of work
        assert resp.status == 202, await resp.text()
        started = await resp.json()
        assert (started["state"], started["moved"]) == ("RUNNING", 0)  # answered before the work was done
        location = resp.headers["Location"]
        seen: list[tuple[str, int]] = []

        async def done() -> bool:
            job = await (await api.get(location, headers=AUTH)).json()
            seen.append((job["state"], job["moved"]))
            return bool(job["state"] != "RUNNING")

        await eventually(done, timeout=30)
    assert seen[-1] == ("SUCCEEDED", 12)
    assert any(state == "RUNNING" and 0 < moved < 12 for state, moved in seen), seen  # progress while it ran
    assert await _depths(booted, Kind.ANALYZE) == (12, 0)


async def test_a_job_stopped_by_an_api_shutdown_shows_interrupted_and_loses_nothing(booted: Settings) -> None:
    for i in range(10):
        await _dead_letter(booted, Kind.FETCH, "j-stop", f"t{i}")
    async with TestClient(TestServer(create_app(booted, api_config(replay_heartbeat_s=0.2)))) as api:
        resp = await api.post("/api/v1/dlq/fetch/replay", json={"rate_per_s": 2}, headers=AUTH)  # ~5 s of work
        assert resp.status == 202
        location = resp.headers["Location"]

        async def moving() -> bool:
            return bool((await (await api.get(location, headers=AUTH)).json())["moved"] >= 1)

        await eventually(moving, timeout=20)
    # The server shut down with the job running; a new server (another process, after a deploy) reads the record.
    async with TestClient(TestServer(create_app(booted, api_config()))) as again:
        job = await (await again.get(location, headers=AUTH)).json()
    assert job["state"] == "INTERRUPTED" and "shut down" in job["error"], job
    assert 1 <= job["moved"] < 10
    work, dead = await _depths(booted, Kind.FETCH)
    assert work + dead >= 10 and dead == 10 - job["moved"]  # nothing lost (at most one duplicate on the work queue)


async def test_a_running_job_whose_process_died_shows_interrupted(booted: Settings) -> None:
    """A process killed mid-job writes nothing more: the silence, not a final write, marks the job INTERRUPTED."""
    for i in range(10):
        await _dead_letter(booted, Kind.FETCH, "j-kill", f"t{i}")
    port = free_port()
    env = settings_env(booted)
    env.update(
        CALLPIPE_API_KEY_HASHES=f'["{hash_key(API_KEY)}"]',
        CALLPIPE_API_REPLAY_HEARTBEAT_S="0.3",
        CALLPIPE_WXCC_ORG_ID=ORG,
        CALLPIPE_LOG_LEVEL="WARNING",
    )
    proc = await asyncio.create_subprocess_exec(
        CALLPIPE, "api", "--port", str(port), env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, headers=AUTH, timeout=10) as http:

            async def up() -> bool:
                try:
                    return (await http.get("/health")).status_code == 200
                except httpx.TransportError:
                    return False

            await eventually(up, timeout=60)
            resp = await http.post("/api/v1/dlq/fetch/replay", json={"rate_per_s": 1})
            assert resp.status_code == 202, resp.text
            location = resp.headers["Location"]

            async def moving() -> bool:
                return bool((await http.get(location)).json()["moved"] >= 1)

            await eventually(moving, timeout=20)
            proc.kill()
            await proc.wait()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    async with TestClient(TestServer(create_app(booted, api_config()))) as again:

        async def interrupted() -> bool:
            job = await (await again.get(location, headers=AUTH)).json()
            return bool(job["state"] == "INTERRUPTED" and "stopped" in job["error"])

        await eventually(interrupted, timeout=20)  # five missed heartbeats of 0.3 s
        assert (await again.get("/api/v1/dlq/replays/r-0123456789abcdef", headers=AUTH)).status == 404
        assert (await again.get("/api/v1/dlq/replays/not-an-id", headers=AUTH)).status == 404


async def test_more_running_jobs_than_allowed_get_429_with_retry_after(booted: Settings) -> None:
    for i in range(5):
        await _dead_letter(booted, Kind.TRANSCRIBE, "j-cap", f"t{i}")
    async with TestClient(TestServer(create_app(booted, api_config(replay_jobs_per_process=1)))) as api:
        first = await api.post("/api/v1/dlq/transcribe/replay", json={"rate_per_s": 1}, headers=AUTH)
        assert first.status == 202
        second = await api.post("/api/v1/dlq/transcribe/replay", json={"dry_run": True}, headers=AUTH)
        assert second.status == 429, await second.text()
        assert int(second.headers["Retry-After"]) >= 1
        body = await second.json()
        assert body["error"]["code"] == "too_many_replay_jobs" and body["error"]["details"]["limit"] == 1


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

"""The control API over HTTP: stats, reset, more calls, ground truth, scripts, tags, the clock; and the CLI."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import httpx

from simulator.wxcc import SimulatorHandle

ROOT = Path(__file__).resolve().parents[3]


async def test_stats_count_requests_per_endpoint_and_status(
    http: httpx.AsyncClient, auth: dict[str, str], sim: SimulatorHandle
) -> None:
    await http.get("/v1/tasks", params={"from": sim.config.window_start_ms}, headers=auth)
    await http.get("/v1/tasks", params={"from": sim.config.window_start_ms, "pageSize": 5000}, headers=auth)
    stats = (await http.get("/api/v1/simulator/stats")).json()
    assert stats["requests"] == {"token": 1, "tasks": 2}
    assert stats["statuses"] == {"token": {"200": 1}, "tasks": {"200": 1, "400": 1}}
    assert stats["tokensIssued"] == {"service_app": 1}
    assert stats["calls"] == sim.config.calls


async def test_reset_regenerates_the_same_calls_and_forgets_tokens(
    http: httpx.AsyncClient, auth: dict[str, str], sim: SimulatorHandle
) -> None:
    before = (await http.get("/api/v1/simulator/calls")).json()["calls"]
    await http.post("/api/v1/simulator/calls", json={"count": 5, "lastSeconds": 600})
    assert len((await http.get("/api/v1/simulator/calls")).json()["calls"]) == len(before) + 5
    assert (await http.post("/api/v1/simulator/reset")).json() == {"calls": len(before)}
    assert (await http.get("/api/v1/simulator/calls")).json()["calls"] == before
    response = await http.get("/v1/tasks", params={"from": sim.config.window_start_ms}, headers=auth)
    assert response.status_code == 401
    assert (await http.post("/api/v1/simulator/reset", json={"calls": 3})).json() == {"calls": 3}
    assert (await http.post("/api/v1/simulator/reset", json={"calls": -1})).status_code == 400


async def test_added_calls_are_deterministic_batches_inside_the_window(http: httpx.AsyncClient) -> None:
    window = {"count": 4, "startMs": 1_700_000_000_000, "endMs": 1_700_000_600_000}
    first = (await http.post("/api/v1/simulator/calls", json=window)).json()["calls"]
    assert all(window["startMs"] <= c["createdTime"] < window["endMs"] for c in first)
    await http.post("/api/v1/simulator/reset")
    again = (await http.post("/api/v1/simulator/calls", json=window)).json()["calls"]
    assert [c["taskId"] for c in first] == [c["taskId"] for c in again]
    assert (await http.post("/api/v1/simulator/calls", json={"count": 1, "startMs": 5, "endMs": 1})).status_code == 400


async def test_script_and_tag_lookups_agree(http: httpx.AsyncClient, sim: SimulatorHandle) -> None:
    call = next(c for c in sim.state.calls.values() if len(c.recordings) == 2)
    script = (await http.get(f"/api/v1/simulator/calls/{call.task_id}/script")).json()
    assert [r["callType"] for r in script["recordings"]] == ["main", "consult"]
    main = script["recordings"][0]
    assert main["speakers"] == {"1": "customer", "2": "agent"} and main["turns"][0]["code"] == "000"
    serial = main["tag"].strip("*#")
    by_tag = (await http.get(f"/api/v1/simulator/tags/{int(serial)}")).json()
    assert by_tag["taskId"] == call.task_id and by_tag["turns"] == main["turns"]
    truth = (await http.get(f"/api/v1/simulator/calls/{call.task_id}")).json()
    assert truth["endedTime"] == call.ended_ms and len(truth["recordings"]) == 2
    assert (await http.get("/api/v1/simulator/calls/nope/script")).status_code == 404
    assert (await http.get("/api/v1/simulator/tags/999999")).status_code == 404


async def test_clock_only_moves_forward(http: httpx.AsyncClient) -> None:
    before = (await http.get("/api/v1/simulator/clock")).json()
    after = (await http.post("/api/v1/simulator/clock", json={"advanceS": 3600})).json()
    assert after["offsetMs"] == 3_600_000 and after["now"] - before["now"] >= 3_600_000
    assert (await http.post("/api/v1/simulator/clock", json={"advanceS": -1})).status_code == 400


async def test_unknown_routes_answer_in_the_api_error_shape(http: httpx.AsyncClient) -> None:
    response = await http.get("/v1/nothing", headers={"TrackingId": "abc"})
    assert response.status_code == 404 and response.json()["trackingId"] == "abc"
    assert (await http.get("/api/v1/simulator/nothing")).status_code == 404


async def test_cli_serves_until_terminated(tmp_path: Path) -> None:
    config = tmp_path / "sim.json"
    config.write_text(json.dumps({"calls": 7, "voice": "synth"}))
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "simulator.wxcc", "--port", "0", "--config", str(config), "--seed", "3",
        cwd=ROOT, env={**os.environ, "CALLPIPE_LOG_FORMAT": "json"},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        url = None
        assert proc.stderr is not None
        while url is None:
            line = await asyncio.wait_for(proc.stderr.readline(), timeout=30)
            assert line, "the simulator exited before it was ready"
            event = json.loads(line)
            url = event.get("url") if event.get("event") == "simulator_ready" else None
        async with httpx.AsyncClient(base_url=url) as client:
            assert (await client.get("/api/v1/simulator/health")).json() == {"status": "ok", "calls": 7}
    finally:
        proc.terminate()
        assert await asyncio.wait_for(proc.wait(), timeout=30) == 0

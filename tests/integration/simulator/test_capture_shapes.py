"""Call shapes a real WXCC server produces: a capture flag never set, late captures, one recording cut short."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from simulator.wxcc import SimulatorHandle
from simulator.wxcc.generator import Call, generate_calls
from tests.integration.simulator.conftest import HOUR_MS, past_window


def _query(sim: SimulatorHandle, *task_ids: str) -> dict[str, Any]:
    return {"query": {"orgId": sim.config.org_id, "taskIds": list(task_ids), "urlExpiration": 10}}


async def _recordings(http: httpx.AsyncClient, auth: dict[str, str], sim: SimulatorHandle, task_id: str) -> list[Any]:
    response = await http.post("/v1/captures/query", json=_query(sim, task_id), headers=auth)
    assert response.status_code == 200, response.text
    recordings: list[Any] = response.json()["data"][0]["recording"]
    return recordings


@pytest.mark.parametrize("sim_config", [past_window(null_capture_fraction=0.5)])
async def test_a_never_set_capture_flag_is_null_everywhere_but_its_recordings_are_counted_and_listed(
    http: httpx.AsyncClient, auth: dict[str, str], sim: SimulatorHandle
) -> None:
    calls = list(sim.state.calls.values())
    null_flag = [c for c in calls if not c.capture_flag_set]
    assert null_flag and all(c.capture_requested and c.recordings for c in null_flag), "the knob picks recorded calls"
    assert any(c.capture_flag_set and c.capture_requested for c in calls), "every recorded call lost its flag"
    call = null_flag[0]
    now = sim.state.clock.now_ms()
    query = "query { taskDetails(from: %d, to: %d) { tasks { id captureRequested recordingCount } } }"
    body = {"query": query % (now - 4 * HOUR_MS, now)}
    tasks = (await http.post("/search", json=body, headers=auth)).json()["data"]["taskDetails"]["tasks"]
    found = next(t for t in tasks if t["id"] == call.task_id)
    assert found == {"id": call.task_id, "captureRequested": None, "recordingCount": len(call.recordings)}
    params = {"from": call.created_ms, "to": call.created_ms + 1}
    listed = (await http.get("/v1/tasks", params=params, headers=auth)).json()["data"]
    item = next(t for t in listed if t["id"] == call.task_id)
    assert item["attributes"]["status"] == "completed" and item["attributes"]["captureRequested"] is None
    assert len(await _recordings(http, auth, sim, call.task_id)) == len(call.recordings)


def test_the_null_flag_knob_leaves_the_other_calls_of_a_seed_unchanged() -> None:
    def shape(c: Call) -> tuple[object, ...]:
        return c.task_id, c.ended_ms, c.capture_requested, c.capture_known_ms, tuple(leg.id for leg in c.recordings)

    def calls(fraction: float) -> list[Call]:
        config = past_window(null_capture_fraction=fraction)
        return generate_calls(config, batch=0, count=80, start_ms=0, end_ms=HOUR_MS, first_serial=1)

    assert [shape(c) for c in calls(0)] == [shape(c) for c in calls(0.5)]
    assert sum(not c.capture_flag_set for c in calls(0.5)) > 0
    assert all(c.capture_flag_set for c in calls(0))


@pytest.mark.parametrize("sim_config", [past_window(captures_listed_from_query=3)])
async def test_captures_of_an_old_call_are_listed_from_its_nth_query(
    http: httpx.AsyncClient, auth: dict[str, str], sim: SimulatorHandle
) -> None:
    call = next(c for c in sim.state.calls.values() if c.capture_requested and c.recordings)
    other = next(c for c in sim.state.calls.values() if c.capture_requested and c.recordings and c is not call)
    assert call.ended_ms < sim.state.clock.now_ms() - HOUR_MS
    answers = [len(await _recordings(http, auth, sim, call.task_id)) for _ in range(4)]
    assert answers == [0, 0, len(call.recordings), len(call.recordings)]
    assert await _recordings(http, auth, sim, other.task_id) == [], "the count is per task"
    truth = (await http.get(f"/api/v1/simulator/calls/{call.task_id}")).json()
    assert truth["captureQueries"] == 4


async def test_a_truncation_set_for_one_recording_cuts_only_that_recording(
    http: httpx.AsyncClient, auth: dict[str, str], sim: SimulatorHandle
) -> None:
    call = next(c for c in sim.state.calls.values() if c.capture_requested and len(c.recordings) == 2)
    main, consult = call.recordings
    answer = await http.post(f"/api/v1/simulator/recordings/{consult.id}/truncate", json={"count": 1, "fraction": 0.3})
    assert answer.status_code == 200, answer.text
    urls = {r["id"]: r["attributes"]["filePath"] for r in await _recordings(http, auth, sim, call.task_id)}
    async with httpx.AsyncClient() as anonymous:
        whole_main = await anonymous.get(urls[main.id])
        assert int(whole_main.headers["Content-Length"]) == len(whole_main.content)
        with pytest.raises(httpx.HTTPError):
            await anonymous.get(urls[consult.id])
        again = await anonymous.get(urls[consult.id])
        assert int(again.headers["Content-Length"]) == len(again.content), "only the next download was cut"
    truth = (await http.get(f"/api/v1/simulator/calls/{call.task_id}")).json()
    assert [r["downloads"] for r in truth["recordings"]] == [1, 2]
    stats = (await http.get("/api/v1/simulator/stats")).json()
    assert stats["downloads"]["truncated"] == 1


async def test_a_truncation_needs_a_known_recording_and_sane_numbers(
    http: httpx.AsyncClient, sim: SimulatorHandle
) -> None:
    assert (await http.post("/api/v1/simulator/recordings/nope/truncate", json={})).status_code == 404
    leg_id = next(iter(sim.state.legs))
    for body in ({"count": -1}, {"fraction": 1}, {"fraction": "half"}, {"count": True}):
        response = await http.post(f"/api/v1/simulator/recordings/{leg_id}/truncate", json=body)
        assert response.status_code == 400, body
        assert "error" in response.json()

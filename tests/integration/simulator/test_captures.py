"""`POST /v1/captures/query` over HTTP: the example's shape and quirks, limits, availability, capture decisions."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from simulator.wxcc import SimulatorHandle
from simulator.wxcc.generator import Call
from tests.integration.simulator.conftest import past_window
from tests.integration.simulator.shape import assert_shape, example, shape_of

CAPTURES = "/v1/captures/query"


def _body(sim: SimulatorHandle, task_ids: list[str], **query: Any) -> dict[str, Any]:
    return {
        "query": {"orgId": sim.config.org_id, "taskIds": task_ids, "urlExpiration": 10, "includeSegments": False}
        | query
    }


async def _captures(http: httpx.AsyncClient, auth: dict[str, str], body: dict[str, Any]) -> httpx.Response:
    return await http.post(CAPTURES, json=body, headers=auth)


def _pick(sim: SimulatorHandle, legs: int) -> Call:
    return next(c for c in sim.state.calls.values() if c.capture_requested and len(c.recordings) == legs)


async def test_captures_have_the_example_shape_with_mixed_time_types(
    http: httpx.AsyncClient, auth: dict[str, str], sim: SimulatorHandle
) -> None:
    consult_call = _pick(sim, 2)
    abandoned = next(c for c in sim.state.calls.values() if c.abandoned)
    ids = [consult_call.task_id, abandoned.task_id, "00000000-0000-4000-8000-000000000000"]
    response = await _captures(http, auth, _body(sim, ids))
    assert response.status_code == 200
    body = response.json()
    assert_shape(body, shape_of(example("captures-response.json")))
    assert body["meta"] == {"orgId": sim.config.org_id, "urlExpiration": 10}
    assert [d["taskId"] for d in body["data"]] == ids
    main, consult = body["data"][0]["recording"]
    assert main["attributes"]["callType"] == "main" and consult["attributes"]["callType"] == "consult"
    assert isinstance(main["attributes"]["startTime"], str) and isinstance(main["attributes"]["stopTime"], str)
    assert isinstance(consult["attributes"]["startTime"], int) and isinstance(consult["attributes"]["stopTime"], int)
    assert (main["attributes"]["channel1"], main["attributes"]["channel2"]) == ("Caller", "Agent")
    assert (consult["attributes"]["channel1"], consult["attributes"]["channel2"]) == ("Agent", "Agent")
    assert int(main["attributes"]["stopTime"]) == consult_call.ended_ms
    assert main["attributes"]["filePath"].startswith(sim.base_url + "/recordings/")
    assert body["data"][1]["recording"] == [] and body["data"][2]["recording"] == []


async def test_calls_without_capture_have_no_recordings(
    http: httpx.AsyncClient, auth: dict[str, str], sim: SimulatorHandle
) -> None:
    unrecorded = [c.task_id for c in sim.state.calls.values() if not c.capture_requested][:10]
    assert unrecorded
    data = (await _captures(http, auth, _body(sim, unrecorded))).json()["data"]
    assert all(d["recording"] == [] for d in data)


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ({"taskIds": [f"t{i}" for i in range(11)]}, "between 1 and 10"),
        ({"taskIds": []}, "between 1 and 10"),
        ({"taskIds": "t1"}, "list"),
        ({"urlExpiration": 0}, "urlExpiration"),
        ({"urlExpiration": 61}, "urlExpiration"),
        ({"urlExpiration": "5"}, "urlExpiration"),
        ({"orgId": "another-org"}, "orgId"),
    ],
)
async def test_limits_are_enforced_with_the_error_shape(
    http: httpx.AsyncClient, auth: dict[str, str], sim: SimulatorHandle, query: dict[str, Any], fragment: str
) -> None:
    response = await _captures(http, auth, _body(sim, ["t1"], **query))
    assert response.status_code in (400, 403)
    assert_shape(response.json(), shape_of(example("error-response.json")))
    assert fragment in response.json()["error"]["message"][0]["description"]
    assert (await _captures(http, auth, {"taskIds": ["t1"]})).status_code == 400


async def test_ten_ids_and_the_url_expiration_bounds_are_accepted(
    http: httpx.AsyncClient, auth: dict[str, str], sim: SimulatorHandle
) -> None:
    ids = list(sim.state.calls)[:10]
    for minutes in (1, 60):
        response = await _captures(http, auth, _body(sim, ids, urlExpiration=minutes))
        assert response.status_code == 200 and len(response.json()["data"]) == 10


@pytest.mark.parametrize("sim_config", [past_window(availability_delay_s=300)])
async def test_recordings_appear_only_after_the_availability_delay(
    http: httpx.AsyncClient, auth: dict[str, str], sim: SimulatorHandle
) -> None:
    await http.post("/api/v1/simulator/calls", json={"count": 10, "lastSeconds": 60})
    now = sim.state.clock.now_ms()
    recent = [c for c in sim.state.calls.values() if c.capture_requested and c.recordings and c.ended_ms > now - 60_000]
    assert recent
    ids = [c.task_id for c in recent]

    async def ready() -> list[bool]:
        data = (await _captures(http, auth, _body(sim, ids))).json()["data"]
        return [bool(d["recording"]) for d in data]

    assert not any(await ready())
    latest = max(c.ended_ms for c in recent)
    await http.post("/api/v1/simulator/clock", json={"advanceS": (latest - now) / 1000 + 299})
    assert not all(await ready())
    await http.post("/api/v1/simulator/clock", json={"advanceS": 2})
    assert all(await ready())


@pytest.mark.parametrize("sim_config", [past_window(capture_pending_fraction=1.0, capture_pending_s=600)])
async def test_capture_requested_stays_null_for_a_while_after_the_end(
    http: httpx.AsyncClient, auth: dict[str, str], sim: SimulatorHandle
) -> None:
    await http.post("/api/v1/simulator/calls", json={"count": 10, "lastSeconds": 120})
    now = sim.state.clock.now_ms()
    ended = [c for c in sim.state.calls.values() if not c.abandoned and now - 120_000 < c.ended_ms <= now]
    assert ended
    params = {"from": min(c.created_ms for c in ended), "pageSize": 1000}
    ids = {c.task_id for c in ended}

    async def capture_flags() -> set[bool | None]:
        data = (await http.get("/v1/tasks", params=params, headers=auth)).json()["data"]
        return {t["attributes"]["captureRequested"] for t in data if t["id"] in ids}

    assert await capture_flags() == {None}
    assert all(d["recording"] == [] for d in (await _captures(http, auth, _body(sim, list(ids)[:10]))).json()["data"])
    await http.post("/api/v1/simulator/clock", json={"advanceS": 600})
    assert await capture_flags() <= {True, False} and True in await capture_flags()

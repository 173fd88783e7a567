"""`GET /v1/tasks` over HTTP: the example's shape, [from, to) by createdTime, pageSize limits, paging by `from`."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from simulator.wxcc import SimulatorHandle
from tests.integration.simulator.conftest import past_window
from tests.integration.simulator.shape import assert_shape, example, keys_seen, shape_of


async def _page(http: httpx.AsyncClient, auth: dict[str, str], **params: Any) -> httpx.Response:
    return await http.get("/v1/tasks", params={"channelTypes": "telephony", **params}, headers=auth)


async def test_tasks_have_the_example_shape_including_its_quirks(
    http: httpx.AsyncClient, auth: dict[str, str], sim: SimulatorHandle
) -> None:
    response = await _page(http, auth, **{"from": sim.config.window_start_ms, "pageSize": 1000})
    assert response.status_code == 200
    body = response.json()
    assert_shape(body, shape_of(example("tasks-response.json")))
    attributes = [task["attributes"] for task in body["data"]]
    assert keys_seen(attributes) == keys_seen([t["attributes"] for t in example("tasks-response.json")["data"]])
    assert any("owner" not in a and a["status"] == "abandoned" and a["captureRequested"] is False for a in attributes)
    assert body["meta"]["orgId"] == sim.config.org_id


async def test_tasks_are_those_created_in_from_to_sorted_and_capped_by_page_size(
    http: httpx.AsyncClient, auth: dict[str, str], sim: SimulatorHandle
) -> None:
    truth = sorted((c.created_ms, c.task_id) for c in sim.state.calls.values())
    start, end = truth[10][0], truth[30][0]
    body = (await _page(http, auth, **{"from": start, "to": end, "pageSize": 1000})).json()
    created = [t["attributes"]["createdTime"] for t in body["data"]]
    assert created == sorted(created)
    assert [t["id"] for t in body["data"]] == [tid for ms, tid in truth if start <= ms < end]
    capped = (await _page(http, auth, **{"from": start, "to": end, "pageSize": 5})).json()["data"]
    assert [t["id"] for t in capped] == [t["id"] for t in body["data"][:5]]


@pytest.mark.parametrize("sim_config", [past_window(calls=1100, same_created_fraction=0.3)])
async def test_paging_by_moving_from_finds_every_call_exactly_once(
    http: httpx.AsyncClient, auth: dict[str, str], sim: SimulatorHandle
) -> None:
    start, end = sim.config.window_start_ms, sim.config.window_end_ms
    assert start is not None and end is not None
    seen: dict[str, int] = {}
    cursor, pages = start, 0
    while True:
        data = (await _page(http, auth, **{"from": cursor, "to": end, "pageSize": 100})).json()["data"]
        pages += 1
        fresh = [t for t in data if t["id"] not in seen]
        for task in data:
            seen[task["id"]] = seen.get(task["id"], 0) + (task in fresh)
        if len(data) < 100:
            break
        last = data[-1]["attributes"]["createdTime"]
        cursor = last if fresh else last + 1  # ties: ask again from the same instant, dedupe by id
    assert set(seen) == set(sim.state.calls) and set(seen.values()) == {1}
    assert 11 <= pages < 30
    ties = len(sim.state.calls) - len({c.created_ms for c in sim.state.calls.values()})
    assert ties > 100, "the generator made too few shared createdTimes to exercise deduplication"


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"pageSize": 1001}, "pageSize"),
        ({"pageSize": 0}, "pageSize"),
        ({"pageSize": "ten"}, "integer"),
        ({"from": None}, "required"),
        ({"orgId": "someone-else"}, "orgId"),
    ],
)
async def test_limits_are_enforced_with_the_error_shape(
    http: httpx.AsyncClient, auth: dict[str, str], sim: SimulatorHandle, params: dict[str, Any], fragment: str
) -> None:
    query = {"from": sim.config.window_start_ms, **params}
    response = await _page(http, auth, **{k: v for k, v in query.items() if v is not None})
    assert response.status_code in (400, 403)
    assert_shape(response.json(), shape_of(example("error-response.json")))
    assert fragment in response.json()["error"]["message"][0]["description"]


async def test_tasks_not_yet_created_are_not_listed_and_live_calls_have_no_capture_decision(
    http: httpx.AsyncClient, auth: dict[str, str], sim: SimulatorHandle
) -> None:
    added = (await http.post("/api/v1/simulator/calls", json={"count": 20, "lastSeconds": 5})).json()["calls"]
    now = (await http.get("/api/v1/simulator/clock")).json()["now"]
    ids = {c["taskId"] for c in added}
    data = (await _page(http, auth, **{"from": now - 10_000, "pageSize": 1000})).json()["data"]
    listed = {t["id"]: t["attributes"] for t in data if t["id"] in ids}
    assert len(listed) == 20
    live = [a for a in listed.values() if a["status"] in ("queued", "assigned")]
    assert live and all(a["captureRequested"] is None for a in live)

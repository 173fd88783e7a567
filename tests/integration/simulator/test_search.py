"""`POST /search` over HTTP: the example's shape, ended calls by endedTime, cursor paging, GraphQL-style errors."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from simulator.wxcc import SimulatorHandle
from tests.integration.simulator.conftest import HOUR_MS, past_window
from tests.integration.simulator.shape import assert_shape, example, shape_of

DAY_MS = 24 * HOUR_MS


def _request(start: int, end: int, cursor: str = "NA", query: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = example("search-request.json")
    body["variables"] = {"from": start, "to": end, "cursor": cursor}
    if query is not None:
        body["query"] = query
    return body


async def _search(http: httpx.AsyncClient, auth: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    response = await http.post("/search", json=body, headers=auth)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def _all_pages(http: httpx.AsyncClient, auth: dict[str, str], start: int, end: int) -> tuple[list[Any], int]:
    tasks: list[Any] = []
    cursor, pages = "NA", 0
    while True:
        details = (await _search(http, auth, _request(start, end, cursor)))["data"]["taskDetails"]
        tasks += details["tasks"]
        pages += 1
        if not details["pageInfo"]["hasNextPage"]:
            return tasks, pages
        cursor = details["pageInfo"]["endCursor"]


async def test_search_has_the_example_shape(
    http: httpx.AsyncClient, auth: dict[str, str], sim: SimulatorHandle
) -> None:
    now = sim.state.clock.now_ms()
    body = await _search(http, auth, _request(now - DAY_MS, now))
    assert_shape(body, shape_of(example("search-response.json")), nullable=frozenset({"owner"}))
    tasks = body["data"]["taskDetails"]["tasks"]
    assert tasks and all(
        set(t) == set(example("search-response.json")["data"]["taskDetails"]["tasks"][0]) for t in tasks
    )
    abandoned = [t for t in tasks if t["status"] == "abandoned"]
    assert abandoned and all(t["owner"] is None and t["recordingCount"] == 0 for t in abandoned)
    assert all(t["isActive"] is False for t in tasks)


@pytest.mark.parametrize("sim_config", [past_window(calls=250)])
async def test_cursor_paging_lists_every_ended_call_once(
    http: httpx.AsyncClient, auth: dict[str, str], sim: SimulatorHandle
) -> None:
    now = sim.state.clock.now_ms()
    tasks, pages = await _all_pages(http, auth, now - DAY_MS, now)
    assert pages == 3
    ids = [t["id"] for t in tasks]
    assert len(ids) == len(set(ids)) == 250
    assert [t["endedTime"] for t in tasks] == sorted(t["endedTime"] for t in tasks)


async def test_window_is_by_ended_time_inclusive_and_live_calls_are_left_out(
    http: httpx.AsyncClient, auth: dict[str, str], sim: SimulatorHandle
) -> None:
    calls = sorted(sim.state.calls.values(), key=lambda c: c.ended_ms)
    start, end = calls[5].ended_ms, calls[15].ended_ms
    tasks, _ = await _all_pages(http, auth, start, end)
    assert {t["id"] for t in tasks} == {c.task_id for c in calls if start <= c.ended_ms <= end}
    await http.post("/api/v1/simulator/calls", json={"count": 5, "lastSeconds": 1})
    now = sim.state.clock.now_ms()
    live = {c.task_id for c in sim.state.calls.values() if c.ended_ms > now}
    tasks, _ = await _all_pages(http, auth, now - DAY_MS, now + HOUR_MS)
    assert live and live.isdisjoint(t["id"] for t in tasks)


async def test_only_selected_fields_are_returned(
    http: httpx.AsyncClient, auth: dict[str, str], sim: SimulatorHandle
) -> None:
    original = example("search-request.json")["query"]
    start = original.index("tasks {")
    end = original.index("pageInfo")
    query = original[:start] + "tasks { id endedTime queue { name } } " + original[end:]
    now = sim.state.clock.now_ms()
    tasks = (await _search(http, auth, _request(now - DAY_MS, now, query=query)))["data"]["taskDetails"]["tasks"]
    assert tasks and all(set(t) == {"id", "endedTime", "queue"} and set(t["queue"]) == {"name"} for t in tasks)


@pytest.mark.parametrize(
    ("window", "cursor", "fragment"),
    [
        ((0, 366 * DAY_MS), "NA", "365 days"),
        ((0, HOUR_MS), "not-a-cursor", "cursor"),
        ((HOUR_MS, 0), "NA", "after"),
    ],
)
async def test_invalid_queries_answer_graphql_errors(
    http: httpx.AsyncClient,
    auth: dict[str, str],
    sim: SimulatorHandle,
    window: tuple[int, int],
    cursor: str,
    fragment: str,
) -> None:
    now = sim.state.clock.now_ms()
    start = now - 400 * DAY_MS if window[1] > 365 * DAY_MS else now - DAY_MS
    body = await _search(http, auth, _request(start + window[0], start + window[1], cursor))
    assert body["data"] is None
    assert fragment in body["errors"][0]["message"]
    assert body["errors"][0]["extensions"]["classification"] == "ValidationError"

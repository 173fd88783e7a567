"""Fault injection over HTTP: 429 + Retry-After, 5xx, slow, truncated downloads, expired URLs, the rate limiter."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from simulator.wxcc import FaultRule, SimulatorHandle
from tests.integration.simulator.conftest import past_window, service_app_token
from tests.integration.simulator.shape import assert_shape, example, shape_of


async def _set_faults(http: httpx.AsyncClient, *rules: dict[str, Any], append: bool = False) -> None:
    response = await http.post("/api/v1/simulator/faults", json={"rules": list(rules), "append": append})
    assert response.status_code == 200, response.text


async def _tasks(http: httpx.AsyncClient, auth: dict[str, str], sim: SimulatorHandle) -> httpx.Response:
    return await http.get("/v1/tasks", params={"from": sim.config.window_start_ms, "pageSize": 1}, headers=auth)


async def _stats(http: httpx.AsyncClient) -> dict[str, Any]:
    body: dict[str, Any] = (await http.get("/api/v1/simulator/stats")).json()
    return body


async def test_next_n_requests_get_429_with_retry_after(
    http: httpx.AsyncClient, auth: dict[str, str], sim: SimulatorHandle
) -> None:
    await _set_faults(http, {"kind": "rate_limit", "endpoints": ["tasks"], "count": 2, "retryAfterS": 3})
    responses = [await _tasks(http, auth, sim) for _ in range(3)]
    assert [r.status_code for r in responses] == [429, 429, 200]
    assert responses[0].headers["Retry-After"] == "3"
    assert_shape(responses[0].json(), shape_of(example("error-response.json")))
    stats = await _stats(http)
    assert stats["faults"] == {"rate_limit": 2}
    assert stats["statuses"]["tasks"] == {"429": 2, "200": 1}
    assert (await http.get("/api/v1/simulator/faults")).json()["rules"][0]["remaining"] == 0


async def test_faults_only_hit_their_endpoints(
    http: httpx.AsyncClient, auth: dict[str, str], sim: SimulatorHandle
) -> None:
    await _set_faults(http, {"kind": "server_error", "endpoints": ["captures"], "count": 5, "status": 502})
    assert (await _tasks(http, auth, sim)).status_code == 200
    body = {"query": {"orgId": sim.config.org_id, "taskIds": ["t"], "urlExpiration": 5}}
    response = await http.post("/v1/captures/query", json=body, headers=auth)
    assert response.status_code == 502
    assert_shape(response.json(), shape_of(example("error-response.json")))


async def _status_pattern(http: httpx.AsyncClient, sim: SimulatorHandle, fault_seed: int) -> list[int]:
    await http.post("/api/v1/simulator/reset", json={"fault_seed": fault_seed})
    await _set_faults(http, {"kind": "server_error", "endpoints": ["tasks"], "probability": 0.4})
    token = await service_app_token(http, sim.config)
    auth = {"Authorization": f"Bearer {token['access_token']}"}
    return [(await _tasks(http, auth, sim)).status_code for _ in range(40)]


async def test_probabilistic_faults_repeat_for_the_same_seed(http: httpx.AsyncClient, sim: SimulatorHandle) -> None:
    first = await _status_pattern(http, sim, 1)
    assert first == await _status_pattern(http, sim, 1)
    assert first != await _status_pattern(http, sim, 2)
    assert 5 < first.count(503) < 30 and first.count(200) + first.count(503) == 40


async def test_slow_responses_are_delayed(http: httpx.AsyncClient, auth: dict[str, str], sim: SimulatorHandle) -> None:
    await _set_faults(http, {"kind": "slow", "endpoints": ["tasks"], "count": 1, "delayS": 0.5})
    started = time.monotonic()
    assert (await _tasks(http, auth, sim)).status_code == 200
    assert time.monotonic() - started >= 0.5
    with pytest.raises(httpx.ReadTimeout):
        await _set_faults(http, {"kind": "slow", "count": 1, "delayS": 2})
        await http.get("/v1/tasks", params={"from": sim.config.window_start_ms}, headers=auth, timeout=0.3)
    assert (await _stats(http))["faults"]["slow"] == 2


def _recorded_id(sim: SimulatorHandle) -> str:
    return next(c.task_id for c in sim.state.calls.values() if c.capture_requested and c.recordings)


async def _url(http: httpx.AsyncClient, auth: dict[str, str], sim: SimulatorHandle) -> str:
    body = {"query": {"orgId": sim.config.org_id, "taskIds": [_recorded_id(sim)], "urlExpiration": 30}}
    data = (await http.post("/v1/captures/query", json=body, headers=auth)).json()["data"]
    url: str = data[0]["recording"][0]["attributes"]["filePath"]
    return url


async def test_truncated_download_is_shorter_than_its_content_length(
    http: httpx.AsyncClient, auth: dict[str, str], sim: SimulatorHandle
) -> None:
    url = await _url(http, auth, sim)
    await _set_faults(http, {"kind": "truncate", "count": 1, "fraction": 0.3})
    received = 0
    async with http.stream("GET", url) as response:
        expected = int(response.headers["Content-Length"])
        with pytest.raises(httpx.RemoteProtocolError):
            async for chunk in response.aiter_raw():
                received += len(chunk)
    assert 0 < received < expected
    full = await http.get(url)
    assert len(full.content) == expected
    stats = await _stats(http)
    assert stats["downloads"] == {"truncated": 1, "complete": 1}
    assert stats["faults"] == {"truncate": 1}


async def test_expired_url_fault_hands_out_urls_that_are_already_expired(
    http: httpx.AsyncClient, auth: dict[str, str], sim: SimulatorHandle
) -> None:
    await _set_faults(http, {"kind": "expired_url", "count": 1})
    expired, fresh = await _url(http, auth, sim), await _url(http, auth, sim)
    assert (await http.get(expired)).status_code == 403
    assert (await http.head(fresh)).status_code == 200
    assert (await _stats(http))["faults"] == {"expired_url": 1}


@pytest.mark.parametrize(
    "sim_config", [past_window(faults=(FaultRule(kind="rate_limit", endpoints=("search",), count=1, retry_after_s=9),))]
)
async def test_faults_can_be_set_in_the_config(
    http: httpx.AsyncClient, auth: dict[str, str], sim: SimulatorHandle
) -> None:
    response = await http.post("/search", json=example("search-request.json"), headers=auth)
    assert response.status_code == 429 and response.headers["Retry-After"] == "9"
    await http.post("/api/v1/simulator/reset")
    assert (await _stats(http))["faults"] == {}
    assert len((await http.get("/api/v1/simulator/faults")).json()["rules"]) == 1, "reset restores the config's faults"


@pytest.mark.parametrize("sim_config", [past_window(rate_limit_per_min=5)])
async def test_rate_limiter_answers_429_once_the_budget_is_spent(
    http: httpx.AsyncClient, auth: dict[str, str], sim: SimulatorHandle
) -> None:
    statuses = [(await _tasks(http, auth, sim)).status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]
    limited = await _tasks(http, auth, sim)
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert (await _stats(http))["rateLimited"] == 2
    await http.post("/api/v1/simulator/clock", json={"advanceS": 60})
    assert (await _tasks(http, auth, sim)).status_code == 200


async def test_invalid_fault_rules_are_refused(http: httpx.AsyncClient) -> None:
    for rules in ([{"kind": "explode", "count": 1}], [{"kind": "slow"}], [{"kind": "slow", "count": 1, "x": 1}]):
        response = await http.post("/api/v1/simulator/faults", json={"rules": rules})
        assert response.status_code == 400

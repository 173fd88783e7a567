"""Token endpoints over HTTP: both grants, refresh-token rotation, expiry, the 401 shape with the TrackingId echoed."""

from __future__ import annotations

import httpx
import pytest

from simulator.wxcc import SimulatorConfig, SimulatorHandle
from tests.integration.simulator.conftest import past_window, service_app_token
from tests.integration.simulator.shape import assert_shape, example, shape_of

TASKS = "/v1/tasks"


async def _refresh(http: httpx.AsyncClient, config: SimulatorConfig, refresh_token: str) -> httpx.Response:
    return await http.post(
        "/v1/access_token",
        data={
            "grant_type": "refresh_token",
            "client_id": config.client_id,
            "client_secret": config.client_secret,
            "refresh_token": refresh_token,
        },
    )


async def _tasks(http: httpx.AsyncClient, token: str, sim: SimulatorHandle) -> httpx.Response:
    start = sim.config.window_start_ms
    return await http.get(TASKS, params={"from": start, "pageSize": 1}, headers={"Authorization": f"Bearer {token}"})


async def test_service_app_grant_has_the_token_response_shape(http: httpx.AsyncClient, sim: SimulatorHandle) -> None:
    body = await service_app_token(http, sim.config)
    assert_shape(body, shape_of(example("token-response.json")))
    assert set(body) == set(example("token-response.json"))
    assert body["expires_in"] == sim.config.access_token_ttl_s
    assert body["refresh_token_expires_in"] == sim.config.refresh_token_ttl_s
    assert (await _tasks(http, body["access_token"], sim)).status_code == 200


@pytest.mark.parametrize(
    ("path", "change", "status"),
    [
        ("/v1/applications/sim-service-app/token", {"clientSecret": "wrong"}, 401),
        ("/v1/applications/sim-service-app/token", {"targetOrgId": "another-org"}, 403),
        ("/v1/applications/another-app/token", {}, 404),
    ],
)
async def test_service_app_grant_refuses_wrong_credentials(
    http: httpx.AsyncClient, sim: SimulatorHandle, path: str, change: dict[str, str], status: int
) -> None:
    config = sim.config
    body = {"clientId": config.client_id, "clientSecret": config.client_secret, "targetOrgId": config.org_id, **change}
    response = await http.post(path, json=body, headers={"TrackingId": "t-123"})
    assert response.status_code == status
    assert_shape(response.json(), shape_of(example("error-response.json")))
    assert response.json()["trackingId"] == "t-123"


async def test_refresh_grant_rotates_the_refresh_token(http: httpx.AsyncClient, sim: SimulatorHandle) -> None:
    first = await _refresh(http, sim.config, sim.config.refresh_token)
    assert first.status_code == 200
    assert first.json()["refresh_token"] != sim.config.refresh_token
    reused = await _refresh(http, sim.config, sim.config.refresh_token)
    assert reused.status_code == 400
    assert "already used" in reused.json()["error"]["message"][0]["description"]
    second = await _refresh(http, sim.config, first.json()["refresh_token"])
    assert second.status_code == 200
    assert (await _tasks(http, second.json()["access_token"], sim)).status_code == 200
    stats = (await http.get("/api/v1/simulator/stats")).json()
    assert stats["tokensIssued"] == {"refresh_token": 2}


@pytest.mark.parametrize("sim_config", [past_window(refresh_overlap_s=30)])
async def test_a_rotated_refresh_token_keeps_working_during_the_overlap(
    http: httpx.AsyncClient, sim: SimulatorHandle
) -> None:
    assert (await _refresh(http, sim.config, sim.config.refresh_token)).status_code == 200
    assert (await _refresh(http, sim.config, sim.config.refresh_token)).status_code == 200
    await http.post("/api/v1/simulator/clock", json={"advanceS": 31})
    assert (await _refresh(http, sim.config, sim.config.refresh_token)).status_code == 400


async def test_refresh_grant_refuses_bad_client_credentials_and_other_grants(
    http: httpx.AsyncClient, sim: SimulatorHandle
) -> None:
    bad = await http.post(
        "/v1/access_token",
        data={"grant_type": "refresh_token", "client_id": "x", "client_secret": "y", "refresh_token": "z"},
    )
    assert bad.status_code == 401
    other = await http.post("/v1/access_token", data={"grant_type": "authorization_code", "code": "c"})
    assert other.status_code == 400


@pytest.mark.parametrize("sim_config", [past_window(access_token_ttl_s=60)])
async def test_access_tokens_expire_after_expires_in(http: httpx.AsyncClient, sim: SimulatorHandle) -> None:
    token = (await service_app_token(http, sim.config))["access_token"]
    assert (await _tasks(http, token, sim)).status_code == 200
    await http.post("/api/v1/simulator/clock", json={"advanceS": 61})
    response = await _tasks(http, token, sim)
    assert response.status_code == 401
    assert_shape(response.json(), shape_of(example("error-response.json")))


async def test_expiring_tokens_from_the_control_api_forces_a_refresh(
    http: httpx.AsyncClient, sim: SimulatorHandle
) -> None:
    grant = (await _refresh(http, sim.config, sim.config.refresh_token)).json()
    expired = await http.post("/api/v1/simulator/tokens/expire")
    assert expired.json()["expiredAccessTokens"] == 1
    assert (await _tasks(http, grant["access_token"], sim)).status_code == 401
    renewed = (await _refresh(http, sim.config, grant["refresh_token"])).json()
    assert (await _tasks(http, renewed["access_token"], sim)).status_code == 200


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer"}],
)
async def test_data_endpoints_answer_401_with_the_error_shape(
    http: httpx.AsyncClient, sim: SimulatorHandle, headers: dict[str, str]
) -> None:
    calls = [
        http.get(TASKS, params={"from": sim.config.window_start_ms}, headers={**headers, "TrackingId": "trk-1"}),
        http.post("/search", json=example("search-request.json"), headers={**headers, "TrackingId": "trk-1"}),
        http.post(
            "/v1/captures/query", json=example("captures-request.json"), headers={**headers, "TrackingId": "trk-1"}
        ),
    ]
    for call in calls:
        response = await call
        assert response.status_code == 401
        body = response.json()
        assert_shape(body, shape_of(example("error-response.json")))
        assert body["trackingId"] == "trk-1" and body["error"]["key"] == "401"
        assert response.headers["TrackingId"] == "trk-1"

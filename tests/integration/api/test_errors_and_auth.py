"""Every 4xx is a JSON `{"error": {code, message, details}}`; API keys by Bearer or X-API-Key."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from tests.integration.api.conftest import API_KEY, AUTH, OTHER_KEY

Client = TestClient[web.Request, web.Application]
WINDOW = {"kind": "window", "from": "2026-01-01T00:00:00Z", "to": "2026-01-01T06:00:00Z"}


async def error_of(resp: Any, status: int) -> dict[str, Any]:
    assert resp.status == status, await resp.text()
    assert resp.content_type == "application/json"
    body = await resp.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["message"]
    return dict(body["error"])


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong-key-123"}, {"X-API-Key": "wrong-key-123"}, {"Authorization": "Basic abc"}],
)
async def test_a_missing_or_wrong_key_is_401(api: Client, headers: dict[str, str]) -> None:
    for method, path in (("GET", "/api/v1/journeys"), ("POST", "/api/v1/journeys"), ("GET", "/api/v1/calls/t1")):
        resp = await api.request(method, path, headers=headers, json=WINDOW)
        assert (await error_of(resp, 401))["code"] == "unauthorized"


async def test_both_header_styles_and_every_configured_key_work(api: Client) -> None:
    for headers in (
        {"Authorization": f"Bearer {API_KEY}"},
        {"authorization": f"bearer {OTHER_KEY}"},
        {"X-API-Key": API_KEY},
        {"x-api-key": OTHER_KEY},
    ):
        assert (await api.get("/api/v1/journeys", headers=headers)).status == 200


async def test_health_and_openapi_need_no_key(api: Client) -> None:
    assert await (await api.get("/health")).json() == {"status": "ok"}
    assert (await api.get("/api/v1/openapi.json")).status == 200


async def test_malformed_json_is_400(api: Client) -> None:
    resp = await api.post("/api/v1/journeys", data=b'{"kind": "window",', headers=AUTH)
    assert (await error_of(resp, 400))["code"] == "malformed_json"
    empty = await api.post("/api/v1/journeys", data=b"", headers=AUTH)
    assert (await error_of(empty, 400))["code"] == "bad_request"


async def test_unknown_route_is_404_and_wrong_method_405(api: Client) -> None:
    assert (await error_of(await api.get("/api/v1/nowhere", headers=AUTH), 404))["code"] == "not_found"
    assert (await error_of(await api.get("/nowhere"), 404))["code"] == "not_found"
    missing = await api.get("/api/v1/journeys/j-0000", headers=AUTH)
    assert (await error_of(missing, 404))["code"] == "journey_not_found"
    resp = await api.delete("/api/v1/journeys", headers=AUTH)
    assert (await error_of(resp, 405))["code"] == "method_not_allowed"
    assert set(resp.headers["Allow"].split(",")) == {"GET", "POST"}


async def test_a_body_over_the_limit_is_413(api: Client) -> None:
    big = {"kind": "tasks", "task_ids": [f"task-{i:08d}" for i in range(6000)]}  # ~100 KB > the 64 KiB test limit
    resp = await api.post("/api/v1/journeys", json=big, headers=AUTH)
    error = await error_of(resp, 413)
    assert error["code"] == "payload_too_large" and error["details"] == {"limit": 64 * 1024}


async def test_a_chunked_body_over_the_limit_is_413(api: Client) -> None:
    async def chunks() -> Any:
        for _ in range(100):
            yield b" " * 1024

    resp = await api.post("/api/v1/journeys", data=chunks(), headers=AUTH)
    assert (await error_of(resp, 413))["code"] == "payload_too_large"


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({**WINDOW, "colour": "blue"}, ["window", "colour"]),
        ({**WINDOW, "from": "2026-01-02T00:00:00Z"}, ["window"]),
        ({**WINDOW, "from": "2026-01-01T00:00:00"}, ["window", "from"]),
        ({"kind": "tasks", "task_ids": []}, ["tasks", "task_ids"]),
        ({"kind": "tasks", "task_ids": ["ok", "no spaces"]}, ["tasks", "task_ids", 1]),
        ({"kind": "nightly"}, []),
        ({"kind": "reprocess", "pipeline_version": 2}, ["reprocess"]),
        ([1, 2], []),
    ],
)
async def test_an_invalid_body_is_422_with_the_location(api: Client, body: object, loc: list[object]) -> None:
    resp = await api.post("/api/v1/journeys", json=body, headers=AUTH)
    error = await error_of(resp, 422)
    assert error["code"] == "validation_failed"
    assert any(d["loc"][: len(loc)] == loc for d in error["details"]), error["details"]


async def test_too_many_task_ids_is_422(booted: Any) -> None:
    from aiohttp.test_utils import TestServer

    from api.app import create_app
    from tests.integration.api.conftest import api_config

    async with TestClient(TestServer(create_app(booted, api_config()))) as client:
        body = {"kind": "tasks", "task_ids": [f"t{i}" for i in range(10_001)]}
        error = await error_of(await client.post("/api/v1/journeys", json=body, headers=AUTH), 422)
        assert error["details"][0]["loc"] == ["tasks", "task_ids"]


async def test_an_old_pipeline_version_is_422_and_a_reprocess_window_starts_a_poll(api: Client) -> None:
    old = {"kind": "reprocess", "pipeline_version": 1, "task_ids": ["t1"]}
    assert (await error_of(await api.post("/api/v1/journeys", json=old, headers=AUTH), 422))["details"][0]["loc"] == [
        "pipeline_version"
    ]
    window = {"kind": "reprocess", "pipeline_version": 2, "window": {"from": WINDOW["from"], "to": WINDOW["to"]}}
    resp = await api.post("/api/v1/journeys", json=window, headers=AUTH)
    assert resp.status == 202, await resp.text()
    journey = await resp.json()
    assert (journey["kind"], journey["pipeline_version"]) == ("reprocess", 2)
    assert journey["params"]["reprocess_version"] == 2


async def test_an_invalid_idempotency_key_is_422(api: Client) -> None:
    resp = await api.post("/api/v1/journeys", json=WINDOW, headers={**AUTH, "Idempotency-Key": "x" * 300})
    assert (await error_of(resp, 422))["code"] == "invalid_idempotency_key"


async def test_keys_never_reach_the_logs(api: Client, capsys: pytest.CaptureFixture[str]) -> None:
    await api.get("/api/v1/journeys", headers={"Authorization": "Bearer not-the-key-777"})
    await api.get("/api/v1/journeys", headers={"X-API-Key": API_KEY})
    out = capsys.readouterr()
    assert "not-the-key-777" not in out.out + out.err and API_KEY not in out.out + out.err

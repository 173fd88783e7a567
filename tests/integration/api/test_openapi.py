"""The OpenAPI document is valid 3.1 and lists exactly the routes the app serves."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient
from openapi_spec_validator import OpenAPIV31SpecValidator

from api.app import create_app
from api.config import ApiConfig
from shared.config import Settings

Client = TestClient[web.Request, web.Application]


async def test_the_document_is_valid_openapi_3_1(api: Client) -> None:
    doc = await (await api.get("/api/v1/openapi.json")).json()
    assert doc["openapi"] == "3.1.0"
    OpenAPIV31SpecValidator(doc).validate()  # raises on the first problem


async def test_the_document_and_the_router_list_the_same_operations(api: Client, settings: Settings) -> None:
    doc: dict[str, Any] = await (await api.get("/api/v1/openapi.json")).json()
    documented = {(method.upper(), path) for path, ops in doc["paths"].items() for method in ops}
    app = create_app(settings, ApiConfig())
    served = {
        (route.method, route.resource.canonical)
        for route in app.router.routes()
        if route.resource is not None and route.method != "HEAD"
    }
    assert documented == served
    assert {
        ("GET", "/health"),
        ("GET", "/metrics"),
        ("POST", "/api/v1/journeys"),
        ("GET", "/api/v1/calls/{task_id}"),
    } <= served


async def test_requests_and_responses_point_at_the_models(api: Client) -> None:
    doc: dict[str, Any] = await (await api.get("/api/v1/openapi.json")).json()
    create = doc["paths"]["/api/v1/journeys"]["post"]
    body_ref = create["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = doc["components"]["schemas"][body_ref.rsplit("/", 1)[-1]]
    assert schema["discriminator"]["propertyName"] == "kind"
    window = doc["components"]["schemas"]["WindowJourneyCreate"]
    assert window["additionalProperties"] is False and {"from", "to", "kind"} <= set(window["required"])
    assert {"202", "401", "409", "413", "422"} <= set(create["responses"])
    assert {p["name"] for p in create["parameters"]} == {"Idempotency-Key"}
    listing = doc["paths"]["/api/v1/journeys"]["get"]
    assert {p["name"] for p in listing["parameters"]} == {"state", "limit", "cursor"}
    assert doc["paths"]["/health"]["get"]["security"] == []
    assert create["security"] == [{"bearerKey": ["operate"]}, {"headerKey": ["operate"]}]
    assert create["x-required-scope"] == "operate" and "Required scope: `operate`" in create["description"]
    assert listing["x-required-scope"] == "read" and "403" in listing["responses"]


async def test_every_bound_and_limit_answer_is_documented(api: Client) -> None:
    doc: dict[str, Any] = await (await api.get("/api/v1/openapi.json")).json()
    create = doc["paths"]["/api/v1/journeys"]["post"]["responses"]
    for bound in ("MAX_WINDOW_S", "MAX_LOOKBACK_S", "MAX_TASK_IDS"):
        assert f"CALLPIPE_JOURNEY_{bound}" in create["422"]["description"]
    assert "CALLPIPE_API_JOURNEY_CREATES_PER_MINUTE" in create["429"]["description"]
    assert create["429"]["headers"]["Retry-After"]["required"] is True
    assert create["202"]["headers"]["Location"]["required"] is True
    assert "cursor" in doc["paths"]["/api/v1/journeys"]["get"]["responses"]["422"]["description"]
    replay = doc["paths"]["/api/v1/dlq/{stage}/replay"]["post"]["responses"]
    assert {"202", "404", "422", "429"} <= set(replay) and "200" not in replay
    assert replay["429"]["headers"]["Retry-After"]["required"] is True
    job = doc["paths"]["/api/v1/dlq/replays/{replay_id}"]["get"]["responses"]
    assert set(job) >= {"200", "404"}
    assert set(doc["components"]["schemas"]["ReplayState"]["enum"]) == {
        "RUNNING",
        "SUCCEEDED",
        "FAILED",
        "INTERRUPTED",
    }

"""The license routes over HTTP: refused keys with their reason, activation, usage, 403 on new journeys."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from api.app import create_app
from queues.bootstrap import bootstrap
from shared.config import Settings
from shared.license.keys import generate_private_key
from tests.helpers import eventually
from tests.integration.api.conftest import AUTH, api_config
from tests.integration.license.conftest import DAY, issue

ORG = "org-lic"
Client = TestClient[web.Request, web.Application]


@pytest.fixture
async def licensed(settings: Settings, public_key: str) -> Settings:
    await bootstrap(settings, include_echo=False)
    return settings.model_copy(update={"wxcc_org_id": ORG, "license_public_key": public_key})


@pytest.fixture
async def api(licensed: Settings) -> AsyncIterator[Client]:
    async with TestClient(TestServer(create_app(licensed, api_config()))) as client:
        yield client


async def put_key(api: Client, key: str, **extra: str) -> tuple[int, dict[str, object]]:
    resp = await api.put("/api/v1/license", json={"key": key, **extra}, headers=AUTH)
    return resp.status, dict(await resp.json())


def _tamper(key: str) -> str:
    prefix, payload, sig = key.split(".")
    flipped = payload[:10] + ("A" if payload[10] != "A" else "B") + payload[11:]
    return f"{prefix}.{flipped}.{sig}"


async def test_an_org_without_a_key_runs_under_the_evaluation_license(api: Client) -> None:
    resp = await api.get("/api/v1/license", headers=AUTH)
    assert resp.status == 200
    body = await resp.json()
    assert body["state"] == "evaluation" and body["calls_per_month"] == 500
    assert body["remaining_calls"] == 500 and body["usage"]["analysed_calls"] == 0
    assert set(body["features"]) == {"analysis", "webhooks", "mcp", "console"}


async def test_unusable_keys_are_refused_with_their_reason_and_nothing_is_stored(
    api: Client, vendor_key: Ed25519PrivateKey
) -> None:
    now = time.time()
    good = issue(vendor_key, [ORG])
    cases = {
        "forged": (issue(generate_private_key(), [ORG]), "license_invalid"),
        "tampered": (_tamper(good), "license_invalid"),
        "truncated": (good[: len(good) - 12], "license_invalid"),
        "garbage": ("hello, I am a license", "license_invalid"),
        "wrong org": (issue(vendor_key, ["another-org"]), "license_wrong_org"),
        "expired": (issue(vendor_key, [ORG], expires_at=now - 2 * DAY, grace_days=1), "license_expired"),
        "not yet valid": (issue(vendor_key, [ORG], not_before=now + DAY), "license_not_yet_valid"),
    }
    for name, (key, code) in cases.items():
        status, body = await put_key(api, key)
        assert status == 422, (name, body)
        assert body["error"]["code"] == code, (name, body)  # type: ignore[index]
    state = await (await api.get("/api/v1/license", headers=AUTH)).json()
    assert state["state"] == "evaluation"


async def test_a_valid_key_is_activated_and_its_usage_shown(api: Client, vendor_key: Ed25519PrivateKey) -> None:
    key = issue(vendor_key, [ORG], calls=20, grace_days=5)
    wrapped = "\n".join(key[i : i + 60] for i in range(0, len(key), 60))  # pasted over several lines
    status, body = await put_key(api, wrapped)
    assert status == 200, body
    assert body["state"] == "active" and body["calls_per_month"] == 20 and body["remaining_calls"] == 20
    assert body["customer"] == "Acme Corp" and body["grace_days"] == 5 and body["held_calls"] == 0

    usage = await (await api.get("/api/v1/license/usage?months=3", headers=AUTH)).json()
    assert [m["analysed_calls"] for m in usage["months"]] == [0, 0, 0]
    assert usage["months"][0]["month"] == body["period"]
    bad = await api.get("/api/v1/license/usage?months=99", headers=AUTH)
    assert bad.status == 422

    resumed = await api.post("/api/v1/license/resume-held", headers=AUTH)
    assert resumed.status == 200 and (await resumed.json())["resumed"] == 0


async def test_without_a_public_key_keys_cannot_be_activated(settings: Settings, vendor_key: Ed25519PrivateKey) -> None:
    await bootstrap(settings, include_echo=False)
    unset = settings.model_copy(update={"wxcc_org_id": ORG})
    async with TestClient(TestServer(create_app(unset, api_config()))) as client:
        status, body = await put_key(client, issue(vendor_key, [ORG]))
    assert status == 409 and body["error"]["code"] == "license_not_configured"  # type: ignore[index]


async def test_an_expired_license_refuses_new_journeys_with_403(api: Client, vendor_key: Ed25519PrivateKey) -> None:
    status, _ = await put_key(api, issue(vendor_key, [ORG], expires_at=time.time() + 1.5))
    assert status == 200
    body = {"kind": "tasks", "task_ids": ["task-1", "task-2"]}

    async def expired() -> bool:
        return bool((await (await api.get("/api/v1/license", headers=AUTH)).json())["state"] == "expired")

    await eventually(expired, timeout=10, interval=0.2)
    resp = await api.post("/api/v1/journeys", json=body, headers=AUTH)
    assert resp.status == 403
    assert (await resp.json())["error"]["code"] == "license_expired"
    listing = await (await api.get("/api/v1/journeys", headers=AUTH)).json()
    assert listing["items"] == []

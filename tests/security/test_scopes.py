"""Every route of the route table x {no key, read, operate, admin, expired key} → the status the table implies, over
real HTTP. The table is generated from `api.app.app_routes()`, so a new route is covered the moment it is added, and
a route that is neither public nor declares its scope fails `test_every_route_declares_a_scope_or_is_public`."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from api.app import app_routes, create_app
from api.auth import hash_key
from api.config import ApiConfig, ApiKey
from api.routing import Route, Scope
from queues.bootstrap import bootstrap
from shared.config import Settings

Client = TestClient[web.Request, web.Application]

KEYS = {
    "read": "scope-read-key-5a1f0c",
    "operate": "scope-operate-key-77be2d",
    "admin": "scope-admin-key-0c93aa",
    "expired": "scope-expired-key-e41b09",
}
PRINCIPALS = ("none", "read", "operate", "admin", "expired")
_PARAM = re.compile(r"\{([^}/]+)\}")


def scoped_config(**overrides: object) -> ApiConfig:
    """Keys of each scope, and an expired admin key."""
    past = datetime.now(UTC) - timedelta(minutes=1)
    keys = [
        ApiKey(id=s, label=f"{s} key", hash=hash_key(KEYS[s]), scope=Scope(s)) for s in ("read", "operate", "admin")
    ]
    keys.append(
        ApiKey(id="expired", label="old admin key", hash=hash_key(KEYS["expired"]), scope=Scope.ADMIN, expires=past)
    )
    return ApiConfig(keys=keys, **overrides)  # type: ignore[arg-type]


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[Client]:
    await bootstrap(settings, include_echo=False)
    booted = settings.model_copy(update={"wxcc_org_id": "org-scopes"})
    async with TestClient(TestServer(create_app(booted, scoped_config()))) as client:
        yield client


def expected(route: Route, principal: str) -> str:
    """`pass` (authenticated and authorized: whatever the handler answers), `401`, `expired` or `403`."""
    if route.public:
        return "pass"
    if principal == "none":
        return "401"
    if principal == "expired":
        return "expired"
    assert route.scope is not None
    return "pass" if Scope(principal).includes(route.scope) else "403"


async def observed(api: Client, route: Route, principal: str) -> str:
    path = _PARAM.sub(lambda m: f"x-{m.group(1)}", route.path)
    headers = {} if principal == "none" else {"X-API-Key": KEYS[principal]}
    body: dict[str, object] | None = {} if route.method in ("POST", "PUT", "PATCH") else None
    async with api.request(route.method, path, headers=headers, json=body) as resp:
        if resp.status in (401, 403) and resp.content_type == "application/json":
            code = (await resp.json())["error"]["code"]  # a handler's own 401/403 (a webhook signature) is a pass
            return {"unauthorized": "401", "key_expired": "expired", "insufficient_scope": "403"}.get(code, "pass")
        return "pass"


def test_every_route_declares_a_scope_or_is_public() -> None:
    undeclared = [f"{r.method} {r.path}" for r in app_routes() if not r.public and r.scope is None]
    assert undeclared == [], "routes without a declared scope (Route(..., scope=Scope.…) or public=True)"


def test_mutating_routes_need_more_than_read() -> None:
    reading = [
        f"{r.method} {r.path}" for r in app_routes() if r.method != "GET" and not r.public and r.scope is Scope.READ
    ]
    assert reading == [], "a change needs the operate or admin scope"


async def test_every_route_answers_each_principal_as_its_scope_says(api: Client) -> None:
    routes = [r for r in app_routes() if r.public or r.scope is not None]
    want = {(r.method, r.path, p): expected(r, p) for r in routes for p in PRINCIPALS}
    got = {(r.method, r.path, p): await observed(api, r, p) for r in routes for p in PRINCIPALS}
    assert {k: v for k, v in got.items() if want[k] != v} == {}, "status differs from the route table"
    assert len(want) >= 5 * 20


async def test_a_missing_scope_is_a_403_naming_it(api: Client) -> None:
    resp = await api.post("/api/v1/journeys/j-1/cancel", headers={"X-API-Key": KEYS["read"]})
    assert resp.status == 403
    error = (await resp.json())["error"]
    assert error["code"] == "insufficient_scope" and "`operate`" in error["message"]
    assert error["details"] == {"required_scope": "operate", "scopes": ["read"]}
    expired = await api.get("/api/v1/journeys", headers={"Authorization": f"Bearer {KEYS['expired']}"})
    assert expired.status == 401 and (await expired.json())["error"]["details"] == {"key_id": "expired"}


async def test_two_keys_of_one_id_rotation_and_a_legacy_digest_keep_working(settings: Settings) -> None:
    await bootstrap(settings, include_echo=False)
    soon = datetime.now(UTC) + timedelta(hours=1)
    config = ApiConfig(
        key_hashes=[hash_key("legacy-key-123456")],
        keys=[
            ApiKey(
                id="ops-old",
                label="ops (rotating out)",
                hash=hash_key("old-ops-key-1"),
                scope=Scope.OPERATE,
                expires=soon,
            ),
            ApiKey(id="ops-new", label="ops", hash=hash_key("new-ops-key-2"), scope=Scope.OPERATE),
        ],
    )
    async with TestClient(TestServer(create_app(settings, config))) as api:
        for key, actor, scopes in (
            ("old-ops-key-1", "key:ops-old", ["read", "operate"]),
            ("new-ops-key-2", "key:ops-new", ["read", "operate"]),
            ("legacy-key-123456", f"key:legacy-{hash_key('legacy-key-123456')[:8]}", ["read", "operate", "admin"]),
        ):
            me = await (await api.get("/api/v1/whoami", headers={"X-API-Key": key})).json()
            assert (me["actor"], me["scopes"]) == (actor, scopes)
        assert (await api.get("/api/v1/audit", headers={"X-API-Key": "legacy-key-123456"})).status == 200
        assert (await api.get("/api/v1/whoami", headers={"X-API-Key": "legacy-key-1234567"})).status == 401


def test_duplicate_key_ids_and_naive_expiry_are_refused() -> None:
    digest = hash_key("k")
    with pytest.raises(ValueError, match="more than once"):
        ApiConfig(keys=[ApiKey(id="a", hash=digest, scope=Scope.READ), ApiKey(id="a", hash=digest, scope=Scope.ADMIN)])
    with pytest.raises(ValueError, match="time zone"):
        ApiKey(id="a", hash=digest, scope=Scope.READ, expires=datetime(2030, 1, 1))

"""The API serves a built console over HTTP: SPA fallback, cache headers, CSP, no path traversal, API untouched."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from api.app import create_app
from api.config import ApiConfig
from api.console import content_security_policy, recording_origins
from shared.config import Settings
from tests.integration.api.conftest import AUTH, api_config

Client = TestClient[web.Request, web.Application]
HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}  # a browser navigating
INDEX = b'<!doctype html><html><head><script type="module" src="/assets/index-3f2a9c.js"></script></head></html>'
SCRIPT = b"console.log('the app');\n"
SECRET = b"TOP-SECRET-OUTSIDE-THE-BUILD"
CLIENT_ROUTES = ["/", "/signin", "/calls", "/calls/task-42?from=2026-01-01&queue=sales", "/journeys/j-1", "/dlq"]


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    """A tiny build: index.html, a hashed script and stylesheet, a top-level icon; a secret next to (not in) it."""
    root = tmp_path / "dist"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_bytes(INDEX)
    (root / "assets" / "index-3f2a9c.js").write_bytes(SCRIPT)
    (root / "assets" / "index-77b1d0.css").write_text("body { margin: 0 }\n")
    (root / "favicon.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    (root / ".env").write_bytes(SECRET)
    (tmp_path / "secret.txt").write_bytes(SECRET)
    (root / "assets" / "leak.js").symlink_to(tmp_path / "secret.txt")
    return root


@pytest.fixture
async def site(booted: Settings, dist: Path) -> AsyncIterator[Client]:
    async with TestClient(TestServer(create_app(booted, api_config(console_dir=dist)))) as client:
        yield client


def assert_console_headers(resp: object, csp: str) -> None:
    headers = resp.headers  # type: ignore[attr-defined]
    assert headers["Content-Security-Policy"] == csp
    assert headers["X-Content-Type-Options"] == "nosniff"


async def test_client_routes_get_index_html_uncached(site: Client, booted: Settings) -> None:
    csp = content_security_policy(booted)
    for path in CLIENT_ROUTES:
        resp = await site.get(path, headers=HTML)
        assert resp.status == 200, path
        assert await resp.read() == INDEX
        assert resp.content_type == "text/html"
        assert resp.headers["Cache-Control"] == "no-cache"
        assert_console_headers(resp, csp)
    root = await site.get("/")  # `/` needs no Accept header: curl and health checks of the site get the page too
    assert root.status == 200 and await root.read() == INDEX


async def test_hashed_assets_cached_a_year_top_level_files_revalidated(site: Client, booted: Settings) -> None:
    script = await site.get("/assets/index-3f2a9c.js")
    assert script.status == 200 and await script.read() == SCRIPT
    assert script.content_type in ("text/javascript", "application/javascript")
    assert script.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert_console_headers(script, content_security_policy(booted))
    head = await site.head("/assets/index-77b1d0.css")
    assert head.status == 200 and head.content_type == "text/css" and "immutable" in head.headers["Cache-Control"]
    icon = await site.get("/favicon.svg")
    assert icon.status == 200 and icon.content_type == "image/svg+xml" and icon.headers["Cache-Control"] == "no-cache"


async def test_a_missing_asset_is_a_404_not_the_app(site: Client) -> None:
    for path in ("/assets/index-000000.js", "/assets/", "/assets/sub/x.css"):
        resp = await site.get(path, headers=HTML)
        assert resp.status == 404, path
        body = await resp.json()
        assert body["error"]["code"] == "not_found"


async def test_the_policy_is_strict_and_lets_audio_come_from_the_s3_endpoint(booted: Settings) -> None:
    csp = dict(d.split(" ", 1) for d in content_security_policy(booted).split("; "))
    for name in ("default-src", "script-src", "style-src", "connect-src"):
        assert csp[name] == "'self'", name
    assert csp["img-src"] == "'self' data:"
    assert csp["frame-ancestors"] == "'none'" and csp["base-uri"] == "'none'"
    endpoint = booted.endpoint_for("s3")
    assert endpoint and csp["media-src"] == f"'self' {endpoint.rstrip('/')}"
    aws = Settings(name_prefix="acme", aws_region="eu-west-1")  # real AWS: the bucket's virtual-hosted names
    assert recording_origins(aws) == [
        "https://acme-recordings.s3.amazonaws.com",
        "https://acme-recordings.s3.eu-west-1.amazonaws.com",
    ]
    own = aws.model_copy(update={"aws_endpoint_url_s3": "https://s3.internal.example:9000/base/"})
    assert recording_origins(own) == ["https://s3.internal.example:9000"]


async def test_api_routes_are_unaffected(site: Client) -> None:
    health = await site.get("/health", headers=HTML)
    assert health.status == 200 and (await health.json())["status"] == "ok"
    assert "Content-Security-Policy" not in health.headers
    unauthorised = await site.get("/api/v1/journeys", headers=HTML)
    assert unauthorised.status == 401 and (await unauthorised.json())["error"]["code"] == "unauthorized"
    listed = await site.get("/api/v1/journeys", headers={**HTML, **AUTH})
    assert listed.status == 200 and "items" in await listed.json()
    for path in ("/api/v1/nowhere", "/api", "/health/x", "/metrics/x"):
        resp = await site.get(path, headers=HTML)
        assert resp.status == 404 and (await resp.json())["error"]["code"] == "not_found", path
    # Not a browser: an unknown path keeps the API's JSON 404; other methods never get the app.
    nowhere = await site.get("/nowhere")
    assert nowhere.status == 404 and (await nowhere.json())["error"]["code"] == "not_found"
    posted = await site.post("/calls", headers=HTML)
    assert posted.status in (404, 405) and (await posted.json())["error"]["code"] in ("not_found", "method_not_allowed")
    openapi = await (await site.get("/api/v1/openapi.json")).json()
    assert not [p for p in openapi["paths"] if not p.startswith(("/api/", "/health", "/ready", "/metrics"))]


async def test_the_console_adds_no_route(booted: Settings, dist: Path) -> None:
    def served(app: web.Application) -> set[tuple[str, str]]:
        return {(r.method, r.resource.canonical) for r in app.router.routes() if r.resource is not None}

    with_console = create_app(booted, ApiConfig(console_dir=dist))
    without = create_app(booted, ApiConfig(console_dir=None))
    assert served(with_console) == served(without)


async def raw_get(site: Client, target: str) -> tuple[int, bytes]:
    """GET with the request target sent byte for byte (no client-side normalisation of `..` or escapes)."""
    server = site.server
    reader, writer = await asyncio.open_connection(server.host, server.port)
    try:
        request = f"GET {target} HTTP/1.1\r\nHost: x\r\nAccept: text/html\r\nConnection: close\r\n\r\n"
        writer.write(request.encode("latin-1"))
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(), timeout=10)
    finally:
        writer.close()
    status = int(raw.split(b" ", 2)[1])
    return status, raw


@pytest.mark.parametrize(
    "target",
    [
        "/../secret.txt",
        "/assets/../../secret.txt",
        "/assets/%2e%2e/%2e%2e/secret.txt",
        "/assets/..%2f..%2fsecret.txt",
        "/%2e%2e/secret.txt",
        "/assets/%2E%2E%2F%2E%2E%2Fsecret.txt",
        "/assets/..%5c..%5csecret.txt",
        "/assets/leak.js",
        "/.env",
        "/assets/%00index-3f2a9c.js",
        "//etc/passwd",
        "/assets//etc/passwd",
    ],
)
async def test_no_path_leaves_the_build(site: Client, target: str) -> None:
    status, raw = await raw_get(site, target)
    assert SECRET not in raw and b"root:" not in raw
    assert status in (200, 400, 404)
    if status == 200:  # a client route: the app's page, nothing else
        assert raw.endswith(INDEX)


async def test_without_a_build_the_console_is_off(
    booted: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CALLPIPE_API_CONSOLE_DIR", "")
    assert ApiConfig().console_dir is None
    monkeypatch.setenv("CALLPIPE_API_CONSOLE_DIR", str(tmp_path))  # a folder without index.html
    for config in (ApiConfig(), ApiConfig(console_dir=None)):
        async with TestClient(TestServer(create_app(booted, config))) as client:
            resp = await client.get("/", headers=HTML)
            assert resp.status == 404 and (await resp.json())["error"]["code"] == "not_found"

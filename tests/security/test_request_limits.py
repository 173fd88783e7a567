"""Size limits of the API as `callpipe api` serves it (`run_api`): bodies, headers and request lines over the limits
are refused with the JSON error shape, before authentication and without echoing what was sent."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from api.auth import hash_key
from api.config import ApiConfig
from api.server import MAX_LINE_BYTES, run_api
from queues.bootstrap import bootstrap
from shared.config import Settings
from tests.helpers import eventually

KEY = "limits-key-8f2d6c0a1e"
AUTH = {"Authorization": f"Bearer {KEY}"}
LIMIT = 16 * 1024


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    await bootstrap(settings, include_echo=False)
    port = _free_port()
    stop = asyncio.Event()
    config = ApiConfig(key_hashes=[hash_key(KEY)], max_body_bytes=LIMIT)
    booted = settings.model_copy(update={"wxcc_org_id": "org-limits"})
    server = asyncio.create_task(run_api(booted, "127.0.0.1", port, api_config=config, stop=stop))
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:

        async def up() -> bool:
            try:
                return (await http.get("/health")).status_code == 200
            except httpx.TransportError:
                return False

        await eventually(up, timeout=20, interval=0.05)
        yield http
    stop.set()
    await asyncio.wait_for(server, timeout=10)


def _error(resp: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["Content-Type"].startswith("application/json")
    body = resp.json()
    assert set(body) == {"error"} and body["error"]["code"] == code, body
    return dict(body["error"])


async def test_a_body_over_the_limit_is_413_with_or_without_a_key(api: httpx.AsyncClient) -> None:
    big = {"kind": "tasks", "task_ids": [f"task-{i:08d}" for i in range(2000)]}  # ~34 KB > 16 KiB
    for headers in (AUTH, {}):
        error = _error(await api.post("/api/v1/journeys", json=big, headers=headers), 413, "payload_too_large")
        assert error["details"] == {"limit": LIMIT}
    # Announced with Content-Length on a route that takes no body: refused before anything reads it.
    resp = await api.request("GET", "/api/v1/journeys", content=b"x" * (LIMIT + 1), headers=AUTH)
    _error(resp, 413, "payload_too_large")


async def test_a_chunked_body_over_the_limit_is_413(api: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(LIMIT // 1024 + 8):
            yield b" " * 1024

    _error(await api.post("/api/v1/journeys", content=chunks(), headers=AUTH), 413, "payload_too_large")


async def test_a_body_just_under_the_limit_is_read(api: httpx.AsyncClient) -> None:
    body = b'{"kind": "tasks", "task_ids": ["t-1"]}' + b" " * (LIMIT - 100)
    resp = await api.post("/api/v1/journeys", content=body, headers={**AUTH, "Content-Type": "application/json"})
    assert resp.status_code == 202, resp.text


@pytest.mark.parametrize("name", ["Authorization", "X-API-Key", "X-Anything"])
async def test_a_header_over_the_limit_is_400_json_and_not_echoed(api: httpx.AsyncClient, name: str) -> None:
    value = f"Bearer {KEY}" + "A" * MAX_LINE_BYTES
    error = _error(await api.get("/api/v1/journeys", headers={name: value}), 400, "request_too_large")
    assert error["details"] == {"limit": MAX_LINE_BYTES}
    assert KEY not in str(error) and "AAAA" not in str(error)
    assert (await api.get("/api/v1/journeys", headers=AUTH)).status_code == 200  # the server is unaffected


async def test_a_request_line_over_the_limit_is_400_json(api: httpx.AsyncClient) -> None:
    resp = await api.get("/api/v1/journeys", params={"cursor": "c" * (MAX_LINE_BYTES + 10)}, headers=AUTH)
    _error(resp, 400, "request_too_large")


async def test_garbage_instead_of_http_is_a_json_400(api: httpx.AsyncClient) -> None:
    url = httpx.URL(str(api.base_url))
    reader, writer = await asyncio.open_connection(url.host, url.port)
    writer.write(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not http at all\r\n\r\n")  # e.g. TLS to a plain port
    await writer.drain()
    response = await asyncio.wait_for(reader.read(), timeout=10)
    writer.close()
    head, _, body = response.partition(b"\r\n\r\n")
    assert head.split(b" ")[1] == b"400" and b"application/json" in head, response
    assert b'"code":"bad_request"' in body

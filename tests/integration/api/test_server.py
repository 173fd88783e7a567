"""`run_api` serves on a real port until its stop event, then closes cleanly."""

from __future__ import annotations

import asyncio
import socket

import aiohttp

from api.server import run_api
from shared.config import Settings
from tests.integration.api.conftest import api_config


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_run_api_serves_until_stopped(booted: Settings) -> None:
    port = free_port()
    stop = asyncio.Event()
    server = asyncio.create_task(run_api(booted, "127.0.0.1", port, api_config=api_config(), stop=stop))
    async with aiohttp.ClientSession() as session:
        for _ in range(100):
            try:
                async with session.get(f"http://127.0.0.1:{port}/ready") as resp:
                    assert resp.status == 200
                    break
            except aiohttp.ClientConnectorError:
                await asyncio.sleep(0.05)
        else:
            raise AssertionError("the API never started listening")
    stop.set()
    await asyncio.wait_for(server, timeout=10)

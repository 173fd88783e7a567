"""An API server over real HTTP on a throwaway, bootstrapped prefix of the local AWS endpoint."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from api.app import create_app
from api.auth import hash_key
from api.config import ApiConfig
from queues.bootstrap import bootstrap
from shared.config import Settings

API_KEY = "test-key-0123456789"
OTHER_KEY = "second-key-abcdef"
ORG = "org-api"
AUTH = {"Authorization": f"Bearer {API_KEY}"}


def api_config(**overrides: object) -> ApiConfig:
    return ApiConfig(key_hashes=[hash_key(API_KEY), hash_key(OTHER_KEY)], **overrides)  # type: ignore[arg-type]


@pytest.fixture
async def booted(settings: Settings) -> Settings:
    await bootstrap(settings, include_echo=False)
    return settings.model_copy(update={"wxcc_org_id": ORG})


@pytest.fixture
async def api(booted: Settings) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    async with TestClient(TestServer(create_app(booted, api_config(max_body_bytes=64 * 1024)))) as client:
        yield client

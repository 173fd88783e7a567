"""An expired license over the whole pipeline: new journeys get 403, calls already queued are held (not failed, not
lost) with the reason, the journey's status shows it, and a renewed key resumes them to the end."""

from __future__ import annotations

import time

from aiohttp.test_utils import TestClient, TestServer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from api.app import create_app
from queues.envelope import Kind
from shared.config import Settings
from shared.license.service import LicenseService
from tests.helpers import eventually
from tests.integration.api.conftest import AUTH, api_config
from tests.integration.license.conftest import issue
from tests.integration.license.test_quota import all_recorded
from tests.integration.pipeline.conftest import running_stack

CALLS = 6


async def test_queued_calls_are_held_under_an_expired_license_and_resume_under_a_renewed_one(
    settings: Settings, vendor_key: Ed25519PrivateKey, public_key: str
) -> None:
    stages = (Kind.POLL, Kind.FETCH)  # transcribe and analyze start once the license has expired
    async with running_stack(settings, all_recorded(CALLS), stages=stages, license_public_key=public_key) as stack:
        org = stack.sim.config.org_id
        s = stack.settings
        async with (
            stack.clients.dynamodb() as ddb,
            TestClient(TestServer(create_app(s, api_config()))) as api,
        ):
            service = LicenseService(s, ddb)
            await service.activate(org, issue(vendor_key, [org], calls=100, expires_at=time.time() + 3))
            now = stack.sim.state.clock.now_ms()
            journey = await stack.start(now - 2 * 3600 * 1000, now)

            async def fetched_and_expired() -> bool:
                status = await stack.journeys.status(journey.id)
                fetched = status is not None and status.count("fetch", "done") == CALLS
                return fetched and (await service.status(org)).state == "expired"

            await eventually(fetched_and_expired, timeout=60, interval=0.3)
            refused = await api.post("/api/v1/journeys", json={"kind": "tasks", "task_ids": ["t-1"]}, headers=AUTH)
            assert refused.status == 403
            assert (await refused.json())["error"]["code"] == "license_expired"

            stack.launch(Kind.TRANSCRIBE)
            stack.launch(Kind.ANALYZE)

            async def all_held() -> bool:
                return await service.table.count_held(org, journey.id) == CALLS

            await eventually(all_held, timeout=60, interval=0.3)
            assert {h.reason for h in await service.table.held(org)} == {"license_expired"}
            assert stack.openai.stats.completions == 0 and not stack.openai.stats.transcriptions_by_task
            shown = await (await api.get(f"/api/v1/journeys/{journey.id}", headers=AUTH)).json()
            assert shown["license"] == {
                "state": "expired",
                "warning": None,
                "held": CALLS,
                "reason": shown["license"]["reason"],
            }
            assert shown["journey"]["state"] == "RUNNING"

            renewed = await api.put("/api/v1/license", json={"key": issue(vendor_key, [org], calls=100)}, headers=AUTH)
            assert renewed.status == 200, await renewed.text()
            done = await stack.finished(journey, timeout=90)
            assert done.count("analyze", "done") == CALLS and done.count("analyze", "failed") == 0
            assert (await service.usage(org, 1))[0].analysed_calls == CALLS

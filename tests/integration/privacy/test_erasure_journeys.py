"""Erasing a call the license held (over the wire, the whole pipeline): its journey's `held` counter goes back down,
the call counts as erased, and the journey completes with the calls that were analysed."""

from __future__ import annotations

from api.models import StageCounters
from shared.config import Settings
from shared.license.keys import generate_private_key, public_key_text
from shared.privacy.jobs import ErasureRequest
from shared.tracking import CallStatus
from tests.helpers import eventually
from tests.integration.license.conftest import issue
from tests.integration.license.test_quota import all_recorded, licensing
from tests.integration.pipeline.conftest import running_stack
from tests.integration.privacy.test_erasure import _erase

CALLS, LICENSED = 3, 2


async def test_erasing_a_held_call_lets_its_journey_complete(settings: Settings) -> None:
    vendor_key = generate_private_key()
    async with running_stack(settings, all_recorded(CALLS), license_public_key=public_key_text(vendor_key)) as stack:
        org = stack.sim.config.org_id
        now = stack.sim.state.clock.now_ms()
        async with stack.clients.dynamodb() as ddb:
            service = licensing(stack, ddb)
            await service.activate(org, issue(vendor_key, [org], calls=LICENSED))
            journey = await stack.start(now - 2 * 3600 * 1000, now)

            async def one_held() -> bool:
                status = await stack.journeys.status(journey.id)
                return (
                    status is not None
                    and status.count("analyze", "done") == LICENSED
                    and len(await service.table.held(org)) == CALLS - LICENSED
                )

            await eventually(one_held, timeout=60, interval=0.5)
            (held,) = await service.table.held(org)
            counts = await _erase(stack, ErasureRequest(task_ids=[held.task_id]))
            assert counts["calls"] == 1 and counts["license_items"] >= 1
            assert await service.table.held(org) == []

        status = await stack.finished(journey, timeout=30)
        assert status.count(held.stage, "held") == 0 and status.count(held.stage, "erased") == 1
        assert status.terminal == status.discovered == CALLS
        shown = StageCounters.model_validate(status.counters[held.stage])  # what the journey API answers
        assert shown.erased == 1 and shown.held == 0
        row = await stack.tracking.get(org, held.task_id)
        assert row is not None and row.status is CallStatus.ERASED

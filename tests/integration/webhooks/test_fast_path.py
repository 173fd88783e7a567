"""Webhooks end to end: the simulator subscribes (via `callpipe webhooks register`) and pushes capture:available
with 20 % lost, 20 % duplicated, reordered, delayed, badly signed and replayed deliveries; the API's receiver claims
under the live journey, the reconciliation poll finds what was lost, and every recorded call is analysed once."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestServer

from api.app import create_app
from api.config import ApiConfig
from cli.webhooks import register, subscriptions_api
from shared.config import Settings
from shared.journeys import JourneyStatus, live_journey_id
from shared.tracking import CallStatus
from simulator.wxcc.config import SimulatorConfig
from tests.helpers import eventually
from tests.integration.pipeline.conftest import Stack, running_stack

PATH = "/api/v1/webhooks/wxcc"


def faulty_webhooks(now_ms: int) -> SimulatorConfig:
    """~20 short calls ending over the next ~15 s (most of them after the subscription is made)."""
    return SimulatorConfig(
        calls=18,
        seed=31,
        window_start_ms=now_ms - 6_000,
        window_end_ms=now_ms + 5_000,
        duration_scale=0.025,
        abandoned_fraction=0.1,
        unrecorded_fraction=0.1,
        consult_fraction=0.1,
        capture_pending_fraction=0,
        availability_delay_s=1,
        webhook_tick_s=0.1,
        webhook_lost_fraction=0.2,
        webhook_duplicate_fraction=0.2,
        webhook_reorder=True,
        webhook_delay_fraction=0.2,
        webhook_delay_s=1.5,
        webhook_bad_signature_fraction=0.15,
        webhook_replay_fraction=0.15,
    )


@pytest.fixture
async def stack(settings: Settings) -> AsyncIterator[Stack]:
    async with running_stack(settings, faulty_webhooks(int(time.time() * 1000))) as running:
        yield running


@pytest.fixture
async def receiver(stack: Stack) -> AsyncIterator[str]:
    """The API on a real port; its URL of the receiver."""
    server = TestServer(create_app(stack.settings, ApiConfig(key_hashes=["0" * 64])))
    await server.start_server()
    try:
        yield str(server.make_url(PATH))
    finally:
        await server.close()


async def test_every_recorded_call_is_analysed_once_whether_its_webhook_arrived_or_the_poll_found_it(
    stack: Stack, receiver: str
) -> None:
    sim = stack.sim.state
    subscription = await register(stack.settings, url=receiver, name="callpipe test", allow_http=True)
    async with subscriptions_api(stack.settings) as api:
        assert [s.id for s in await api.list()] == [subscription.id]

    delay_ms = round(sim.config.availability_delay_s * 1000)
    last_available = max(c.recordings_available_from(delay_ms) or 0 for c in sim.calls.values())

    def all_delivered() -> bool:
        return sim.clock.now_ms() > last_available + 500 and sim.webhooks.pending == 0

    await eventually(all_delivered, timeout=60, interval=0.2)
    log = sim.webhooks.log
    via_webhook = set(log.accepted_tasks)
    recorded = {c.task_id for c in sim.calls.values() if c.recordings and c.capture_requested}
    assert log.events["lost"] and log.events["duplicated"] and log.events["bad_signature"] and log.events["replayed"]
    assert via_webhook < recorded, "some webhooks should have been missed"
    assert log.statuses["bad_signature:401"] == log.events["bad_signature"]  # refused, never retried
    assert log.statuses["replay:401"] == log.events["replayed"]
    assert not [k for k in log.statuses if k.endswith((":500", ":503", ":0"))], log.statuses

    live_id = live_journey_id(sim.config.org_id)

    async def live_done() -> bool:
        status = await stack.journeys.status(live_id)
        return status is not None and status.count("analyze", "done") == len(via_webhook)

    await eventually(live_done, timeout=90, interval=0.5)

    # Reconciliation: the scheduled poll journey over the window catches what the webhooks missed.
    start = min(c.ended_ms for c in sim.calls.values()) - 1000
    reconciliation = await stack.finished(await stack.start(start, sim.clock.now_ms()), timeout=120)
    live = await stack.journeys.status(live_id)
    assert isinstance(live, JourneyStatus) and live.journey.state.value == "RUNNING" and live.journey.kind == "live"

    assert live.count("poll", "queued") == len(via_webhook), (log.statuses, log.events)  # found by webhooks
    assert reconciliation.count("poll", "queued") == len(recorded - via_webhook)  # found by the poll
    assert reconciliation.count("poll", "skipped_duplicate") == len(via_webhook)  # seen, not taken twice
    for task_id in recorded:
        row = await stack.tracking.get(sim.config.org_id, task_id)
        assert row is not None and row.status is CallStatus.ANALYZED, (task_id, row)
        assert row.journey_id == (live_id if task_id in via_webhook else reconciliation.journey.id)
    assert stack.openai.stats.completions == len(recorded)  # exactly once
    assert set(stack.openai.stats.transcriptions_by_task) == recorded

    async with subscriptions_api(stack.settings) as api:
        await api.delete(subscription.id)
        assert await api.list() == []

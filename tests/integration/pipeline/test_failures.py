"""Calls that cannot complete end FAILED with their reason and a dead letter; expired URLs are fetched again."""

from __future__ import annotations

import httpx

from shared.config import Settings
from shared.tracking import CallStatus
from simulator.wxcc.config import SimulatorConfig
from tests.helpers import receive_all
from tests.integration.pipeline.conftest import running_stack


async def test_a_recording_that_never_appears_fails_the_call_after_the_max_age(settings: Settings) -> None:
    config = SimulatorConfig(calls=3, seed=4)
    async with running_stack(settings, config, capture_max_age_s=3, capture_min_wait_s=0) as stack:
        journey = await stack.start_tasks("no-such-task")
        status = await stack.finished(journey, timeout=60)
        assert (status.count("fetch", "failed"), status.terminal, status.discovered) == (1, 1, 1)
        row = await stack.tracking.get(stack.sim.config.org_id, "no-such-task")
        assert row is not None and row.status is CallStatus.FAILED
        assert row.error and "no recording available" in row.error
        assert stack.sim.state.capture_queries["no-such-task"] >= stack.settings.capture_min_attempts
        [failure] = await stack.journeys.jobs(journey.id, outcome="failed")
        assert failure["stage"] == "fetch" and "no recording" in failure["reason"]
        async with stack.clients.sqs() as sqs:
            dlq = (await sqs.get_queue_url(QueueName=f"{stack.settings.name_prefix}-fetch-dlq"))["QueueUrl"]
            [dead] = await receive_all(sqs, dlq, expected=1)
        attributes = dead["MessageAttributes"]
        assert attributes["error_type"]["StringValue"] == "Permanent"  # type: ignore[index]
        assert "no recording available" in attributes["error_message"]["StringValue"]  # type: ignore[index]


async def test_an_expired_recording_url_is_fetched_again_with_a_fresh_one(settings: Settings) -> None:
    config = SimulatorConfig(calls=6, seed=8, availability_delay_s=0, capture_pending_fraction=0, duration_scale=0.1)
    async with running_stack(settings, config) as stack:
        recorded = next(c for c in stack.sim.state.calls.values() if c.recordings and c.capture_requested)
        async with httpx.AsyncClient() as http:
            await http.post(
                stack.sim.url("/api/v1/simulator/faults"),
                json={"rules": [{"kind": "expired_url", "endpoints": ["captures"], "count": 1}]},
            )
        status = await stack.finished(await stack.start_tasks(recorded.task_id), timeout=60)
        assert status.count("analyze", "done") == 1
        async with httpx.AsyncClient() as http:
            stats = (await http.get(stack.sim.url("/api/v1/simulator/stats"))).json()
        assert stats["faults"]["expired_url"] == 1
        assert stats["requests"]["captures"] == 2, "the expired URL was not replaced by a new captures query"

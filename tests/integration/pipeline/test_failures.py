"""Calls that cannot complete end FAILED with their reason and a dead letter (or SKIPPED when no recording was
expected); the wait for a recording gets its minimum tries; expired URLs are fetched again."""

from __future__ import annotations

import re
import time

import httpx

from shared.config import Settings
from shared.tracking import CallStatus
from simulator.wxcc.config import SimulatorConfig
from tests.helpers import receive_all
from tests.integration.pipeline.conftest import running_stack

HOUR_MS = 3_600_000


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


def _old_calls(**overrides: object) -> SimulatorConfig:
    """Calls that ended two hours ago (past a 60 s max age) whose captures are never listed within a test."""
    now = int(time.time() * 1000)
    values: dict[str, object] = {
        "calls": 4,
        "seed": 3,
        "window_start_ms": now - 3 * HOUR_MS,
        "window_end_ms": now - 2 * HOUR_MS,
        "duration_scale": 0.05,
        "capture_pending_fraction": 0,
        "unrecorded_fraction": 0,
        "abandoned_fraction": 0,
        "availability_delay_s": 0,
        "captures_listed_from_query": 1000,
        **overrides,
    }
    return SimulatorConfig.model_validate(values)


async def test_an_old_call_fails_only_after_the_minimum_attempts_and_wait_since_the_first_query(
    settings: Settings,
) -> None:
    async with running_stack(
        settings, _old_calls(), capture_max_age_s=60, capture_min_attempts=2, capture_min_wait_s=4
    ) as stack:
        now = int(time.time() * 1000)
        calls = stack.sim.state.ended_between(now - 4 * HOUR_MS, now)
        assert calls and all(c.capture_requested and c.capture_flag_set for c in calls)
        status = await stack.finished(await stack.start(now - 4 * HOUR_MS, now), timeout=60)
        assert status.count("fetch", "failed") == len(calls)
        failures = await stack.journeys.jobs(status.journey.id, outcome="failed", limit=100)
        assert len(failures) == len(calls)
        for failure in failures:
            waited = re.search(r"\((\d+) captures queries over (\d+) s\)", failure["reason"])
            assert waited is not None, failure["reason"]
            assert int(waited.group(1)) >= 2 and int(waited.group(2)) >= 4, failure["reason"]
            task_id = failure["sk"].removeprefix("JOB#")
            assert stack.sim.state.capture_queries[task_id] == int(waited.group(1))


async def test_a_call_whose_capture_flag_is_never_set_and_has_no_recording_is_skipped_not_failed(
    settings: Settings,
) -> None:
    config = _old_calls(null_capture_fraction=1.0)
    async with running_stack(settings, config, capture_max_age_s=60, capture_min_wait_s=0) as stack:
        now = int(time.time() * 1000)
        calls = stack.sim.state.ended_between(now - 4 * HOUR_MS, now)
        assert calls and all(not c.capture_flag_set for c in calls)
        status = await stack.finished(await stack.start(now - 4 * HOUR_MS, now), timeout=60)
        assert status.count("fetch", "skipped") == len(calls)
        assert status.count("fetch", "failed") == 0 and status.terminal == status.discovered == len(calls)
        for call in calls:
            row = await stack.tracking.get(stack.sim.config.org_id, call.task_id)
            assert row is not None and row.status is CallStatus.SKIPPED
            assert row.error and row.error.startswith("no recording: captureRequested was never set")
            assert stack.sim.state.capture_queries[call.task_id] >= stack.settings.capture_min_attempts
        skipped = await stack.journeys.jobs(status.journey.id, outcome="skipped", limit=100)
        assert {j["stage"] for j in skipped} == {"fetch"} and len(skipped) == len(calls)

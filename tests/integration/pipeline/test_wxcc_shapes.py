"""Calls as a WXCC server that is not the project's simulator shapes them (issue 19): every recorded call is fetched
exactly once and the journey completes without waiting for the capture max age.

* `captureRequested: null` with recordings (search mode), and null flags that later turn out false;
* a backfill older than the capture max age whose captures appear on the third query;
* tasks mode: tasks still active at poll time end later, no `lastUpdatedTime` taken for the end, and the poll's
  rechecks send no second fetch message for a call an earlier pass claimed;
* a consult leg cut short: the retry downloads only that leg.
"""

from __future__ import annotations

import time

import httpx
import pytest

from queues.envelope import Kind
from shared.config import Settings
from shared.tracking import CallStatus
from simulator.wxcc.config import SimulatorConfig
from simulator.wxcc.generator import Call
from simulator.wxcc.state import SimulatorState
from tests.helpers import depth, eventually
from tests.integration.pipeline.conftest import Stack, running_stack, sim_config

HOUR_MS = 3_600_000


def _recorded(calls: list[Call]) -> set[str]:
    return {c.task_id for c in calls if c.capture_requested and c.recordings}


def _downloads(state: SimulatorState, task_ids: set[str]) -> dict[str, int]:
    """Downloads of every recording of these calls, by recording id."""
    return {leg.id: state.leg_downloads[leg.id] for t in task_ids for leg in state.calls[t].recordings}


async def _polled(stack: Stack, journey_id: str) -> None:
    async def no_pending_window() -> bool:
        status = await stack.journeys.status(journey_id)
        return status is not None and status.pending_polls == 0

    await eventually(no_pending_window, timeout=60, interval=0.3)


async def test_null_capture_flags_go_to_fetch_which_stores_their_recordings_or_learns_false(settings: Settings) -> None:
    config = SimulatorConfig(
        calls=14,
        seed=15,
        window_hours=0.5,
        duration_scale=0.05,
        unrecorded_fraction=0.3,
        abandoned_fraction=0.1,
        consult_fraction=0.3,
        capture_pending_fraction=0.5,
        capture_pending_s=3600,  # the pending flags stay null until the test moves the simulator's clock
        null_capture_fraction=0.35,
        availability_delay_s=0,
    )
    async with running_stack(settings, config) as stack:
        state = stack.sim.state
        org = stack.sim.config.org_id
        now = state.clock.now_ms()
        calls = state.ended_between(now - HOUR_MS, now)
        recorded = _recorded(calls)
        never_set = {c.task_id for c in calls if not c.capture_flag_set}
        null_then_false = {c.task_id for c in calls if not c.capture_requested and c.capture_requested_at(now) is None}
        assert never_set and null_then_false and never_set <= recorded, "the seed lacks the shapes under test"

        journey = await stack.start(now - HOUR_MS, now)
        await _polled(stack, journey.id)  # at once: the window is not kept open for the unknown flags
        for task_id in never_set | null_then_false:
            row = await stack.tracking.get(org, task_id)
            assert row is not None and row.facts.get("capture_requested", "absent") is None, (task_id, row)

        # The pending flags become known (false, or true with the recordings listed from then on).
        async with httpx.AsyncClient() as http:
            await http.post(stack.sim.url("/api/v1/simulator/clock"), json={"advanceS": 3600})
        status = await stack.finished(journey, timeout=120)

        assert status.count("fetch", "done") == status.count("analyze", "done") == len(recorded)
        assert status.count("fetch", "failed") == 0
        assert status.count("fetch", "skipped") == len(null_then_false)
        assert status.terminal == status.discovered == len(calls)
        assert set(_downloads(state, recorded).values()) == {1}, "a recording was downloaded twice"
        for task_id in never_set:
            row = await stack.tracking.get(org, task_id)
            assert row is not None and row.status is CallStatus.ANALYZED, (task_id, row)
        for task_id in null_then_false:
            row = await stack.tracking.get(org, task_id)
            assert row is not None and row.status is CallStatus.SKIPPED, (task_id, row)
            assert row.error == "recording not requested (captureRequested: false)"


async def test_a_backfill_older_than_the_max_age_waits_for_captures_listed_on_the_third_query(
    settings: Settings,
) -> None:
    now = int(time.time() * 1000)
    config = SimulatorConfig(
        calls=5,
        seed=3,
        window_start_ms=now - 3 * HOUR_MS,
        window_end_ms=now - 2 * HOUR_MS,
        duration_scale=0.05,
        capture_pending_fraction=0,
        availability_delay_s=0,
        captures_listed_from_query=3,
    )
    # Every call ended two hours ago, far past the 60 s max age; the minimum attempts (3) still apply.
    async with running_stack(settings, config, capture_max_age_s=60) as stack:
        state = stack.sim.state
        calls = state.ended_between(now - 4 * HOUR_MS, now)
        recorded = _recorded(calls)
        assert recorded and stack.settings.capture_min_attempts == 3
        status = await stack.finished(await stack.start(now - 4 * HOUR_MS, now), timeout=90)
        assert status.count("fetch", "failed") == 0
        assert status.count("analyze", "done") == len(recorded)
        assert {t: state.capture_queries[t] for t in recorded} == dict.fromkeys(recorded, 3)
        assert set(_downloads(state, recorded).values()) == {1}


@pytest.mark.slow  # ~30 s of rechecks: `make test-slow`
async def test_tasks_mode_keeps_active_tasks_and_its_rechecks_send_no_second_fetch(settings: Settings) -> None:
    now = int(time.time() * 1000)
    config = SimulatorConfig(
        calls=10,
        seed=1,
        window_start_ms=now - 30_000,
        window_end_ms=now,
        duration_scale=0.06,
        abandoned_fraction=0.1,
        capture_pending_fraction=0,
        availability_delay_s=0,
    )
    # Only the poll stage at first: the fetch queue then holds exactly what poll sent.
    async with running_stack(settings, config, stages=(Kind.POLL,), wxcc_find_calls="tasks") as stack:
        state = stack.sim.state
        org = stack.sim.config.org_id
        start = state.clock.now_ms()
        calls = list(state.calls.values())
        active = {c.task_id for c in calls if c.ended_ms > start}
        assert active and len(active) < len(calls), "the seed lacks ended and still-active tasks at the start"
        journey = await stack.start(start - HOUR_MS, start)
        await _polled(stack, journey.id)
        assert state.stats.requests["tasks"] >= 2, "the still-active tasks were not looked at again"
        polled = await stack.journeys.status(journey.id)
        assert polled is not None
        queued = int(polled.count("poll", "queued"))
        assert queued == len(_recorded(calls))
        async with stack.clients.sqs() as sqs:
            fetch_queue = (await sqs.get_queue_url(QueueName=f"{stack.settings.name_prefix}-fetch"))["QueueUrl"]
            assert await depth(sqs, fetch_queue) == queued, "a recheck sent a claimed call's fetch again"

        for kind in (Kind.FETCH, Kind.TRANSCRIBE, Kind.ANALYZE):
            stack.launch(kind)
        status = await stack.finished(journey, timeout=120)
        recorded = _recorded(calls)
        assert status.discovered == len(calls)
        assert status.count("analyze", "done") == len(recorded)
        assert set(_downloads(state, recorded).values()) == {1}
        for task_id in recorded:
            row = await stack.tracking.get(org, task_id)
            assert row is not None and "ended_ms" not in row.facts, "lastUpdatedTime was taken for the end time"
            assert row.facts["status"] == "completed"


async def test_a_retry_after_a_cut_consult_leg_downloads_only_that_leg(settings: Settings) -> None:
    async with running_stack(settings, sim_config()) as stack:
        state = stack.sim.state
        now = state.clock.now_ms()
        call = next(
            c
            for c in state.calls.values()
            if len(c.recordings) == 2 and (c.recordings_available_from(80_000) or now + 1) <= now
        )
        main, consult = call.recordings
        async with httpx.AsyncClient() as http:
            response = await http.post(
                stack.sim.url(f"/api/v1/simulator/recordings/{consult.id}/truncate"), json={"count": 1}
            )
            assert response.status_code == 200
        status = await stack.finished(await stack.start_tasks(call.task_id), timeout=90)
        assert status.count("analyze", "done") == 1
        assert (state.leg_downloads[main.id], state.leg_downloads[consult.id]) == (1, 2)
        row = await stack.tracking.get(stack.sim.config.org_id, call.task_id)
        assert row is not None and [k["recording_id"] for k in row.recording_keys] == [main.id, consult.id]

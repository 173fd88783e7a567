"""A backlog of 200 fetches through the real fetch stage costs about one captures request per 10 calls.

WXCC allows 300 requests/minute per client, and captures queries are most of what callpipe sends, so how full the
batches are bounds how many calls an hour callpipe can take. The figure is what the simulator served, not a timing.
"""

from __future__ import annotations

import time

from queues.envelope import Kind
from shared.config import Settings
from simulator.wxcc.config import SimulatorConfig
from tests.helpers import eventually
from tests.integration.pipeline.conftest import running_stack

HOUR_MS = 3_600_000


def backlog_config(calls: int) -> SimulatorConfig:
    """Short recorded calls that all ended two hours ago, every recording available."""
    end = int(time.time() * 1000) - 2 * HOUR_MS
    return SimulatorConfig(
        calls=calls,
        seed=41,
        window_start_ms=end - HOUR_MS,
        window_end_ms=end,
        duration_scale=0.02,
        abandoned_fraction=0,
        unrecorded_fraction=0,
        consult_fraction=0,
        capture_pending_fraction=0,
        availability_delay_s=0,
    )


async def test_a_backlog_of_200_fetches_costs_at_most_015_captures_requests_per_call(settings: Settings) -> None:
    config = backlog_config(200)
    # The production default of handlers per worker; one fetch worker takes the whole backlog.
    async with running_stack(settings, config, stages=(Kind.POLL,), consumer_concurrency=10) as stack:
        now = stack.sim.state.clock.now_ms()
        journey = await stack.start(now - 4 * HOUR_MS, now)

        async def polled() -> bool:
            status = await stack.journeys.status(journey.id)
            return status is not None and status.count("poll", "queued") == 200

        await eventually(polled, timeout=60, interval=0.5)
        assert stack.sim.state.stats.requests["captures"] == 0, "poll asked for captures"
        stack.launch(Kind.FETCH)  # the 200 fetch messages wait in the queue: a backlog

        async def fetched() -> bool:
            assert all(not w.done() for w in stack.workers), "a stage worker crashed"
            status = await stack.journeys.status(journey.id)
            return status is not None and status.count("fetch", "done") == 200

        await eventually(fetched, timeout=240, interval=0.5)
        requests = stack.sim.state.stats.requests["captures"]
    per_call = requests / 200
    assert per_call <= 0.15, f"{requests} captures requests for 200 fetches"

"""The poll stage: large windows are split into smaller ones and every call is still found exactly once."""

from __future__ import annotations

from shared.config import Settings
from simulator.wxcc.config import SimulatorConfig
from tests.integration.pipeline.conftest import running_stack


async def test_a_large_window_is_split_and_each_call_is_found_once(settings: Settings) -> None:
    config = SimulatorConfig(
        calls=12, seed=13, window_hours=3, duration_scale=0.05, availability_delay_s=0, capture_pending_fraction=0
    )
    async with running_stack(settings, config, poll_max_window_s=1800) as stack:
        now = stack.sim.state.clock.now_ms()
        start = now - 4 * 3600 * 1000
        calls = stack.sim.state.ended_between(start, now)
        status = await stack.finished(await stack.start(start, now), timeout=120)
        searches = stack.sim.state.stats.requests["search"]
    assert status.discovered == len(calls)
    assert status.count("poll", "skipped_duplicate") == 0
    assert status.terminal == status.discovered
    assert searches >= 8, "a 4-hour window in 30-minute parts needs at least 8 searches"

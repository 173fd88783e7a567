"""Reprocessing a window with a new pipeline version re-analyses every analysed call once, without transcribing."""

from __future__ import annotations

from api.start import JourneyRequest, start_journey
from shared.config import Settings
from shared.tracking import CallStatus
from simulator.wxcc.config import SimulatorConfig
from tests.integration.pipeline.conftest import running_stack


async def test_a_reprocess_window_reanalyses_each_analysed_call_once(settings: Settings) -> None:
    config = SimulatorConfig(
        calls=8, seed=31, window_hours=1, duration_scale=0.08, availability_delay_s=0, capture_pending_fraction=0
    )
    async with running_stack(settings, config) as stack:
        org = stack.sim.config.org_id
        now = stack.sim.state.clock.now_ms()
        start = now - 2 * 3600 * 1000
        first = await stack.finished(await stack.start(start, now))
        analysed = int(first.count("analyze", "done"))
        transcriptions = sum(stack.openai.stats.transcriptions_by_task.values())
        assert analysed > 0 and stack.openai.stats.completions == analysed

        request = JourneyRequest(org, from_ms=start, to_ms=now, reprocess_version=2)
        again = await stack.finished(await start_journey(stack.journeys, stack.producer, request))
        assert again.count("poll", "queued") == analysed
        assert again.count("analyze", "done") == analysed
        assert stack.openai.stats.completions == 2 * analysed
        assert sum(stack.openai.stats.transcriptions_by_task.values()) == transcriptions, "transcribed again"

        twice = await stack.finished(await start_journey(stack.journeys, stack.producer, request))
        assert twice.count("poll", "queued") == 0, "the same version must not re-analyse again"
        assert stack.openai.stats.completions == 2 * analysed

        for call in stack.sim.state.ended_between(start, now):
            row = await stack.tracking.get(org, call.task_id)
            if row is not None and row.status is CallStatus.ANALYZED:
                assert row.pipeline_version == 2 and (row.analysis_key or "").endswith(".v2.json")

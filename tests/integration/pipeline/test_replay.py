"""A failed stage's dead letters, replayed once the cause is fixed, complete every call exactly once."""

from __future__ import annotations

from queues.directory import QueueDirectory
from queues.dlq import replay, tracking_reopener
from queues.envelope import Kind
from shared.config import Settings
from shared.resources import DataResources
from shared.tracking import CallStatus
from simulator.wxcc.config import SimulatorConfig
from tests.helpers import depth, eventually
from tests.integration.pipeline.conftest import running_stack


async def test_dead_lettered_transcriptions_replayed_after_the_outage_complete_exactly_once(settings: Settings) -> None:
    config = SimulatorConfig(
        calls=6, seed=17, window_hours=1, duration_scale=0.06, availability_delay_s=0, capture_pending_fraction=0
    )
    # Two receives, then SQS dead-letters: an OpenAI outage longer than the retries turns into dead letters.
    async with running_stack(settings.model_copy(update={"max_receive_count": 2}), config) as stack:
        stack.openai.faults.server_error_next = 10_000
        org = stack.sim.config.org_id
        now = stack.sim.state.clock.now_ms()
        start = now - 2 * 3600 * 1000
        recorded = {
            c.task_id for c in stack.sim.state.ended_between(start, now) if c.recordings and c.capture_requested
        }
        journey = await stack.start(start, now)
        async with stack.clients.sqs() as sqs, stack.clients.dynamodb() as ddb:
            urls = await QueueDirectory(sqs, stack.settings.name_prefix).urls(Kind.TRANSCRIBE)

            async def all_dead() -> bool:
                return await depth(sqs, urls.dlq_url) == len(recorded)

            await eventually(all_dead, timeout=90, interval=0.5)
            for task_id in recorded:
                row = await stack.tracking.get(org, task_id)
                assert row is not None and row.status is CallStatus.FETCHED, "an outage must not lose the fetch"
            assert stack.openai.stats.completions == 0

            stack.openai.faults.server_error_next = 0  # the outage is over
            data = DataResources(stack.settings.name_prefix)
            hook = tracking_reopener(ddb, data.tracking_table.name, data.journeys_table.name, Kind.TRANSCRIBE)
            counts = await replay(sqs, urls, journey_id=journey.id, before_send=hook)
            assert counts.moved == len(recorded)
            status = await stack.finished(journey, timeout=90)
            assert await depth(sqs, urls.dlq_url) == 0
        assert status.count("analyze", "done") == len(recorded)
        assert stack.openai.stats.completions == len(recorded), "a call was analysed twice"
        assert set(stack.openai.stats.transcriptions_by_task) == recorded

"""A transcription retried after a failure sends OpenAI only the chunks it has not got back yet."""

from __future__ import annotations

from shared.config import Settings
from shared.resources import DataResources
from shared.tracking import CallStatus
from simulator.wxcc.config import SimulatorConfig
from tests.helpers import eventually
from tests.integration.pipeline.conftest import running_stack


async def test_a_retried_call_does_not_pay_again_for_chunks_already_transcribed(settings: Settings) -> None:
    config = SimulatorConfig(
        calls=4,
        seed=5,
        window_hours=1,
        duration_scale=0.06,
        availability_delay_s=0,
        capture_pending_fraction=0,
        abandoned_fraction=0,
        unrecorded_fraction=0,
        consult_fraction=0,
    )
    # One chunk at a time, so the call's two channels (one chunk each) reach the fake one after the other.
    async with running_stack(settings, config, transcription_concurrency=1, backoff_base_s=1) as stack:
        org = stack.sim.config.org_id
        call = next(c for c in stack.sim.state.calls.values() if c.recordings and c.capture_requested)
        task = call.task_id
        stack.openai.faults.delay_s = 0.5  # time to arm the fault below while the second chunk's request waits
        journey = await stack.start_tasks(task)

        def first_chunk_done() -> bool:
            return stack.openai.stats.transcriptions_by_task.get(task, 0) >= 1

        await eventually(first_chunk_done, timeout=60, interval=0.02)
        # The second channel's request and the SDK's two retries of it fail: the attempt fails after one chunk.
        stack.openai.faults.server_error_next = 3

        status = await stack.finished(journey, timeout=120)
        row = await stack.tracking.get(org, task)
        assert row is not None and row.status is CallStatus.ANALYZED
        assert stack.openai.stats.faults["server_error"] == 3, "the first attempt did not fail as arranged"
        # Two chunks, each billed once; without the checkpoint the retry would have sent the first chunk again.
        assert stack.openai.stats.transcriptions_by_task[task] == 2
        assert status.count("transcribe", "done") == 1
        async with stack.clients.s3() as s3:
            bucket = DataResources(stack.settings.name_prefix).results_bucket.name
            left = await s3.list_objects_v2(Bucket=bucket, Prefix="work/")
        assert left.get("KeyCount", 0) == 0, "checkpoints outlived the stored transcript"

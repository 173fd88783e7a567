"""A transcription retried after a failure sends OpenAI only the chunks it has not got back yet, and a failed attempt
keeps every answer already on its way."""

from __future__ import annotations

from shared.config import Settings
from shared.resources import DataResources
from shared.tracking import CallStatus
from simulator.wxcc.config import SimulatorConfig
from tests.helpers import eventually
from tests.integration.pipeline.conftest import running_stack


def _one_call_two_chunks() -> SimulatorConfig:
    return SimulatorConfig(
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


async def test_a_retried_call_does_not_pay_again_for_chunks_already_transcribed(settings: Settings) -> None:
    config = _one_call_two_chunks()
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


async def test_a_failing_chunk_does_not_abandon_the_answer_of_a_chunk_still_on_its_way(settings: Settings) -> None:
    """The customer's chunk fails (500, and the SDK's two retries) while the agent's chunk is still being answered.
    The attempt waits for the agent's answer and saves it before it fails, so the retry — which could start long before
    that answer arrives, the failed attempt having given its lease back — reuses it instead of paying for it again."""
    async with running_stack(settings, _one_call_two_chunks(), transcription_concurrency=2, backoff_base_s=1) as stack:
        org = stack.sim.config.org_id
        call = next(c for c in stack.sim.state.calls.values() if c.recordings and c.capture_requested)
        task = call.task_id
        stack.openai.faults.fail_uploads[f"{task}.main.customer."] = 3
        stack.openai.faults.slow_uploads[f"{task}.main.agent."] = 8.0
        journey = await stack.start_tasks(task)

        await stack.finished(journey, timeout=120)
        row = await stack.tracking.get(org, task)
        assert row is not None and row.status is CallStatus.ANALYZED
        assert stack.openai.stats.faults["server_error"] == 3, "the first attempt did not fail as arranged"
        billed = {name.split("|", 1)[1]: n for name, n in stack.openai.stats.chunks_billed.items()}
        assert billed == {f"{task}.main.customer.0.ogg": 1, f"{task}.main.agent.1.ogg": 1}, billed

"""Through the whole pipeline: customers read out card, email and phone details; the stored transcripts hold only
placeholders, the analysis model never receives a card number, and the call's counts are recorded."""

from __future__ import annotations

from shared.config import Settings
from shared.tracking import CallStatus
from shared.transcripts import Transcript
from simulator.wxcc.config import SimulatorConfig
from tests.integration.pipeline.conftest import running_stack


def sensitive_calls() -> SimulatorConfig:
    return SimulatorConfig(
        calls=6,
        seed=5,
        window_hours=1,
        duration_scale=0.3,
        abandoned_fraction=0,
        unrecorded_fraction=0,
        consult_fraction=0,
        outbound_fraction=0,
        capture_pending_fraction=0,
        availability_delay_s=0,
        sensitive_fraction=1.0,
    )


async def test_no_card_number_reaches_storage_or_the_model(settings: Settings) -> None:
    async with running_stack(settings, sensitive_calls()) as stack:
        org = stack.sim.config.org_id
        now = stack.sim.state.clock.now_ms()
        calls = [c for c in stack.sim.state.ended_between(now - 2 * 3600 * 1000, now) if c.recordings]
        said = {c.task_id: " ".join(t.text for leg in c.recordings for t in leg.script.turns) for c in calls}
        reading = {task for task, text in said.items() if "four one one one" in text}
        assert reading, "no simulated call reads a card number"
        status = await stack.finished(await stack.start(now - 2 * 3600 * 1000, now))
        assert status.count("analyze", "done") == len(calls)

        assert stack.openai.stats.completions >= len(calls)
        assert stack.openai.stats.unredacted_cards == 0
        async with stack.clients.s3() as s3:
            for task_id in reading:
                row = await stack.tracking.get(org, task_id)
                assert row is not None and row.status is CallStatus.ANALYZED
                obj = await s3.get_object(Bucket=f"{settings.name_prefix}-results", Key=row.transcript_key or "")
                transcript = Transcript.model_validate_json(await obj["Body"].read())
                text = " ".join(s.text for s in transcript.segments)
                assert "[CARD]" in text and "[EMAIL]" in text and "[PHONE]" in text and "[CVV]" in text, text
                assert "four one one one" not in text and "alex dot morgan" not in text
                assert transcript.redactions == {"CARD": 1, "CVV": 1, "EMAIL": 1, "EXPIRY": 1, "PHONE": 1}
                work = await s3.list_objects_v2(
                    Bucket=f"{settings.name_prefix}-results", Prefix=f"work/{org}/{task_id}/"
                )
                assert not work.get("Contents"), "a checkpoint with raw text outlived the step"

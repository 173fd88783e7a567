"""End to end: simulated calls through poll → fetch → transcribe → analyze, exactly once, speakers right."""

from __future__ import annotations

import httpx

from queues.envelope import Envelope, Kind
from shared.tracking import CallStatus
from shared.transcripts import Transcript
from tests.helpers import depth, eventually
from tests.integration.pipeline.conftest import Stack

SPEAKERS = {"customer": "customer", "agent": "agent", "colleague": "agent2"}


async def script_of(stack: Stack, task_id: str) -> dict[str, object]:
    async with httpx.AsyncClient() as http:
        return dict((await http.get(stack.sim.url(f"/api/v1/simulator/calls/{task_id}/script"))).json())


async def test_every_recorded_call_is_analysed_once_with_the_right_speakers(stack: Stack) -> None:
    org = stack.sim.config.org_id
    now = stack.sim.state.clock.now_ms()
    start = now - 2 * 3600 * 1000
    calls = stack.sim.state.ended_between(start, now)
    recorded = {c.task_id for c in calls if c.recordings and c.capture_requested}
    unrecorded = {c.task_id for c in calls} - recorded
    assert len(recorded) >= 15 and unrecorded, "the simulated mix lacks recorded or unrecorded calls"
    assert any(len(c.recordings) > 1 for c in calls), "no consult leg in the mix"

    journey = await stack.start(start, now)
    status = await stack.finished(journey)

    assert status.discovered == len(calls)
    assert status.count("analyze", "done") == len(recorded)
    assert status.count("fetch", "done") == status.count("transcribe", "done") == len(recorded)
    assert status.count("poll", "skipped") == len(unrecorded)
    assert status.terminal == status.discovered
    assert status.count("transcribe", "billed_audio_s") > 0

    async with stack.clients.s3() as s3:
        results = stack.settings.name_prefix + "-results"
        listing = await s3.list_objects_v2(Bucket=results, Prefix="analyses/")
        analyses = [o["Key"] for o in listing.get("Contents", [])]
        assert len(analyses) == len(recorded)
        for task_id in recorded:
            row = await stack.tracking.get(org, task_id)
            assert row is not None and row.status is CallStatus.ANALYZED, (task_id, row)
            assert row.analysis_key in analyses
            obj = await s3.get_object(Bucket=results, Key=row.transcript_key or "")
            transcript = Transcript.model_validate_json(await obj["Body"].read())
            script = await script_of(stack, task_id)
            said = {
                turn["text"]: SPEAKERS[rec["speakers"][str(turn["channel"])]]  # type: ignore[index]
                for rec in script["recordings"]  # type: ignore[attr-defined]
                for turn in rec["turns"]
            }
            assert transcript.segments, task_id
            for segment in transcript.segments:
                assert said[segment.text] == segment.speaker, (task_id, segment)
            assert len(transcript.segments) == len(said), f"{task_id}: not every utterance was transcribed"
    for task_id in unrecorded:
        row = await stack.tracking.get(org, task_id)
        assert row is not None and row.status is CallStatus.SKIPPED and row.error, (task_id, row)

    # Exactly once: one analysis request per recorded call.
    assert stack.openai.stats.completions == len(recorded)
    assert set(stack.openai.stats.transcriptions_by_task) == recorded


async def test_a_second_journey_and_redelivered_messages_do_no_new_work(stack: Stack) -> None:
    org = stack.sim.config.org_id
    now = stack.sim.state.clock.now_ms()
    start = now - 2 * 3600 * 1000
    first = await stack.finished(await stack.start(start, now))
    requests_before = sum(stack.openai.stats.requests.values())

    second = await stack.finished(await stack.start(start, now))
    assert second.count("poll", "skipped_duplicate") == first.discovered
    assert second.count("poll", "queued") == 0

    analysed = next(
        c.task_id for c in stack.sim.state.ended_between(start, now) if c.recordings and c.capture_requested
    )
    before = await stack.tracking.get(org, analysed)
    assert before is not None and before.status is CallStatus.ANALYZED
    ref = {"org_id": org, "task_id": analysed}
    await stack.send(
        *(
            Envelope(kind=k, journey_id=first.journey.id, task_id=analysed, payload=ref)
            for k in (Kind.FETCH, Kind.TRANSCRIBE, Kind.ANALYZE)
        )
    )

    async def drained() -> bool:
        async with stack.clients.sqs() as sqs:
            urls = [f"{stack.settings.name_prefix}-{k.value}" for k in (Kind.FETCH, Kind.TRANSCRIBE, Kind.ANALYZE)]
            totals = [await depth(sqs, (await sqs.get_queue_url(QueueName=u))["QueueUrl"]) for u in urls]
        return sum(totals) == 0

    await eventually(drained, timeout=30)
    after = await stack.tracking.get(org, analysed)
    assert after == before
    assert sum(stack.openai.stats.requests.values()) == requests_before

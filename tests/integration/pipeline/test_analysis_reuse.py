"""An analysis stored by a delivery that died before the call's row moved is reused by the retry, not paid again."""

from __future__ import annotations

from typing import Any

from shared.analysis import PROMPT_VERSION, CallAnalysis
from shared.analytics.store import AnalyticsStore
from shared.config import Settings
from shared.resources import DataResources
from shared.storage import Storage, analysis_key
from shared.tracking import CallStatus
from simulator.wxcc.config import SimulatorConfig
from tests.integration.pipeline.conftest import running_stack


def _document(task_id: str, org_id: str, model: str, prompt_version: str) -> dict[str, Any]:
    analysis = CallAnalysis(
        summary=f"stored before the crash: {task_id}",
        reason_for_call="billing",
        topics=["billing"],
        resolved=True,
        customer_sentiment="neutral",
        agent_sentiment="positive",
        action_items=[],
        qa_flags=[],
        language="en",
    )
    return {
        "task_id": task_id,
        "org_id": org_id,
        "pipeline_version": 1,
        "prompt_version": prompt_version,
        "model": model,
        "tokens": {"prompt": 100, "completion": 20},
        "analysis": analysis.model_dump(),
    }


async def test_a_retry_reuses_the_analysis_its_dead_predecessor_stored_and_only_that_one(settings: Settings) -> None:
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
    async with running_stack(settings, config) as stack:
        org = stack.sim.config.org_id
        now = stack.sim.state.clock.now_ms()
        recorded = [c for c in stack.sim.state.ended_between(now - 2 * 3600 * 1000, now) if c.recordings]
        reused, older = recorded[0], recorded[1]
        bucket = DataResources(stack.settings.name_prefix).results_bucket.name
        async with stack.clients.s3() as s3:
            storage = Storage(s3)
            # What a delivery leaves when it dies between storing its answer and moving the row: the stored analysis.
            for call, prompt in ((reused, PROMPT_VERSION), (older, "an-older-prompt")):
                key = analysis_key(org, call.ended_ms, call.task_id, 1)
                await storage.put_json(bucket, key, _document(call.task_id, org, stack.settings.analysis_model, prompt))
        status = await stack.finished(await stack.start(now - 2 * 3600 * 1000, now), timeout=150)
        async with stack.clients.dynamodb() as ddb:
            record = await AnalyticsStore(ddb, DataResources(stack.settings.name_prefix).analytics_table.name).get(
                org, reused.task_id
            )
        rows = {c.task_id: await stack.tracking.get(org, c.task_id) for c in recorded}
    assert status.count("analyze", "done") == len(recorded)
    assert all(row is not None and row.status is CallStatus.ANALYZED for row in rows.values())
    assert stack.openai.stats.completions_by_task[reused.task_id] == 0, "the stored answer was paid for again"
    assert stack.openai.stats.completions_by_task[older.task_id] == 1, "an analysis of another prompt was reused"
    assert all(stack.openai.stats.completions_by_task[c.task_id] == 1 for c in recorded[2:])
    assert record is not None and record.record.summary == f"stored before the crash: {reused.task_id}"

"""The OpenAI fake answers the analyze stage with each simulated call's true analysis, and that is what is stored."""

from __future__ import annotations

import httpx

from shared.analysis import CallAnalysis, user_prompt
from shared.config import Settings
from shared.storage import Storage
from shared.transcripts import Transcript
from simulator.openai_fake.app import MODELS, prompt_digest
from simulator.openai_fake.scenario import PROBLEMS, UNCLEAR_REASON, true_analysis
from simulator.wxcc.config import SimulatorConfig
from simulator.wxcc.generator import Call
from simulator.wxcc.state import SimulatorState
from tests.integration.pipeline.conftest import running_stack

LABELS = {"customer": "customer", "agent": "agent", "colleague": "agent2"}  # as the transcribe stage labels them


def dialogue_of(call: Call) -> str:
    """The call's lines as the analyze prompt carries them (`Transcript.as_dialogue`), in time order."""
    turns = [
        (leg.start_ms / 1000 - call.recordings[0].start_ms / 1000 + turn.start_s, LABELS[turn.speaker], turn.text)
        for leg in call.recordings
        for turn in leg.script.turns
    ]
    return "\n".join(f"[{int(t // 60):02}:{int(t % 60):02}] {who}: {text}" for t, who, text in sorted(turns))


def script_lines(call: Call) -> set[str]:
    return {turn.text for leg in call.recordings for turn in leg.script.turns}


def test_every_generated_call_has_a_true_analysis_of_its_own_scenario() -> None:
    state = SimulatorState(SimulatorConfig(calls=300, seed=17, consult_fraction=0.3, duration_scale=0.12))
    answered = [c for c in state.calls.values() if c.recordings]
    assert len(answered) > 150  # at the demo's scale: short calls, some cut before their resolution
    seen = {"resolved": 0, "unresolved": 0, "hold": 0, "negative": 0, "unclear": 0}
    for call in answered:
        truth = true_analysis(dialogue_of(call))
        assert truth is not None, call.task_id
        CallAnalysis.model_validate(truth)  # the analyze stage's schema, strictly
        reasons = {reason for reason, _ in PROBLEMS[call.topic]}
        if truth["reason_for_call"] == UNCLEAR_REASON:  # only a call cut to a couple of lines, whose words are shared
            assert len(script_lines(call)) <= 3 and not truth["resolved"], dialogue_of(call)
            seen["unclear"] += 1
        else:
            assert truth["reason_for_call"] in reasons, (call.topic, truth)
        lines = script_lines(call)
        for flag in truth["qa_flags"]:
            assert flag["evidence"] in lines, flag  # quotes a line that was said
        said_resolution = any(text in lines for text in _resolutions(call.topic))
        assert truth["resolved"] is said_resolution
        seen["resolved" if truth["resolved"] else "unresolved"] += 1
        seen["hold"] += any(f["flag"] == "customer_put_on_hold" for f in truth["qa_flags"])
        seen["negative"] += truth["customer_sentiment"] in ("negative", "very_negative")
    assert all(seen.values()), seen  # the demo shows a mix, not one answer for every call
    assert true_analysis("[00:01] customer: something the simulator never says") is None


def _resolutions(topic: str) -> tuple[str, ...]:
    from simulator.wxcc.dialogue import TOPICS

    return TOPICS[topic].resolution


async def test_the_stored_analysis_is_what_the_model_returned_and_the_scenario_truth(settings: Settings) -> None:
    sim = SimulatorConfig(
        calls=6,
        seed=9,
        window_hours=1,
        duration_scale=0.15,
        capture_pending_fraction=0,
        availability_delay_s=0,
        unrecorded_fraction=0,
        abandoned_fraction=0,
        consult_fraction=0.3,
    )
    async with running_stack(settings, sim) as stack:
        now = stack.sim.state.clock.now_ms()
        calls = stack.sim.state.ended_between(now - 2 * 3600 * 1000, now)
        status = await stack.finished(await stack.start(now - 2 * 3600 * 1000, now), timeout=120)
        assert status.count("analyze", "done") == len(calls) > 0
        bucket = f"{stack.settings.name_prefix}-results"
        async with stack.clients.s3() as s3:
            storage = Storage(s3)
            for call in calls:
                row = await stack.tracking.get(stack.sim.config.org_id, call.task_id)
                assert row is not None and row.analysis_key and row.transcript_key
                transcript = Transcript.model_validate(await storage.get_json(bucket, row.transcript_key))
                stored = (await storage.get_json(bucket, row.analysis_key))["analysis"]
                returned = stack.openai.stats.answers[prompt_digest(user_prompt(transcript.as_dialogue()))]
                assert stored == returned  # exactly what the model said, nothing lost or added
                assert stored == true_analysis(transcript.as_dialogue())
                assert stored["reason_for_call"] in {UNCLEAR_REASON} | {reason for reason, _ in PROBLEMS[call.topic]}
                assert all(flag["evidence"] in script_lines(call) for flag in stored["qa_flags"])
        assert stack.openai.stats.scenario_answers == len(calls)

        async with httpx.AsyncClient() as http:
            listed = (await http.get(f"{stack.openai.base_url}/models", headers={"Authorization": "Bearer x"})).json()
        assert listed["object"] == "list"
        assert {m["id"] for m in listed["data"]} == set(MODELS) >= {"whisper-1", "gpt-4o-mini"}
        assert all(m["object"] == "model" and m["owned_by"] == "callpipe-fake" for m in listed["data"])

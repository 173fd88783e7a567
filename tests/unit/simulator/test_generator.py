"""The call generator: deterministic per seed, with the mix of calls WXCC produces and coherent scripts."""

from __future__ import annotations

from simulator.wxcc.config import SimulatorConfig
from simulator.wxcc.generator import Call, generate_calls

DAY_MS = 86_400_000


def _calls(count: int = 200, **overrides: object) -> list[Call]:
    config = SimulatorConfig.model_validate({"consult_fraction": 0.4, **overrides})
    return generate_calls(config, batch=0, count=count, start_ms=DAY_MS, end_ms=2 * DAY_MS, first_serial=1)


def test_same_seed_same_calls_other_seed_other_calls() -> None:
    assert _calls(seed=3) == _calls(seed=3)
    assert [c.task_id for c in _calls(seed=3)] != [c.task_id for c in _calls(seed=4)]


def test_calls_are_sorted_inside_the_window_and_some_share_a_created_time() -> None:
    calls = _calls(same_created_fraction=0.2)
    created = [c.created_ms for c in calls]
    assert created == sorted(created)
    assert created[0] >= DAY_MS and created[-1] < 2 * DAY_MS
    assert len(set(created)) < len(created), "no two calls share a createdTime"
    assert len({c.task_id for c in calls}) == len(calls)


def test_the_mix_has_abandoned_outbound_unrecorded_and_consult_calls() -> None:
    calls = _calls(unrecorded_fraction=0.1)
    abandoned = [c for c in calls if c.abandoned]
    assert abandoned and all(c.agent is None and not c.recordings and not c.capture_requested for c in abandoned)
    assert all(c.status_at(c.ended_ms) == "abandoned" for c in abandoned)
    assert any(c.direction == "outbound" for c in calls)
    assert any(not c.abandoned and not c.capture_requested for c in calls)
    assert any(len(c.recordings) == 2 for c in calls)


def test_durations_follow_the_configured_range_and_scale() -> None:
    for scale in (1.0, 0.1):
        lengths = [c.recordings[0].duration_ms / 1000 for c in _calls(duration_scale=scale) if c.recordings]
        assert min(lengths) >= 3.0
        assert min(lengths) < 60 * scale + 10
        assert max(lengths) <= 360 * scale + 60  # a consult's hold adds to the planned length


def test_capture_requested_is_null_until_known() -> None:
    calls = _calls(capture_pending_fraction=1.0, capture_pending_s=120)
    call = next(c for c in calls if c.recordings)
    assert call.capture_requested_at(call.ended_ms - 1) is None
    assert call.capture_requested_at(call.ended_ms + 119_000) is None
    assert call.capture_requested_at(call.ended_ms + 120_000) is True
    assert call.recordings_available_from(delay_ms=30_000) == call.ended_ms + 120_000


def test_status_moves_from_queued_to_assigned_to_completed() -> None:
    call = next(c for c in _calls() if c.recordings)
    assert call.answered_ms is not None
    assert call.status_at(call.created_ms) == "queued"
    assert call.status_at(call.answered_ms) == "assigned"
    assert call.status_at(call.ended_ms) == "completed"
    assert call.last_updated_at(call.ended_ms + call.wrapup_ms) > call.ended_ms


def test_scripts_alternate_parties_without_overlap_inside_the_recording() -> None:
    tags: set[str] = set()
    for call in _calls():
        index = 0
        for leg in call.recordings:
            script = leg.script
            assert script.tag not in tags
            tags.add(script.tag)
            assert leg.duration_ms == round(script.duration_s * 1000)
            channels = {turn.channel for turn in script.turns}
            assert channels == {1, 2}, "both parties speak"
            previous_end = 0.0
            for turn in script.turns:
                assert turn.index == index and turn.code == f"{index:03d}"
                assert previous_end < turn.code_start_s < turn.start_s < turn.end_s < script.duration_s
                assert turn.speaker == script.speakers[turn.channel - 1]
                previous_end = turn.end_s
                index += 1


def test_a_consult_leg_happens_while_the_customer_holds() -> None:
    call = next(c for c in _calls() if len(c.recordings) == 2)
    main, consult = call.recordings
    assert (main.call_type, consult.call_type) == ("main", "consult")
    assert (consult.channel1, consult.channel2) == ("Agent", "Agent")
    assert main.script.hold_start_s is not None
    hold_start_ms = main.start_ms + main.script.hold_start_s * 1000
    back = next(t for t in main.script.turns if t.start_s > main.script.hold_start_s)
    assert hold_start_ms <= consult.start_ms and consult.stop_ms <= main.start_ms + back.code_start_s * 1000
    assert consult.script.turns[0].index == len(main.script.turns)


def test_later_batches_differ_but_are_reproducible() -> None:
    config = SimulatorConfig()
    first = generate_calls(config, batch=1, count=5, start_ms=0, end_ms=DAY_MS, first_serial=1)
    again = generate_calls(config, batch=1, count=5, start_ms=0, end_ms=DAY_MS, first_serial=1)
    other = generate_calls(config, batch=2, count=5, start_ms=0, end_ms=DAY_MS, first_serial=1)
    assert first == again
    assert {c.task_id for c in first}.isdisjoint({c.task_id for c in other})

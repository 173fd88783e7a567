"""Conversation metrics: exact on hand-made intervals, and close to the truth on synthetic calls run through
`prepare_call_audio` (the detector's frames and hangover are the only error)."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from shared.audio import PrepareOptions, prepare_call_audio
from shared.audio.conversation import conversation_metrics, merge, speech_from_spans
from shared.audio.models import Span
from tests.unit.audio.synth import write_call

PAD = 0.25
EDGE = 0.15  # per speech edge: a 20 ms frame, the onset frames and the 0.1 s hangover


def test_metrics_on_known_intervals() -> None:
    m = conversation_metrics(
        {"customer": [(1.0, 4.0), (9.0, 12.0)], "agent": [(3.5, 8.0), (12.0, 13.0)]},
        duration_s=20.0,
    )
    assert m.talk_s == {"customer": 6.0, "agent": 5.5}
    assert m.overtalk_s == 0.5  # 3.5-4.0
    # nobody speaks 0-1, 8-9 and 13-20
    assert m.silence_s == 9.0 and m.longest_silence_s == 7.0 and m.silence_ratio == 0.45
    assert m.agent_talk_ratio == round(5.5 / 11.5, 4)
    assert m.turns == 4  # customer, agent, customer, agent


def test_one_channel_has_no_overtalk_nor_agent_ratio() -> None:
    m = conversation_metrics({"mixed": [(0.0, 2.0), (2.0, 3.0)]}, duration_s=4.0)
    assert m.talk_s == {"mixed": 3.0} and m.overtalk_s is None and m.agent_talk_ratio is None and m.turns == 1


def test_silent_and_empty_calls() -> None:
    silent = conversation_metrics({"customer": [], "agent": []}, duration_s=10.0)
    assert silent.silence_s == 10.0 and silent.silence_ratio == 1.0 and silent.turns == 0
    assert silent.agent_talk_ratio is None and silent.overtalk_s == 0.0
    empty = conversation_metrics({}, duration_s=0.0)
    assert empty.silence_ratio == 0.0 and empty.longest_silence_s == 0.0


def test_three_parties_overlap_counts_once() -> None:
    m = conversation_metrics({"agent": [(0.0, 10.0)], "customer": [(2.0, 6.0)], "agent2": [(4.0, 8.0)]}, 10.0)
    assert m.overtalk_s == 6.0  # 2-8: at least two speak
    assert m.agent_talk_ratio == round(14.0 / 18.0, 4)


def test_speech_from_spans_removes_pads_and_joins_chunks() -> None:
    spans = [Span(0.0, 4.75, 2.0), Span(2.0, 6.75, 1.0), Span(0.0, 0.0, 1.5), Span(3.0, 19.0, 1.0)]
    # 4.75-7.75 is one kept stretch cut over two chunks; 0-1.5 starts at the recording's start; 19-20 reaches its end
    assert speech_from_spans(spans, pad_s=PAD, duration_s=20.0) == [(0.0, 1.25), (5.0, 7.5), (19.25, 20.0)]
    assert speech_from_spans(spans, pad_s=PAD, duration_s=20.0, offset_s=30.0)[1] == (35.0, 37.5)
    assert merge([(3.0, 4.0), (1.0, 2.0), (2.0, 2.5), (5.0, 5.0)]) == [(1.0, 2.5), (3.0, 4.0)]


CUSTOMER = [(2.0, 8.0), (20.0, 26.5), (40.0, 47.0)]
AGENT = [(7.0, 18.0), (30.0, 36.0), (50.0, 55.0)]  # 7-8: both talk
CALL_S = 60.0


@pytest.mark.parametrize("max_chunk_s", [1200.0, 5.0])
def test_metrics_from_prepared_audio_match_the_script(tmp_path: Path, max_chunk_s: float) -> None:
    path = write_call(tmp_path / "call.wav", CALL_S, CUSTOMER, AGENT)
    prepared = prepare_call_audio(
        path,
        tmp_path / "out",
        channel_labels=("customer", "agent"),
        options=PrepareOptions(pad_s=PAD, max_chunk_s=max_chunk_s),
    )
    speech = {
        ch.label: speech_from_spans(
            (s for c in ch.chunks for s in c.spans), pad_s=PAD, duration_s=prepared.source_duration_s
        )
        for ch in prepared.channels
    }
    assert len(speech["customer"]) == 3 and len(speech["agent"]) == 3
    found = speech["customer"] + speech["agent"]
    for (start, end), (want_start, want_end) in zip(found, CUSTOMER + AGENT, strict=True):
        assert abs(start - want_start) <= EDGE and abs(end - want_end) <= EDGE
    m = conversation_metrics(speech, prepared.source_duration_s)
    assert m.talk_s["customer"] == pytest.approx(19.5, abs=3 * 2 * EDGE)
    assert m.talk_s["agent"] == pytest.approx(22.0, abs=3 * 2 * EDGE)
    assert m.overtalk_s == pytest.approx(1.0, abs=2 * EDGE)
    # nobody: 0-2, 18-20, 26.5-30, 36-40, 47-50, 55-60 = 19.5 s; longest 55-60
    assert m.silence_s == pytest.approx(19.5, abs=12 * EDGE)
    assert m.longest_silence_s == pytest.approx(5.0, abs=2 * EDGE)
    assert m.turns == 6
    assert pickle.loads(pickle.dumps(m)) == m  # may come back from the audio process pool

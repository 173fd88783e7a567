"""Mapping chunk time back to call time."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.audio import Chunk, PreparedAudio, PreparedChannel, Span, to_call_time

# Kept: call 10.0-15.0, then (a silence dropped) call 42.0-50.0.
CHUNK = Chunk(Path("ch1-agent-000.ogg"), 13.0, [Span(0.0, 10.0, 5.0), Span(5.0, 42.0, 8.0)])


@pytest.mark.parametrize(
    ("t", "expected"),
    [(0.0, 10.0), (2.5, 12.5), (4.99, 14.99), (5.0, 42.0), (6.0, 43.0), (13.0, 50.0), (13.4, 50.4), (-0.2, 9.8)],
)
def test_to_call_time(t: float, expected: float) -> None:
    assert to_call_time(CHUNK, t) == pytest.approx(expected)
    assert CHUNK.to_call_time(t) == pytest.approx(expected)


def test_end_times_on_a_border_stay_in_the_earlier_span() -> None:
    assert to_call_time(CHUNK, 5.0, end=True) == pytest.approx(15.0)
    assert to_call_time(CHUNK, 5.0) == pytest.approx(42.0)
    assert to_call_time(CHUNK, 0.0, end=True) == pytest.approx(10.0)


def test_a_chunk_without_spans_cannot_map() -> None:
    with pytest.raises(ValueError, match="no spans"):
        to_call_time(Chunk(Path("x.ogg"), 0.0, []), 1.0)


def test_spans_are_plain_tuples() -> None:
    assert tuple(CHUNK.spans[1]) == (5.0, 42.0, 8.0)


def test_kept_ratio() -> None:
    prepared = PreparedAudio([PreparedChannel("agent", [CHUNK])], 26.0, 13.0)
    assert prepared.channels[0].kept_s == 13.0
    assert prepared.kept_ratio == 0.5
    assert PreparedAudio([], 0.0, 0.0).kept_ratio == 0.0

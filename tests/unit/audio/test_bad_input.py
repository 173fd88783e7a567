"""Recordings that cannot be used fail with AudioUnusable (a Permanent error) and leave no files behind."""

from __future__ import annotations

import os
import wave
from collections.abc import Callable
from pathlib import Path

import pytest

from shared.audio import AudioUnusable, prepare_call_audio
from shared.errors import Permanent
from tests.unit.audio.synth import channel_samples, write_call, write_wav


def empty_file(path: Path) -> None:
    path.write_bytes(b"")


def zero_length_wav(path: Path) -> None:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"")


def random_bytes(path: Path) -> None:
    path.write_bytes(os.urandom(64 * 1024))


def text_file(path: Path) -> None:
    path.write_text("<html><body>403 Forbidden</body></html>\n" * 50)


def truncated_header(path: Path) -> None:
    write_call(path, 2.0, [(0.5, 1.5)])
    path.write_bytes(path.read_bytes()[:30])


def playlist(path: Path) -> None:
    path.write_text("#EXTM3U\n#EXTINF:10,\nhttp://127.0.0.1:9/a.wav\n")


@pytest.mark.parametrize(
    "make",
    [empty_file, zero_length_wav, random_bytes, text_file, truncated_header, playlist],
    ids=lambda f: f.__name__,
)
def test_unusable_input(tmp_path: Path, make: Callable[[Path], None]) -> None:
    source = tmp_path / "recording.wav"
    make(source)
    out = tmp_path / "out"
    with pytest.raises(AudioUnusable) as caught:
        prepare_call_audio(source, out, channel_labels=("customer", "agent"))
    assert isinstance(caught.value, Permanent)
    assert caught.value.reason
    assert not out.exists() or list(out.iterdir()) == []


def test_more_than_two_channels(tmp_path: Path) -> None:
    channel = channel_samples(3.0, [(0.5, 2.5)], rate=8000)
    source = write_wav(tmp_path / "surround.wav", [channel, channel, channel], rate=8000)
    with pytest.raises(AudioUnusable, match="3 audio channels"):
        prepare_call_audio(source, tmp_path / "out", channel_labels=("customer", "agent"))


def test_missing_file_is_not_audio_unusable(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        prepare_call_audio(tmp_path / "nope.wav", tmp_path / "out", channel_labels=("customer", "agent"))


def test_garbage_after_a_valid_header_is_just_noise(tmp_path: Path) -> None:
    # A WAV header followed by junk decodes (as noise): kept, not a crash.
    source = write_call(tmp_path / "junk.wav", 1.0, [])
    source.write_bytes(source.read_bytes()[:44] + os.urandom(16000))
    prepared = prepare_call_audio(source, tmp_path / "out", channel_labels=("customer", "agent"))
    assert prepared.source_duration_s == pytest.approx(1.0, abs=0.01)

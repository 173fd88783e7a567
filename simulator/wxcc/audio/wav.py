"""16-bit PCM WAV files: build stereo from two channels, read one back, and know a file's size before building it."""

from __future__ import annotations

import array
import sys
import wave
from io import BytesIO

HEADER_BYTES = 44
"""What `wave` writes before the samples of a PCM file."""


def wav_size(n_frames: int, channels: int = 2) -> int:
    """Bytes of a 16-bit PCM WAV file holding `n_frames` frames."""
    return HEADER_BYTES + 2 * channels * n_frames


def stereo_wav(left: array.array[int], right: array.array[int], sample_rate: int) -> bytes:
    """A stereo 16-bit PCM WAV file: `left` is channel 1, `right` channel 2 (equal lengths)."""
    if len(left) != len(right):
        raise ValueError("both channels must have the same number of samples")
    frames = array.array("h", bytes(4 * len(left)))
    frames[0::2] = left
    frames[1::2] = right
    if sys.byteorder == "big":
        frames.byteswap()
    buf = BytesIO()
    with wave.open(buf, "wb") as wav:
        wav.setnchannels(2)
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        wav.writeframes(frames.tobytes())
    return buf.getvalue()


def read_wav(data: bytes) -> tuple[int, list[array.array[int]]]:
    """The sample rate and the samples of each channel of a 16-bit PCM WAV file."""
    with wave.open(BytesIO(data)) as wav:
        if wav.getsampwidth() != 2:
            raise ValueError("only 16-bit PCM WAV is supported")
        channels, rate = wav.getnchannels(), wav.getframerate()
        pcm = array.array("h")
        pcm.frombytes(wav.readframes(wav.getnframes()))
    if sys.byteorder == "big":
        pcm.byteswap()
    return rate, [pcm[c::channels] for c in range(channels)]

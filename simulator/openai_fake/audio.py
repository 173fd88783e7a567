"""Reads uploaded audio (any format PyAV decodes) and finds the simulator's DTMF codes in it, with their times."""

from __future__ import annotations

import io
from dataclasses import dataclass

import av

from simulator.wxcc.audio.dtmf import detect_dtmf

_RATE = 8000
_CODE_GAP_S = 0.25  # tones closer than this belong to one code


@dataclass(frozen=True)
class Code:
    """A run of DTMF digits and when it ended (seconds into the audio)."""

    digits: str
    start_s: float
    end_s: float


def decode_audio(data: bytes) -> tuple[bytes, float]:
    """16-bit mono PCM at 8 kHz and the duration in seconds; ValueError for anything that is not audio."""
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            stream = next(s for s in container.streams.audio)
            resampler = av.AudioResampler(format="s16", layout="mono", rate=_RATE)
            pcm = bytearray()
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    pcm += bytes(out.planes[0])[: out.samples * 2]
            for out in resampler.resample(None):
                pcm += bytes(out.planes[0])[: out.samples * 2]
    except (av.error.FFmpegError, StopIteration, UnicodeDecodeError) as exc:
        raise ValueError(f"not decodable audio: {exc}") from exc
    return bytes(pcm), len(pcm) / 2 / _RATE


def find_codes(pcm: bytes) -> list[Code]:
    """DTMF digit runs in the audio, in order."""
    codes: list[Code] = []
    for tone in detect_dtmf(pcm, _RATE):
        if codes and tone.start_s - codes[-1].end_s < _CODE_GAP_S:
            last = codes[-1]
            codes[-1] = Code(last.digits + tone.digit, last.start_s, tone.end_s)
        else:
            codes.append(Code(tone.digit, tone.start_s, tone.end_s))
    return codes

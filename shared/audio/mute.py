"""Silence time spans of a recording: decode it, zero the spans' samples (per channel or all), re-encode it as WAV."""

from __future__ import annotations

import itertools
from array import array
from collections.abc import Mapping, Sequence
from fractions import Fraction
from pathlib import Path

import av
import av.error
from av.audio.frame import AudioFrame
from av.audio.resampler import AudioResampler
from av.container import InputContainer, OutputContainer

from shared.audio.decode import MAX_CHANNELS
from shared.audio.errors import AudioUnusable

_OPEN_OPTIONS = {"protocol_whitelist": "file"}  # local files only, as in shared.audio.decode

ALL_CHANNELS: None = None
"""The key of spans to mute on every channel (a mono recording holds every speaker)."""

Spans = Mapping[int | None, Sequence[tuple[float, float]]]


def mute_spans(source: Path, target: Path, spans: Spans) -> float:
    """Write `source` to `target` as 16-bit PCM WAV, at the source's own sample rate and channels, with the samples
    of every span silenced: `spans` maps a channel index (0 = the first; `ALL_CHANNELS` = each) to (start, end)
    seconds from the recording's start. Returns the seconds of audio muted (per channel, summed)."""
    try:
        inp: InputContainer = av.open(str(source), "r", options=_OPEN_OPTIONS)
    except av.error.FFmpegError as exc:
        raise AudioUnusable(f"not a readable media file ({type(exc).__name__})") from exc
    with inp:
        if not inp.streams.audio:
            raise AudioUnusable("no audio stream")
        stream = inp.streams.audio[0]
        channels = stream.codec_context.layout.nb_channels
        if not 1 <= channels <= MAX_CHANNELS:
            raise AudioUnusable(f"{channels} audio channels; only mono or stereo is supported")
        rate = stream.codec_context.sample_rate
        layout = stream.codec_context.layout.name
        ranges = _sample_ranges(spans, channels, rate)
        out: OutputContainer = av.open(str(target), "w", format="wav")
        with out:
            ostream = out.add_stream("pcm_s16le", rate=rate, layout=layout)
            resampler = AudioResampler(format="s16", layout=layout, rate=rate)
            muted = 0
            position = 0
            frames = (f for packet in inp.demux(stream) for f in packet.decode() if isinstance(f, AudioFrame))
            for frame in itertools.chain(frames, [None]):
                for block in resampler.resample(frame):
                    n = block.samples
                    if n == 0:
                        continue
                    samples = array("h")
                    samples.frombytes(memoryview(block.planes[0])[: n * 2 * channels])
                    muted += _silence(samples, position, channels, ranges)
                    written = AudioFrame(format="s16", layout=layout, samples=n)
                    written.planes[0].update(samples.tobytes())
                    written.sample_rate = rate
                    written.time_base = Fraction(1, rate)
                    written.pts = position
                    position += n
                    for packet in ostream.encode(written):
                        out.mux(packet)
            for packet in ostream.encode(None):
                out.mux(packet)
    if position == 0:
        raise AudioUnusable("the recording holds no decodable audio samples")
    return muted / rate


def _sample_ranges(spans: Spans, channels: int, rate: int) -> list[tuple[int, int, int]]:
    """(channel, first sample, end sample) of every span, per channel it applies to."""
    ranges: list[tuple[int, int, int]] = []
    for channel, pieces in spans.items():
        targets = range(channels) if channel is None or channels == 1 else [channel]
        if channel is not None and not 0 <= channel < channels and channels > 1:
            raise ValueError(f"channel {channel} of a {channels}-channel recording")
        for start, end in pieces:
            first, last = max(0, round(start * rate)), max(0, round(end * rate))
            ranges.extend((c, first, last) for c in targets if last > first)
    return ranges


def _silence(samples: array[int], position: int, channels: int, ranges: list[tuple[int, int, int]]) -> int:
    """Zero the interleaved `samples` (frames from `position` on) inside `ranges`; how many samples were zeroed."""
    frames = len(samples) // channels
    zeroed = 0
    for channel, first, last in ranges:
        lo, hi = max(first, position) - position, min(last, position + frames) - position
        if hi <= lo:
            continue
        count = hi - lo
        samples[lo * channels + channel : hi * channels : channels] = array("h", bytes(2 * count))
        zeroed += count
    return zeroed

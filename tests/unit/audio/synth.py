"""Synthetic call recordings for the audio tests: noise bursts as "speech" at known times, faint hiss elsewhere."""

from __future__ import annotations

import math
import random
import wave
from array import array
from collections.abc import Sequence
from pathlib import Path

import av

Bursts = Sequence[tuple[float, float]]


def channel_samples(
    seconds: float, bursts: Bursts, *, rate: int, level: float = 6000.0, hiss: float = 15.0, seed: int = 0
) -> array[int]:
    """One channel: `hiss` (≈ -67 dBFS at 15) everywhere, gaussian noise at `level` RMS inside each burst."""
    rng = random.Random(seed)
    n = round(seconds * rate)
    noise = array("h", (_clip(rng.gauss(0.0, level)) for _ in range(rate)))
    floor = array("h", (_clip(rng.gauss(0.0, hiss)) for _ in range(rate)))
    out = (floor * (n // rate + 1))[:n]
    for start_s, end_s in bursts:
        start, end = round(start_s * rate), min(n, round(end_s * rate))
        pos = start
        while pos < end:
            take = min(end - pos, rate)
            offset = (pos * 7919) % rate  # vary the phase so repeated bursts are not identical
            piece = (noise[offset:] + noise[:offset])[:take]
            out[pos : pos + take] = piece
            pos += take
    return out


def tone_samples(seconds: float, freq: float, *, rate: int, level: float = 8000.0) -> array[int]:
    """A plain sine tone, `level` peak."""
    return array("h", (_clip(level * math.sin(2 * math.pi * freq * i / rate)) for i in range(round(seconds * rate))))


def write_wav(path: Path, channels: Sequence[array[int]], *, rate: int) -> Path:
    """Write 16-bit PCM WAV with one entry of `channels` per channel (equal lengths)."""
    n = len(channels[0])
    interleaved = array("h", bytes(2 * n * len(channels)))
    for index, samples in enumerate(channels):
        interleaved[index :: len(channels)] = samples
    with wave.open(str(path), "wb") as out:
        out.setnchannels(len(channels))
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(interleaved.tobytes())
    return path


def write_call(path: Path, seconds: float, customer: Bursts, agent: Bursts | None = None, *, rate: int = 8000) -> Path:
    """A stereo call (customer left, agent right), or mono when `agent` is None."""
    channels = [channel_samples(seconds, customer, rate=rate, seed=1)]
    if agent is not None:
        channels.append(channel_samples(seconds, agent, rate=rate, seed=2))
    return write_wav(path, channels, rate=rate)


def write_mp3(path: Path, samples: array[int], *, rate: int) -> Path:
    """Encode mono samples as MP3 with PyAV's bundled LAME, to test a compressed input."""
    with av.open(str(path), "w", format="mp3") as out:
        stream = out.add_stream("libmp3lame", rate=rate, layout="mono")
        stream.bit_rate = 64_000
        frame = av.AudioFrame(format="s16", layout="mono", samples=len(samples))
        frame.planes[0].update(samples.tobytes())
        frame.sample_rate = rate
        frame.pts = 0
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def decode_mono_16k(path: Path) -> tuple[array[int], dict[str, object]]:
    """Decode a prepared chunk back to 16 kHz int16 samples, plus what the file says about itself."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        ctx = stream.codec_context
        extradata = bytes(ctx.extradata or b"")
        info: dict[str, object] = {
            "format": container.format.name,
            "codec": ctx.name,
            "channels": ctx.layout.nb_channels,
            # OpusHead: magic(8) version(1) channels(1) pre-skip(2) input sample rate(4, little endian)
            "opus_head": extradata[:8],
            "opus_channels": extradata[9] if len(extradata) > 9 else None,
            "input_rate": int.from_bytes(extradata[12:16], "little") if len(extradata) >= 16 else None,
        }
        resampler = av.AudioResampler(format="s16", layout="mono", rate=16000)
        samples = array("h")
        for frame in container.decode(stream):
            for out in resampler.resample(frame):
                samples.frombytes(bytes(out.planes[0])[: out.samples * 2])
        for out in resampler.resample(None):
            samples.frombytes(bytes(out.planes[0])[: out.samples * 2])
    return samples, info


def onsets(
    samples: array[int], *, rate: int = 16000, threshold_dbfs: float = -40.0, quiet_s: float = 0.2
) -> list[float]:
    """Times where loud sound starts after at least `quiet_s` of quiet, at 10 ms resolution."""
    hop = rate // 100
    found: list[float] = []
    quiet = quiet_s * 100  # treat the very beginning as after a quiet stretch
    for i in range(0, len(samples) - hop + 1, hop):
        frame = samples[i : i + hop]
        power = sum(x * x for x in frame) / hop
        db = 10 * math.log10(power / 32768**2) if power else -100.0
        if db > threshold_dbfs:
            if quiet >= quiet_s * 100:
                found.append(i / rate)
            quiet = 0
        else:
            quiet += 1
    return found


def _clip(value: float) -> int:
    return max(-32768, min(32767, int(value)))

"""Turn a call recording into per-channel, silence-trimmed Ogg/Opus chunks ready for the transcription API."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from shared.audio.decode import AudioDecoder
from shared.audio.encode import DEFAULT_BITRATE, DEFAULT_COMPLEXITY, ChunkWriter
from shared.audio.errors import PreparationCancelled
from shared.audio.models import SAMPLE_RATE, PreparedAudio, PreparedChannel
from shared.audio.trim import SilenceTrimmer
from shared.audio.vad import EnergyVad, VadConfig
from shared.logging import get_logger

log = get_logger(__name__)

DEFAULT_MAX_CHUNK_S = 1200.0
DEFAULT_MAX_CHUNK_BYTES = 24 * 1024 * 1024
MIN_CHUNK_BYTES = 16 * 1024
MONO_LABEL = "mixed"


@dataclass(frozen=True)
class PrepareOptions:
    """How a recording is cut, trimmed and encoded (picklable, so a pool process gets the same options)."""

    mono_label: str = MONO_LABEL
    max_chunk_s: float = DEFAULT_MAX_CHUNK_S
    max_chunk_bytes: int = DEFAULT_MAX_CHUNK_BYTES
    min_silence_s: float = 1.0
    pad_s: float = 0.25
    bitrate: int = DEFAULT_BITRATE
    complexity: int = DEFAULT_COMPLEXITY
    vad: VadConfig | None = None


def prepare_call_audio(
    path: Path,
    out_dir: Path,
    *,
    channel_labels: Sequence[str],
    options: PrepareOptions | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> PreparedAudio:
    """Decode `path`, split its channels, drop long silences and encode what is left as chunks in `out_dir`.

    Stereo gives one channel per entry of `channel_labels` (first two used, in channel order); mono gives one channel
    labelled `options.mono_label`. Each channel is resampled to 16 kHz, its silences longer than `min_silence_s` are
    dropped (keeping `pad_s` next to speech), and the rest is encoded as Ogg/Opus at `bitrate` (libopus `complexity`)
    in chunks of at most `max_chunk_s` seconds and `max_chunk_bytes` bytes. The file is streamed: memory does not grow
    with its length.

    A channel with no speech gets no chunks. Raises `AudioUnusable` (a `Permanent` error) for an empty, corrupt or
    non-audio file, zero-length audio, or more than two channels; `PreparationCancelled` once `should_stop()` is true.
    Files written by a failed call are removed.
    """
    opts = options or PrepareOptions()
    _check_options(channel_labels, opts)
    started = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    with AudioDecoder(path) as decoder:
        labels = [opts.mono_label] if decoder.channels == 1 else list(channel_labels[:2])
        pipelines = [
            _ChannelPipeline(
                label,
                ChunkWriter(
                    out_dir,
                    f"ch{index + 1}-{_safe(label)}",
                    max_chunk_s=opts.max_chunk_s,
                    max_chunk_bytes=opts.max_chunk_bytes,
                    bitrate=opts.bitrate,
                    complexity=opts.complexity,
                ),
                vad=opts.vad,
                min_silence_s=opts.min_silence_s,
                pad_s=opts.pad_s,
            )
            for index, label in enumerate(labels)
        ]
        total = 0
        try:
            for block in decoder.blocks():
                if should_stop is not None and should_stop():
                    raise PreparationCancelled(f"preparing {path.name} was cancelled")
                for pipeline, samples in zip(pipelines, block, strict=True):
                    pipeline.push(samples)
                total += len(block[0])
            channels = [pipeline.finish() for pipeline in pipelines]
        except BaseException:
            for pipeline in pipelines:
                pipeline.abort()
            raise
        source_format = decoder.format_name
    source_s = total / SAMPLE_RATE
    prepared = PreparedAudio(channels, source_s, sum(channel.kept_s for channel in channels))
    log.info(
        "audio_prepared",
        source_format=source_format,
        source_s=round(source_s, 2),
        kept_s=round(prepared.kept_s, 2),
        kept_ratio=round(prepared.kept_ratio, 3),
        chunks={channel.label: len(channel.chunks) for channel in channels},
        elapsed_s=round(time.perf_counter() - started, 2),
    )
    return prepared


async def prepare_call_audio_async(
    path: Path, out_dir: Path, *, channel_labels: Sequence[str], options: PrepareOptions | None = None
) -> PreparedAudio:
    """`prepare_call_audio` in a worker thread, so the event loop keeps serving other messages meanwhile.

    Cancelling the awaiting task stops the thread at its next decoded frame and removes the files it wrote.
    """
    stop = threading.Event()
    try:
        return await asyncio.to_thread(
            prepare_call_audio, path, out_dir, channel_labels=channel_labels, options=options, should_stop=stop.is_set
        )
    except asyncio.CancelledError:
        stop.set()
        raise


class _ChannelPipeline:
    """One channel's path through detector → trimmer → chunk writer."""

    def __init__(
        self, label: str, writer: ChunkWriter, *, vad: VadConfig | None, min_silence_s: float, pad_s: float
    ) -> None:
        self.label = label
        self._vad = EnergyVad(vad)
        self._trimmer = SilenceTrimmer(min_silence_s=min_silence_s, pad_s=pad_s)
        self._writer = writer

    def push(self, samples: array[int]) -> None:
        for frame in self._vad.push(samples):
            for kept in self._trimmer.push(frame):
                self._writer.write(kept)

    def finish(self) -> PreparedChannel:
        for frame in self._vad.finish():
            for kept in self._trimmer.push(frame):
                self._writer.write(kept)
        for kept in self._trimmer.finish():
            self._writer.write(kept)
        return PreparedChannel(self.label, self._writer.finish())

    def abort(self) -> None:
        self._writer.abort()


def _check_options(channel_labels: Sequence[str], opts: PrepareOptions) -> None:
    if isinstance(channel_labels, str) or len(channel_labels) < 2 or not all(channel_labels[:2]):
        raise ValueError(f"channel_labels needs two non-empty labels, got {channel_labels!r}")
    if channel_labels[0] == channel_labels[1]:
        raise ValueError(f"channel_labels must differ, got {channel_labels!r}")
    if opts.max_chunk_s < 1:
        raise ValueError(f"max_chunk_s must be at least 1, got {opts.max_chunk_s}")
    if opts.max_chunk_bytes < MIN_CHUNK_BYTES:
        raise ValueError(f"max_chunk_bytes must be at least {MIN_CHUNK_BYTES}, got {opts.max_chunk_bytes}")
    if opts.min_silence_s < 0 or opts.pad_s < 0:
        raise ValueError("min_silence_s and pad_s must not be negative")
    if not 0 <= opts.complexity <= 10:
        raise ValueError(f"complexity must be 0-10, got {opts.complexity}")


def _safe(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", label).strip("._") or "channel"

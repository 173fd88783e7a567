"""Encode one channel's kept frames into Ogg/Opus chunk files that respect a duration and a size limit."""

from __future__ import annotations

import contextlib
from fractions import Fraction
from pathlib import Path

import av
from av.audio.frame import AudioFrame
from av.audio.stream import AudioStream
from av.container import OutputContainer

from shared.audio.models import SAMPLE_RATE, Chunk, Span
from shared.audio.vad import VadFrame
from shared.logging import get_logger

log = get_logger(__name__)

DEFAULT_BITRATE = 24_000
# libopus's complexity (0-10) trades encoder CPU for quality at a given bitrate. At 24 kb/s of 16 kHz speech, 1 costs
# 2.9 ms of CPU per audio second against 7.0 ms at libopus's default of 10 (measured here), and encoding was two-thirds
# of a transcribe worker's CPU; the speech-onset tests hold at every level.
DEFAULT_COMPLEXITY = 1
_TIME_BASE = Fraction(1, SAMPLE_RATE)
_FLUSH_BYTES = 2 * SAMPLE_RATE  # hand audio to the encoder a second at a time
_HEADER_BYTES = 4096  # OpusHead + OpusTags pages, generously
_CONTAINER_OVERHEAD = 1.05  # Ogg page headers and lacing: ~3 % at 20 ms packets, measured
_PAUSE_CUT_S = 0.15  # a kept pause at least this long is a good place to cut


class ChunkWriter:
    """Writes frames to `<stem>-000.ogg`, `<stem>-001.ogg`, … and records each chunk's spans of call time.

    A chunk is cut at the hard limits (`max_chunk_s` of audio, or the size estimate reaching `max_chunk_bytes` less a
    safety margin); within the last quarter (at most two minutes) before either limit it is cut at the first dropped
    silence or kept pause instead, so no word is split when it can be helped.
    """

    def __init__(
        self,
        out_dir: Path,
        stem: str,
        *,
        max_chunk_s: float,
        max_chunk_bytes: int,
        bitrate: int = DEFAULT_BITRATE,
        complexity: int = DEFAULT_COMPLEXITY,
        rate: int = SAMPLE_RATE,
    ) -> None:
        self._out_dir = out_dir
        self._stem = stem
        self._rate = rate
        self._bitrate = bitrate
        self._complexity = complexity
        self._max_samples = max(1, int(max_chunk_s * rate))
        self._soft_samples = self._max_samples - int(min(0.25 * max_chunk_s, 120.0) * rate)
        margin = min(max(64 * 1024, 5 * bitrate // 8), max_chunk_bytes // 4)
        self._byte_budget = max_chunk_bytes - margin
        self._soft_bytes = self._byte_budget - (self._byte_budget >> 2)
        self._max_chunk_bytes = max_chunk_bytes
        self._pause_cut = round(_PAUSE_CUT_S * rate)
        self._chunks: list[Chunk] = []
        self._written: list[Path] = []
        self._open: _OpenChunk | None = None

    @property
    def chunks(self) -> list[Chunk]:
        """The chunks closed so far."""
        return list(self._chunks)

    def write(self, frame: VadFrame) -> None:
        """Append a kept frame (frames must arrive in call order)."""
        current = self._open
        if current is not None and self._should_cut(current, frame):
            self._close(current)
            current = None
        if current is None:
            current = self._open = self._start()
        current.append(frame)
        if len(current.buffer) >= _FLUSH_BYTES:
            current.flush()

    def finish(self) -> list[Chunk]:
        """Close the last chunk; return every chunk in order."""
        if self._open is not None:
            self._close(self._open)
        return self.chunks

    def abort(self) -> None:
        """Close without finishing and delete every file written: used when preparation fails midway."""
        if self._open is not None:
            with contextlib.suppress(Exception):
                self._open.container.close()
            self._open = None
        for path in self._written:
            path.unlink(missing_ok=True)
        self._chunks.clear()

    def _should_cut(self, current: _OpenChunk, frame: VadFrame) -> bool:
        estimate = current.estimated_bytes(self._bitrate, self._rate)
        if current.samples + len(frame.samples) > self._max_samples or estimate >= self._byte_budget:
            return True
        if current.samples < self._soft_samples and estimate < self._soft_bytes:
            return False
        resumes_after_drop = frame.start != current.next_call_sample
        in_pause = not frame.speech and current.trailing_pause >= self._pause_cut
        return resumes_after_drop or in_pause

    def _start(self) -> _OpenChunk:
        path = self._out_dir / f"{self._stem}-{len(self._chunks):03d}.ogg"
        self._written.append(path)
        return _OpenChunk(path, self._rate, self._bitrate, self._complexity)

    def _close(self, current: _OpenChunk) -> None:
        self._open = None
        current.close()
        size = current.path.stat().st_size
        if size > self._max_chunk_bytes:
            # The estimate has a wide margin; if this ever fires the margin needs widening, not the upload retrying.
            log.error("audio_chunk_over_size_limit", path=current.path.name, size=size, limit=self._max_chunk_bytes)
        spans = [
            Span(start / self._rate, call / self._rate, length / self._rate) for start, call, length in current.spans
        ]
        self._chunks.append(Chunk(current.path, current.samples / self._rate, spans, size))


class _OpenChunk:
    """One Ogg/Opus file being written: the encoder, a small sample buffer, and the spans so far (in samples)."""

    def __init__(self, path: Path, rate: int, bitrate: int, complexity: int) -> None:
        self.path = path
        self.container: OutputContainer = av.open(str(path), "w", format="ogg")
        try:
            # "voip" tunes Opus for speech intelligibility; at 16 kHz and ~24 kb/s it codes wideband speech.
            self.stream: AudioStream = self.container.add_stream(
                "libopus",
                rate=rate,
                layout="mono",
                options={"application": "voip", "compression_level": str(complexity)},
            )
            self.stream.bit_rate = bitrate
        except BaseException:
            self.container.close()
            raise
        self.rate = rate
        self.buffer = bytearray()
        self.samples = 0  # samples appended (encoded or buffered)
        self.encoded = 0  # samples handed to the encoder
        self.packet_bytes = 0
        self.packets = 0
        self.spans: list[list[int]] = []  # [chunk_start, call_start, length] in samples
        self.next_call_sample = -1
        self.trailing_pause = 0

    def append(self, frame: VadFrame) -> None:
        n = len(frame.samples)
        if frame.start == self.next_call_sample and self.spans:
            self.spans[-1][2] += n
        else:
            self.spans.append([self.samples, frame.start, n])
        self.next_call_sample = frame.start + n
        self.samples += n
        self.trailing_pause = 0 if frame.speech else self.trailing_pause + n
        self.buffer += frame.samples.tobytes()

    def estimated_bytes(self, bitrate: int, rate: int) -> float:
        pending = (self.samples - self.encoded) * bitrate / 8 / rate
        return _HEADER_BYTES + _CONTAINER_OVERHEAD * (self.packet_bytes + pending) + 2 * self.packets

    def flush(self) -> None:
        if not self.buffer:
            return
        n = len(self.buffer) // 2
        frame = AudioFrame(format="s16", layout="mono", samples=n)
        frame.planes[0].update(bytes(self.buffer))
        frame.sample_rate = self.rate
        frame.time_base = _TIME_BASE
        frame.pts = self.encoded
        self.buffer.clear()
        self.encoded += n
        self._mux(frame)

    def close(self) -> None:
        try:
            self.flush()
            self._mux(None)
        finally:
            self.container.close()

    def _mux(self, frame: AudioFrame | None) -> None:
        for packet in self.stream.encode(frame):
            self.packet_bytes += packet.size
            self.packets += 1
            self.container.mux(packet)

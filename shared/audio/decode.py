"""Decode any recording FFmpeg can read into per-channel 16 kHz 16-bit blocks, one frame at a time."""

from __future__ import annotations

from array import array
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Self

import av
import av.error
from av.audio.frame import AudioFrame
from av.audio.resampler import AudioResampler
from av.audio.stream import AudioStream
from av.container import InputContainer

from shared.audio.errors import AudioUnusable
from shared.audio.models import SAMPLE_RATE
from shared.logging import get_logger

log = get_logger(__name__)

MAX_CHANNELS = 2
# Local files only: a "recording" that is really a playlist must not make FFmpeg open URLs.
_OPEN_OPTIONS = {"protocol_whitelist": "file"}
# Packets that fail to decode are skipped; more than this many, with nothing decoded, means the file is not audio.
_MAX_BAD_PACKETS_BEFORE_FIRST_FRAME = 50


class AudioDecoder:
    """An open recording: its channel count, and an iterator over blocks of 16 kHz int16 samples per channel.

    Use as a context manager. Nothing larger than one decoded frame is held, whatever the file's size.
    """

    def __init__(self, path: Path) -> None:
        if not path.is_file():
            raise FileNotFoundError(path)
        if path.stat().st_size == 0:
            raise AudioUnusable("the file is empty")
        try:
            self._container: InputContainer = av.open(str(path), "r", options=_OPEN_OPTIONS)
        except av.error.FFmpegError as exc:
            raise AudioUnusable(f"not a readable media file ({_describe(exc)})") from exc
        try:
            self._stream = self._pick_stream(self._container)
        except BaseException:
            self._container.close()
            raise
        self.channels: int = self._stream.codec_context.layout.nb_channels
        self.format_name: str = f"{self._container.format.name}/{self._stream.codec_context.name}"
        self.bad_packets = 0

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the input file."""
        self._container.close()

    @staticmethod
    def _pick_stream(container: InputContainer) -> AudioStream:
        if not container.streams.audio:
            raise AudioUnusable(f"no audio stream in a {container.format.name} file")
        stream = container.streams.audio[0]
        channels = stream.codec_context.layout.nb_channels
        if channels > MAX_CHANNELS:
            raise AudioUnusable(f"{channels} audio channels; only mono or stereo (one party per channel) is supported")
        if channels < 1:
            raise AudioUnusable("the audio stream declares no channels")
        return stream

    def blocks(self) -> Iterator[list[array[int]]]:
        """Yield lists with one int16 array per channel, resampled to 16 kHz, in order; never an empty block.

        Raises `AudioUnusable` if nothing at all could be decoded (zero-length or undecodable audio).
        """
        resampler: AudioResampler | None = None
        setup: tuple[str, str, int] | None = None
        decoded_any = False
        for packet in self._container.demux(self._stream):
            try:
                frames = packet.decode()
            except av.error.FFmpegError as exc:
                self._count_bad_packet(exc, decoded_any)
                continue
            for frame in frames:
                if not isinstance(frame, AudioFrame) or frame.samples == 0:
                    continue
                if frame.layout.nb_channels != self.channels:
                    raise AudioUnusable(
                        f"channel count changed mid-stream ({self.channels} → {frame.layout.nb_channels})"
                    )
                frame_setup = (frame.format.name, frame.layout.name, frame.sample_rate)
                if frame_setup != setup:
                    # A rate or format change mid-stream (possible in mp3): drain the old resampler, start a new one.
                    if resampler is not None:
                        for block in self._split(resampler.resample(None)):
                            decoded_any = True
                            yield block
                    resampler = AudioResampler(format="s16p", layout=frame.layout, rate=SAMPLE_RATE)
                    setup = frame_setup
                assert resampler is not None
                for block in self._split(resampler.resample(frame)):
                    decoded_any = True
                    yield block
        if resampler is not None:
            for block in self._split(resampler.resample(None)):
                decoded_any = True
                yield block
        if self.bad_packets:
            log.warning("audio_bad_packets_skipped", count=self.bad_packets, format=self.format_name)
        if not decoded_any:
            raise AudioUnusable("the recording holds no decodable audio samples (zero length or corrupt)")

    def _count_bad_packet(self, exc: av.error.FFmpegError, decoded_any: bool) -> None:
        self.bad_packets += 1
        if not decoded_any and self.bad_packets > _MAX_BAD_PACKETS_BEFORE_FIRST_FRAME:
            raise AudioUnusable(f"the audio stream does not decode ({_describe(exc)})") from exc

    def _split(self, frames: list[AudioFrame]) -> Iterator[list[array[int]]]:
        for frame in frames:
            n = frame.samples
            if n == 0:
                continue
            planes: list[array[int]] = []
            for plane in frame.planes[: self.channels]:
                samples = array("h")
                # Planes are padded for alignment: keep only the frame's samples.
                samples.frombytes(memoryview(plane)[: n * 2])
                planes.append(samples)
            yield planes


def _describe(exc: av.error.FFmpegError) -> str:
    return getattr(exc, "strerror", None) or type(exc).__name__

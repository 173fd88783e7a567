"""Audio preparation for transcription: split channels, trim silence, encode chunks, map times back to the call."""

from shared.audio.errors import AudioUnusable, PreparationCancelled
from shared.audio.models import SAMPLE_RATE, Chunk, PreparedAudio, PreparedChannel, Span, to_call_time
from shared.audio.prepare import PrepareOptions, prepare_call_audio, prepare_call_audio_async
from shared.audio.vad import VadConfig

__all__ = [
    "SAMPLE_RATE",
    "AudioUnusable",
    "Chunk",
    "PreparationCancelled",
    "PrepareOptions",
    "PreparedAudio",
    "PreparedChannel",
    "Span",
    "VadConfig",
    "prepare_call_audio",
    "prepare_call_audio_async",
    "to_call_time",
]

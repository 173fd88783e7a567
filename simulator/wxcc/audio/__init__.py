"""Audio of the simulated recordings: DTMF codes, speech-like synthesis, espeak-ng, WAV files."""

from simulator.wxcc.audio.dtmf import DtmfTone, decode_dtmf, detect_dtmf, tone_sequence
from simulator.wxcc.audio.wav import read_wav, stereo_wav, wav_size

__all__ = ["DtmfTone", "decode_dtmf", "detect_dtmf", "read_wav", "stereo_wav", "tone_sequence", "wav_size"]

"""Real synthetic speech from espeak-ng when it is installed: one process per utterance, run in parallel."""

from __future__ import annotations

import array
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate, pairwise
from pathlib import Path

from simulator.wxcc.audio.synth import Voice
from simulator.wxcc.audio.wav import read_wav

_PARALLEL = 8
_TIMEOUT_S = 30


@dataclass(frozen=True)
class Utterance:
    """Text to speak in a voice, and exactly how many samples (at the target rate) it must fill."""

    text: str
    voice: Voice
    n_samples: int


def espeak_path() -> str | None:
    """Where espeak-ng is on PATH, or None."""
    return shutil.which("espeak-ng")


def resample(pcm: Sequence[int], src_rate: int, dst_rate: int) -> array.array[int]:
    """Change the sample rate: box-filtered decimation going down (anti-aliasing enough for speech), linear going up."""
    if src_rate == dst_rate or not pcm:
        return array.array("h", pcm)
    step = src_rate / dst_rate
    n_in = len(pcm)
    n_out = int(n_in / step)
    if step > 1:
        cs = [0, *accumulate(pcm)]
        edges = [min(n_in, round(i * step)) for i in range(n_out + 1)]
        return array.array("h", [(cs[b] - cs[a]) // max(1, b - a) for a, b in pairwise(edges)])
    last = n_in - 1
    out = []
    for i in range(n_out):
        pos = i * step
        j = int(pos)
        k = min(j + 1, last)
        out.append(round(pcm[j] + (pcm[k] - pcm[j]) * (pos - j)))
    return array.array("h", out)


def _fit(pcm: array.array[int], n_samples: int, sample_rate: int) -> array.array[int]:
    """Pad with silence or cut (with a 10 ms fade) to exactly `n_samples`."""
    if len(pcm) <= n_samples:
        pcm.extend(array.array("h", bytes(2 * (n_samples - len(pcm)))))
        return pcm
    out = pcm[:n_samples]
    fade = min(n_samples, max(1, sample_rate // 100))
    for i in range(fade):
        out[n_samples - fade + i] = out[n_samples - fade + i] * (fade - i) // fade
    return out


def _command(exe: str, utt: Utterance, sample_rate: int, path: Path) -> list[str]:
    seconds = max(0.3, utt.n_samples / sample_rate)
    words = max(1, len(utt.text.split()))
    wpm = int(min(400, max(120, words / seconds * 60 * 1.15)))  # fast enough to fit the slot the script planned
    pitch = int(min(99, max(0, (utt.voice.pitch_hz - 80) / 2)))
    return [exe, "-w", str(path), "-v", "en-us", "-s", str(wpm), "-p", str(pitch), utt.text]


def espeak_speech(utterances: Sequence[Utterance], sample_rate: int, exe: str) -> list[array.array[int]]:
    """Each utterance spoken by espeak-ng, resampled to `sample_rate` and fitted to its `n_samples` (mono 16-bit)."""
    results: list[array.array[int]] = []
    with tempfile.TemporaryDirectory(prefix="callpipe-espeak-") as tmp:
        paths = [Path(tmp) / f"u{i}.wav" for i in range(len(utterances))]
        for start in range(0, len(utterances), _PARALLEL):
            batch = range(start, min(start + _PARALLEL, len(utterances)))
            procs = [
                subprocess.Popen(  # noqa: S603 - fixed executable, text passed as one argument, no shell
                    _command(exe, utterances[i], sample_rate, paths[i]),
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                )
                for i in batch
            ]
            for i, proc in zip(batch, procs, strict=True):
                _, err = proc.communicate(timeout=_TIMEOUT_S)
                if proc.returncode != 0:
                    raise RuntimeError(f"espeak-ng failed ({proc.returncode}): {err.decode(errors='replace')[:200]}")
                rate, channels = read_wav(paths[i].read_bytes())
                pcm = resample(channels[0], rate, sample_rate)
                results.append(_fit(pcm, utterances[i].n_samples, sample_rate))
    return results

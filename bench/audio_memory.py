"""Peak memory and speed of audio preparation on a 2-hour stereo 8 kHz call recording (~230 MB WAV).

Writes the recording in a streaming fashion (a second at a time) to a temporary directory: alternating turns of
speech-like noise (syllable-rate envelope, word gaps) between the two channels, short backchannels, a few on-hold
silences, and a faint line noise everywhere. Then runs `prepare_call_audio` in a fresh subprocess and reads that
process's peak RSS, so neither the writer's memory nor the parent's counts. A second fresh subprocess that only imports
the package gives the baseline RSS of the interpreter + PyAV. Last line: recording_mb=… peak_rss_mb=… kept_ratio=…
"""

from __future__ import annotations

import argparse
import json
import math
import random
import subprocess
import sys
import tempfile
import time
import wave
from array import array
from pathlib import Path

RATE = 8000
_CHILD_CODE = """
import json, resource, sys, time
from pathlib import Path
from shared.audio import prepare_call_audio
started = time.perf_counter()
prepared = prepare_call_audio(Path(sys.argv[1]), Path(sys.argv[2]), channel_labels=("customer", "agent"))
elapsed = time.perf_counter() - started
print(json.dumps({
    "elapsed_s": elapsed,
    "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    "source_s": prepared.source_duration_s,
    "kept_s": prepared.kept_s,
    "chunks": {c.label: [[ch.duration_s, ch.size_bytes] for ch in c.chunks] for c in prepared.channels},
}))
"""
_BASELINE_CODE = """
import resource
import shared.audio
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def _speech_bank(rng: random.Random, count: int = 16) -> list[array[int]]:
    """A few seconds of speech-like noise: 4-5 Hz syllables with dips, at varying loudness."""
    bank = []
    for _ in range(count):
        level = rng.uniform(1500, 6000)
        syllable_hz = rng.uniform(3.5, 5.5)
        samples = array("h")
        for i in range(RATE):
            envelope = max(0.0, math.sin(math.pi * syllable_hz * i / RATE)) ** 0.6
            samples.append(max(-32768, min(32767, int(rng.gauss(0, level) * envelope))))
        bank.append(samples)
    return bank


def _schedule(rng: random.Random, seconds: float) -> tuple[list[list[tuple[float, float]]], float]:
    """Speech intervals per channel and the talk time over both channels (turns from first to last word, backchannels).

    Turns alternate with short gaps; the listener sometimes backchannels; now and then the call is on hold.
    """
    spans: list[list[tuple[float, float]]] = [[], []]
    talk_s = 0.0
    t, speaker = 1.0, 0
    while t < seconds - 15:
        turn = rng.uniform(2.0, 12.0)
        pos = t
        while pos < t + turn:  # words and phrases with short pauses (< 1 s) inside a turn
            word = rng.uniform(0.4, 2.5)
            spans[speaker].append((pos, min(pos + word, t + turn)))
            pos += word + rng.uniform(0.1, 0.5)
        talk_s += spans[speaker][-1][1] - t
        if rng.random() < 0.3:  # the listener says "mm-hm"
            at = rng.uniform(t + 1, t + turn)
            length = rng.uniform(0.3, 0.7)
            spans[1 - speaker].append((at, at + length))
            talk_s += length
        t = pos + rng.uniform(0.2, 1.2)
        if rng.random() < 0.01:  # on hold
            t += rng.uniform(20, 90)
        speaker = 1 - speaker
    for channel in spans:
        channel.sort()
    return spans, talk_s


def write_recording(path: Path, seconds: int, seed: int = 7) -> float:
    """Write the recording a second at a time; return the talk time over both channels."""
    rng = random.Random(seed)
    bank = _speech_bank(rng)
    hiss = array("h", (int(rng.gauss(0, 20)) for _ in range(RATE)))  # about -64 dBFS of line noise
    spans, speech_s = _schedule(rng, seconds)
    cursors = [0, 0]
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(RATE)
        for second in range(seconds):
            block = array("h", bytes(4 * RATE))
            for channel in (0, 1):
                source = bank[(second * 7 + channel * 3) % len(bank)]
                intervals = spans[channel]
                while cursors[channel] < len(intervals) and intervals[cursors[channel]][1] <= second:
                    cursors[channel] += 1
                index = cursors[channel]
                for i in range(RATE):
                    block[2 * i + channel] = hiss[i]
                while index < len(intervals) and intervals[index][0] < second + 1:
                    start = max(0, int((intervals[index][0] - second) * RATE))
                    end = min(RATE, int((intervals[index][1] - second) * RATE))
                    block[2 * start + channel : 2 * end + channel : 2] = source[start:end]
                    index += 1
            out.writeframes(block.tobytes())
    return speech_s


def _run(code: str, *args: str) -> str:
    done = subprocess.run([sys.executable, "-c", code, *args], check=True, capture_output=True, text=True)
    return done.stdout.strip().splitlines()[-1]


def main(hours: float) -> None:
    seconds = int(hours * 3600)
    with tempfile.TemporaryDirectory(prefix="callpipe-audio-bench-") as tmp:
        wav = Path(tmp) / "call.wav"
        started = time.perf_counter()
        talk_s = write_recording(wav, seconds)
        recording_mb = wav.stat().st_size / 1e6
        print(f"wrote {recording_mb:.1f} MB ({seconds} s stereo 8 kHz) in {time.perf_counter() - started:.1f} s")
        baseline_mb = int(_run(_BASELINE_CODE)) / 1024
        result = json.loads(_run(_CHILD_CODE, str(wav), str(Path(tmp) / "chunks")))
    peak_mb = result["peak_rss_kb"] / 1024
    elapsed, source_s, kept_s = result["elapsed_s"], result["source_s"], result["kept_s"]
    for label, chunks in result["chunks"].items():
        sizes = ", ".join(f"{d:.0f}s/{b / 1e6:.2f}MB" for d, b in chunks)
        print(f"  {label}: {len(chunks)} chunks [{sizes}]")
    print(f"prepare: {elapsed:.1f} s for {source_s:.0f} s of call ({source_s / elapsed:.0f}x realtime)")
    print(f"baseline_rss_mb={baseline_mb:.1f} (fresh interpreter + PyAV, nothing prepared)")
    print(f"talk_s={talk_s:.0f} (both channels: turns with their short pauses, backchannels) kept_s={kept_s:.0f}")
    print(f"kept/talk={kept_s / talk_s:.3f} talk/call={talk_s / source_s:.3f}")
    # kept_ratio: billed seconds over both channels ÷ the call's length (naive per-channel transcription: 2.0).
    print(f"recording_mb={recording_mb:.1f} peak_rss_mb={peak_mb:.1f} kept_ratio={kept_s / source_s:.3f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=2.0, help="length of the synthetic call (default 2)")
    main(parser.parse_args().hours)

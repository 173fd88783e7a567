"""Which requests billed twice were in flight when the process that asked was SIGKILLed, and which were not.

The OpenAI fake keeps every billed request (`Bill`): its key (`task|upload name` of a chunk, or an analysis prompt's
digest), the pid of the process that asked (the `X-Callpipe-Process` header) and when the answer had been written to
that process's connection. The chaos run knows each SIGKILL's pid and moment, and each worker process's log says what
it saved: `transcribe_chunk_saved` (the chunk's checkpoint is in S3) and `call_analyzed` (the analysis is stored and
recorded; the analyze stage keeps nothing partial a retry could reuse).

A repeat of a key is *in flight at kill* when the bill it repeats went to a process that was SIGKILLed and that
process never saved that key: its answer was on the wire, or in the process's hands with the save under way, at the
instant the process died (an answer written after the kill is in flight too: the request was sent before). Anything
else — the earlier answer went to a process that lived on, or that had saved it — is *unexplained*: work the pipeline
received and then paid for again. Each in-flight repeat carries `answered_before_kill_s` (kill moment minus answer
moment; negative when the answer came after the kill), so anyone can check how close to the kill it was; and
`save_latency` says how long, in the same run, the processes took from an answer written to its save logged — an
in-flight repeat answered much longer before its kill than that would be an answer held unsaved.
"""

from __future__ import annotations

import json
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from simulator.chaos.report import Kill
from simulator.openai_fake.app import Bill

CHUNK_SAVED = "transcribe_chunk_saved"
ANALYSIS_SAVED = "call_analyzed"


def analysis_save_key(task_id: str) -> str:
    """The save key of a call's analysis (a chunk's is its bill key, `task|upload name`)."""
    return f"analysis|{task_id}"


def saves_in_logs(log_of: Mapping[int, Path]) -> dict[int, dict[str, float]]:
    """pid → the keys that process logged as saved, each with the (epoch) time of its first such log line (its JSON
    log lines; other lines are skipped)."""
    saves: dict[int, dict[str, float]] = defaultdict(dict)
    for pid, path in log_of.items():
        if not path.exists():
            continue
        for line in path.read_text(errors="replace").splitlines():
            if not line.startswith("{"):
                continue
            try:
                record = json.loads(line)
                at = datetime.fromisoformat(record["timestamp"]).timestamp()
            except (json.JSONDecodeError, KeyError, TypeError, ValueError):
                continue
            event, task_id = record.get("event"), record.get("task_id")
            if event == CHUNK_SAVED and task_id and record.get("chunk"):
                saves[pid].setdefault(f"{task_id}|{record['chunk']}", at)
            elif event == ANALYSIS_SAVED and task_id:
                saves[pid].setdefault(analysis_save_key(task_id), at)
    return dict(saves)


def save_latency(bills: Iterable[Bill], saves: Mapping[int, Mapping[str, float]]) -> dict[str, float]:
    """Seconds from a chunk's answer written to the asking process's `transcribe_chunk_saved` (its log line's time):
    count, median, 99th percentile and maximum over the chunks saved in the run."""
    gaps = sorted(
        saves[int(b.client)][b.key] - b.answered_wall
        for b in bills
        if b.client.isdigit() and b.answered_wall and b.key in saves.get(int(b.client), {})
    )
    gaps = [g for g in gaps if g >= -1.0]  # a save logged before this answer: an earlier answer of the same key
    if not gaps:
        return {"n": 0}
    p99 = gaps[min(len(gaps) - 1, round(0.99 * (len(gaps) - 1)))]
    return {"n": len(gaps), "p50": round(statistics.median(gaps), 3), "p99": round(p99, 3), "max": round(gaps[-1], 3)}


@dataclass
class Attribution:
    """Repeated requests split into those in flight at a kill and the unexplained rest."""

    in_flight: list[dict[str, Any]] = field(default_factory=list)  # one entry per in-flight repeat
    unexplained: dict[str, int] = field(default_factory=dict)  # key → repeats not explained by a kill

    def add(self, other: Attribution) -> None:
        self.in_flight.extend(other.in_flight)
        for key, n in other.unexplained.items():
            self.unexplained[key] = self.unexplained.get(key, 0) + n


def attribute(
    bills: Iterable[Bill],
    extra: Mapping[str, int],
    kills: Iterable[Kill],
    saves: Mapping[int, Mapping[str, float]],
    save_keys: Mapping[str, set[str]] | None = None,
) -> Attribution:
    """Split the `extra` bills of each key (billed beyond what the outcome needs) into in flight at a kill and not.

    Every bill of a key but its last was followed by another; one such earlier bill explains one extra bill when it
    went to a SIGKILLed process that had not saved any of the key's `save_keys` (default: the key itself)."""
    killed = {k.pid: k for k in kills}
    by_key: dict[str, list[Bill]] = defaultdict(list)
    for bill in bills:
        by_key[bill.key].append(bill)
    result = Attribution()
    for key, n in extra.items():
        if n <= 0:
            continue
        earlier = sorted(by_key.get(key, []), key=lambda b: b.answered_at)[:-1]
        wanted = (save_keys or {}).get(key, {key})
        explained: list[dict[str, Any]] = []
        for bill in earlier:
            pid = int(bill.client) if bill.client.isdigit() else None
            kill = killed.get(pid) if pid is not None else None
            if kill is None or saves.get(kill.pid, {}).keys() & wanted:
                continue
            explained.append(
                {
                    "key": key,
                    "pid": kill.pid,
                    "stage": kill.stage,
                    "answered_before_kill_s": round(kill.at_monotonic - bill.answered_at, 3),
                }
            )
        result.in_flight.extend(explained[:n])
        if n > len(explained):
            result.unexplained[key] = n - len(explained)
    return result


def transcription_attribution(
    bills: Iterable[Bill],
    chunks_billed: Mapping[str, int],
    audio_billed: Mapping[str, int],
    kills: Iterable[Kill],
    saves: Mapping[int, Mapping[str, float]],
) -> Attribution:
    """`attribute` over the chunks billed more than once; per call, extra bills of the same audio under another name
    (more than its repeated names account for) are unexplained."""
    bills = list(bills)
    chunk_extra = {k: n - 1 for k, n in chunks_billed.items() if n > 1}
    result = attribute(bills, chunk_extra, kills, saves)
    by_name: Counter[str] = Counter()
    for key, n in chunk_extra.items():
        by_name[key.split("|", 1)[0]] += n
    by_audio: Counter[str] = Counter()
    for key, n in audio_billed.items():
        if n > 1:
            by_audio[key.split("|", 1)[0]] += n - 1
    for task_id, n in by_audio.items():
        if n > by_name[task_id]:
            result.unexplained[f"{task_id}|same audio, another name"] = n - by_name[task_id]
    return result

"""Per-stage metrics: Prometheus counters for `/metrics`, and CloudWatch Embedded Metric Format log lines.

Prometheus: one registry per process (the default one), served by the API at `/metrics` and by each worker on
`CALLPIPE_METRICS_PORT`. EMF: `EmfReporter` writes one JSON log line per stage and interval with the counts of that
interval, which CloudWatch Logs turns into metrics without an agent or API calls.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from dataclasses import dataclass, field
from typing import TextIO

from prometheus_client import Counter, Gauge, Histogram

NAMESPACE = "callpipe"

RECEIVED = Counter("callpipe_messages_received_total", "Messages received by a stage", ["stage"])
SUCCEEDED = Counter("callpipe_messages_succeeded_total", "Messages a stage's handler completed", ["stage"])
RETRIED = Counter("callpipe_messages_retried_total", "Messages left for a later attempt", ["stage", "error_type"])
DEAD_LETTERED = Counter("callpipe_messages_dead_lettered_total", "Messages sent to the DLQ", ["stage", "error_type"])
IN_FLIGHT = Gauge("callpipe_messages_in_flight", "Handlers running now", ["stage"])
LATENCY = Histogram(
    "callpipe_handler_seconds",
    "Handler run time",
    ["stage"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900),
)
BILLED_AUDIO = Counter("callpipe_billed_audio_seconds_total", "Audio seconds sent to speech-to-text", ["stage"])
TOKENS = Counter("callpipe_llm_tokens_total", "LLM tokens used by analyses", ["stage"])


@dataclass
class _Interval:
    counts: dict[str, float] = field(default_factory=dict)
    latency_n: int = 0
    latency_sum_ms: float = 0.0
    latency_max_ms: float = 0.0


class StageMetrics:
    """The metrics of one stage: updates Prometheus at once and accumulates the EMF interval."""

    def __init__(self, stage: str) -> None:
        self.stage = stage
        self._interval = _Interval()
        # The per-message series, resolved once: `labels()` takes a lock and a dict lookup on every call.
        self._received = RECEIVED.labels(stage)
        self._succeeded = SUCCEEDED.labels(stage)
        self._in_flight = IN_FLIGHT.labels(stage)
        self._latency = LATENCY.labels(stage)

    def _add(self, name: str, amount: float = 1) -> None:
        self._interval.counts[name] = self._interval.counts.get(name, 0) + amount

    def received(self, n: int = 1) -> None:
        self._received.inc(n)
        self._add("Received", n)

    def started(self) -> None:
        self._in_flight.inc()

    def finished(self, seconds: float) -> None:
        self._in_flight.dec()
        self._latency.observe(seconds)
        interval = self._interval
        interval.latency_n += 1
        interval.latency_sum_ms += seconds * 1000
        interval.latency_max_ms = max(interval.latency_max_ms, seconds * 1000)

    def succeeded(self) -> None:
        self._succeeded.inc()
        self._add("Succeeded")

    def retried(self, error_type: str) -> None:
        RETRIED.labels(self.stage, error_type).inc()
        self._add("Retried")

    def dead_lettered(self, error_type: str) -> None:
        DEAD_LETTERED.labels(self.stage, error_type).inc()
        self._add("DeadLettered")

    def billed_audio(self, seconds: float) -> None:
        BILLED_AUDIO.labels(self.stage).inc(seconds)
        self._add("BilledAudioSeconds", seconds)

    def tokens(self, n: int) -> None:
        TOKENS.labels(self.stage).inc(n)
        self._add("Tokens", n)

    def emf_record(self) -> dict[str, object] | None:
        """The EMF document of the interval since the last call (None if nothing happened), and a new interval."""
        interval, self._interval = self._interval, _Interval()
        if not interval.counts and not interval.latency_n:
            return None
        values: dict[str, object] = dict(interval.counts)
        units = {name: "Seconds" if name == "BilledAudioSeconds" else "Count" for name in interval.counts}
        if interval.latency_n:
            # Average and maximum rather than every value: an EMF metric takes at most 100 values per line.
            values["HandlerLatencyAvg"] = round(interval.latency_sum_ms / interval.latency_n, 3)
            values["HandlerLatencyMax"] = round(interval.latency_max_ms, 3)
            units["HandlerLatencyAvg"] = units["HandlerLatencyMax"] = "Milliseconds"
        return {
            "_aws": {
                "Timestamp": int(time.time() * 1000),
                "CloudWatchMetrics": [
                    {
                        "Namespace": NAMESPACE,
                        "Dimensions": [["Stage"]],
                        "Metrics": [{"Name": name, "Unit": unit} for name, unit in units.items()],
                    }
                ],
            },
            "Stage": self.stage,
            **values,
        }


class EmfReporter:
    """Writes a stage's EMF line every `interval_s` (and once more on stop) to stdout, where the log driver reads it."""

    def __init__(self, metrics: StageMetrics, interval_s: float = 60, stream: TextIO | None = None) -> None:
        self._metrics = metrics
        self._interval_s = interval_s
        self._stream = stream or sys.stdout

    def flush(self) -> None:
        """Write the interval's line now, if anything happened."""
        record = self._metrics.emf_record()
        if record is not None:
            self._stream.write(json.dumps(record, separators=(",", ":")) + "\n")
            self._stream.flush()

    async def run(self, stop: asyncio.Event) -> None:
        """Flush every interval until `stop`, then a last time."""
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), self._interval_s)
            except TimeoutError:
                self.flush()
        self.flush()


_STAGES: dict[str, StageMetrics] = {}


def stage_metrics(stage: str) -> StageMetrics:
    """The process's metrics of one stage (the consumer and the stage's handler share it)."""
    if stage not in _STAGES:
        _STAGES[stage] = StageMetrics(stage)
    return _STAGES[stage]

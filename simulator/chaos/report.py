"""The figures of a chaos run (`ChaosReport`) and its SIGKILLs (`Kill`)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Kill:
    """One SIGKILL: which stage's process, when (seconds into the run, and `time.monotonic()` right after the signal
    was sent) and how many handlers it had running."""

    stage: str
    pid: int
    at_s: float
    in_flight: int
    at_monotonic: float = 0.0


@dataclass
class ChaosReport:
    """The figures of a chaos run and everything that did not hold (`problems`)."""

    calls: int = 0  # simulated calls in the journey's window
    recorded: int = 0
    bad: dict[str, str] = field(default_factory=dict)  # task → how the run made it bad
    faults: dict[str, int] = field(default_factory=dict)  # injected, by source and kind
    kills: list[Kill] = field(default_factory=list)
    restarts: int = 0
    analysed: int = 0
    duplicates: int = 0  # requests billed beyond one per call (chunk / analysis), whatever the cause
    duplicates_in_flight_at_kill: int = 0  # ... of which answered to a process SIGKILLed before it had saved the answer
    duplicates_unexplained: int = 0  # ... all the others (must be 0)
    in_flight_at_kill: list[dict[str, Any]] = field(default_factory=list)  # each one: key, pid, answered vs kill
    save_latency_s: dict[str, float] = field(default_factory=dict)  # chunk answer written → saved: n, p50, p99, max
    duplicate_detail: dict[str, dict[str, int]] = field(default_factory=dict)
    lost: list[str] = field(default_factory=list)
    analysed_tasks: list[str] = field(default_factory=list)
    dead_letters: dict[str, list[dict[str, str | None]]] = field(default_factory=dict)
    journey_state: str = ""
    counters: dict[str, dict[str, float]] = field(default_factory=dict)
    billed_audio_s: float = 0.0
    openai_requests: dict[str, int] = field(default_factory=dict)
    openai_abandoned: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    logs_dir: str = ""
    wall_s: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary_line(self) -> str:
        """`calls=… faults=… kills=… analysed=… duplicates=… duplicates_in_flight_at_kill=… duplicates_unexplained=…
        lost=… wall_s=…` (`duplicates` is the sum of the two that follow it)."""
        return (
            f"calls={self.calls} faults={sum(self.faults.values())} kills={len(self.kills)} analysed={self.analysed} "
            f"duplicates={self.duplicates} duplicates_in_flight_at_kill={self.duplicates_in_flight_at_kill} "
            f"duplicates_unexplained={self.duplicates_unexplained} lost={len(self.lost)} wall_s={self.wall_s:.1f}"
        )

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["ok"] = self.ok
        return data

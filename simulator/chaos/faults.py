"""The faults a chaos run injects besides the WXCC simulator's own: SIGKILLs of busy worker processes (`Killer`),
OpenAI 429/500 bursts (`openai_bursts`) and permanently bad calls (`make_bad`)."""

from __future__ import annotations

import asyncio
import dataclasses
import random
import time
from collections import Counter
from contextlib import suppress

import httpx

from queues.envelope import Kind
from shared.logging import get_logger
from simulator.chaos.config import ChaosConfig
from simulator.chaos.report import Kill
from simulator.chaos.workers import STAGES, Supervisor
from simulator.openai_fake.app import FakeHandle
from simulator.wxcc.server import SimulatorHandle

log = get_logger(__name__)


class Killer:
    """SIGKILLs `target` worker processes, each while it has handlers in flight (its own in-flight gauge), at least
    `min_gap_s` apart, spreading the kills over the stages (the busy stage killed least so far goes first)."""

    def __init__(
        self, supervisor: Supervisor, target: int, min_gap_s: float, rng: random.Random, t0: float, *, poll_first: bool
    ) -> None:
        self._poll_first = poll_first
        self.patience_s = 20.0
        self._supervisor = supervisor
        self._target = target
        self._gap = min_gap_s
        self._rng = rng
        self._t0 = t0
        self.kills: list[Kill] = []

    async def run(self, done: asyncio.Event) -> None:
        kills_of: Counter[Kind] = Counter()
        last_kill = time.monotonic()
        async with httpx.AsyncClient() as http:
            while len(self.kills) < self._target and not done.is_set():
                killed = False
                # Spread the kills: a stage killed least so far (poll, whose work is one short message, first and
                # once at most); after `patience_s` without a kill, any stage with handlers in flight.
                stages = [k for k in STAGES if k is not Kind.POLL or (self._poll_first and not kills_of[k])]
                least = min(kills_of[k] for k in stages)
                if time.monotonic() - last_kill < self.patience_s:
                    stages = [k for k in stages if kills_of[k] == least]
                self._rng.shuffle(stages)
                stages.sort(key=lambda k: (kills_of[k], k is not Kind.POLL))
                for stage in stages:
                    workers = self._supervisor.of(stage)
                    for worker in self._rng.sample(workers, len(workers)):
                        busy = await worker.in_flight(http)
                        if not busy:
                            continue
                        await asyncio.sleep(self._rng.uniform(0, 0.3))  # somewhere inside the handler's work
                        if not worker.alive:
                            continue
                        worker.proc.kill()
                        now = time.monotonic()
                        kill = Kill(stage.value, worker.proc.pid, round(now - self._t0, 1), busy, now)
                        self.kills.append(kill)
                        kills_of[stage] += 1
                        last_kill = time.monotonic()
                        log.warning("chaos_sigkill", **dataclasses.asdict(kill))
                        killed = True
                        break
                    if killed:
                        break
                with suppress(TimeoutError):
                    await asyncio.wait_for(done.wait(), self._gap if killed else 0.2)


async def openai_bursts(
    fake: FakeHandle, every_s: float, size: int, rng: random.Random, done: asyncio.Event, *, lasts_s: float = 2.0
) -> None:
    """Every ~`every_s`: the next `size` OpenAI requests within `lasts_s` get a 429 (Retry-After 1 s) or a 500. A burst
    is a moment of trouble, not a count that waits for traffic: unbounded, the bursts of a quiet pipeline's last calls
    would all land on those calls, every attempt of one, until it is dead-lettered."""
    while not done.is_set():
        with suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), rng.uniform(0.5, 1.5) * every_s)
        if done.is_set():
            return
        limit = rng.random() < 0.5
        if limit:
            fake.faults.rate_limit_next += size
        else:
            fake.faults.server_error_next += size
        with suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), lasts_s)
        if limit:
            fake.faults.rate_limit_next = 0
        else:
            fake.faults.server_error_next = 0


def make_bad(sim: SimulatorHandle, fake: FakeHandle, cfg: ChaosConfig, rng: random.Random) -> dict[str, str]:
    """Pick recorded calls and make them permanently bad; returns task → what was done to it."""
    recorded = sorted(t for t, c in sim.state.calls.items() if c.capture_requested and not c.abandoned and c.recordings)
    picked = rng.sample(recorded, min(len(recorded), cfg.bad_no_recording + cfg.bad_audio))
    bad: dict[str, str] = {}
    for task_id in picked[: cfg.bad_no_recording]:
        # WXCC keeps saying the call was recorded, but its captures query never lists a recording.
        sim.state.calls[task_id] = dataclasses.replace(sim.state.calls[task_id], recordings=())
        bad[task_id] = "no_recording"
    for task_id in picked[cfg.bad_no_recording :]:
        fake.faults.reject_audio_tasks.add(task_id)
        bad[task_id] = "corrupt_audio"
    return bad

"""What a chaos run does (`ChaosConfig`): calls, faults, kills, and the settings its worker processes get."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from simulator.wxcc.config import SimulatorConfig
from simulator.wxcc.faults import FaultRule

HOUR_MS = 3_600_000
_WXCC_API = ("search", "tasks", "captures", "recordings")


@dataclass(frozen=True)
class ChaosConfig:
    """What the chaos run does; the defaults are the issue's figures (200 calls, 10 % / 5 % / 2 % WXCC faults)."""

    calls: int = 200
    kills: int = 3
    seed: int = 1
    workers_per_stage: int = 1
    bad_no_recording: int = 2  # recorded calls whose recording never appears (fetch FAILS them)
    bad_audio: int = 2  # recorded calls whose audio the speech-to-text service refuses (transcribe FAILS them)
    wxcc_server_error: float = 0.10
    wxcc_rate_limit: float = 0.05
    wxcc_retry_after_s: int = 1
    wxcc_truncate: float = 0.02
    openai_burst_every_s: float = 6.0  # a burst of 429s or 500s this often
    openai_burst_size: int = 3
    openai_delay_s: float = 0.2  # every OpenAI request takes this long (room to be killed mid-request)
    duration_scale: float = 0.05  # x the simulator's 30-360 s call durations
    consult_fraction: float = 0.1
    abandoned_fraction: float = 0.05
    unrecorded_fraction: float = 0.05
    consumer_concurrency: int = 8
    visibility_timeout_s: int = 8  # every stage queue's, so a killed worker's message is back within seconds
    stage_lease_s: int = 12
    max_receive_count: int = 10
    min_kill_gap_s: float = 3.0
    kill_poll_first: bool = True  # the first kill lands on the poll worker while it claims the journey's calls
    timeout_s: float = 900.0
    stall_s: float = 25.0  # give up early when the journey is RUNNING but no stage has anything queued this long
    logs_dir: str | None = None  # worker logs go here (a temporary directory when None, removed if all is well)

    def simulator_config(self) -> SimulatorConfig:
        """Calls that all ended over an hour ago (recorded at once), with the WXCC faults on from the start."""
        now = int(time.time() * 1000)
        end = now - HOUR_MS - round((360 * self.duration_scale + 300) * 1000)
        api: tuple[Any, ...] = _WXCC_API
        faults = (
            FaultRule(kind="server_error", endpoints=api, probability=self.wxcc_server_error),
            FaultRule(
                kind="rate_limit",
                endpoints=api,
                probability=self.wxcc_rate_limit,
                retry_after_s=self.wxcc_retry_after_s,
            ),
            FaultRule(kind="truncate", endpoints=("recordings",), probability=self.wxcc_truncate),
        )
        return SimulatorConfig(
            calls=self.calls,
            seed=self.seed,
            window_start_ms=end - HOUR_MS,
            window_end_ms=end,
            duration_scale=self.duration_scale,
            abandoned_fraction=self.abandoned_fraction,
            unrecorded_fraction=self.unrecorded_fraction,
            consult_fraction=self.consult_fraction,
            capture_pending_fraction=0,
            availability_delay_s=0,
            faults=faults,
            fault_seed=self.seed,
        )

"""`callpipe chaos`: the command's entry into the chaos run, which lives with the other local stand-ins in
`simulator/chaos/` (faults, SIGKILLs, worker processes, the outcome checks)."""

from __future__ import annotations

from simulator.chaos.config import ChaosConfig
from simulator.chaos.report import ChaosReport
from simulator.chaos.run import run_chaos

__all__ = ["ChaosConfig", "ChaosReport", "run_chaos"]

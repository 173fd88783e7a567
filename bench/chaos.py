"""The chaos run at full size: one journey over `--calls` simulated calls (200 by default) through real worker
processes for every stage, under 10 % WXCC 5xx, 5 % 429 with Retry-After, 2 % truncated recording downloads, OpenAI
429/500 bursts and `--kills` SIGKILLs of worker processes mid-work (restarted as ECS would); a few calls are made
permanently bad on purpose (no recording ever appears; audio the speech-to-text service refuses).

Checked at the end (see `simulator/chaos/`): every recorded call has exactly one analysis object and its tracking row is
ANALYZED; no call transcribed or analysed twice (the OpenAI fake's billed requests per call) except a request in
flight when the process that asked was SIGKILLed (`duplicates_in_flight_at_kill`, each listed with how long before the
kill its answer was written; every other repeat is `duplicates_unexplained`); the journey COMPLETED with consistent
counters; the DLQs hold only the bad calls, each with its reason. `tests/chaos/` runs a CI-sized copy.

Run: `.venv/bin/python bench/chaos.py [--calls 200] [--kills 3] [--seed 1] [--spare-poll] [--logs-dir DIR]`
(`callpipe chaos` is the same driver). Exit status 1 when a promise did not hold.

Last line: calls=… faults=… kills=… analysed=… duplicates=… duplicates_in_flight_at_kill=… duplicates_unexplained=…
lost=… wall_s=… (duplicates = in flight at kill + unexplained)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from shared.logging import configure_logging
from simulator.chaos.config import ChaosConfig
from simulator.chaos.run import run_chaos


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers-per-stage", type=int, default=1)
    parser.add_argument("--spare-poll", action="store_true", help="kill only fetch/transcribe/analyze workers")
    parser.add_argument("--logs-dir", default=None, help="keep the worker logs here")
    parser.add_argument("--timeout", type=float, default=1500)
    parser.add_argument("--kill-gap", type=float, default=15.0, help="seconds at least between two kills")
    args = parser.parse_args()
    configure_logging("WARNING", "console")
    config = ChaosConfig(
        calls=args.calls,
        kills=args.kills,
        seed=args.seed,
        workers_per_stage=args.workers_per_stage,
        kill_poll_first=not args.spare_poll,
        logs_dir=args.logs_dir,
        timeout_s=args.timeout,
        min_kill_gap_s=args.kill_gap,
    )
    report = asyncio.run(run_chaos(config, progress=lambda line: print(line, flush=True)))

    print(
        f"\n{report.calls} calls in the window, {report.recorded} recorded, {len(report.bad)} made bad on purpose; "
        f"{config.workers_per_stage} worker process(es) per stage, {report.restarts} restarts"
    )
    print("faults injected: " + ", ".join(f"{k}={n}" for k, n in sorted(report.faults.items())))
    for kill in report.kills:
        running = f"{kill.in_flight} handler(s) running"
        print(f"SIGKILL {kill.stage:<10} pid {kill.pid:<7} at {kill.at_s:6.1f} s with {running}")
    print(f"OpenAI requests: {report.openai_requests}; not billed (client gone): {report.openai_abandoned}")
    print(f"billed audio: {report.billed_audio_s:.1f} s")
    print(f"journey {report.journey_state}; counters: {json.dumps(report.counters, sort_keys=True)}")
    for task_id, how in sorted(report.bad.items()):
        reason = next(
            (d["error_message"] for ds in report.dead_letters.values() for d in ds if d["task_id"] == task_id), None
        )
        print(f"bad call {task_id} ({how}): dead-lettered with {reason!r}")
    if report.duplicate_detail:
        print(f"duplicates: {json.dumps(report.duplicate_detail)}")
    print(
        f"billed twice: {report.duplicates} request(s): {report.duplicates_in_flight_at_kill} in flight when the "
        f"process that asked was SIGKILLed (answer never saved), {report.duplicates_unexplained} unexplained"
    )
    latency = report.save_latency_s
    if latency.get("n"):
        print(
            f"chunk answer written -> checkpoint saved (the workers' logs): n={latency['n']:.0f} "
            f"p50={latency['p50']:.3f} s p99={latency['p99']:.3f} s max={latency['max']:.3f} s"
        )
    for repeat in report.in_flight_at_kill:
        print(
            f"  in flight at kill: {repeat['key']} -> pid {repeat['pid']} ({repeat['stage']}), answer written "
            f"{repeat['answered_before_kill_s']:+.3f} s before the kill"
        )
    for problem in report.problems:
        print(f"PROBLEM {problem}")
    if report.logs_dir:
        print(f"worker logs: {report.logs_dir}")
    print(report.summary_line())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""Calls/s of one worker process vs the Little's-law bound (concurrency ÷ latency), with fixed simulated latencies
for WXCC and OpenAI.

Setup (this process, not timed): moto, the WXCC simulator and the OpenAI fake, `--calls` short recorded calls (one
leg each, no consults, abandons or late captures). A journey over them runs through the stages *before* the measured
ones with no injected latency (e.g. poll + fetch when transcribe is measured), so each call's message for the first
measured stage is waiting in its queue; every recording is pre-rendered. Then fixed latencies are switched on: the
simulator's `slow` fault (probability 1, `--wxcc-delay-s`) on captures, recordings and search, and the fake's
`delay_s` (`--openai-delay-s`) on every OpenAI request.

Measured: the `--stages` consumers in ONE fresh worker process (the default, `transcribe`, is what one
`callpipe worker --stage transcribe` process does). Transcribe is the stage that dominates a real deployment: its
OpenAI latency (tens of seconds per chunk) is the longest of any stage and it is the only stage with heavy CPU work
(decode, VAD, Opus encode) — so its slots are what a deployment has to size. `--stages fetch,transcribe,analyze`
runs the three call stages in one process instead. Each consumer has CALLPIPE_CONSUMER_CONCURRENCY (`--concurrency`)
handler slots; `--transcription-concurrency` defaults to 2 x that, so both channels of every call in a slot can be
in flight and the consumer's slots, not the transcriber's semaphore, bound the stage (with the shipped default of 4,
a transcribe process has at most 2 stereo calls at OpenAI whatever its consumer concurrency).

* calls_s: calls ÷ span of the last measured stage (its first handler start → its last handler end, so one ramp-up
  latency is inside the span, as Little's law counts it; upstream stages filling the pipe are not).
* bound_calls_s: min over measured stages of concurrency ÷ latency, latency = the fixed delays a call meets there:
  fetch (1 captures query + 1 download) x wxcc delay; transcribe 1 x openai delay (both channels concurrently);
  analyze 1 x openai delay. Everything else a handler does (DynamoDB, S3, SQS, audio CPU, the captures batcher's
  ≤ 50 ms wait) is overhead the ratio exposes.
* diagnosis, per stage: handler latency (mean, vs the fixed part), busy slots (Σ handler time ÷ span: Little's L, vs
  the concurrency), where a handler's time goes (the awaits it spends it in: AWS calls by operation, OpenAI requests,
  audio preparation, WXCC); and the measured process's CPU per call, whose inverse is what one process (one core
  under the GIL) can do at most, next to the CPU of the services (moto, simulator, fake) on the same cores.

The services run outside the measured process: moto as its own `callpipe local-aws` process (`--no-aws-process`: a
thread of this one), the simulator and the fake on this process's event loop (the fake reads scripts from the
simulator's state, see `stack.services`). Their latency and CPU are part of what the worker waits for, so on a small
machine the figures also depend on its load (printed).

Last line: calls_s=… bound_calls_s=… ratio=…
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time

from stack import MeasuredWorkers, Observer, ended_calls_config, pipeline_fields, run_stages, services

from queues.envelope import Kind
from shared.config import Settings
from shared.logging import configure_logging
from simulator.wxcc.faults import FaultRule

CALL_STAGES = (Kind.FETCH, Kind.TRANSCRIBE, Kind.ANALYZE)
# Before the first measured stage: which stage's `done` counter says its input is all queued.
_FEED = {Kind.FETCH: ("poll", "queued"), Kind.TRANSCRIBE: ("fetch", "done"), Kind.ANALYZE: ("transcribe", "done")}


async def main(args: argparse.Namespace) -> None:
    configure_logging("WARNING", "json")
    measured = [Kind(s) for s in args.stages.split(",")]
    if not measured or any(k not in CALL_STAGES for k in measured):
        raise SystemExit("--stages: a comma list of fetch, transcribe, analyze")
    measured.sort(key=CALL_STAGES.index)
    before = (Kind.POLL, *CALL_STAGES[: CALL_STAGES.index(measured[0])])
    concurrency = args.concurrency
    config = ended_calls_config(
        args.calls,
        longest_s=360 * args.duration_scale + 300,
        seed=args.seed,
        duration_scale=args.duration_scale,
        abandoned_fraction=0,
        unrecorded_fraction=0,
        consult_fraction=0,
        capture_pending_fraction=0,
        availability_delay_s=0,
    )
    async with services(config, aws_process=args.aws_process) as svc:
        fields = pipeline_fields(
            svc,
            consumer_concurrency=concurrency,
            consumer_receivers=args.receivers,
            transcription_concurrency=args.transcription_concurrency or 2 * concurrency,
            audio_processes=args.audio_processes,
        )
        settings = Settings(**fields)
        state = svc.sim.state
        for ref in state.legs.values():  # render now, so the simulator's CPU is not in the measured span
            await state.wavs.get(ref.leg)
        async with Observer(settings) as obs:
            setup_started = time.perf_counter()
            journey = await obs.start(config.org_id, from_ms=config.window_start_ms or 0, to_ms=int(time.time() * 1000))
            stage, counter = _FEED[measured[0]]
            async with run_stages(before, settings):
                await obs.wait_count(journey.id, stage, counter, args.calls, limit_s=args.timeout)
            setup_s = time.perf_counter() - setup_started

            state.faults.replace(
                [
                    FaultRule(
                        kind="slow",
                        endpoints=("captures", "recordings", "search"),
                        probability=1.0,
                        delay_s=args.wxcc_delay_s,
                    )
                ]
            )
            svc.fake.faults.delay_s = args.openai_delay_s
            openai_before = svc.fake.stats.requests.copy()
            cpu_before = svc.cpu_s()
            async with MeasuredWorkers(measured, fields, stop_after={measured[-1].value: args.calls}) as workers:
                if not await workers.exited(args.timeout):
                    raise SystemExit(f"{measured[-1].value} did not handle {args.calls} calls in {args.timeout:.0f} s")
                report = await workers.finish()
            services_cpu_s = svc.cpu_s() - cpu_before
            openai_requests = svc.fake.stats.requests - openai_before
            wxcc_faults = dict(state.faults.injected)

    latency = {
        Kind.FETCH: 2 * args.wxcc_delay_s,
        Kind.TRANSCRIBE: args.openai_delay_s,
        Kind.ANALYZE: args.openai_delay_s,
    }
    print(
        f"{args.calls} calls ({args.duration_scale} x 30-360 s, ≥ 3 s), concurrency {concurrency} per consumer "
        f"({args.receivers} receiver), "
        f"transcription_concurrency {settings.transcription_concurrency}, audio_processes {settings.audio_processes}; "
        f"wxcc delay {args.wxcc_delay_s} s, "
        f"openai delay {args.openai_delay_s} s; setup ({', '.join(k.value for k in before)}) {setup_s:.1f} s"
    )
    first = min(start for runs in report.runs.values() for start, _, _ in runs)
    last = max(end for runs in report.runs.values() for _, end, _ in runs)
    for kind in measured:
        runs = report.runs[kind.value]
        span = max(e for _, e, _ in runs) - min(s for s, _, _ in runs)
        took = [e - s for s, e, _ in runs]
        print(
            f"  {kind.value:<10} {len(runs)} calls in {span:.2f} s = {len(runs) / span:.2f}/s; bound "
            f"{concurrency}/{latency[kind]:.2f} s = {concurrency / latency[kind]:.2f}/s; handler latency mean "
            f"{statistics.mean(took):.3f} s (p50 {statistics.median(took):.3f}, max {max(took):.3f}; fixed "
            f"{latency[kind]:.2f}); busy slots {sum(took) / span:.1f} of {concurrency}; failures "
            f"{report.failures[kind.value]}"
        )
        awaits = sorted(report.phases.get(kind.value, {}).items(), key=lambda item: -item[1][1])
        print(
            "    where a call's handler time goes (awaits per call x mean s): "
            + ", ".join(f"{label} {n / len(runs):.1f}x{total / n:.3f}" for label, (n, total) in awaits)
        )
    wall = last - first
    worker_cpu = report.cpu_s - report.cpu_at_first_s
    per_call = worker_cpu / args.calls
    print(
        f"  cpu over the {wall:.1f} s of handling: measured worker {worker_cpu:.1f} s ({worker_cpu / wall:.0%} of a "
        f"core; {per_call * 1000:.0f} ms per call, so one process — one core under the GIL — handles at most "
        f"{1 / per_call:.1f} calls/s{'; its audio pool processes are not counted' if args.audio_processes else ''}), "
        f"services (moto, simulator, fake; from the worker's start) "
        f"{services_cpu_s:.1f} s; {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}"
    )
    print(f"  openai requests {dict(openai_requests)}; wxcc faults injected {wxcc_faults}")
    runs = report.runs[measured[-1].value]
    span = max(e for _, e, _ in runs) - min(s for s, _, _ in runs)
    calls_s = len(runs) / span
    bound = min(concurrency / latency[k] for k in measured)
    print(f"calls_s={calls_s:.2f} bound_calls_s={bound:.2f} ratio={calls_s / bound:.3f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--stages", default="transcribe", help="comma list of fetch, transcribe, analyze")
    parser.add_argument("--concurrency", type=int, default=10, help="CALLPIPE_CONSUMER_CONCURRENCY (default 10)")
    parser.add_argument("--receivers", type=int, default=1, help="CALLPIPE_CONSUMER_RECEIVERS (default 1)")
    parser.add_argument("--transcription-concurrency", type=int, default=0, help="default: 2 x --concurrency")
    parser.add_argument(
        "--audio-processes", type=int, default=0, help="CALLPIPE_AUDIO_PROCESSES (default 0: audio in a thread)"
    )
    parser.add_argument("--wxcc-delay-s", type=float, default=0.2)
    # A transcription request for a few seconds to minutes of a call takes seconds at OpenAI (tens for long chunks):
    # 5 s keeps the bench short while the bound stays what slots give, not what this machine's 2 cores give. At
    # 0.5 s the bound (20 calls/s) needs more CPU than the 2 cores have for worker + emulator + fake together.
    parser.add_argument("--openai-delay-s", type=float, default=5.0)
    parser.add_argument("--duration-scale", type=float, default=0.05, help="x the 30-360 s call durations")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--timeout", type=float, default=150)
    parser.add_argument(
        "--aws-process",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="moto in its own process (default) or as a thread of the services process",
    )
    asyncio.run(main(parser.parse_args()))

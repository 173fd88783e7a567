"""Billed transcription seconds ÷ call seconds over the WXCC simulator's calls (target ≤ 1.10; naive per-channel
transcription bills 2.0).

Method: one process runs moto, the WXCC simulator, the OpenAI fake and every stage's consumer (poll → fetch →
transcribe → analyze), like the end-to-end test. The simulator makes `--calls` calls with its usual mix (abandoned,
unrecorded, consult legs), all ended and listed at once (availability delay 0, no pending captures); one journey over
their window runs until COMPLETED.

* call_s: Σ over the recorded calls of the main recording's length (`stopTime - startTime`, the simulator's truth);
  cross-checked against Σ of the stored transcripts' `call_seconds` (what the pipeline saw).
* billed_s: audio seconds the OpenAI fake received (`billed_seconds`: the decoded length of every chunk uploaded,
  consult legs included); cross-checked against the journey's `transcribe.billed_audio_s` counter.
* naive per-channel transcription would send both full channels of every leg: 2 x (Σ legs' lengths).

Last line: call_s=… billed_s=… ratio=…
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from stack import Observer, ended_calls_config, pipeline_fields, run_stages, services, wait_until

from queues.envelope import Kind
from shared.config import Settings
from shared.journeys import JourneyState
from shared.logging import configure_logging
from shared.tracking import CallStatus
from shared.transcripts import Transcript

PIPELINE = (Kind.POLL, Kind.FETCH, Kind.TRANSCRIBE, Kind.ANALYZE)


async def main(args: argparse.Namespace) -> None:
    configure_logging("WARNING", "json")
    config = ended_calls_config(
        args.calls,
        longest_s=360 * args.duration_scale + 300,
        seed=args.seed,
        duration_scale=args.duration_scale,
        availability_delay_s=0,
        capture_pending_fraction=0,
        consult_fraction=args.consult_fraction,
    )
    started = time.perf_counter()
    async with services(config) as svc:
        settings = Settings(**pipeline_fields(svc, consumer_concurrency=args.concurrency))
        org = config.org_id
        calls = svc.sim.state.calls.values()
        recorded = [c for c in calls if c.capture_requested and c.recordings]
        async with Observer(settings) as obs, run_stages(PIPELINE, settings):
            journey = await obs.start(org, from_ms=config.window_start_ms or 0, to_ms=int(time.time() * 1000))

            async def completed() -> bool:
                return (await obs.status(journey.id)).journey.state is JourneyState.COMPLETED

            await wait_until(completed, limit_s=args.timeout, interval=0.5)
            elapsed = time.perf_counter() - started
            status = await obs.status(journey.id)
            transcripts: dict[str, Transcript] = {}
            for call in recorded:
                row = await obs.tracking.get(org, call.task_id)
                if row is None or row.status is not CallStatus.ANALYZED or not row.transcript_key:
                    raise SystemExit(f"call {call.task_id} not analysed: {row}")
                obj = await obs.s3.get_object(Bucket=obs.resources.results_bucket.name, Key=row.transcript_key)
                transcripts[call.task_id] = Transcript.model_validate_json(await obj["Body"].read())

        stats = svc.fake.stats
        main_s = {c.task_id: c.recordings[0].duration_ms / 1000 for c in recorded}
        legs_s = {c.task_id: sum(r.duration_ms for r in c.recordings) / 1000 for c in recorded}
        call_s = sum(main_s.values())
        seen_call_s = sum(t.call_seconds for t in transcripts.values())
        billed_s = stats.billed_seconds
        counted_s = status.count("transcribe", "billed_audio_s")
        stored_s = sum(t.billed_seconds for t in transcripts.values())
        per_call = sorted(stats.billed_by_task.get(t, 0.0) / s for t, s in main_s.items())
        single = [c.task_id for c in recorded if len(c.recordings) == 1]
        single_ratio = sum(stats.billed_by_task.get(t, 0.0) for t in single) / sum(main_s[t] for t in single)

    consults = len(recorded) - len(single)
    print(
        f"{len(calls)} simulated calls (seed {args.seed}, duration_scale {args.duration_scale}): {len(recorded)} "
        f"recorded ({consults} with a consult leg), {status.count('poll', 'skipped'):.0f} skipped; journey completed "
        f"in {elapsed:.1f} s"
    )
    print(f"call_s: Σ main recording lengths {call_s:.1f} s; Σ transcripts' call_seconds {seen_call_s:.1f} s")
    print(
        f"billed_s: fake received {billed_s:.1f} s of audio in {stats.requests['/v1/audio/transcriptions']} "
        f"requests; journey transcribe.billed_audio_s {counted_s:.1f} s; Σ transcripts' billed_seconds {stored_s:.1f} s"
    )
    print(
        f"per call billed/main: min {per_call[0]:.3f} median {statistics.median(per_call):.3f} max {per_call[-1]:.3f}; "
        f"calls without a consult leg: {single_ratio:.3f}"
    )
    print(
        f"naive per-channel: 2 x Σ leg lengths = {2 * sum(legs_s.values()):.1f} s "
        f"(ratio {2 * sum(legs_s.values()) / call_s:.3f})"
    )
    print(f"call_s={call_s:.1f} billed_s={billed_s:.1f} ratio={billed_s / call_s:.3f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20, help="simulated calls (recorded or not)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--duration-scale", type=float, default=0.25, help="x the 30-360 s call durations")
    parser.add_argument("--consult-fraction", type=float, default=0.15, help="answered calls with a consult leg")
    parser.add_argument("--concurrency", type=int, default=8, help="CALLPIPE_CONSUMER_CONCURRENCY of each stage")
    parser.add_argument("--timeout", type=float, default=150, help="seconds to wait for the journey")
    asyncio.run(main(parser.parse_args()))

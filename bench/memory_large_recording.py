"""Peak RSS of the worker process that fetches and transcribes a 2-hour stereo 8 kHz call (~230 MB WAV).

Method: this process runs moto, the WXCC simulator and the OpenAI fake, plus the poll and analyze consumers. The fetch
and transcribe consumers run in a fresh subprocess (`python -c`, importing only what a worker imports) — the process
measured: it streams the recording from the simulator's presigned URL into S3 (multipart, checksummed), then reads
it back to a temporary file, decodes, trims and encodes it per channel and sends the chunks to the fake. When its
transcribe handler has finished the call it reports its peak RSS. A second fresh interpreter that only imports the
same modules gives the baseline. Neither the simulator's copy of the WAV nor moto's counts.

Peak RSS is the process's `VmHWM` (/proc/self/status), noted after each handler run and at exit. Its `ru_maxrss` is
printed too but is not the figure: at exec Linux folds the high-water mark of the address space the child was forked
from (this parent, which holds the rendered WAV and moto's copies: over 1 GB) into `ru_maxrss`.

The call: one simulated call of `--hours` (duration_min_s = duration_max_s, adjusted once so the rendered recording
is that long). The simulator opens each utterance with a 3-digit DTMF code, so a call holds at most 1000 utterances
(about 68 minutes of dialogue) and generating a 2-hour call raises "utterance index out of range". This bench sets
`simulator.wxcc.script.CODE_DIGITS = 4` in this process before the simulator builds its calls (a runtime change in
the test double only; the fake reads codes of any length), so the real fetch path — captures query, presigned URL,
streamed download — serves the 2-hour WAV.

Last line: recording_mb=… peak_rss_mb=…
"""

from __future__ import annotations

import argparse
import asyncio
import time

from stack import (
    MeasuredWorkers,
    Observer,
    baseline_rss_mb,
    ended_calls_config,
    pipeline_fields,
    run_stages,
    services,
)

import simulator.wxcc.script as sim_script
from queues.envelope import Kind
from shared.config import Settings
from shared.logging import configure_logging
from shared.tracking import CallStatus
from simulator.wxcc.config import SimulatorConfig
from simulator.wxcc.generator import generate_calls

CALL_SHAPE = {
    "seed": 5,
    "abandoned_fraction": 0.0,
    "unrecorded_fraction": 0.0,
    "consult_fraction": 0.0,
    "outbound_fraction": 0.0,
    "capture_pending_fraction": 0.0,
    "availability_delay_s": 0.0,
    "voice": "synth",
    "wav_cache_bytes": 1024**3,
}


def long_call_config(seconds: float) -> SimulatorConfig:
    """One answered, recorded call whose rendered recording lasts about `seconds`."""

    def config(target: float) -> SimulatorConfig:
        return ended_calls_config(
            1, longest_s=seconds * 1.2, duration_min_s=target, duration_max_s=target, **CALL_SHAPE
        )

    def length_s(cfg: SimulatorConfig) -> float:
        assert cfg.window_start_ms is not None and cfg.window_end_ms is not None
        (call,) = generate_calls(
            cfg, batch=0, count=1, start_ms=cfg.window_start_ms, end_ms=cfg.window_end_ms, first_serial=1
        )
        return call.recordings[0].duration_ms / 1000

    first = config(seconds)
    return config(seconds * seconds / length_s(first))  # the dialogue laid out runs a little longer than targeted


async def main(args: argparse.Namespace) -> None:
    configure_logging("WARNING", "json")
    sim_script.CODE_DIGITS = 4  # see the docstring: more than 1000 utterances in one call
    config = long_call_config(args.hours * 3600)
    baseline_mb, baseline_maxrss_mb = baseline_rss_mb()
    started = time.perf_counter()
    async with services(config) as svc:
        (call,) = svc.sim.state.calls.values()
        fields = pipeline_fields(
            svc,
            consumer_concurrency=args.concurrency,
            transcription_concurrency=args.transcription_concurrency,
            stage_lease_s=3600,
        )
        settings = Settings(**fields)
        async with Observer(settings) as obs:
            # The same workers told to stop at once: clients opened, queues looked up, no message received.
            async with MeasuredWorkers((Kind.FETCH, Kind.TRANSCRIBE), fields) as idle_workers:
                idle = await idle_workers.finish()
            async with (
                run_stages((Kind.POLL, Kind.ANALYZE), settings),
                MeasuredWorkers((Kind.FETCH, Kind.TRANSCRIBE), fields, stop_after={"transcribe": 1}) as workers,
            ):
                journey = await obs.start(
                    config.org_id, from_ms=config.window_start_ms or 0, to_ms=int(time.time() * 1000)
                )
                if not await workers.exited(args.timeout):
                    raise SystemExit(f"the call was not transcribed within {args.timeout:.0f} s")
                report = await workers.finish()
                row = await obs.tracking.get(config.org_id, call.task_id)
                assert row is not None and row.status in (CallStatus.TRANSCRIBED, CallStatus.ANALYZED), row
                await obs.wait_count(journey.id, "transcribe", "done", 1, limit_s=10)
                status = await obs.status(journey.id)
        stats = svc.fake.stats
    elapsed = time.perf_counter() - started

    recording_bytes = sum(int(r["bytes"]) for r in row.recording_keys)
    (fetch_start, fetch_end, fetch_hwm_kb), *_ = report.runs["fetch"]
    (transcribe_start, transcribe_end, transcribe_hwm_kb), *_ = report.runs["transcribe"]
    billed = status.count("transcribe", "billed_audio_s")
    length_s = call.recordings[0].duration_ms / 1000
    print(
        f"call {call.task_id}: {length_s:.0f} s ({length_s / 3600:.2f} h) stereo {config.sample_rate} Hz, "
        f"{len(call.recordings[0].script.turns)} utterances"
    )
    phases = {label: seconds for label, (_, seconds) in report.phases.get("transcribe", {}).items()}
    download_s, prep_s = phases.get("s3.download_to_file", 0.0), phases.get("audio_prep", 0.0)
    print(
        f"fetch: {fetch_end - fetch_start:.1f} s (captures query, stream {recording_bytes / 1e6:.1f} MB into S3 by "
        f"multipart)"
    )
    print(
        f"transcribe: {transcribe_end - transcribe_start:.1f} s (S3 → temp file {download_s:.1f} s, "
        f"decode/trim/encode {prep_s:.1f} s, {stats.requests['/v1/audio/transcriptions']} "
        f"chunk uploads to the fake; billed {billed:.0f} s = {billed / length_s:.3f} x the call)"
    )
    print(f"failures in the measured process: {report.failures}; whole run {elapsed:.0f} s")
    print(
        f"peak RSS (VmHWM) of the measured process: {baseline_mb:.1f} MB after importing the worker's modules "
        f"(baseline, a fresh interpreter); {idle.peak_rss_mb:.1f} MB with both stages' clients open (idle); "
        f"{fetch_hwm_kb / 1024:.1f} MB by the end of fetch; {transcribe_hwm_kb / 1024:.1f} MB by the end of transcribe"
    )
    print(
        f"baseline_rss_mb={baseline_mb:.1f} peak_over_baseline_mb={report.peak_rss_mb - baseline_mb:.1f} "
        f"(ru_maxrss, not used: measured {report.ru_maxrss_kb / 1024:.0f} MB, baseline {baseline_maxrss_mb:.0f} MB)"
    )
    print(f"recording_mb={recording_bytes / 1e6:.1f} peak_rss_mb={report.peak_rss_mb:.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=2.0, help="length of the simulated call (default 2)")
    parser.add_argument("--concurrency", type=int, default=10, help="CALLPIPE_CONSUMER_CONCURRENCY of the workers")
    parser.add_argument("--transcription-concurrency", type=int, default=4, help="CALLPIPE_TRANSCRIPTION_CONCURRENCY")
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for the call to be transcribed")
    asyncio.run(main(parser.parse_args()))

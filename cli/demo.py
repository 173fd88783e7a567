"""`callpipe demo`: simulated WXCC calls through the whole pipeline on a local AWS endpoint, in about a minute."""

from __future__ import annotations

import asyncio
import json
import os
import time

from api.start import JourneyRequest, start_journey
from queues.bootstrap import bootstrap
from queues.claimcheck import ClaimCheck
from queues.directory import QueueDirectory
from queues.envelope import Kind
from queues.producer import Producer
from shared.aws import AwsClients
from shared.config import Settings
from shared.journeys import JourneyState, JourneyStatus, JourneyStore
from shared.resources import DataResources
from shared.storage import Storage
from simulator.aws import LocalAws
from simulator.openai_fake.app import http_script_source, running_openai_fake
from simulator.wxcc.config import SimulatorConfig
from simulator.wxcc.server import running_simulator
from workers.runner import run_stage

STAGES = (Kind.POLL, Kind.FETCH, Kind.TRANSCRIBE, Kind.ANALYZE)
CALLS = 24
TIMEOUT_S = 240


def _progress(status: JourneyStatus) -> str:
    parts = [f"discovered {status.discovered}"]
    for stage in ("fetch", "transcribe", "analyze"):
        parts.append(f"{stage} {int(status.count(stage, 'done'))}")
    skipped = int(status.count("poll", "skipped") + status.count("poll", "skipped_duplicate"))
    failed = int(sum(status.count(s, "failed") for s in ("fetch", "transcribe", "analyze")))
    return ", ".join([*parts, f"skipped {skipped}", f"failed {failed}"])


async def _run(endpoint: str) -> int:
    sim_config = SimulatorConfig(calls=CALLS, seed=42, window_hours=2, duration_scale=0.12, availability_delay_s=0)
    async with running_simulator(sim_config) as sim, running_openai_fake(http_script_source(sim.base_url)) as fake:
        cfg = sim.config
        settings = Settings(
            name_prefix="callpipe-demo",
            aws_endpoint_url=endpoint,
            aws_region="us-east-1",
            wxcc_base_url=sim.base_url,
            webex_auth_base_url=sim.base_url,
            wxcc_org_id=cfg.org_id,
            wxcc_client_id=cfg.client_id,
            wxcc_client_secret=cfg.client_secret,  # type: ignore[arg-type]
            wxcc_application_id=cfg.application_id,
            wxcc_download_hosts=["127.0.0.1"],
            wxcc_download_allow_http=True,
            openai_base_url=fake.base_url,
            consumer_wait_time_s=1,
            not_ready_base_s=2,
            poll_recheck_s=5,
            log_level="WARNING",
        )
        print(f"local AWS (moto) at {endpoint}; WXCC simulator at {sim.base_url}; OpenAI fake at {fake.base_url}")
        report = await bootstrap(settings)
        print(f"bootstrap: {len(report.created)} queues, tables and buckets created")
        stop = asyncio.Event()
        workers = [asyncio.create_task(run_stage(kind, settings, stop)) for kind in STAGES]
        resources = DataResources(settings.name_prefix)
        clients = AwsClients(settings)
        try:
            async with clients.dynamodb() as ddb, clients.sqs() as sqs, clients.s3() as s3:
                journeys = JourneyStore(ddb, resources.journeys_table.name)
                producer = Producer(
                    sqs, QueueDirectory(sqs, settings.name_prefix), ClaimCheck(s3, resources.messages_bucket.name)
                )
                now = sim.state.clock.now_ms()
                journey = await start_journey(
                    journeys, producer, JourneyRequest(cfg.org_id, from_ms=now - 3 * 3600 * 1000, to_ms=now)
                )
                print(f"journey {journey.id}: calls that ended in the last 3 hours")
                started = time.monotonic()
                status = await journeys.status(journey.id)
                while status and status.journey.state is JourneyState.RUNNING:
                    if time.monotonic() - started > TIMEOUT_S:
                        print(f"demo FAILED: not finished after {TIMEOUT_S} s ({_progress(status)})")
                        return 1
                    await asyncio.sleep(2)  # a progress line every two seconds, as an operator would watch it
                    status = await journeys.status(journey.id)
                    if status:
                        print(f"  {time.monotonic() - started:5.1f} s  {_progress(status)}", flush=True)
                assert status is not None
                return await _summary(status, journeys, Storage(s3), resources, time.monotonic() - started)
        finally:
            stop.set()
            await asyncio.gather(*workers, return_exceptions=True)


async def _summary(
    status: JourneyStatus, journeys: JourneyStore, storage: Storage, resources: DataResources, took_s: float
) -> int:
    analysed = int(status.count("analyze", "done"))
    billed_min = status.count("transcribe", "billed_audio_s") / 60
    print(f"\njourney {status.journey.state.value} in {took_s:.1f} s")
    print(f"  calls found     {status.discovered}")
    print(f"  analysed        {analysed}")
    print(f"  skipped         {int(status.count('poll', 'skipped'))} (not recorded)")
    print(f"  failed          {int(sum(status.count(s, 'failed') for s in ('fetch', 'transcribe', 'analyze')))}")
    print(f"  billed audio    {billed_min:.1f} min")
    print(f"  results         s3://{resources.results_bucket.name}/{{transcripts,analyses,analytics/calls}}/")
    example = next(iter(await journeys.jobs(status.journey.id, outcome="analyzed", limit=1)), None)
    if example:
        document = await storage.get_json(resources.results_bucket.name, example["analysis_key"])
        print(f"\nexample analysis ({example['analysis_key']}):")
        print(json.dumps(document["analysis"], indent=2)[:1500])
    ok = status.journey.state is JourneyState.COMPLETED and analysed > 0
    print("\ndemo OK" if ok else "\ndemo FAILED")
    return 0 if ok else 1


def run_demo() -> int:
    """Start everything locally, run one journey over the simulator's calls, print what happened."""
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
    if os.environ.get("OPENAI_API_KEY"):
        print("note: OPENAI_API_KEY is set, but the demo never calls OpenAI: it uses the local OpenAI-compatible fake")
    with LocalAws(port=0) as aws:
        return asyncio.run(_run(aws.endpoint))

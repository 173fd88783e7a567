"""`callpipe demo`: simulated WXCC calls through the whole pipeline on a local AWS endpoint, in about a minute.

It ends as a user of the product would look at the result: through the API (served in-process for the occasion), the
analytics summary by queue, the journey's report, and one call's transcript turns. On a terminal it then keeps the
stack, the API and the web console running at a printed URL until Ctrl-C; in CI or without a terminal it exits.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time

import httpx
from aiohttp import web
from rich.console import Console

from api.app import create_app
from api.config import ApiConfig
from api.start import JourneyRequest, start_journey
from cli.analytics import print_summary as print_analytics
from cli.devstack import dev_stack
from cli.watch import print_summary, watch
from queues.claimcheck import ClaimCheck
from queues.directory import QueueDirectory
from queues.producer import Producer
from shared.analytics.queries import Summary, TranscriptOut
from shared.aws import AwsClients
from shared.config import Settings
from shared.journeys import JourneyState, JourneyStatus, JourneyStore
from shared.resources import DataResources
from shared.storage import Storage
from simulator.wxcc.config import SimulatorConfig

CALLS = 24
DEMO_API_PORT = 8080
TIMEOUT_S = 240


async def _run() -> int:
    sim_config = SimulatorConfig(calls=CALLS, seed=42, window_hours=2, duration_scale=0.12, availability_delay_s=0)
    async with dev_stack(sim_config, prefix="callpipe-demo") as stack:
        settings, sim = stack.settings, stack.sim
        print(f"local AWS (moto) at {settings.aws_endpoint_url}; WXCC simulator at {sim.base_url}; ", end="")
        print(f"OpenAI fake at {stack.openai_base_url}; workers: poll, fetch, transcribe, analyze")
        resources = DataResources(settings.name_prefix)
        clients = AwsClients(settings)
        async with clients.dynamodb() as ddb, clients.sqs() as sqs, clients.s3() as s3:
            journeys = JourneyStore(ddb, resources.journeys_table.name)
            producer = Producer(
                sqs, QueueDirectory(sqs, settings.name_prefix), ClaimCheck(s3, resources.messages_bucket.name)
            )
            now = sim.state.clock.now_ms()
            journey = await start_journey(
                journeys, producer, JourneyRequest(sim.config.org_id, from_ms=now - 3 * 3600 * 1000, to_ms=now)
            )
            print(f"journey {journey.id}: calls that ended in the last 3 hours")
            started = time.monotonic()
            status = await watch(journeys, journey.id, timeout_s=TIMEOUT_S)
            if status is None or status.journey.state is JourneyState.RUNNING:
                print(f"demo FAILED: the journey did not finish within {TIMEOUT_S} s")
                return 1
            code = await _summary(status, journeys, Storage(s3), resources, time.monotonic() - started)
        if code == 0:
            await _through_the_api(settings, status.journey.id, linger=_interactive())
        return code


def _interactive() -> bool:
    """On a terminal (and not in CI) the demo keeps its stack and console up until Ctrl-C; otherwise it exits."""
    return sys.stdout.isatty() and sys.stdin.isatty() and os.environ.get("CI", "").lower() not in ("1", "true", "yes")


async def _until_interrupted(url: str, config: ApiConfig) -> None:
    """Keep the stack and the API (with the console, when built) running until Ctrl-C."""
    index = config.console_dir / "index.html" if config.console_dir is not None else None
    if index is not None and index.is_file():
        print(f"\nWeb console on the demo's data: {url}/  (sign in with any key: the demo API needs none)")
    else:
        print(f"\nThe API keeps running at {url}/api/v1 (build the web console with `make console` to browse it)")
    print("Ctrl-C stops the demo.")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


async def _summary(
    status: JourneyStatus, journeys: JourneyStore, storage: Storage, resources: DataResources, took_s: float
) -> int:
    analysed = int(status.count("analyze", "done"))
    billed_min = status.count("transcribe", "billed_audio_s") / 60
    print(f"\njourney {status.journey.state.value} in {took_s:.1f} s")
    print_summary(status)
    print(f"  billed audio: {billed_min:.1f} min for {analysed} calls")
    print(f"  results:      s3://{resources.results_bucket.name}/{{transcripts,analyses,analytics/calls}}/")
    example = next(iter(await journeys.jobs(status.journey.id, outcome="analyzed", limit=1)), None)
    if example:
        document = await storage.get_json(resources.results_bucket.name, example["analysis_key"])
        print(f"\nexample analysis ({example['analysis_key']}):")
        print(json.dumps(document["analysis"], indent=2)[:1500])
    ok = status.journey.state is JourneyState.COMPLETED and analysed > 0
    print("\ndemo OK" if ok else "\ndemo FAILED")
    return 0 if ok else 1


async def _through_the_api(settings: Settings, journey_id: str, *, linger: bool = False) -> None:
    """What the API answers about the run: analytics by queue, the journey's report, one call's transcript; with
    `linger`, the API (and the console) then stays up until Ctrl-C."""
    config = ApiConfig(allow_anonymous=True)
    runner = web.AppRunner(create_app(settings, config), access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", DEMO_API_PORT if linger else 0)
        try:
            await site.start()
        except OSError:  # the usual port is taken: any free one
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}/api/v1", timeout=30) as api:
            console = Console(width=120)
            resp = await api.get("/analytics/summary", params={"group_by": "queue"})
            resp.raise_for_status()
            print("\nGET /api/v1/analytics/summary?group_by=queue")
            print_analytics(console, Summary.model_validate(resp.json()))
            report = (await api.get(f"/journeys/{journey_id}/report")).json()
            print(f"\nGET /api/v1/journeys/{journey_id}/report (also ?format=csv|html; in reports/{journey_id}/)")
            print(
                f"  discovered {report['discovered']}, analysed {report['analyzed']}, skipped {report['skipped']}, "
                f"failed {report['failed']}; outcomes {report['outcomes']}"
            )
            calls = (await api.get("/calls", params={"limit": 1})).json()
            if calls.get("items"):
                task_id = calls["items"][0]["task_id"]
                resp = await api.get(f"/calls/{task_id}/transcript")
                resp.raise_for_status()
                transcript = TranscriptOut.model_validate(resp.json())
                print(f"\nGET /api/v1/calls/{task_id}/transcript ({transcript.call_seconds:.0f} s)")
                for turn in transcript.turns:
                    print(f"  [{turn.start:6.1f}-{turn.end:6.1f}] {turn.speaker:>8}: {turn.text}")
        if linger:
            await _until_interrupted(f"http://127.0.0.1:{port}", config)
    finally:
        await runner.cleanup()


def run_demo() -> int:
    """Start everything locally, run one journey over the simulator's calls, print what happened."""
    if os.environ.get("OPENAI_API_KEY"):
        print("note: OPENAI_API_KEY is set, but the demo never calls OpenAI: it uses the local OpenAI-compatible fake")
    return asyncio.run(_run())

"""Capture-available → analysed for 50 calls through the real pipeline: via webhooks vs via a poll every 5 minutes.

Everything that runs is ours or a local stand-in, over real sockets: moto (its own process: SQS, DynamoDB, S3, Secrets
Manager), the WXCC simulator, the OpenAI fake, the API (its webhook receiver, `POST /api/v1/webhooks/wxcc`, on a real
port) and the four stage consumers (`workers.runner.run_stage`, tasks of this process).

Fixed latencies (every one a flag): WXCC delivers each `capture:available` `--webhook-delay-s` after the capture is
available (the simulator's `webhook_delay_s` for every event); WXCC's search and captures queries answer
`--wxcc-delay-s` late (a `slow` fault on every one); every OpenAI request (transcription, chat completion) answers
`--openai-delay-s` late (the fake's `delay_s`); a recording is listed `--availability-delay-s` after its call ends.
The rest — SQS hops, DynamoDB writes, downloads, audio preparation, the claim, the receiver — is measured as it runs
here (moto on a shared 2-core machine: slower than AWS).

The calls: `--calls` short recorded calls (one leg, no consult, no abandoned or unrecorded ones), created over
`--spread-s` seconds starting a few seconds after setup, so their captures become available over that spread (the
default spread equals the poll interval: the wait for the next poll is then spread evenly whatever the schedule's
phase).
A call's capture-available moment is the simulator's (`Call.recordings_available_from`); its analysed moment is
the tracking row's `updated_at` when it reached ANALYZED (written by the analyze stage's move to ANALYZED).

1. Webhook path (real time): `callpipe webhooks register` subscribes the receiver; the simulator pushes a signed
   delivery per capture; latency = analysed - capture available, all of it measured.
2. Poll path (simulated clock): a fresh deployment (new tables and queues, nothing claimed) and the *same* calls (same
   seed: same task ids, durations and positions relative to the schedule) replayed k whole poll intervals earlier, so
   every scheduled tick lies in the past of the wall clock (a journey's window may not end in the future). The schedule
   (EventBridge's `rate(5 minutes)`) ticks here at multiples of `--poll-min` since the epoch (a real schedule's phase is
   arbitrary; with the default spread it does not change the distribution). For each tick P in turn,
   the simulator's clock is set to P (it then runs at real speed), a poll journey over the calls that ended in the
   last `--lookback-min` minutes is started exactly as the scheduler's `callpipe journey start --lookback-minutes`
   does, and runs until it completes. What is simulated is only the wait between ticks: latency =
   (P - capture available) [simulated seconds: the wait for the poll] + (analysed - the journey's start) [real,
   measured]. A call that ended before P but whose capture appears after P is found by that poll and its fetch waits
   (NotReadyYet) as in production; the first term is then negative and the second holds the wait.

WXCC requests per call: what the simulator served in each phase on its data endpoints (search pages, captures
queries, task look-ups; not token grants, recording downloads or the one subscription call) ÷ calls.
`missed`: calls not analysed within the time limit, both paths together.

Last line: webhook_p50_s=… webhook_p95_s=… poll_p50_s=… missed=… wxcc_requests_per_call_webhook=…
wxcc_requests_per_call_poll=…
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from dataclasses import dataclass

from aiohttp import web
from stack import Observer, Services, pipeline_fields, run_stages, services, wait_until

from api.app import create_app
from api.config import ApiConfig
from cli.webhooks import register
from queues.envelope import Kind
from shared.aws import AwsClients
from shared.config import Settings
from shared.journeys import live_journey_id
from shared.logging import configure_logging
from shared.resources import DataResources
from shared.tracking import CallStatus, tracking_key
from simulator.wxcc.config import SimulatorConfig
from simulator.wxcc.faults import FaultRule
from simulator.wxcc.generator import Call

DATA_ENDPOINTS = ("search", "captures", "tasks")
PIPELINE = (Kind.POLL, Kind.FETCH, Kind.TRANSCRIBE, Kind.ANALYZE)
RECEIVER_PATH = "/api/v1/webhooks/wxcc"


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (`q` in 0..1)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def calls_config(args: argparse.Namespace, start_ms: int) -> SimulatorConfig:
    """`args.calls` short recorded calls created over `args.spread_s` from `start_ms` (one leg each)."""
    return SimulatorConfig(
        calls=args.calls,
        seed=args.seed,
        window_start_ms=start_ms,
        window_end_ms=start_ms + round(args.spread_s * 1000),
        duration_scale=0.02,  # calls of 1-7 s: recordings of a few hundred KB
        abandoned_fraction=0,
        unrecorded_fraction=0,
        consult_fraction=0,
        capture_pending_fraction=0,
        same_created_fraction=0,
        availability_delay_s=args.availability_delay_s,
        webhook_tick_s=0.1,
        webhook_delay_fraction=1.0,  # every delivery: WXCC's own delay
        webhook_delay_s=args.webhook_delay_s,
        faults=(FaultRule(kind="slow", endpoints=("search", "captures"), probability=1.0, delay_s=args.wxcc_delay_s),),
    )


def available_s(call: Call, config: SimulatorConfig) -> float:
    """When the call's capture became available, epoch seconds of the simulator's clock."""
    at = call.recordings_available_from(round(config.availability_delay_s * 1000))
    assert at is not None, call.task_id
    return at / 1000


def served(svc: Services) -> dict[str, int]:
    return {endpoint: svc.sim.state.stats.requests.get(endpoint, 0) for endpoint in DATA_ENDPOINTS}


class Rows:
    """Reads the tracking rows' raw items (`TrackingRow` leaves `updated_at` out)."""

    def __init__(self, settings: Settings) -> None:
        self._clients = AwsClients(settings)
        self._table = DataResources(settings.name_prefix).tracking_table.name
        self._stack = AsyncExitStack()

    async def __aenter__(self) -> Rows:
        self._ddb = await self._stack.enter_async_context(self._clients.dynamodb())
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.aclose()

    async def analysed(self, org_id: str, task_ids: list[str]) -> dict[str, tuple[str, float]]:
        """task id → (journey id, `updated_at`) of the rows that reached ANALYZED."""
        done: dict[str, tuple[str, float]] = {}
        for task_id in task_ids:
            key = tracking_key(org_id, task_id)
            item = (await self._ddb.get_item(TableName=self._table, Key=key, ConsistentRead=True)).get("Item")
            if item and item["status"]["S"] == CallStatus.ANALYZED.value:
                done[task_id] = (item["journey_id"]["S"], float(item["updated_at"]["N"]))
        return done


def bench_settings(svc: Services) -> Settings:
    """A fresh deployment on the local services (its own tables and queues)."""
    return Settings(**pipeline_fields(svc, privacy_hmac_secret="latency-bench-privacy-key-0123456789"))


@asynccontextmanager
async def api_server(settings: Settings) -> AsyncIterator[str]:
    """The real API on a free port; yields its webhook receiver's URL."""
    runner = web.AppRunner(create_app(settings, ApiConfig(key_hashes=["0" * 64])), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}{RECEIVER_PATH}"
    finally:
        await runner.cleanup()


@dataclass
class PathResult:
    latencies: dict[str, float]  # task id → seconds from capture available to analysed
    requests: dict[str, int]  # WXCC data-plane requests served, per endpoint
    notes: str


async def webhook_path(svc: Services, args: argparse.Namespace) -> tuple[PathResult, SimulatorConfig]:
    """Register the receiver, let the captures appear in real time, wait until every call is analysed."""
    settings = bench_settings(svc)
    async with Observer(settings), Rows(settings) as rows, api_server(settings) as url:
        # The calls start a few seconds from now, after the subscription exists (WXCC sends only later captures).
        config = calls_config(args, int(time.time() * 1000) + 5_000)
        svc.sim.state.reset(config)
        await register(settings, url=url, name="callpipe latency bench", allow_http=True)
        calls = list(svc.sim.state.calls.values())
        org = config.org_id
        ids = [c.task_id for c in calls]
        last = max(available_s(c, config) for c in calls)
        async with run_stages(PIPELINE, settings):

            async def all_analysed() -> bool:
                if time.time() < last:
                    return False
                return len(await rows.analysed(org, ids)) == len(ids)

            with suppress(TimeoutError):
                await wait_until(all_analysed, limit_s=last - time.time() + args.limit_s, interval=1.0)
            done = await rows.analysed(org, ids)
        live = live_journey_id(org)
        latencies = {t: at - available_s(svc.sim.state.calls[t], config) for t, (j, at) in done.items() if j == live}
        events = dict(svc.sim.state.webhooks.log.events)
        deliveries = dict(svc.sim.state.webhooks.log.statuses)
    return PathResult(latencies, served(svc), f"webhook events {events}, deliveries {deliveries}"), config


async def poll_path(svc: Services, args: argparse.Namespace, webhook_config: SimulatorConfig) -> PathResult:
    """The same calls, k poll intervals earlier, found by poll journeys at the scheduled ticks (simulated clock)."""
    interval_ms = round(args.poll_min * 60_000)
    span_ms = (webhook_config.window_end_ms or 0) - (webhook_config.window_start_ms or 0)
    latest_end_ms = (webhook_config.window_end_ms or 0) + 60_000 + round(args.availability_delay_s * 1000)
    shift = max(1, math.ceil((latest_end_ms + interval_ms - time.time() * 1000) / interval_ms) + 1) * interval_ms
    start_ms = (webhook_config.window_start_ms or 0) - shift
    config = webhook_config.model_copy(update={"window_start_ms": start_ms, "window_end_ms": start_ms + span_ms})
    webhook_ids = sorted(svc.sim.state.calls)
    svc.sim.state.reset(config)
    calls = list(svc.sim.state.calls.values())
    assert sorted(svc.sim.state.calls) == webhook_ids, "the poll path must replay the same calls"
    org, ids = config.org_id, [c.task_id for c in calls]
    ready = {c.task_id: available_s(c, config) for c in calls}
    settings = bench_settings(svc)
    latencies: dict[str, float] = {}
    polls: list[str] = []
    clock = svc.sim.state.clock
    async with Observer(settings) as obs, Rows(settings) as rows, run_stages(PIPELINE, settings):
        tick = math.ceil(min(c.ended_ms for c in calls) / interval_ms) * interval_ms
        sim_now = tick
        while len(latencies) < len(ids) and tick <= max(c.ended_ms for c in calls) + interval_ms:
            assert tick >= sim_now, "a journey outlasted the poll interval: the schedule would fall behind"
            clock.offset_ms = tick - int(time.time() * 1000)  # the simulator's now = this tick
            started = time.time()
            journey = await obs.start(org, from_ms=tick - round(args.lookback_min * 60_000), to_ms=tick)

            async def completed(journey_id: str = journey.id) -> bool:
                return bool((await obs.status(journey_id)).journey.state.value == "COMPLETED")

            with suppress(TimeoutError):
                await wait_until(completed, limit_s=args.limit_s, interval=0.5)
            status = await obs.status(journey.id)
            found = 0
            for task_id, (journey_id, at) in (await rows.analysed(org, ids)).items():
                if journey_id == journey.id:
                    latencies[task_id] = (tick / 1000 - ready[task_id]) + (at - started)
                    found += 1
            sim_now = clock.now_ms()
            polls.append(f"{found}({status.count('poll', 'queued'):.0f} queued, {time.time() - started:.0f} s)")
            tick += interval_ms
    notes = f"polls at ticks shifted {shift // interval_ms} intervals back, analysed per poll: {', '.join(polls)}"
    return PathResult(latencies, served(svc), notes)


async def main(args: argparse.Namespace) -> None:
    configure_logging("WARNING", "json")
    placeholder = SimulatorConfig(calls=0)
    async with services(placeholder, aws_process=True) as svc:
        svc.fake.faults.delay_s = args.openai_delay_s
        print(
            f"method: {args.calls} calls, captures available over {args.spread_s:g} s; fixed latencies: webhook "
            f"delivery {args.webhook_delay_s:g} s, WXCC search/captures {args.wxcc_delay_s:g} s, OpenAI "
            f"{args.openai_delay_s:g} s per request, recording listed {args.availability_delay_s:g} s after the end; "
            f"poll every {args.poll_min:g} min (lookback {args.lookback_min:g} min)"
        )
        print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
        webhook, config = await webhook_path(svc, args)
        print(f"webhooks: {webhook.notes}; served {webhook.requests}")
        poll = await poll_path(svc, args, config)
        print(f"poll: {poll.notes}; served {poll.requests}")
    n = args.calls
    missed = (n - len(webhook.latencies)) + (n - len(poll.latencies))
    w, p = list(webhook.latencies.values()) or [math.nan], list(poll.latencies.values()) or [math.nan]
    print(
        f"webhook: p50 {percentile(w, 0.5):.1f} s, p95 {percentile(w, 0.95):.1f} s, max {max(w):.1f} s; "
        f"poll: p50 {percentile(p, 0.5):.1f} s, p95 {percentile(p, 0.95):.1f} s, max {max(p):.1f} s"
    )
    print(
        f"webhook_p50_s={percentile(w, 0.5):.1f} webhook_p95_s={percentile(w, 0.95):.1f} "
        f"poll_p50_s={percentile(p, 0.5):.1f} missed={missed} "
        f"wxcc_requests_per_call_webhook={sum(webhook.requests.values()) / n:.3f} "
        f"wxcc_requests_per_call_poll={sum(poll.requests.values()) / n:.3f}"
    )


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    p.add_argument("--calls", type=int, default=50)
    p.add_argument("--spread-s", type=float, default=300, help="captures become available over this many seconds")
    p.add_argument("--availability-delay-s", type=float, default=10, help="a recording is listed this long after")
    p.add_argument("--webhook-delay-s", type=float, default=1.0, help="WXCC's delay in delivering a webhook")
    p.add_argument("--wxcc-delay-s", type=float, default=0.3, help="each WXCC search/captures answer's latency")
    p.add_argument("--openai-delay-s", type=float, default=2.0, help="each OpenAI request's latency")
    p.add_argument("--poll-min", type=float, default=5, help="the poll schedule's interval")
    p.add_argument("--lookback-min", type=float, default=10, help="each poll journey's window")
    p.add_argument("--limit-s", type=float, default=180, help="how long to wait for a path / a poll to finish")
    p.add_argument("--seed", type=int, default=17)
    return p.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))

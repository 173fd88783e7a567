"""`run_chaos`: one chaos journey from start to checked outcome (see the package docstring for what and why)."""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import signal
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from api.start import JourneyRequest, start_journey
from queues.bootstrap import bootstrap
from queues.claimcheck import ClaimCheck
from queues.directory import QueueDirectory
from queues.producer import Producer
from shared.aws import AwsClients
from shared.config import Settings
from shared.journeys import JourneyState, JourneyStore
from shared.logging import get_logger
from shared.resources import DataResources
from shared.tracking import TrackingTable
from simulator.aws import local_aws_process
from simulator.chaos.attribution import attribute, save_latency, saves_in_logs, transcription_attribution
from simulator.chaos.checks import analysis_duplicates, check_outcome
from simulator.chaos.config import ChaosConfig
from simulator.chaos.faults import Killer, make_bad, openai_bursts
from simulator.chaos.report import ChaosReport
from simulator.chaos.workers import STAGES, Supervisor
from simulator.openai_fake.app import FakeHandle, running_openai_fake, state_script_source
from simulator.wxcc.server import SimulatorHandle, running_simulator

log = get_logger(__name__)


async def _wait(check: Callable[[], Awaitable[bool]], limit_s: float, what: str, interval: float = 1.0) -> None:
    deadline = time.monotonic() + limit_s
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {limit_s:.0f} s")
        await asyncio.sleep(interval)


async def run_chaos(cfg: ChaosConfig, *, progress: Callable[[str], None] | None = None) -> ChaosReport:
    """Run one chaos journey and check its outcome; never raises for a broken promise, lists it in `problems`."""
    say = progress or (lambda _line: None)
    rng = random.Random(cfg.seed)
    report = ChaosReport()
    keep_logs = cfg.logs_dir is not None
    logs = _logs_dir(cfg.logs_dir)
    report.logs_dir = str(logs)
    started = time.monotonic()
    sim_config = cfg.simulator_config()
    async with AsyncExitStack() as stack:
        aws, _ = await stack.enter_async_context(local_aws_process())
        sim = await stack.enter_async_context(running_simulator(sim_config))
        fake = await stack.enter_async_context(running_openai_fake(state_script_source(sim)))
        fake.faults.delay_s = cfg.openai_delay_s
        fields = _pipeline_fields(cfg, aws, sim, fake)
        settings = Settings(**fields)
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "chaos")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "chaos")
        await bootstrap(settings, include_echo=False)
        clients = AwsClients(settings)
        ddb = await stack.enter_async_context(clients.dynamodb())
        sqs = await stack.enter_async_context(clients.sqs())
        s3 = await stack.enter_async_context(clients.s3())
        resources = DataResources(settings.name_prefix)
        directory = QueueDirectory(sqs, settings.name_prefix)
        for kind in STAGES:
            urls = await directory.urls(kind)
            await sqs.set_queue_attributes(
                QueueUrl=urls.url, Attributes={"VisibilityTimeout": str(cfg.visibility_timeout_s)}
            )
        journeys = JourneyStore(ddb, resources.journeys_table.name)
        tracking = TrackingTable(ddb, resources.tracking_table.name)
        producer = Producer(sqs, directory, ClaimCheck(s3, resources.messages_bucket.name))

        truth = dict(sim.state.calls)
        report.calls = len(truth)
        recorded = {t for t, c in truth.items() if c.capture_requested and not c.abandoned and c.recordings}
        report.recorded = len(recorded)
        report.bad = make_bad(sim, fake, cfg, rng)

        supervisor = Supervisor(fields, cfg.workers_per_stage, logs)
        stack.push_async_callback(supervisor.stop)
        await supervisor.start()
        say(f"{report.calls} calls ({report.recorded} recorded, {len(report.bad)} made bad); workers started")

        journey = await start_journey(
            journeys,
            producer,
            JourneyRequest(sim_config.org_id, from_ms=sim_config.window_start_ms or 0, to_ms=int(time.time() * 1000)),
        )
        done = asyncio.Event()
        killer = Killer(supervisor, cfg.kills, cfg.min_kill_gap_s, rng, started, poll_first=cfg.kill_poll_first)
        chaos_tasks = [
            asyncio.create_task(killer.run(done)),
            asyncio.create_task(openai_bursts(fake, cfg.openai_burst_every_s, cfg.openai_burst_size, rng, done)),
        ]
        last_line = ""
        idle_since: float | None = None

        async def drained() -> bool:
            for kind in STAGES:
                attrs = await sqs.get_queue_attributes(
                    QueueUrl=(await directory.urls(kind)).url,
                    AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
                )
                if any(int(v) for v in attrs["Attributes"].values()):
                    return False
            return True

        async def completed() -> bool:
            nonlocal last_line
            status = await journeys.status(journey.id)
            assert status is not None
            done_by = {s: f"{status.count(s, 'done'):.0f}" for s in ("fetch", "transcribe", "analyze")}
            line = (
                f"{status.journey.state.value}: polled {status.discovered}, fetched {done_by['fetch']}, transcribed "
                f"{done_by['transcribe']}, analysed {done_by['analyze']}, kills {len(killer.kills)}"
            )
            if line != last_line:
                say(line)
                last_line = line
            if status.journey.state is not JourneyState.RUNNING:
                return True
            nonlocal idle_since
            if await drained():
                idle_since = idle_since or time.monotonic()
                if time.monotonic() - idle_since > cfg.stall_s:
                    raise TimeoutError(f"journey stalled: RUNNING with every stage queue empty for {cfg.stall_s:.0f} s")
            else:
                idle_since = None
            return False

        try:
            await _wait(completed, cfg.timeout_s - (time.monotonic() - started), "journey completed")
            # The journey is done; let the killer reach its count (on an idle pipeline it has nothing to kill).
            await _wait(
                lambda: _true(len(killer.kills) >= cfg.kills or chaos_tasks[0].done()), 5, "kills", interval=0.2
            )
        except TimeoutError as exc:
            report.problems.append(str(exc))
        done.set()
        await asyncio.gather(*chaos_tasks, return_exceptions=True)
        report.kills = killer.kills
        # Whatever is still queued (a duplicate delivery, a late retry) must be worked off before the outcome counts.
        fake.faults.rate_limit_next = fake.faults.server_error_next = 0

        try:
            await _wait(drained, 120, "stage queues drained")
        except TimeoutError as exc:
            report.problems.append(str(exc))
        await supervisor.stop()
        report.restarts = supervisor.restarts
        unexpected_exits = {c: n for c, n in supervisor.exits.items() if c not in (0, -signal.SIGKILL)}
        if unexpected_exits:
            report.problems.append(f"worker processes exited on their own (return code: count): {unexpected_exits}")

        status = await journeys.status(journey.id)
        assert status is not None
        org = sim_config.org_id
        await check_outcome(report, status, truth, recorded, tracking, s3, sqs, directory, resources, org)
        stats = fake.stats
        # Identical prompts of distinct calls (short simulated calls share their few lines) are not duplicates: the
        # prompts each analysed call's stored transcript makes decide (`analysis_duplicates`).
        report.duplicate_detail = {k: v for k, v in stats.duplicates().items() if v and k != "prompts"}
        extra_prompts, calls_of = await analysis_duplicates(
            report, stats.completions_by_prompt, tracking, s3, resources, org
        )
        report.duplicates = stats.transcription_duplicates() + sum(extra_prompts.values())
        saves = saves_in_logs(supervisor.log_of)
        attribution = transcription_attribution(
            stats.bills, stats.chunks_billed, stats.audio_billed, killer.kills, saves
        )
        attribution.add(attribute(stats.bills, extra_prompts, killer.kills, saves, calls_of))
        report.in_flight_at_kill = attribution.in_flight
        report.save_latency_s = save_latency(stats.bills, saves)
        report.duplicates_in_flight_at_kill = len(attribution.in_flight)
        report.duplicates_unexplained = sum(attribution.unexplained.values())
        if report.duplicates_unexplained:
            report.duplicate_detail["unexplained"] = attribution.unexplained
            report.problems.append(
                f"{report.duplicates_unexplained} requests billed twice although the first answer reached a process "
                f"that lived on or had saved it ({report.duplicates_in_flight_at_kill} more were in flight at a "
                f"SIGKILL): {attribution.unexplained}"
            )
        billed_tasks = set(stats.transcriptions_by_task)
        expected_billed = recorded - set(report.bad)
        if not expected_billed <= billed_tasks:
            report.problems.append(f"calls never transcribed: {sorted(expected_billed - billed_tasks)[:10]}")
        if stats.completions != report.analysed + sum(extra_prompts.values()):
            report.problems.append(
                f"{stats.completions} billed analyses for {report.analysed} analysed calls and "
                f"{sum(extra_prompts.values())} analyses billed twice"
            )
        report.billed_audio_s = round(stats.billed_seconds, 1)
        report.openai_requests = dict(stats.requests)
        report.openai_abandoned = dict(stats.abandoned)
        wxcc = {f"wxcc_{k}": n for k, n in sim.state.faults.injected.items()}
        openai = {f"openai_{k}": n for k, n in stats.faults.items() if k != "rejected_audio"}
        report.faults = {**wxcc, **openai}
        if len(report.kills) < cfg.kills:
            report.problems.append(f"only {len(report.kills)} of {cfg.kills} kills landed mid-work")
    report.wall_s = time.monotonic() - started
    if report.ok and not keep_logs:
        shutil.rmtree(logs, ignore_errors=True)
        report.logs_dir = ""
    log.info("chaos_done", summary=report.summary_line(), problems=len(report.problems))
    return report


def _pipeline_fields(cfg: ChaosConfig, aws_endpoint: str, sim: SimulatorHandle, fake: FakeHandle) -> dict[str, Any]:
    sc = sim.config
    return {
        "name_prefix": f"chaos-{uuid.uuid4().hex[:10]}",
        "aws_region": "us-east-1",
        "aws_endpoint_url": aws_endpoint,
        "aws_max_attempts": 5,
        "openai_api_key": "chaos-key",
        "openai_base_url": fake.base_url,
        "transcription_model": "whisper-1",
        "analysis_model": "gpt-4o-mini",
        "wxcc_base_url": sim.base_url,
        "webex_auth_base_url": sim.base_url,
        "wxcc_org_id": sc.org_id,
        "wxcc_client_id": sc.client_id,
        "wxcc_client_secret": sc.client_secret,
        "wxcc_application_id": sc.application_id,
        "wxcc_refresh_token": sc.refresh_token,
        "wxcc_download_hosts": ["127.0.0.1"],
        "wxcc_download_allow_http": True,
        "wxcc_max_attempts": 6,
        "wxcc_rate_per_minute": 100_000,
        "consumer_concurrency": cfg.consumer_concurrency,
        "transcription_concurrency": 2 * cfg.consumer_concurrency,
        "consumer_wait_time_s": 1,
        "consumer_grace_period_s": 5,
        "backoff_base_s": 1,
        "backoff_max_s": 4,
        "not_ready_base_s": 1,
        "not_ready_max_s": 2,
        "poll_recheck_s": 2,
        "capture_max_age_s": 60,  # every call ended over an hour ago: a recording still missing never comes
        "capture_min_wait_s": 5,  # ... so fetch may FAIL it after a few captures queries, not the default 10 minutes
        "stage_lease_s": cfg.stage_lease_s,
        "max_receive_count": cfg.max_receive_count,
        "emf_interval_s": 0,
        "log_level": "INFO",
        "log_format": "json",
    }


def _logs_dir(wanted: str | None) -> Path:
    logs = Path(wanted or tempfile.mkdtemp(prefix="callpipe-chaos-"))
    logs.mkdir(parents=True, exist_ok=True)
    return logs


async def _true(value: bool) -> bool:
    return value

"""The chaos run: one journey over simulated calls through real worker processes under faults and SIGKILLs, then a
check that every recorded call was analysed exactly once and nothing was lost.

What runs (`run_chaos`):

* moto as its own `callpipe local-aws` process; the WXCC simulator and the OpenAI fake on this event loop.
* one or more `callpipe worker --stage <stage>` processes per stage (poll, fetch, transcribe, analyze), each with its
  own `/metrics` port, restarted after a SIGKILL as ECS would restart a task (`Supervisor`).
* faults: WXCC probabilistic 5xx / 429 with Retry-After on its API endpoints and truncated recording downloads
  (the simulator's `FaultEngine`), OpenAI 429/500 bursts (the fake's `rate_limit_next` / `server_error_next`, set
  every few seconds), and `kills` SIGKILLs of worker processes chosen while their stage has handlers in flight (the
  `callpipe_messages_in_flight` gauge of that very process).
* permanently bad calls: some recorded calls whose recording never appears (WXCC keeps saying "recorded" but the
  captures query stays empty, past `capture_max_age_s`: fetch FAILS them), and some whose audio the speech-to-text
  service refuses as corrupt (the fake answers 400: transcribe FAILS them).

Short queue visibility timeouts (set on the queues after bootstrap) and a short stage lease make a killed worker's
message come back within seconds.

What is checked (`ChaosReport.problems`, empty when all holds):

* every recorded call that was not made bad has exactly one analysis object in S3 and its tracking row is ANALYZED;
* no call was transcribed or analysed twice: the fake's billed requests per (call, chunk), per (call, audio
  content) and per call's analysis (`duplicates`) — except a request answered at most `KILL_WINDOW_S` before a
  SIGKILL of the very stage that asked (`duplicates_at_kill`: the answer arrived, the process died before saving it;
  no client can prevent that without an idempotency key at the provider). Those are reported, not hidden;
* the journey is COMPLETED and its counters agree with each other and with the truth;
* the DLQs hold exactly the bad calls, each with its reason, and their rows are FAILED with that reason.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import random
import shutil
import signal
import socket
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from api.start import JourneyRequest, start_journey
from queues.bootstrap import bootstrap
from queues.claimcheck import ClaimCheck
from queues.directory import QueueDirectory
from queues.dlq import list_dead_letters
from queues.envelope import Kind
from queues.producer import Producer
from shared.analysis import user_prompt
from shared.aws import AwsClients
from shared.config import Settings
from shared.journeys import JourneyState, JourneyStatus, JourneyStore
from shared.logging import get_logger
from shared.resources import DataResources
from shared.storage import Storage
from shared.tracking import CallStatus, TrackingTable
from shared.transcripts import Transcript
from simulator.aws import local_aws_process
from simulator.openai_fake.app import FakeHandle, prompt_digest, running_openai_fake, state_script_source
from simulator.wxcc.config import SimulatorConfig
from simulator.wxcc.faults import FaultRule
from simulator.wxcc.server import SimulatorHandle, running_simulator

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client
    from types_aiobotocore_sqs import SQSClient

log = get_logger(__name__)

STAGES = (Kind.POLL, Kind.FETCH, Kind.TRANSCRIBE, Kind.ANALYZE)
HOUR_MS = 3_600_000
_WXCC_API = ("search", "tasks", "captures", "recordings")
KILL_WINDOW_S = 5.0  # a request answered this long before its process was SIGKILLed may not have been saved
_SETTINGS_ALIASES = {
    "aws_region": "AWS_REGION",
    "aws_endpoint_url": "AWS_ENDPOINT_URL",
    "openai_api_key": "OPENAI_API_KEY",
    "openai_base_url": "OPENAI_BASE_URL",
}


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


@dataclass(frozen=True)
class Kill:
    """One SIGKILL: which stage's process, when (seconds into the run) and how many handlers it had running."""

    stage: str
    pid: int
    at_s: float
    in_flight: int
    at_monotonic: float = 0.0


@dataclass
class ChaosReport:
    """The figures of a chaos run and everything that did not hold (`problems`)."""

    calls: int = 0  # simulated calls in the journey's window
    recorded: int = 0
    bad: dict[str, str] = field(default_factory=dict)  # task → how the run made it bad
    faults: dict[str, int] = field(default_factory=dict)  # injected, by source and kind
    kills: list[Kill] = field(default_factory=list)
    restarts: int = 0
    analysed: int = 0
    duplicates: int = 0  # requests billed beyond one per call (chunk / analysis), whatever the cause
    duplicates_at_kill: int = 0  # ... of which answered just before a SIGKILL of the process that asked, unsaved
    duplicate_detail: dict[str, dict[str, int]] = field(default_factory=dict)
    lost: list[str] = field(default_factory=list)
    analysed_tasks: list[str] = field(default_factory=list)
    dead_letters: dict[str, list[dict[str, str | None]]] = field(default_factory=dict)
    journey_state: str = ""
    counters: dict[str, dict[str, float]] = field(default_factory=dict)
    billed_audio_s: float = 0.0
    openai_requests: dict[str, int] = field(default_factory=dict)
    openai_abandoned: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    logs_dir: str = ""
    wall_s: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary_line(self) -> str:
        """`calls=… faults=… kills=… analysed=… duplicates=… lost=… wall_s=…`."""
        return (
            f"calls={self.calls} faults={sum(self.faults.values())} kills={len(self.kills)} analysed={self.analysed} "
            f"duplicates={self.duplicates} lost={len(self.lost)} wall_s={self.wall_s:.1f}"
        )

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["ok"] = self.ok
        return data


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def worker_env(fields: dict[str, Any], **extra: str) -> dict[str, str]:
    """The environment a `callpipe worker` process needs to build `Settings(**fields)`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CALLPIPE_", "AWS_ENDPOINT_URL", "OPENAI_"))}
    for key, value in fields.items():
        name = _SETTINGS_ALIASES.get(key, f"CALLPIPE_{key.upper()}")
        env[name] = json.dumps(value) if isinstance(value, list | dict) else str(value)
    env.update(AWS_ACCESS_KEY_ID="chaos", AWS_SECRET_ACCESS_KEY="chaos")  # noqa: S106 - the emulator's dummy keys
    env.update(extra)
    return env


@dataclass
class WorkerProcess:
    """One `callpipe worker --stage` process (one ECS task)."""

    stage: Kind
    slot: int
    proc: asyncio.subprocess.Process
    metrics_port: int
    log_path: Path

    @property
    def alive(self) -> bool:
        return self.proc.returncode is None

    async def in_flight(self, http: httpx.AsyncClient) -> int:
        """Handlers this process is running now (its `callpipe_messages_in_flight` gauge); 0 if it cannot tell."""
        try:
            text = (await http.get(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=2)).text
        except httpx.HTTPError:
            return 0
        for line in text.splitlines():
            if line.startswith("callpipe_messages_in_flight{"):
                return int(float(line.rsplit(" ", 1)[1]))
        return 0


class Supervisor:
    """Keeps `per_stage` worker processes running per stage, restarting any that dies (as ECS restarts a task)."""

    def __init__(self, fields: dict[str, Any], per_stage: int, logs: Path) -> None:
        self._fields = fields
        self._per_stage = per_stage
        self._logs = logs
        self.workers: dict[tuple[Kind, int], WorkerProcess] = {}
        self.restarts = 0
        self.exits: Counter[int] = Counter()  # return codes of processes that ended while supervised
        self._stopping = False
        self._watchers: list[asyncio.Task[None]] = []
        self._starts = 0

    async def start(self) -> None:
        for stage in STAGES:
            for slot in range(self._per_stage):
                await self._spawn(stage, slot)

    async def _spawn(self, stage: Kind, slot: int) -> None:
        port = _free_port()
        self._starts += 1
        log_path = self._logs / f"{stage.value}-{slot}-{self._starts}.log"
        env = worker_env(self._fields, CALLPIPE_METRICS_PORT=str(port))
        with log_path.open("wb") as out:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "cli.main", "worker", "--stage", stage.value, env=env, stderr=out, stdout=out
            )
        worker = WorkerProcess(stage, slot, proc, port, log_path)
        self.workers[(stage, slot)] = worker
        self._watchers.append(asyncio.create_task(self._watch(worker)))
        log.info("chaos_worker_started", stage=stage.value, slot=slot, pid=proc.pid)

    async def _watch(self, worker: WorkerProcess) -> None:
        code = await worker.proc.wait()
        self.exits[code] += 1
        if self._stopping:
            return
        log.warning("chaos_worker_exited", stage=worker.stage.value, pid=worker.proc.pid, code=code)
        await asyncio.sleep(1.0)  # ECS notices the stopped task and starts a new one
        if not self._stopping:
            self.restarts += 1
            await self._spawn(worker.stage, worker.slot)

    def of(self, stage: Kind) -> list[WorkerProcess]:
        return [w for (s, _), w in self.workers.items() if s is stage and w.alive]

    async def stop(self) -> None:
        """SIGTERM every worker (they drain), SIGKILL any still running after 30 s."""
        self._stopping = True
        running = [w for w in self.workers.values() if w.alive]
        for w in running:
            with suppress(ProcessLookupError):
                w.proc.send_signal(signal.SIGTERM)
        for w in running:
            try:
                await asyncio.wait_for(w.proc.wait(), 30)
            except TimeoutError:
                with suppress(ProcessLookupError):
                    w.proc.kill()
                await w.proc.wait()
        for task in self._watchers:
            task.cancel()
        await asyncio.gather(*self._watchers, return_exceptions=True)


class Killer:
    """SIGKILLs `target` worker processes, each while it has handlers in flight (its own in-flight gauge), at least
    `min_gap_s` apart, spreading the kills over the stages (the busy stage killed least so far goes first)."""

    def __init__(
        self, supervisor: Supervisor, target: int, min_gap_s: float, rng: random.Random, t0: float, *, poll_first: bool
    ) -> None:
        self._poll_first = poll_first
        self.patience_s = 20.0
        self._supervisor = supervisor
        self._target = target
        self._gap = min_gap_s
        self._rng = rng
        self._t0 = t0
        self.kills: list[Kill] = []

    async def run(self, done: asyncio.Event) -> None:
        kills_of: Counter[Kind] = Counter()
        last_kill = time.monotonic()
        async with httpx.AsyncClient() as http:
            while len(self.kills) < self._target and not done.is_set():
                killed = False
                # Spread the kills: a stage killed least so far (poll, whose work is one short message, first and
                # once at most); after `patience_s` without a kill, any stage with handlers in flight.
                stages = [k for k in STAGES if k is not Kind.POLL or (self._poll_first and not kills_of[k])]
                least = min(kills_of[k] for k in stages)
                if time.monotonic() - last_kill < self.patience_s:
                    stages = [k for k in stages if kills_of[k] == least]
                self._rng.shuffle(stages)
                stages.sort(key=lambda k: (kills_of[k], k is not Kind.POLL))
                for stage in stages:
                    workers = self._supervisor.of(stage)
                    for worker in self._rng.sample(workers, len(workers)):
                        busy = await worker.in_flight(http)
                        if not busy:
                            continue
                        await asyncio.sleep(self._rng.uniform(0, 0.3))  # somewhere inside the handler's work
                        if not worker.alive:
                            continue
                        worker.proc.kill()
                        now = time.monotonic()
                        kill = Kill(stage.value, worker.proc.pid, round(now - self._t0, 1), busy, now)
                        self.kills.append(kill)
                        kills_of[stage] += 1
                        last_kill = time.monotonic()
                        log.warning("chaos_sigkill", **dataclasses.asdict(kill))
                        killed = True
                        break
                    if killed:
                        break
                with suppress(TimeoutError):
                    await asyncio.wait_for(done.wait(), self._gap if killed else 0.2)


async def _openai_bursts(fake: FakeHandle, every_s: float, size: int, rng: random.Random, done: asyncio.Event) -> None:
    """Every ~`every_s`: the next `size` OpenAI requests get a 429 (Retry-After 1 s) or a 500."""
    while not done.is_set():
        with suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), rng.uniform(0.5, 1.5) * every_s)
        if done.is_set():
            return
        if rng.random() < 0.5:
            fake.faults.rate_limit_next += size
        else:
            fake.faults.server_error_next += size


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
        "stage_lease_s": cfg.stage_lease_s,
        "max_receive_count": cfg.max_receive_count,
        "emf_interval_s": 0,
        "log_level": "INFO",
        "log_format": "json",
    }


def _make_bad(sim: SimulatorHandle, fake: FakeHandle, cfg: ChaosConfig, rng: random.Random) -> dict[str, str]:
    """Pick recorded calls and make them permanently bad; returns task → what was done to it."""
    recorded = sorted(t for t, c in sim.state.calls.items() if c.capture_requested and not c.abandoned and c.recordings)
    picked = rng.sample(recorded, min(len(recorded), cfg.bad_no_recording + cfg.bad_audio))
    bad: dict[str, str] = {}
    for task_id in picked[: cfg.bad_no_recording]:
        # WXCC keeps saying the call was recorded, but its captures query never lists a recording.
        sim.state.calls[task_id] = dataclasses.replace(sim.state.calls[task_id], recordings=())
        bad[task_id] = "no_recording"
    for task_id in picked[cfg.bad_no_recording :]:
        fake.faults.reject_audio_tasks.add(task_id)
        bad[task_id] = "corrupt_audio"
    return bad


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
        report.bad = _make_bad(sim, fake, cfg, rng)

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
            asyncio.create_task(_openai_bursts(fake, cfg.openai_burst_every_s, cfg.openai_burst_size, rng, done)),
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
        await _check(report, status, truth, recorded, tracking, s3, sqs, directory, resources, org)
        stats = fake.stats
        # Identical prompts of distinct calls (short simulated calls share their few lines) are not duplicates: the
        # prompts each analysed call's stored transcript makes decide (`_analysis_duplicates`).
        report.duplicate_detail = {k: v for k, v in stats.duplicates().items() if v and k != "prompts"}
        extra_prompts = await _analysis_duplicates(report, stats.completions_by_prompt, tracking, s3, resources, org)
        report.duplicates = stats.transcription_duplicates() + sum(extra_prompts.values())
        chunk_extra = {k: n - 1 for k, n in stats.chunks_billed.items() if n > 1}
        report.duplicates_at_kill = _at_kill(chunk_extra, stats.billed_at, killer.kills, "transcribe") + _at_kill(
            extra_prompts, stats.billed_at, killer.kills, "analyze"
        )
        if report.duplicates > report.duplicates_at_kill:
            report.problems.append(
                f"{report.duplicates} requests billed twice ({report.duplicates_at_kill} of them answered just before "
                f"a SIGKILL of the process that asked): {report.duplicate_detail}"
            )
        billed_tasks = set(stats.transcriptions_by_task)
        expected_billed = recorded - set(report.bad)
        if not expected_billed <= billed_tasks:
            report.problems.append(f"calls never transcribed: {sorted(expected_billed - billed_tasks)[:10]}")
        if stats.completions != report.analysed:
            report.problems.append(f"{stats.completions} billed analyses for {report.analysed} analysed calls")
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


def _at_kill(extra: dict[str, int], billed_at: dict[str, list[float]], kills: list[Kill], stage: str) -> int:
    """How many of the `extra` bills follow an earlier bill of the same key that was answered at most `KILL_WINDOW_S`
    before a SIGKILL of `stage`: the response arrived, the process died before it could save or record it — the
    one duplicate a crash can cause that no client-side design prevents (OpenAI has no idempotency keys)."""
    moments = [k.at_monotonic for k in kills if k.stage == stage]
    explained = 0
    for key, n in extra.items():
        earlier = sorted(billed_at.get(key, []))[:-1]
        hit = sum(1 for t in earlier if any(0 <= m - t <= KILL_WINDOW_S for m in moments))
        explained += min(n, hit)
    return explained


async def _analysis_duplicates(
    report: ChaosReport,
    billed: Counter[str],
    tracking: TrackingTable,
    s3: S3Client,
    resources: DataResources,
    org_id: str,
) -> dict[str, int]:
    """Analyses billed beyond one per analysed call: the prompt each analysed call's stored transcript makes, against
    the fake's billed completions per prompt (two calls with the very same transcript share a prompt; a completion
    whose prompt no analysed call makes — a call analysed from a transcript later replaced — is extra too)."""
    storage = Storage(s3)
    expected: Counter[str] = Counter()
    for task_id in report.analysed_tasks:
        row = await tracking.get(org_id, task_id)
        assert row is not None and row.transcript_key
        transcript = Transcript.model_validate(
            await storage.get_json(resources.results_bucket.name, row.transcript_key)
        )
        expected[prompt_digest(user_prompt(transcript.as_dialogue()))] += 1
    extra = {d: n - expected[d] for d, n in billed.items() if n > expected[d]}
    if extra:
        report.duplicate_detail["analyses_beyond_one_per_call"] = extra
    return extra


def _logs_dir(wanted: str | None) -> Path:
    logs = Path(wanted or tempfile.mkdtemp(prefix="callpipe-chaos-"))
    logs.mkdir(parents=True, exist_ok=True)
    return logs


async def _true(value: bool) -> bool:
    return value


async def _check(
    report: ChaosReport,
    status: JourneyStatus,
    truth: dict[str, Any],
    recorded: set[str],
    tracking: TrackingTable,
    s3: S3Client,
    sqs: SQSClient,
    directory: QueueDirectory,
    resources: DataResources,
    org_id: str,
) -> None:
    """Fill the outcome figures of `report` and list every promise that did not hold."""
    problems = report.problems
    report.journey_state = status.journey.state.value
    report.counters = status.counters
    if status.journey.state is not JourneyState.COMPLETED:
        problems.append(f"journey is {status.journey.state.value}, not COMPLETED")

    # Analysis objects: exactly one per call.
    objects: Counter[str] = Counter()
    paginator = s3.get_paginator("list_objects_v2")
    async for page in paginator.paginate(Bucket=resources.results_bucket.name, Prefix="analyses/"):
        for obj in page.get("Contents", []):
            objects[obj["Key"].rsplit("/", 1)[1].split(".", 1)[0]] += 1
    extra = {t: n for t, n in objects.items() if n != 1 or t not in recorded or t in report.bad}
    if extra:
        problems.append(f"analysis objects not one per good recorded call: {extra}")

    good = recorded - set(report.bad)
    analysed: set[str] = set()
    for task_id in sorted(recorded):
        row = await tracking.get(org_id, task_id)
        if task_id in report.bad:
            if row is None or row.status is not CallStatus.FAILED or not row.error:
                problems.append(f"bad call {task_id} ({report.bad[task_id]}) is {row and row.status}, not FAILED")
            continue
        if row is not None and row.status is CallStatus.ANALYZED and objects.get(task_id) == 1:
            analysed.add(task_id)
    report.analysed = len(analysed)
    report.analysed_tasks = sorted(analysed)
    report.lost = sorted(good - analysed)
    if report.lost:
        problems.append(f"{len(report.lost)} recorded calls not analysed: {report.lost[:10]}")

    # Dead letters: exactly the bad calls, each with its reason.
    seen_bad: dict[str, str] = {}
    for kind in STAGES:
        letters = await list_dead_letters(sqs, await directory.urls(kind), max_messages=1000)
        report.dead_letters[kind.value] = [
            {"task_id": d.task_id, "error_type": d.error_type, "error_message": d.error_message} for d in letters
        ]
        for d in letters:
            if d.task_id in report.bad and d.error_message:
                seen_bad[d.task_id] = d.error_message
            else:
                problems.append(f"unexpected dead letter in {kind.value}: {d.task_id} {d.error_type} {d.error_message}")
    missing = sorted(set(report.bad) - set(seen_bad))
    if missing:
        problems.append(f"bad calls not dead-lettered with a reason: {missing}")

    # Counters: consistent with each other and with the truth.
    c = status.count
    expected = {
        "poll.queued (recorded calls)": (c("poll", "queued"), len(recorded)),
        "discovered (calls in the window)": (status.discovered, len(truth)),
        "poll.skipped_duplicate": (c("poll", "skipped_duplicate"), 0),
        "fetch.done + fetch.failed = poll.queued": (c("fetch", "done") + c("fetch", "failed"), c("poll", "queued")),
        "transcribe.done + transcribe.failed = fetch.done": (
            c("transcribe", "done") + c("transcribe", "failed"),
            c("fetch", "done"),
        ),
        "analyze.done + analyze.failed = transcribe.done": (
            c("analyze", "done") + c("analyze", "failed"),
            c("transcribe", "done"),
        ),
        "analyze.done (analysed calls)": (c("analyze", "done"), len(analysed)),
        "failed (bad calls)": (sum(c(s, "failed") for s in ("fetch", "transcribe", "analyze")), len(report.bad)),
        "terminal = discovered": (status.terminal, status.discovered),
    }
    for name, (got, want) in expected.items():
        if got != want:
            problems.append(f"counter {name}: {got:g}, expected {want:g}")

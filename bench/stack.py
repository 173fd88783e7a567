"""Shared pieces of the pipeline benchmarks: the local services, settings pointed at them, in-process stage workers,
an observer of journeys and rows, and a measured worker subprocess.

* `services(config)`: moto (`LocalAws`: a thread, or its own process), the WXCC simulator and the OpenAI fake (both on
  this event loop).
* `pipeline_fields(...)`: the `Settings` fields of a throwaway deployment on those services, as plain JSON values so
  the very same settings can be handed to a subprocess.
* `Observer`: bootstraps the deployment and opens the clients a bench needs to start journeys and read the outcome.
* `run_stages(...)`: stage consumers (`workers.runner.run_stage`) as tasks of this process.
* `MeasuredWorkers`: stage consumers in a fresh `python -c` subprocess that imports only what a worker imports,
  records when each handler ran and reports its own peak RSS (`VmHWM`, see `WorkerReport`) when it stops.

Run the benches as `.venv/bin/python bench/<script>.py` (this module is imported as a sibling).
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from api.start import JourneyRequest, start_journey
from queues.bootstrap import bootstrap
from queues.claimcheck import ClaimCheck
from queues.directory import QueueDirectory
from queues.envelope import Kind
from queues.producer import Producer
from shared.aws import AwsClients
from shared.config import Settings
from shared.journeys import Journey, JourneyStatus, JourneyStore
from shared.resources import DataResources
from shared.tracking import TrackingTable
from simulator.aws import LocalAws, local_aws_process
from simulator.openai_fake.app import FakeHandle, running_openai_fake, state_script_source
from simulator.wxcc.config import SimulatorConfig
from simulator.wxcc.server import SimulatorHandle, running_simulator

# Dummy credentials: the emulators accept anything, and a bench must never reach real AWS.
os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_REGION="us-east-1")
for _var in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "OPENAI_BASE_URL", "OPENAI_API_KEY"):
    os.environ.pop(_var, None)

HOUR_MS = 3_600_000


def ended_calls_config(calls: int, *, longest_s: float, **fields: Any) -> SimulatorConfig:
    """Simulated calls created in a one-hour window that closes an hour after the longest call could have ended,
    so every call has ended (and, with `availability_delay_s=0` and no pending captures, is recorded) by start-up."""
    now = int(time.time() * 1000)
    end = now - HOUR_MS - round(longest_s * 1000)
    return SimulatorConfig(calls=calls, window_start_ms=end - HOUR_MS, window_end_ms=end, **fields)


@dataclass
class Services:
    """The running local services."""

    aws_endpoint: str
    sim: SimulatorHandle
    fake: FakeHandle
    aws_pid: int | None = None  # moto's own process, if it has one

    def cpu_s(self) -> float:
        """CPU seconds used so far by this process (moto's thread included) plus moto's own process."""
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime + (process_cpu_s(self.aws_pid) if self.aws_pid else 0.0)


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a running process (from /proc/<pid>/stat)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@asynccontextmanager
async def services(config: SimulatorConfig, *, aws_process: bool = False) -> AsyncIterator[Services]:
    """moto + WXCC simulator + OpenAI fake (answering from the simulator's scripts) for the body of an `async with`.

    moto runs as a thread of this process, or with `aws_process` as its own `callpipe local-aws` process, so its
    request handling does not share a GIL with the simulator and the fake.
    """
    async with AsyncExitStack() as stack:
        pid: int | None = None
        if aws_process:
            endpoint, pid = await stack.enter_async_context(local_aws_process())
        else:
            endpoint = stack.enter_context(LocalAws()).endpoint
        sim = await stack.enter_async_context(running_simulator(config))
        fake = await stack.enter_async_context(running_openai_fake(state_script_source(sim)))
        yield Services(endpoint, sim, fake, pid)


def pipeline_fields(svc: Services, **overrides: Any) -> dict[str, Any]:
    """`Settings` fields (JSON values) of a new deployment on the local services; `Settings(**fields)` builds it."""
    cfg = svc.sim.config
    fields: dict[str, Any] = {
        "name_prefix": f"b-{uuid.uuid4().hex[:10]}",
        "aws_region": "us-east-1",
        "aws_endpoint_url": svc.aws_endpoint,
        "aws_max_attempts": 3,
        "openai_api_key": "bench-key",
        "openai_base_url": svc.fake.base_url,
        "transcription_model": "whisper-1",
        "analysis_model": "gpt-4o-mini",
        "wxcc_base_url": svc.sim.base_url,
        "webex_auth_base_url": svc.sim.base_url,
        "wxcc_org_id": cfg.org_id,
        "wxcc_client_id": cfg.client_id,
        "wxcc_client_secret": cfg.client_secret,
        "wxcc_application_id": cfg.application_id,
        "wxcc_refresh_token": cfg.refresh_token,
        "wxcc_download_hosts": ["127.0.0.1"],
        "wxcc_download_allow_http": True,
        "wxcc_max_attempts": 6,
        "wxcc_rate_per_minute": 100_000,  # the shared budget is not what these benches measure
        "consumer_wait_time_s": 1,
        "consumer_grace_period_s": 10,
        "backoff_base_s": 1,
        "backoff_max_s": 4,
        "not_ready_base_s": 1,
        "not_ready_max_s": 2,
        "poll_recheck_s": 2,
        "capture_max_age_s": 7 * 24 * 3600,
        "log_level": "WARNING",
        "log_format": "json",
    }
    fields.update(overrides)
    return fields


async def wait_until(check: Callable[[], Awaitable[bool]], *, limit_s: float, interval: float = 0.25) -> float:
    """Poll `check` until true; returns the seconds waited. Raises TimeoutError after `limit_s`."""
    started = time.perf_counter()
    while not await check():
        if time.perf_counter() - started > limit_s:
            raise TimeoutError(f"condition not met within {limit_s:.0f} s")
        await asyncio.sleep(interval)
    return time.perf_counter() - started


class Observer:
    """A bootstrapped deployment and the clients to start journeys on it and read what happened."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.resources = DataResources(settings.name_prefix)
        self._stack = AsyncExitStack()

    async def __aenter__(self) -> Observer:
        await bootstrap(self.settings)
        clients = AwsClients(self.settings)
        ddb = await self._stack.enter_async_context(clients.dynamodb())
        sqs = await self._stack.enter_async_context(clients.sqs())
        self.s3 = await self._stack.enter_async_context(clients.s3())
        self.sqs = sqs
        self.journeys = JourneyStore(ddb, self.resources.journeys_table.name)
        self.tracking = TrackingTable(ddb, self.resources.tracking_table.name)
        self.directory = QueueDirectory(sqs, self.settings.name_prefix)
        self.producer = Producer(sqs, self.directory, ClaimCheck(self.s3, self.resources.messages_bucket.name))
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.aclose()

    async def start(self, org_id: str, *, from_ms: int, to_ms: int) -> Journey:
        return await start_journey(self.journeys, self.producer, JourneyRequest(org_id, from_ms=from_ms, to_ms=to_ms))

    async def status(self, journey_id: str) -> JourneyStatus:
        status = await self.journeys.status(journey_id)
        assert status is not None, journey_id
        return status

    async def wait_count(self, journey_id: str, stage: str, counter: str, at_least: float, limit_s: float) -> float:
        """Wait until the journey's `stage.counter` reaches `at_least`; returns the seconds waited."""

        async def reached() -> bool:
            return (await self.status(journey_id)).count(stage, counter) >= at_least

        return await wait_until(reached, limit_s=limit_s, interval=0.5)


@asynccontextmanager
async def run_stages(kinds: Iterable[Kind], settings: Settings) -> AsyncIterator[None]:
    """The stages' consumers as tasks of this process for the body of an `async with`; drained on exit."""
    from workers.runner import run_stage

    stop = asyncio.Event()
    tasks = [asyncio.create_task(run_stage(kind, settings, stop)) for kind in kinds]
    try:
        yield
    finally:
        stop.set()
        results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), timeout=60)
        for result in results:
            if isinstance(result, BaseException):
                raise result


# --- the measured worker process --------------------------------------------------------------------------------

# Imports exactly what a worker process imports; the baseline imports the same and does nothing else.
_WORKER_IMPORTS = """
import asyncio, json, resource, sys, time
from contextlib import asynccontextmanager
import workers.runner as runner
from queues.envelope import Kind
from shared.config import Settings
from shared.logging import configure_logging
from shared.memory import tune_allocator
# What the instrumentation below wraps (the stages' modules, which the runner itself imports lazily).
import shared.audio.pool, shared.openai_client, shared.storage, shared.wxcc.batcher, shared.wxcc.client
import workers.fetch, workers.transcribe

def vm_hwm_kb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
"""

BASELINE_CODE = (
    _WORKER_IMPORTS
    + """
print(json.dumps({"ru_maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "vm_hwm_kb": vm_hwm_kb()}))
"""
)

# Runs the stages' real handlers under `run_stage`, timing each successful handler run (a wrapper around
# `runner.stage_handler`, which `run_stage` looks up at call time) and noting the peak RSS so far when it ends. Also
# times the awaits a handler spends its time in (AWS calls by service and operation, OpenAI requests, audio
# preparation, WXCC requests, the streamed download → S3), per stage (a context variable set by the handler wrapper;
# "consumer" for what the runtime does outside handlers). Stops on a line (or EOF) on stdin, or once
# `stop_after[kind]` messages of a kind were handled; then prints one JSON line.
WORKER_CODE = (
    _WORKER_IMPORTS
    + """
import contextvars, functools
import aiobotocore.client

spec = json.loads(sys.argv[1])
configure_logging("WARNING", "json")
tune_allocator()  # as `callpipe worker` does at start (runner.serve_stage)
settings = Settings(**spec["settings"])
kinds = [Kind(k) for k in spec["kinds"]]
stop_after = spec.get("stop_after") or {}
runs = {k.value: [] for k in kinds}
failures = {k.value: 0 for k in kinds}
phases = {}
current_stage = contextvars.ContextVar("current_stage", default="consumer")
stop = None
cpu_at_first = None

def cpu_now():
    return sum(resource.getrusage(resource.RUSAGE_SELF)[:2])

def note(label, seconds):
    entry = phases.setdefault(current_stage.get(), {}).setdefault(label, [0, 0.0])
    entry[0] += 1
    entry[1] += seconds

def timed(owner, name, label):
    fn = getattr(owner, name)
    @functools.wraps(fn)
    async def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return await fn(*args, **kwargs)
        finally:
            note(label(args) if callable(label) else label, time.perf_counter() - started)
    setattr(owner, name, wrapper)

timed(aiobotocore.client.AioBaseClient, "_make_api_call",
      lambda a: f"{a[0].meta.service_model.service_name}.{a[1]}")
timed(shared.openai_client.Transcriber, "transcribe", "openai.transcription")
timed(shared.openai_client.Analyzer, "analyse", "openai.completion")
timed(shared.audio.pool.AudioPreparer, "prepare", "audio_prep")
timed(shared.wxcc.batcher.CapturesBatcher, "get", "wxcc.captures_batched")
timed(shared.wxcc.client.WxccClient, "request", "wxcc.request")
timed(workers.fetch, "_store", "fetch.download_to_s3")
timed(shared.storage.Storage, "download_to", "s3.download_to_file")

original = runner.stage_handler

@asynccontextmanager
async def timed_stage_handler(kind, settings):
    async with original(kind, settings) as handler:
        async def timed_handler(envelope, delivery):
            global cpu_at_first
            if cpu_at_first is None:
                cpu_at_first = cpu_now()
            current_stage.set(kind.value)
            started = time.time()
            try:
                following = await handler(envelope, delivery)
            except BaseException:
                failures[kind.value] += 1
                raise
            runs[kind.value].append((started, time.time(), vm_hwm_kb()))
            if kind.value in stop_after and len(runs[kind.value]) >= stop_after[kind.value]:
                stop.set()
            return following
        yield timed_handler

runner.stage_handler = timed_stage_handler

async def main():
    global stop
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    def on_stdin():
        loop.remove_reader(0)
        stop.set()
    loop.add_reader(0, on_stdin)
    started = time.time()
    stats = await asyncio.gather(*(runner.run_stage(k, settings, stop) for k in kinds))
    print(json.dumps({
        "started": started,
        "runs": runs,
        "failures": failures,
        "phases": phases,
        "stats": {k.value: s.__dict__ for k, s in zip(kinds, stats)},
        "ru_maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "vm_hwm_kb": vm_hwm_kb(),
        "cpu_s": cpu_now(),
        "cpu_at_first_s": cpu_at_first or 0.0,
    }), flush=True)

asyncio.run(main())
"""
)


@dataclass
class WorkerReport:
    """What the measured process reported. `runs[kind]`: (start, end, VmHWM kB at the end) per handled message.

    Peak RSS is the process's own `VmHWM` (/proc/self/status): the high-water mark of the address space it built after
    exec. `ru_maxrss` is reported too, but Linux folds the parent's high-water mark into it at exec (the child is
    spawned by fork/vfork from the parent's address space), so below a large parent it measures the parent.
    """

    started: float
    runs: dict[str, list[tuple[float, float, int]]]
    failures: dict[str, int]
    phases: dict[str, dict[str, tuple[int, float]]]  # stage → label → (awaits, seconds)
    stats: dict[str, dict[str, Any]]
    ru_maxrss_kb: int
    vm_hwm_kb: int
    cpu_s: float  # CPU seconds of the whole life of the process
    cpu_at_first_s: float  # ... up to the start of its first handler (interpreter, imports, clients)
    stderr: str = field(repr=False, default="")

    @property
    def peak_rss_mb(self) -> float:
        noted = [hwm for runs in self.runs.values() for _, _, hwm in runs]
        return max([self.vm_hwm_kb, *noted]) / 1024


class MeasuredWorkers:
    """Stage consumers in a fresh subprocess (`async with`; `finish()` stops them and returns their report)."""

    def __init__(self, kinds: Iterable[Kind], fields: dict[str, Any], stop_after: dict[str, int] | None = None):
        self._spec = {"settings": fields, "kinds": [k.value for k in kinds], "stop_after": stop_after or {}}
        self._proc: asyncio.subprocess.Process | None = None
        self._stderr = -1

    async def __aenter__(self) -> MeasuredWorkers:
        # stderr goes to a file, not a pipe: a chatty worker must never block on a full pipe nobody reads.
        self._stderr, path = tempfile.mkstemp(prefix="callpipe-bench-worker-", suffix=".log")
        os.unlink(path)
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            WORKER_CODE,
            json.dumps(self._spec),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=self._stderr,
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._proc is not None and self._proc.returncode is None:
            self._proc.kill()
            await self._proc.wait()
        os.close(self._stderr)

    async def exited(self, limit_s: float) -> bool:
        """Wait up to `limit_s` for the process to end by itself (a `stop_after` reached)."""
        assert self._proc is not None
        try:
            await asyncio.wait_for(asyncio.shield(self._proc.wait()), limit_s)
        except TimeoutError:
            return False
        return True

    async def finish(self, limit_s: float = 60) -> WorkerReport:
        """Ask the workers to stop (if they have not), wait for them and read their report."""
        assert self._proc is not None and self._proc.stdin is not None
        if self._proc.returncode is None:
            try:
                self._proc.stdin.write(b"stop\n")
                await self._proc.stdin.drain()
                self._proc.stdin.close()
            except (BrokenPipeError, ConnectionResetError):
                pass
        out, _ = await asyncio.wait_for(self._proc.communicate(), limit_s)
        size = os.lseek(self._stderr, 0, os.SEEK_END)
        err = os.pread(self._stderr, size, 0).decode(errors="replace")
        lines = out.decode().strip().splitlines()
        if self._proc.returncode != 0 or not lines:
            raise RuntimeError(f"measured workers exited {self._proc.returncode}:\n{err[-3000:]}")
        return WorkerReport(**json.loads(lines[-1]), stderr=err)


def baseline_rss_mb() -> tuple[float, float]:
    """Peak RSS (VmHWM, ru_maxrss) in MB of a fresh interpreter that imported what a worker imports, and no more."""
    import subprocess

    done = subprocess.run([sys.executable, "-c", BASELINE_CODE], check=True, capture_output=True, text=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return result["vm_hwm_kb"] / 1024, result["ru_maxrss_kb"] / 1024

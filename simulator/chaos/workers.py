"""The worker processes of a chaos run: one `callpipe worker --stage` per ECS task, restarted when one dies."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
from collections import Counter
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from queues.envelope import Kind
from shared.logging import get_logger

log = get_logger(__name__)

STAGES = (Kind.POLL, Kind.FETCH, Kind.TRANSCRIBE, Kind.ANALYZE)
_SETTINGS_ALIASES = {
    "aws_region": "AWS_REGION",
    "aws_endpoint_url": "AWS_ENDPOINT_URL",
    "openai_api_key": "OPENAI_API_KEY",
    "openai_base_url": "OPENAI_BASE_URL",
}


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
        self.log_of: dict[int, Path] = {}  # every process started: pid → its log file

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
        self.log_of[proc.pid] = log_path
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

"""`callpipe worker` as a real process: SIGTERM drains without losing or duplicating work."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
from collections import Counter
from pathlib import Path

import httpx
from types_aiobotocore_sqs import SQSClient

from queues.bootstrap import bootstrap
from queues.directory import QueueDirectory, QueueUrls
from queues.envelope import Envelope, Kind
from shared.config import Settings
from tests.helpers import depth, eventually, settings_env

CALLPIPE = str(Path(sys.executable).with_name("callpipe"))


class Worker:
    """A `callpipe worker --stage echo` subprocess whose JSON log lines are collected as they arrive."""

    def __init__(self, settings: Settings, **env: str) -> None:
        self.env = {**settings_env(settings), **env}
        self.lines: list[dict[str, object]] = []
        self.proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> Worker:
        self.proc = await asyncio.create_subprocess_exec(
            CALLPIPE, "worker", "--stage", "echo", env=self.env, stderr=asyncio.subprocess.PIPE
        )
        self._reader = asyncio.create_task(self._read())
        await eventually(lambda: self.saw("consumer_started"), timeout=30)
        return self

    async def _read(self) -> None:
        assert self.proc and self.proc.stderr
        async for raw in self.proc.stderr:
            try:
                self.lines.append(json.loads(raw))
            except json.JSONDecodeError:
                self.lines.append({"event": "unparsed", "line": raw.decode(errors="replace")})

    def saw(self, event: str) -> int:
        return sum(1 for line in self.lines if line.get("event") == event)

    def echoed(self) -> list[str]:
        return [str(line["text"]) for line in self.lines if line.get("event") == "echo"]

    def kill(self) -> None:
        """Make sure no worker outlives its test (a failed assertion would otherwise leave it running)."""
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()

    async def terminate(self) -> int:
        assert self.proc
        self.proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(self.proc.wait(), timeout=60)
        assert self._reader
        await self._reader
        return code


async def test_sigterm_mid_work_loses_nothing_and_duplicates_nothing(sqs: SQSClient, settings: Settings) -> None:
    await bootstrap(settings)
    urls = await QueueDirectory(sqs, settings.name_prefix).urls(Kind.ECHO)
    texts = [f"call-{i}" for i in range(12)]
    for text in texts:
        env = Envelope(kind=Kind.ECHO, journey_id="j-sigterm", payload={"text": text, "delay_s": 1.0})
        await sqs.send_message(QueueUrl=urls.url, MessageBody=env.to_body())

    workers: list[Worker] = []
    try:
        await _sigterm_scenario(sqs, settings, urls, texts, workers)
    finally:
        for worker in workers:
            worker.kill()


async def _sigterm_scenario(
    sqs: SQSClient, settings: Settings, urls: QueueUrls, texts: list[str], workers: list[Worker]
) -> None:
    # First worker: 3 at a time, and a grace period shorter than a handler, so SIGTERM catches handlers mid-work.
    first = Worker(
        settings, CALLPIPE_CONSUMER_CONCURRENCY="3", CALLPIPE_CONSUMER_GRACE_PERIOD_S="0.2", CALLPIPE_METRICS_PORT="0"
    )
    workers.append(first)
    await first.start()
    await eventually(lambda: len(first.echoed()) >= 3, timeout=30)
    await asyncio.sleep(0.5)  # land the signal in the middle of the next handlers' 1 s of work
    assert await first.terminate() == 0
    assert first.saw("released_unfinished") == 1, "SIGTERM arrived with nothing in flight; the test proves nothing"
    assert first.saw("consumer_stopped") == 1

    # Released messages are visible at once (the echo queue's visibility timeout is 30 s; the second run must not
    # have to wait for it), and everything the first worker finished was deleted.
    metrics_port = free_port()
    second = Worker(settings, CALLPIPE_CONSUMER_CONCURRENCY="6", CALLPIPE_METRICS_PORT=str(metrics_port))
    workers.append(second)
    await second.start()
    await eventually(lambda: len(first.echoed()) + len(second.echoed()) >= len(texts), timeout=20)
    await eventually(lambda: _empty(sqs, urls.url))
    async with httpx.AsyncClient() as http:
        exposed = (await http.get(f"http://127.0.0.1:{metrics_port}/metrics")).text
    assert f'callpipe_messages_succeeded_total{{stage="echo"}} {float(len(second.echoed()))}' in exposed
    assert await second.terminate() == 0

    counts = Counter(first.echoed() + second.echoed())
    assert sorted(counts) == sorted(texts), "a message was lost"
    assert set(counts.values()) == {1}, f"a message was processed twice: {counts}"
    assert await depth(sqs, urls.dlq_url) == 0


async def _empty(sqs: SQSClient, url: str) -> bool:
    return await depth(sqs, url) == 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_worker_command_is_installed() -> None:
    assert os.access(CALLPIPE, os.X_OK)

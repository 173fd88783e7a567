"""Where audio preparation runs: a thread of the worker, or a pool of processes that uses every core.

Decoding, silence detection and Opus encoding are CPU work that holds the GIL (PyAV does not release it), so in a
thread they compete with the worker's event loop and one process never uses more than one core. With
`CALLPIPE_AUDIO_PROCESSES=N` they run in N spawned processes instead: the event loop keeps its core for SQS, S3,
DynamoDB and OpenAI, and a task with several vCPUs prepares several recordings at once.

A pool process that dies (a crash in a decoder on a hostile file, the OOM killer) breaks the whole
`ProcessPoolExecutor`; the preparer then starts a new pool and raises `Retryable` for the calls that were in it, so
the worker keeps going and the message is retried (and dead-lettered after the queue's receive limit if it keeps
killing its process).
"""

from __future__ import annotations

import asyncio
import functools
import multiprocessing
import signal
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from shared.audio.models import PreparedAudio
from shared.audio.prepare import PrepareOptions, prepare_call_audio, prepare_call_audio_async
from shared.errors import Retryable
from shared.logging import configure_logging, get_logger

log = get_logger(__name__)


def _child_init(log_level: str, log_format: str) -> None:
    # The parent owns shutdown: Ctrl-C in a terminal reaches the whole process group, and a child that dies of it
    # would break the pool under work the parent is still draining.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    configure_logging(log_level, log_format)


class AudioPreparer:
    """Prepares recordings in a thread (`processes=0`) or in a pool of `processes` processes."""

    def __init__(self, processes: int = 0, *, log_level: str = "INFO", log_format: str = "json") -> None:
        if processes < 0:
            raise ValueError(f"processes must not be negative, got {processes}")
        self.processes = processes
        self._init_args = (log_level, log_format)
        self._executor: ProcessPoolExecutor | None = self._new_pool() if processes else None

    def _new_pool(self) -> ProcessPoolExecutor:
        # spawn, not fork: the worker has threads (to_thread, botocore) whose locks a forked child could inherit held.
        return ProcessPoolExecutor(
            self.processes,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_child_init,
            initargs=self._init_args,
        )

    async def prepare(
        self, path: Path, out_dir: Path, *, channel_labels: Sequence[str], options: PrepareOptions
    ) -> PreparedAudio:
        """`prepare_call_audio(path, out_dir, …)` wherever this preparer runs it."""
        executor = self._executor
        if executor is None:
            return await prepare_call_audio_async(path, out_dir, channel_labels=channel_labels, options=options)
        job = functools.partial(
            prepare_call_audio, path, out_dir, channel_labels=tuple(channel_labels), options=options
        )
        try:
            return await asyncio.get_running_loop().run_in_executor(executor, job)
        except BrokenProcessPool as exc:
            if self._executor is executor:
                log.error("audio_pool_broken", processes=self.processes, recording=path.name)
                executor.shutdown(wait=False, cancel_futures=True)
                self._executor = self._new_pool()
            raise Retryable(f"the audio preparation process died while preparing {path.name}") from exc

    def close(self) -> None:
        """Stop the pool's processes (work still queued in it is dropped; its messages will be redelivered)."""
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

"""The worker process entry: open a stage's dependencies, build its consumer, run it until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from prometheus_client import start_http_server

from queues.claimcheck import ClaimCheck
from queues.consumer import Consumer, ConsumerConfig, ConsumerStats, Handler
from queues.directory import QueueDirectory
from queues.envelope import Kind
from queues.producer import Producer
from shared.aws import AwsClients
from shared.config import Settings
from shared.logging import get_logger
from shared.memory import tune_allocator
from shared.metrics import EmfReporter, stage_metrics
from shared.resources import DataResources
from workers.context import stage_context

log = get_logger(__name__)


@asynccontextmanager
async def stage_handler(kind: Kind, settings: Settings) -> AsyncIterator[Handler]:
    """The handler of a stage with everything it needs open for as long as the `async with` lasts.

    Each stage imports its own modules here, so a worker loads only its stage's libraries (a fetch or poll worker
    never imports PyAV or the OpenAI SDK: tens of MB of RSS per process).
    """
    if kind is Kind.ECHO:
        from workers.echo import handle_echo

        yield handle_echo
        return
    async with stage_context(settings) as ctx:
        if kind is Kind.POLL:
            from workers.poll import make_poll_handler

            yield make_poll_handler(ctx)
        elif kind is Kind.FETCH:
            from workers.fetch import make_fetch_handler

            yield make_fetch_handler(ctx)
        elif kind is Kind.TRANSCRIBE:
            from shared.audio.pool import AudioPreparer
            from shared.openai_client import Transcriber, openai_client
            from workers.transcribe import make_transcribe_handler

            preparer = AudioPreparer(
                settings.audio_processes, log_level=settings.log_level, log_format=settings.log_format
            )
            try:
                async with openai_client(settings) as client:
                    transcriber = Transcriber(client, settings.transcription_model, settings.transcription_concurrency)
                    yield make_transcribe_handler(ctx, transcriber, preparer)
            finally:
                preparer.close()
        else:
            from shared.openai_client import Analyzer, openai_client
            from workers.analyze import make_analyze_handler

            async with openai_client(settings) as client:
                yield make_analyze_handler(ctx, Analyzer(client, settings.analysis_model))


async def run_stage(
    kind: Kind, settings: Settings, stop: asyncio.Event, *, handler: Handler | None = None
) -> ConsumerStats:
    """Consume one stage's queue until `stop` is set, then drain."""
    clients = AwsClients(settings)
    async with clients.sqs() as sqs, clients.s3() as s3, stage_handler(kind, settings) as default_handler:
        directory = QueueDirectory(sqs, settings.name_prefix)
        claim_check = ClaimCheck(s3, DataResources(settings.name_prefix).messages_bucket.name)
        producer = Producer(sqs, directory, claim_check, claim_check_threshold=settings.claim_check_threshold_bytes)
        consumer = Consumer(
            sqs=sqs,
            kind=kind,
            urls=await directory.urls(kind),
            handler=handler or default_handler,
            producer=producer,
            claim_check=claim_check,
            config=ConsumerConfig.from_settings(settings),
        )
        return await consumer.run(stop)


async def serve_stage(kind: Kind, settings: Settings) -> ConsumerStats:
    """Run a stage as a process: SIGTERM or SIGINT starts the drain."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.info("worker_starting", stage=kind.value, prefix=settings.name_prefix, allocator_tuned=tune_allocator())
    if settings.metrics_port:
        try:
            start_http_server(settings.metrics_port)
            log.info("metrics_listening", port=settings.metrics_port)
        except OSError as exc:  # a taken port costs the metrics endpoint, not the worker
            log.error("metrics_port_unavailable", port=settings.metrics_port, error=str(exc))
    reporter = EmfReporter(stage_metrics(kind.value), settings.emf_interval_s) if settings.emf_interval_s else None
    emf = asyncio.create_task(reporter.run(stop)) if reporter else None
    try:
        return await run_stage(kind, settings, stop)
    finally:
        stop.set()
        if emf is not None:
            await emf

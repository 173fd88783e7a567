"""The worker process entry: open AWS clients, build a stage's consumer, run it until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import signal

from queues.claimcheck import ClaimCheck
from queues.consumer import Consumer, ConsumerConfig, ConsumerStats, Handler
from queues.directory import QueueDirectory
from queues.envelope import Kind
from queues.producer import Producer
from shared.aws import AwsClients
from shared.config import Settings
from shared.logging import get_logger
from shared.resources import DataResources
from workers.echo import handle_echo

log = get_logger(__name__)

HANDLERS: dict[Kind, Handler] = {Kind.ECHO: handle_echo}


def handler_for(kind: Kind) -> Handler:
    """The handler of a stage, or a clear error for a stage not built yet."""
    try:
        return HANDLERS[kind]
    except KeyError:
        raise SystemExit(f"stage {kind.value!r} has no handler yet; available: {sorted(k.value for k in HANDLERS)}")


async def run_stage(
    kind: Kind, settings: Settings, stop: asyncio.Event, *, handler: Handler | None = None
) -> ConsumerStats:
    """Consume one stage's queue until `stop` is set, then drain."""
    clients = AwsClients(settings)
    async with clients.sqs() as sqs, clients.s3() as s3:
        directory = QueueDirectory(sqs, settings.name_prefix)
        claim_check = ClaimCheck(s3, DataResources(settings.name_prefix).messages_bucket.name)
        producer = Producer(sqs, directory, claim_check, claim_check_threshold=settings.claim_check_threshold_bytes)
        consumer = Consumer(
            sqs=sqs,
            kind=kind,
            urls=await directory.urls(kind),
            handler=handler or handler_for(kind),
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
    log.info("worker_starting", stage=kind.value, prefix=settings.name_prefix)
    return await run_stage(kind, settings, stop)

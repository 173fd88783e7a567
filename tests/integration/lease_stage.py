"""A stage for the lease tests: take the fetch lease on a call, work a while, record which worker did the step.

It uses the real `begin_stage` / `failures_recorded` / `advance` of `workers.outcomes`, like the fetch stage, with the
paid work replaced by a sleep. Run as a module (`python -m tests.integration.lease_stage`) it is a worker process: a
consumer of `LEASE_TEST_QUEUE_URL` (DLQ `LEASE_TEST_DLQ_URL`) whose handler works `LEASE_TEST_WORK_S` seconds as
worker `LEASE_TEST_WORKER`, logging JSON lines to stderr, with the usual `CALLPIPE_*` settings.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from dataclasses import dataclass, field

from queues.consumer import Consumer, ConsumerConfig, Handler, HandlerContext
from queues.directory import QueueUrls
from queues.envelope import Envelope, Kind
from shared.aws import AwsClients
from shared.config import Settings
from shared.logging import configure_logging, get_logger
from shared.tracking import CallStatus
from workers.calls import parse_ref
from workers.context import StageContext, stage_context
from workers.outcomes import advance, begin_stage, failures_recorded, stage_lease_lost

log = get_logger(__name__)

STAGE = "fetch"


@dataclass
class Outcomes:
    """What the handler of one worker saw, for the test to assert on."""

    began: list[str] = field(default_factory=list)  # task ids whose lease this worker took
    finished: list[tuple[str, bool, bool]] = field(default_factory=list)  # (task id, lease lost, row moved)


def lease_handler(ctx: StageContext, worker: str, work_s: float, outcomes: Outcomes | None = None) -> Handler:
    """A handler that holds the fetch lease of its call for `work_s` seconds, then records `fetched_by = worker`."""
    seen = outcomes or Outcomes()

    async def handle(envelope: Envelope, delivery: HandlerContext) -> Sequence[Envelope]:
        ref = parse_ref(envelope, STAGE)
        if not await begin_stage(ctx, ref.org_id, ref.task_id, CallStatus.CLAIMED, STAGE):
            return ()
        seen.began.append(ref.task_id)
        async with failures_recorded(
            ctx, ref.org_id, ref.task_id, envelope.journey_id, stage=STAGE, expected=CallStatus.CLAIMED
        ):
            log.info("lease_work_started", worker=worker, pid=os.getpid())
            await asyncio.sleep(work_s)
            lost = stage_lease_lost()
            moved = await advance(
                ctx,
                ref.org_id,
                ref.task_id,
                envelope.journey_id,
                stage=STAGE,
                expected=CallStatus.CLAIMED,
                new=CallStatus.FETCHED,
                values={"fetched_by": worker},
                counters={"done": 1},
            )
        seen.finished.append((ref.task_id, lost, moved))
        log.info("lease_work_done", worker=worker, lost=lost, moved=moved)
        return ()

    return handle


async def _main() -> None:
    settings = Settings()
    configure_logging(settings.log_level, "json")
    urls = QueueUrls(os.environ["LEASE_TEST_QUEUE_URL"], os.environ["LEASE_TEST_DLQ_URL"])
    worker = os.environ.get("LEASE_TEST_WORKER", f"pid-{os.getpid()}")
    work_s = float(os.environ.get("LEASE_TEST_WORK_S", "3600"))
    async with AwsClients(settings).sqs() as sqs, stage_context(settings) as ctx:
        consumer = Consumer(
            sqs=sqs,
            kind=Kind.FETCH,
            urls=urls,
            handler=lease_handler(ctx, worker, work_s),
            config=ConsumerConfig.from_settings(settings),
        )
        await consumer.run(asyncio.Event())  # until killed


if __name__ == "__main__":
    asyncio.run(_main())

"""DLQ replay jobs: a replay runs in the background of the API process, its progress kept in the journeys table.

`POST /api/v1/dlq/{stage}/replay` stores a job and starts an asyncio task that runs `queues.dlq.replay` with a live
`ReplayCounts`; a heartbeat writes those counts every `CALLPIPE_API_REPLAY_HEARTBEAT_S`, the end writes the final
state (SUCCEEDED, FAILED with the error, or INTERRUPTED when the API shuts down). A process that dies writes nothing
more: a RUNNING job whose last write is older than five heartbeats is reported INTERRUPTED, never running forever.
Dry runs are jobs too: a dry run over a large DLQ reads all of it, which no HTTP request should wait for.

Item `pk = DLQREPLAY#{id}`, `sk = META` (its state is `job_state`, not `state`, so it never shows in the journeys'
`by-state` index), expiring through the table's `ttl` attribute. Every write carries a sequence number and is
conditional on it, so a heartbeat that arrives late can never overwrite the final state.
"""

from __future__ import annotations

import asyncio
import math
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from api.errors import ApiError
from queues.dlq import ReplayCounts
from shared.dynamo import from_attr, to_attr
from shared.logging import get_logger

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

log = get_logger(__name__)

STALE_HEARTBEATS = 5  # a RUNNING job silent for this many heartbeats is INTERRUPTED
_ID = re.compile(r"^r-[0-9a-f]{16}$")
_SK = "META"
_COUNTS = ("moved", "would_move", "skipped_non_matching", "refused_over_cap", "reopened")

Work = Callable[[ReplayCounts], Awaitable[ReplayCounts]]  # runs the replay, updating the counts it is given


class ReplayState(StrEnum):
    """Where a replay job is."""

    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    INTERRUPTED = "INTERRUPTED"


@dataclass(frozen=True)
class ReplayFilters:
    """What a job replays: the request's filters and limits."""

    journey_id: str | None = None
    error_type: str | None = None
    max: int | None = None
    rate_per_s: float | None = None
    dry_run: bool = False
    max_replays: int = 3


@dataclass
class ReplayJob:
    """One replay job and its progress."""

    id: str
    stage: str
    filters: ReplayFilters
    heartbeat_s: float
    state: ReplayState = ReplayState.RUNNING
    counts: ReplayCounts = field(default_factory=ReplayCounts)
    created_at: str = field(default_factory=lambda: _iso(time.time()))
    updated_at: float = field(default_factory=time.time)  # epoch seconds of the last write
    finished_at: str | None = None
    error: str | None = None
    seq: int = 0

    @staticmethod
    def new_id() -> str:
        return f"r-{uuid.uuid4().hex[:16]}"


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds")


def valid_id(replay_id: str) -> bool:
    """Whether a string has the shape of a replay id (anything else is a 404 without a lookup)."""
    return bool(_ID.match(replay_id))


class ReplayJobStore:
    """Reads and writes replay jobs in the journeys table."""

    def __init__(
        self, dynamodb: DynamoDBClient, table: str, *, ttl_s: int, clock: Callable[[], float] = time.time
    ) -> None:
        self._ddb = dynamodb
        self._table = table
        self._ttl_s = ttl_s
        self._clock = clock

    @staticmethod
    def _key(replay_id: str) -> dict[str, Any]:
        return {"pk": {"S": f"DLQREPLAY#{replay_id}"}, "sk": {"S": _SK}}

    async def write(self, job: ReplayJob) -> bool:
        """Store the job as it is now; False when a newer write of it is already stored."""
        job.seq += 1
        job.updated_at = self._clock()
        plain: dict[str, Any] = {
            "stage": job.stage,
            "job_state": job.state.value,
            "filters": {k: v for k, v in asdict(job.filters).items() if v is not None},
            "counts": {name: getattr(job.counts, name) for name in _COUNTS},
            "move_task": job.counts.move_task,
            "heartbeat_s": job.heartbeat_s,
            "created_at": job.created_at,
            "updated_at": job.updated_at,
            "finished_at": job.finished_at,
            "error": job.error,
            "seq": job.seq,
            "ttl": int(job.updated_at) + self._ttl_s,
        }
        item = {**self._key(job.id), **{k: to_attr(v) for k, v in plain.items() if v is not None}}
        try:
            await self._ddb.put_item(
                TableName=self._table,
                Item=item,
                ConditionExpression="attribute_not_exists(pk) OR seq < :seq",
                ExpressionAttributeValues={":seq": {"N": str(job.seq)}},
            )
        except self._ddb.exceptions.ConditionalCheckFailedException:
            return False
        return True

    async def get(self, replay_id: str) -> ReplayJob | None:
        """The job, with a RUNNING one that stopped writing reported as INTERRUPTED; None if unknown."""
        if not valid_id(replay_id):
            return None
        resp = await self._ddb.get_item(TableName=self._table, Key=self._key(replay_id), ConsistentRead=True)
        if "Item" not in resp:
            return None
        plain = {k: from_attr(v) for k, v in resp["Item"].items()}
        counts = ReplayCounts(move_task=plain.get("move_task"))
        for name in _COUNTS:
            setattr(counts, name, int(plain.get("counts", {}).get(name, 0)))
        filters = dict(plain.get("filters", {}))
        for name in ("max", "max_replays"):
            if name in filters:
                filters[name] = int(filters[name])
        if "rate_per_s" in filters:
            filters["rate_per_s"] = float(filters["rate_per_s"])
        job = ReplayJob(
            id=replay_id,
            stage=str(plain["stage"]),
            filters=ReplayFilters(**filters),
            heartbeat_s=float(plain["heartbeat_s"]),
            state=ReplayState(plain["job_state"]),
            counts=counts,
            created_at=str(plain["created_at"]),
            updated_at=float(plain["updated_at"]),
            finished_at=plain.get("finished_at"),
            error=plain.get("error"),
            seq=int(plain["seq"]),
        )
        silent_s = self._clock() - job.updated_at
        if job.state is ReplayState.RUNNING and silent_s > STALE_HEARTBEATS * job.heartbeat_s:
            job.state = ReplayState.INTERRUPTED
            job.error = (
                f"no progress written for {silent_s:.0f} s ({STALE_HEARTBEATS} heartbeats): the API process that ran "
                "it stopped; messages it held are visible again in the DLQ, replay them with a new job"
            )
        return job


class ReplayRunner:
    """Runs this process's replay jobs as asyncio tasks, at most `max_running` at once."""

    def __init__(self, store: ReplayJobStore, *, max_running: int, heartbeat_s: float) -> None:
        self._store = store
        self.max_running = max_running
        self.heartbeat_s = heartbeat_s
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def running(self) -> int:
        return len(self._tasks)

    async def start(self, stage: str, filters: ReplayFilters, work: Work) -> ReplayJob:
        """Store a RUNNING job and start it; 429 when this process already runs `max_running` jobs."""
        if len(self._tasks) >= self.max_running:
            retry_after = max(1, math.ceil(self.heartbeat_s * 2))
            raise ApiError(
                429,
                "too_many_replay_jobs",
                f"this API process already runs {self.max_running} replay jobs "
                f"(CALLPIPE_API_REPLAY_JOBS_PER_PROCESS); retry after {retry_after} s",
                {"limit": self.max_running, "retry_after_s": retry_after},
                headers={"Retry-After": str(retry_after)},
            )
        job = ReplayJob(id=ReplayJob.new_id(), stage=stage, filters=filters, heartbeat_s=self.heartbeat_s)
        await self._store.write(job)
        task = asyncio.create_task(self._run(job, work), name=f"dlq-replay-{job.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        log.info("dlq_replay_job_started", replay_id=job.id, stage=stage, dry_run=filters.dry_run)
        return job

    async def _heartbeat(self, job: ReplayJob) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_s)
            try:
                await self._store.write(job)
            except Exception as exc:  # the next beat tries again; the job itself goes on
                log.warning("dlq_replay_job_heartbeat_failed", replay_id=job.id, error=type(exc).__name__)

    async def _run(self, job: ReplayJob, work: Work) -> None:
        beat = asyncio.create_task(self._heartbeat(job))
        try:
            await work(job.counts)
            job.state = ReplayState.SUCCEEDED
        except asyncio.CancelledError:
            job.state = ReplayState.INTERRUPTED
            job.error = "the API process shut down while the job ran; replay the rest with a new job"
            raise
        except Exception as exc:
            log.exception("dlq_replay_job_failed", replay_id=job.id)
            job.state = ReplayState.FAILED
            job.error = f"{type(exc).__name__}: {exc}"[:500]
        finally:
            beat.cancel()
            await asyncio.gather(beat, return_exceptions=True)
            job.finished_at = _iso(time.time())
            try:
                await asyncio.shield(self._store.write(job))
            except (Exception, asyncio.CancelledError) as exc:  # nothing more to do than say so
                log.error("dlq_replay_job_final_write_failed", replay_id=job.id, error=type(exc).__name__)
            log.info("dlq_replay_job_ended", replay_id=job.id, state=job.state.value, moved=job.counts.moved)

    async def close(self) -> None:
        """Stop every running job (each records itself INTERRUPTED) and wait for them."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

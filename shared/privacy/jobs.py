"""Erasure jobs: a request (task ids, a customer number or a window) run to the end, its progress and counts kept
in the coordination table, and one audit event per erasure. A job record holds no task id and no number."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.audit import AuditEvent, AuditLog, FrontDoor, Outcome
from shared.dynamo import from_attr, to_attr
from shared.logging import get_logger
from shared.privacy.erasure import KINDS, Eraser, summary
from shared.privacy.keys import customer_hash

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

log = get_logger(__name__)

JOB_TTL_S = 90 * 86400  # the audit event is the lasting record; the job's progress is kept 90 days
MAX_TASK_IDS = 1000
PROGRESS_EVERY = 10  # a running job's record is updated once the calls are found, then every this many calls


class ErasureRequest(BaseModel):
    """What to erase: exactly one of `task_ids`, `customer_number` or a window `from`..`to` (times of the calls'
    ends). `org_id` defaults to the deployment's WXCC org."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    task_ids: list[str] | None = Field(default=None, min_length=1, max_length=MAX_TASK_IDS)
    customer_number: str | None = Field(default=None, min_length=3, max_length=40, pattern=r"^\+?[0-9 ()\-.]+$")
    from_: datetime | None = Field(default=None, alias="from")
    to: datetime | None = None
    org_id: str | None = Field(default=None, min_length=1, max_length=100)

    @model_validator(mode="after")
    def _one_mode(self) -> ErasureRequest:
        window = self.from_ is not None or self.to is not None
        modes = [self.task_ids is not None, self.customer_number is not None, window]
        if sum(modes) != 1:
            raise ValueError("give exactly one of task_ids, customer_number, or from and to")
        if window:
            if self.from_ is None or self.to is None:
                raise ValueError("a window needs both from and to")
            if self.from_.tzinfo is None or self.to.tzinfo is None:
                raise ValueError("from and to must carry a time zone")
            if self.from_ >= self.to:
                raise ValueError("from must be before to")
        if self.task_ids is not None and any(not t.strip() or len(t) > 200 for t in self.task_ids):
            raise ValueError("task ids must be non-empty, at most 200 characters")
        return self

    @property
    def mode(self) -> str:
        return "task_ids" if self.task_ids is not None else "customer_number" if self.customer_number else "window"


class ErasureState(StrEnum):
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class ErasureJob(BaseModel):
    """An erasure's progress and result (counts per kind of data removed)."""

    id: str
    state: ErasureState
    mode: str
    created_at: float
    finished_at: float | None = None
    calls_found: int = 0
    calls_erased: int = 0  # progress: calls erased so far (saved every PROGRESS_EVERY calls while running)
    counts: dict[str, int] = Field(default_factory=dict)
    error: str | None = None
    audit_event_id: str | None = None


def _key(job_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"erasure#{job_id}"}}


class ErasureJobs:
    """Erasure job records (coordination table)."""

    def __init__(self, dynamodb: DynamoDBClient, table: str) -> None:
        self._ddb = dynamodb
        self.table = table

    async def create(self, mode: str) -> ErasureJob:
        job = ErasureJob(id=uuid.uuid4().hex, state=ErasureState.RUNNING, mode=mode, created_at=round(time.time(), 3))
        await self.save(job)
        return job

    async def save(self, job: ErasureJob) -> None:
        item = {
            **_key(job.id),
            "job": to_attr(job.model_dump(mode="json")),
            "ttl": {"N": str(int(time.time()) + JOB_TTL_S)},
        }
        await self._ddb.put_item(TableName=self.table, Item=item)

    async def get(self, job_id: str) -> ErasureJob | None:
        resp = await self._ddb.get_item(TableName=self.table, Key=_key(job_id), ConsistentRead=True)
        if "Item" not in resp:
            return None
        return ErasureJob.model_validate(from_attr(resp["Item"]["job"]))


async def run_erasure(
    job: ErasureJob,
    request: ErasureRequest,
    *,
    eraser: Eraser,
    jobs: ErasureJobs,
    audit: AuditLog,
    hmac_key: bytes,
    default_org: str,
    actor: str,
    actor_label: str | None,
    front_door: FrontDoor,
) -> ErasureJob:
    """Find the calls, erase each, record the result and one audit event (ids and counts only)."""
    counts: Counter[str] = Counter()
    org = request.org_id or default_org
    try:
        if request.task_ids is not None:
            calls = [(org, t) for t in dict.fromkeys(request.task_ids)]
        elif request.customer_number is not None:
            calls = await eraser.calls_of_customer(customer_hash(hmac_key, request.customer_number))
        else:
            assert request.from_ is not None and request.to is not None
            start, end = int(request.from_.timestamp() * 1000), int(request.to.timestamp() * 1000)
            calls = await eraser.calls_in_window(start, end, request.org_id)
        job = job.model_copy(update={"calls_found": len(calls)})
        await jobs.save(job)
        for n, (org_id, task_id) in enumerate(calls, 1):
            counts.update(await eraser.erase_call(org_id, task_id, job.id))
            if n % PROGRESS_EVERY == 0 and n < len(calls):
                job = job.model_copy(update={"calls_erased": n, "counts": {k: counts.get(k, 0) for k in KINDS}})
                await jobs.save(job)
        job = job.model_copy(update={"calls_erased": len(calls)})
        state, error, outcome = ErasureState.SUCCEEDED, None, Outcome.OK
    except Exception as exc:
        log.exception("erasure_failed", erasure_id=job.id)
        state, error, outcome = ErasureState.FAILED, type(exc).__name__, Outcome.FAILED
    event = AuditEvent(
        actor=actor,
        actor_label=actor_label,
        front_door=front_door,
        action="privacy.erase",
        targets={"erasure_id": job.id, "mode": request.mode},
        outcome=outcome,
        detail=summary(counts),
    )
    try:
        await audit.write(event)
    except Exception as exc:  # the erasure is done; the job record says the audit write failed
        log.error("erasure_audit_failed", erasure_id=job.id, error=type(exc).__name__)
        error = error or "audit_write_failed"
    job = job.model_copy(
        update={
            "state": state,
            "finished_at": round(time.time(), 3),
            "counts": {k: counts.get(k, 0) for k in KINDS},
            "error": error,
            "audit_event_id": event.id,
        }
    )
    await jobs.save(job)
    return job

"""The audit trail: who changed what, through which front door, with what outcome; written to S3 and the log.

Every mutating API request (the API's audit middleware), and every erasure and license change from any front door
(HTTP, CLI, MCP), records one `AuditEvent`. An event names its actor by key id/label or user subject, its action,
the ids of its targets, its outcome, time and request id, and nothing else: never a key, a token, a transcript, a
phone number or a name of a customer (callers pass ids only; the model refuses long free text).

Where events go: the logs bucket (`{prefix}-logs`), one JSON line per object, partitioned by UTC day for the Glue
table `audit_events` (terraform/modules/analytics):

  audit/dt={yyyy-mm-dd}/{HHMMSS.ffffff}-{event id}.jsonl

(S3 objects cannot be appended to; one small object per event keeps writers independent and the listing ordered by
time), and one structlog line `audit_event` with the same fields. `AuditLog.read` lists the days of a time range
and returns the events in it, oldest first, optionally of one action.
"""

from __future__ import annotations

import asyncio
import getpass
import json
import uuid
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator

from shared.logging import get_logger
from shared.resources import DataResources

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client

log = get_logger(__name__)

PREFIX = "audit/"
READ_CONCURRENCY = 16
MAX_READ = 10_000  # events one read returns at most (the caller narrows the range or the action past it)

Action = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_.:-]{0,99}$")]
TargetKey = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
TargetId = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\s]+$")]


class FrontDoor(StrEnum):
    """Where a change came in."""

    HTTP = "http"
    CLI = "cli"
    MCP = "mcp"


class Outcome(StrEnum):
    """How it ended: done, refused (authentication, scope, validation, conflict) or failed (server side)."""

    OK = "ok"
    DENIED = "denied"
    FAILED = "failed"


def outcome_of(status: int) -> Outcome:
    """The outcome an HTTP status stands for."""
    if status < 400:
        return Outcome.OK
    return Outcome.DENIED if status < 500 else Outcome.FAILED


class AuditEvent(BaseModel):
    """One change: actor, front door, action, targets, outcome, time, request id. Ids only: no secrets, no PII."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(default_factory=lambda: uuid.uuid4().hex, pattern=r"^[0-9a-f]{32}$")
    at: datetime = Field(default_factory=lambda: datetime.now(UTC), description="When it happened (UTC).")
    actor: str = Field(
        min_length=1,
        max_length=200,
        description="The API key's id (`key:{id}`), an OIDC subject (`oidc:{sub}`), a CLI user (`cli:{user}`) or "
        "`anonymous`.",
    )
    actor_label: str | None = Field(default=None, max_length=100, description="The key's label, or the user's name.")
    front_door: FrontDoor
    action: Action = Field(description="What was done: the API's operation id (`createJourney`) or `area.verb`.")
    targets: dict[TargetKey, TargetId] = Field(
        default_factory=dict, max_length=20, description="Ids of what it was done to, e.g. `{journey_id: …}`."
    )
    outcome: Outcome
    status: int | None = Field(default=None, ge=100, le=599, description="The HTTP status, for HTTP requests.")
    request_id: str | None = Field(default=None, max_length=100)
    detail: str | None = Field(
        default=None, max_length=200, description="A short machine reason (an error code), never free text."
    )

    @field_validator("at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("the time must carry a time zone")
        return value.astimezone(UTC)

    def key(self) -> str:
        """The S3 key this event is stored under."""
        return f"{PREFIX}dt={self.at:%Y-%m-%d}/{self.at:%H%M%S.%f}-{self.id}.jsonl"


def cli_actor() -> str:
    """The actor of a CLI change: the operating-system user running it."""
    try:
        return f"cli:{getpass.getuser()}"[:200]
    except OSError:  # no user name in this environment (a container without /etc/passwd entry)
        return "cli:unknown"


def _days(start: datetime, end: datetime) -> list[date]:
    first, last = start.astimezone(UTC).date(), end.astimezone(UTC).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


class AuditLog:
    """Writes audit events to the logs bucket and the structured log; reads them back by time range and action."""

    def __init__(self, s3: S3Client, bucket: str) -> None:
        self._s3 = s3
        self.bucket = bucket

    @classmethod
    def for_prefix(cls, s3: S3Client, name_prefix: str) -> AuditLog:
        """The audit log of the deployment named by `name_prefix` (its `{prefix}-logs` bucket)."""
        return cls(s3, DataResources(name_prefix).logs_bucket.name)

    async def write(self, event: AuditEvent) -> str:
        """Store one event (raises on an S3 error: the caller decides whether that fails its change); its key."""
        line = event.model_dump_json() + "\n"
        log.info("audit_event", **event.model_dump(mode="json", exclude={"at"}), at=event.at.isoformat())
        key = event.key()
        await self._s3.put_object(Bucket=self.bucket, Key=key, Body=line.encode(), ContentType="application/x-ndjson")
        return key

    async def read(
        self, start: datetime, end: datetime, *, action: str | None = None, limit: int = MAX_READ
    ) -> list[AuditEvent]:
        """The events with `start <= at < end` (oldest first), of `action` when given, at most `limit`."""
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError("the range's times must carry a time zone")
        if end <= start:
            return []
        keys = [k for day in _days(start, end) for k in await self._keys(day, start, end)]
        events: list[AuditEvent] = []
        gate = asyncio.Semaphore(READ_CONCURRENCY)

        async def fetch(key: str) -> list[AuditEvent]:
            async with gate:
                obj = await self._s3.get_object(Bucket=self.bucket, Key=key)
                async with obj["Body"] as body:
                    text = (await body.read()).decode()
            return _parse(key, text)

        for batch_start in range(0, len(keys), 256):
            batch = keys[batch_start : batch_start + 256]
            for parsed in await asyncio.gather(*(fetch(k) for k in batch)):
                events.extend(e for e in parsed if start <= e.at < end and (action is None or e.action == action))
            if len(events) >= limit:
                break
        events.sort(key=lambda e: (e.at, e.id))
        return events[:limit]

    async def _keys(self, day: date, start: datetime, end: datetime) -> list[str]:
        """A day's event keys whose time (from the key) may fall in the range."""
        prefix = f"{PREFIX}dt={day:%Y-%m-%d}/"
        low = f"{prefix}{start:%H%M%S.%f}" if start.astimezone(UTC).date() == day else None
        high = f"{prefix}{end:%H%M%S.%f}~" if end.astimezone(UTC).date() == day else None
        keys: list[str] = []
        paginator = self._s3.get_paginator("list_objects_v2")
        params = {"Bucket": self.bucket, "Prefix": prefix}
        if low is not None:
            params["StartAfter"] = low
        async for page in paginator.paginate(**params):  # type: ignore[arg-type]
            for item in page.get("Contents", []):
                key = item["Key"]
                if high is not None and key > high:
                    return keys
                keys.append(key)
        return keys


def _parse(key: str, text: str) -> list[AuditEvent]:
    """The events of one stored object; a line that does not parse is logged and skipped (never loses the rest)."""
    events: list[AuditEvent] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            events.append(AuditEvent.model_validate(json.loads(line)))
        except (ValueError, ValidationError) as exc:
            log.warning("audit_line_unreadable", key=key, error=type(exc).__name__)
    return events

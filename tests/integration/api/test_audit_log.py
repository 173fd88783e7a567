"""The audit log over the local S3 endpoint: written one object per event under its day, read back by range/action."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from pydantic import ValidationError

from shared.audit import AuditEvent, AuditLog, FrontDoor, Outcome, outcome_of
from shared.config import Settings
from shared.resources import DataResources

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client


@pytest.fixture
async def audit(settings: Settings, s3: S3Client) -> AuditLog:
    bucket = DataResources(settings.name_prefix).logs_bucket.name
    await s3.create_bucket(Bucket=bucket)
    return AuditLog(s3, bucket)


def _event(at: datetime, action: str = "createJourney", **targets: str) -> AuditEvent:
    return AuditEvent(
        at=at,
        actor="key:ops1",
        actor_label="ops",
        front_door=FrontDoor.HTTP,
        action=action,
        targets=targets,
        outcome=Outcome.OK,
        status=202,
        request_id="r-1",
    )


async def test_events_are_stored_by_day_and_read_back_by_range_and_action(audit: AuditLog, s3: S3Client) -> None:
    day1 = datetime(2026, 3, 1, 23, 59, 59, tzinfo=UTC)
    events = [
        _event(day1, journey_id="j1"),
        _event(day1 + timedelta(seconds=2), "cancelJourney", journey_id="j1"),
        _event(day1 + timedelta(days=1), "replayDlq", stage="fetch"),
        _event(day1 + timedelta(days=3), journey_id="j9"),
    ]
    keys = [await audit.write(e) for e in events]
    assert keys[0].startswith("audit/dt=2026-03-01/235959.000000-")
    assert keys[1].startswith("audit/dt=2026-03-02/")
    body = await (await s3.get_object(Bucket=audit.bucket, Key=keys[0]))["Body"].read()
    assert AuditEvent.model_validate_json(body.decode().strip()) == events[0]

    window = await audit.read(day1, day1 + timedelta(days=2))
    assert [e.id for e in window] == [e.id for e in events[:3]]
    assert [e.action for e in await audit.read(day1, day1 + timedelta(days=4), action="createJourney")] == [
        "createJourney",
        "createJourney",
    ]
    # The range is half-open and narrows inside a day, too.
    assert [e.id for e in await audit.read(day1 + timedelta(seconds=1), day1 + timedelta(days=1))] == [events[1].id]
    assert await audit.read(day1, day1) == []


async def test_an_unreadable_line_is_skipped_without_losing_the_others(audit: AuditLog, s3: S3Client) -> None:
    at = datetime(2026, 4, 2, 10, 0, tzinfo=UTC)
    good = _event(at)
    await audit.write(good)
    await s3.put_object(Bucket=audit.bucket, Key="audit/dt=2026-04-02/100000.500000-x.jsonl", Body=b"{not json\n")
    assert [e.id for e in await audit.read(at, at + timedelta(hours=1))] == [good.id]


def test_events_refuse_free_text_and_naive_times() -> None:
    at = datetime.now(UTC)
    with pytest.raises(ValidationError):
        _event(at, "create journey for Jane Doe")
    with pytest.raises(ValidationError):
        _event(at, journey_id="has spaces in it")
    with pytest.raises(ValidationError):
        _event(datetime(2026, 1, 1))
    assert outcome_of(202) is Outcome.OK and outcome_of(403) is Outcome.DENIED and outcome_of(503) is Outcome.FAILED

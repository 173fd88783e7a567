"""Erasure over the wire (moto): by task id, customer number and window; then every bucket and table is listed and
nothing holds the task ids or the numbers; a later poll does not fetch the calls again; the audit event holds no
personal data; an erasure racing a running transcribe step ends with nothing stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from queues.envelope import Kind
from shared.analytics.queries import Summary, summary
from shared.analytics.store import AnalyticsStore, ListFilters
from shared.audit import AuditLog, FrontDoor
from shared.config import Settings
from shared.privacy.erasure import Eraser
from shared.privacy.jobs import ErasureJobs, ErasureRequest, ErasureState, run_erasure
from shared.privacy.keys import cached_key
from shared.resources import DataResources
from shared.tracking import CallStatus
from simulator.wxcc.config import SimulatorConfig
from simulator.wxcc.faults import FaultRule
from tests.helpers import depth, eventually
from tests.integration.pipeline.conftest import Stack, running_stack


def few_calls() -> SimulatorConfig:
    return SimulatorConfig(
        calls=5,
        seed=8,
        window_hours=1,
        duration_scale=0.12,
        abandoned_fraction=0,
        unrecorded_fraction=0,
        consult_fraction=0.5,
        outbound_fraction=0,
        capture_pending_fraction=0,
        availability_delay_s=0,
    )


async def _erase(stack: Stack, request: ErasureRequest) -> dict[str, int]:
    resources = DataResources(stack.settings.name_prefix)
    async with stack.clients.dynamodb() as ddb, stack.clients.s3() as s3:
        jobs = ErasureJobs(ddb, resources.coordination_table.name)
        job = await jobs.create(request.mode)
        done = await run_erasure(
            job,
            request,
            eraser=Eraser(ddb, s3, resources),
            jobs=jobs,
            audit=AuditLog.for_prefix(s3, stack.settings.name_prefix),
            hmac_key=await cached_key(stack.settings),
            default_org=stack.sim.config.org_id,
            actor="cli:test",
            actor_label=None,
            front_door=FrontDoor.CLI,
        )
        assert done.state is ErasureState.SUCCEEDED, done
        assert (await jobs.get(job.id)) == done
        return done.counts


async def _summary(stack: Stack, now_ms: int) -> Summary:
    """The org's analytics summary from the aggregate items, over the days of the simulated calls."""
    start = datetime.fromtimestamp(now_ms / 1000, UTC) - timedelta(days=1)
    async with stack.clients.dynamodb() as ddb:
        store = AnalyticsStore(ddb, DataResources(stack.settings.name_prefix).analytics_table.name)
        return await summary(store, stack.sim.config.org_id, start, start + timedelta(days=3), "day", ListFilters())


async def _everything(stack: Stack) -> list[tuple[str, str]]:
    """(where, content) of every object (key and body) of every bucket and every item of every table."""
    resources = DataResources(stack.settings.name_prefix)
    found: list[tuple[str, str]] = []
    async with stack.clients.s3() as s3, stack.clients.dynamodb() as ddb:
        for bucket in [b.name for b in resources.buckets()]:
            paginator = s3.get_paginator("list_objects_v2")
            async for page in paginator.paginate(Bucket=bucket):
                for obj in page.get("Contents", []):
                    body = await (await s3.get_object(Bucket=bucket, Key=obj["Key"]))["Body"].read()
                    found.append((f"s3://{bucket}/{obj['Key']}", obj["Key"] + body.decode("latin-1")))
        for table in resources.tables():
            kwargs: dict[str, Any] = {"TableName": table.name}
            while True:
                scanned = await ddb.scan(**kwargs)
                for item in scanned.get("Items", []):
                    pk = item["pk"]["S"]
                    rest = {k: v for k, v in item.items() if not (table.role == "tracking" and k == "pk")}
                    found.append((f"{table.name}:{pk}", str(rest)))
                if "LastEvaluatedKey" not in scanned:
                    break
                kwargs["ExclusiveStartKey"] = scanned["LastEvaluatedKey"]
    return found


async def test_erased_calls_leave_nothing_and_are_never_fetched_again(settings: Settings) -> None:
    async with running_stack(settings, few_calls()) as stack:
        org = stack.sim.config.org_id
        now = stack.sim.state.clock.now_ms()
        calls = [c for c in stack.sim.state.ended_between(now - 2 * 3600 * 1000, now) if c.recordings]
        assert len(calls) >= 3
        status = await stack.finished(await stack.start(now - 2 * 3600 * 1000, now))
        assert status.count("analyze", "done") == len(calls)
        assert (await _summary(stack, now)).totals.calls == len(calls)
        # a second journey over the window sees every call again (its own JOB# items, skipped as duplicates)
        seen = await stack.finished(await stack.start(now - 2 * 3600 * 1000, now))
        assert seen.count("poll", "skipped_duplicate") == len(calls)
        by_task, by_number, by_window = calls[0], calls[1], calls[2]
        assert by_number.origin not in (by_task.origin, by_window.origin)
        kept = calls[3:]
        transcriptions = dict(stack.openai.stats.transcriptions_by_task)

        counts = await _erase(stack, ErasureRequest(task_ids=[by_task.task_id]))
        assert counts["calls"] == 1 and counts["recordings"] == len(by_task.recordings)
        assert counts["transcripts"] == counts["analyses"] == counts["analytics_records"] == 1
        assert counts["analytics_lines"] == 1 and counts["journey_jobs"] == 2 and counts["aggregate_items"] > 0
        counts = await _erase(stack, ErasureRequest(customer_number=by_number.origin))
        assert counts["calls"] == 1 and counts["transcripts"] == 1
        ended = datetime.fromtimestamp(by_window.ended_ms / 1000, UTC)
        window = ErasureRequest.model_validate(
            {"from": ended.isoformat(), "to": datetime.fromtimestamp((by_window.ended_ms + 1) / 1000, UTC).isoformat()}
        )
        counts = await _erase(stack, window)
        assert counts["calls"] == 1 and counts["transcripts"] == 1

        # the aggregates count exactly the calls kept (each erased call's contribution subtracted, nothing else)
        after = await _summary(stack, now)
        assert after.totals.calls == len(kept) and after.groups and all(g.calls > 0 for g in after.groups)

        erased = [by_task, by_number, by_window]
        secrets = [c.task_id for c in erased] + [c.origin for c in erased]
        everything = await _everything(stack)
        leaks = [(where, s) for where, content in everything for s in secrets if s in content]
        assert not leaks, leaks
        for call in kept:  # the others are untouched
            assert any(call.task_id in content for _, content in everything)
            row = await stack.tracking.get(org, call.task_id)
            assert row is not None and row.status is CallStatus.ANALYZED
        for call in erased:
            row = await stack.tracking.get(org, call.task_id)
            assert row is not None and row.status is CallStatus.ERASED and not row.facts and not row.recording_keys

        again = await stack.finished(await stack.start(now - 2 * 3600 * 1000, now))
        assert again.count("fetch", "done") == 0
        assert again.count("poll", "skipped_duplicate") == len(kept)  # the erased calls are not even recorded
        leaks = [(where, s) for where, content in await _everything(stack) for s in secrets if s in content]
        assert not leaks, leaks
        assert {t: n for t, n in stack.openai.stats.transcriptions_by_task.items()} == transcriptions
        for call in erased:
            row = await stack.tracking.get(org, call.task_id)
            assert row is not None and row.status is CallStatus.ERASED

        async with stack.clients.s3() as s3:
            events = await AuditLog.for_prefix(s3, settings.name_prefix).read(
                datetime.fromtimestamp(now / 1000 - 3600, UTC), datetime.now(UTC), action="privacy.erase"
            )
        assert len(events) == 3 and all(e.outcome.value == "ok" and "calls=1" in (e.detail or "") for e in events)
        dumped = " ".join(e.model_dump_json() for e in events)
        assert not [s for s in secrets if s in dumped]


async def _erase_during_transcribe(settings: Settings, late_s: float, **overrides: object) -> None:
    """Erase a call while its transcription (answering `late_s` late) runs, then wait for the step to end: nothing of
    the call may be stored anywhere, and its row stays the tombstone."""
    sim = few_calls().model_copy(update={"calls": 1, "consult_fraction": 0})
    async with running_stack(settings, sim, stages=(Kind.POLL, Kind.FETCH), **overrides) as stack:
        org = stack.sim.config.org_id
        now = stack.sim.state.clock.now_ms()
        (call,) = [c for c in stack.sim.state.ended_between(now - 2 * 3600 * 1000, now) if c.recordings]
        await stack.start(now - 2 * 3600 * 1000, now)

        async def fetched() -> bool:
            row = await stack.tracking.get(org, call.task_id)
            return row is not None and row.status is CallStatus.FETCHED

        await eventually(fetched, timeout=60, interval=0.2)
        stack.openai.faults.slow_uploads[call.task_id] = late_s
        stack.launch(Kind.TRANSCRIBE)

        async def transcribing() -> bool:
            row = await stack.tracking.get(org, call.task_id)
            return (
                row is not None
                and row.lease_stage == "transcribe"
                and stack.openai.stats.requests["/v1/audio/transcriptions"] > 0
            )

        await eventually(transcribing, timeout=30, interval=0.05)
        assert call.task_id not in stack.openai.stats.billed_by_task  # still running when the erasure starts
        counts = await _erase(stack, ErasureRequest(task_ids=[call.task_id]))
        assert counts["recordings"] == 1 and counts["transcripts"] == 0

        async def step_over() -> bool:
            async with stack.clients.sqs() as sqs:
                url = (await sqs.get_queue_url(QueueName=f"{settings.name_prefix}-{Kind.TRANSCRIBE.value}"))["QueueUrl"]
                return call.task_id in stack.openai.stats.billed_by_task and await depth(sqs, url) == 0

        await eventually(step_over, timeout=60, interval=0.2)
        leaks = [where for where, content in await _everything(stack) if call.task_id in content]
        assert not leaks, leaks
        row = await stack.tracking.get(org, call.task_id)
        assert row is not None and row.status is CallStatus.ERASED


async def test_an_erasure_racing_a_running_transcribe_step_ends_with_nothing_stored(settings: Settings) -> None:
    """The step records its result after the erasure: `advance` finds the tombstone and sweeps what it stored."""
    await _erase_during_transcribe(settings, late_s=3.0)


async def test_an_erasure_during_a_step_longer_than_a_lease_renewal_ends_with_nothing_stored(
    settings: Settings,
) -> None:
    """A 3 s stage lease is renewed every second: the renewal after the erasure finds the tombstone (the lease is
    lost), so the step's own sweep is the only thing that removes the transcript it stores after that."""
    await _erase_during_transcribe(settings, late_s=5.0, stage_lease_s=3)


async def test_erasing_a_call_mid_journey_lets_the_journey_complete_with_the_others(settings: Settings) -> None:
    sim = few_calls().model_copy(update={"calls": 3, "consult_fraction": 0})
    async with running_stack(settings, sim, stages=(Kind.POLL, Kind.FETCH)) as stack:
        org = stack.sim.config.org_id
        now = stack.sim.state.clock.now_ms()
        calls = [c for c in stack.sim.state.ended_between(now - 2 * 3600 * 1000, now) if c.recordings]
        assert len(calls) >= 2
        journey = await stack.start(now - 2 * 3600 * 1000, now)

        async def all_fetched() -> bool:
            rows = [await stack.tracking.get(org, c.task_id) for c in calls]
            return all(r is not None and r.status is CallStatus.FETCHED for r in rows)

        await eventually(all_fetched, timeout=60, interval=0.2)
        erased, kept = calls[0], calls[1:]
        counts = await _erase(stack, ErasureRequest(task_ids=[erased.task_id]))
        assert counts["calls"] == 1
        stack.launch(Kind.TRANSCRIBE)
        stack.launch(Kind.ANALYZE)
        status = await stack.finished(journey, timeout=90)
        assert status.count("analyze", "done") == len(kept)
        assert status.count("transcribe", "erased") == 1 and status.terminal == status.discovered == len(calls)
        row = await stack.tracking.get(org, erased.task_id)
        assert row is not None and row.status is CallStatus.ERASED


async def test_an_erasure_while_fetch_downloads_a_leg_ends_with_nothing_stored(settings: Settings) -> None:
    """The leg is stored after the tombstone: fetch's update of the row fails, and fetch sweeps what it stored."""
    sim = few_calls().model_copy(update={"calls": 1, "consult_fraction": 0})
    async with running_stack(settings, sim, stages=(Kind.POLL, Kind.FETCH)) as stack:
        org = stack.sim.config.org_id
        now = stack.sim.state.clock.now_ms()
        (call,) = [c for c in stack.sim.state.ended_between(now - 2 * 3600 * 1000, now) if c.recordings]
        stack.sim.state.faults.add([FaultRule(kind="slow", endpoints=("recordings",), count=1, delay_s=3.0)])
        await stack.start(now - 2 * 3600 * 1000, now)

        async def downloading() -> bool:
            return stack.sim.state.faults.injected["slow"] == 1

        await eventually(downloading, timeout=60, interval=0.05)
        counts = await _erase(stack, ErasureRequest(task_ids=[call.task_id]))
        assert counts["calls"] == 1 and counts["recordings"] == 0  # not stored yet

        async def fetch_over() -> bool:
            async with stack.clients.sqs() as sqs:
                url = (await sqs.get_queue_url(QueueName=f"{settings.name_prefix}-{Kind.FETCH.value}"))["QueueUrl"]
                return await depth(sqs, url) == 0  # the Retryable's redelivery found the tombstone and was dropped

        await eventually(fetch_over, timeout=60, interval=0.2)
        leaks = [where for where, content in await _everything(stack) if call.task_id in content]
        assert not leaks, leaks
        row = await stack.tracking.get(org, call.task_id)
        assert row is not None and row.status is CallStatus.ERASED

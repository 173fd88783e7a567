"""Journey reports over the wire: the worker that completes a journey stores them, the API serves them (or builds them
while the journey runs, or when the stored copy is missing), one CSV row per call; what the run stored matches the
Glue columns Terraform declares."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from types_aiobotocore_dynamodb import DynamoDBClient

from api.app import create_app
from queues.bootstrap import bootstrap
from shared.aws import AwsClients
from shared.config import Settings
from shared.dynamo import transact
from shared.journeys import Journey, JourneyKind, JourneyState, JourneyStore
from shared.reports import CSV_COLUMNS, ReportWriter, report_key
from shared.resources import DataResources
from shared.storage import Storage
from simulator.wxcc.config import SimulatorConfig
from tests.helpers import eventually
from tests.integration.api.conftest import AUTH, api_config
from tests.integration.pipeline.conftest import running_stack
from tests.unit.test_glue_contract import glue_tables, line_problems

Client = TestClient[web.Request, web.Application]


@dataclass
class Store:
    """Bootstrapped resources of a test, without the pipeline."""

    settings: Settings
    journeys: JourneyStore
    storage: Storage
    ddb: DynamoDBClient


def _rows(text: str) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text))
    assert tuple(reader.fieldnames or ()) == CSV_COLUMNS
    return list(reader)


async def _object(s3: Any, bucket: str, key: str) -> str:
    obj = await s3.get_object(Bucket=bucket, Key=key)
    async with obj["Body"] as body:
        return str((await body.read()).decode())


async def test_the_completing_worker_stores_the_report_and_the_api_serves_one_csv_row_per_call(
    settings: Settings,
) -> None:
    sim = SimulatorConfig(
        calls=8,
        seed=5,
        window_hours=1,
        duration_scale=0.08,
        capture_pending_fraction=0,
        availability_delay_s=0,
        unrecorded_fraction=0.3,
        consult_fraction=0,
    )
    async with running_stack(settings, sim) as stack:
        now = stack.sim.state.clock.now_ms()
        start = now - 2 * 3600 * 1000
        calls = stack.sim.state.ended_between(start, now)
        recorded = {c.task_id for c in calls if c.recordings and c.capture_requested}
        others = {c.task_id for c in calls} - recorded
        assert recorded and others, "the simulated mix lacks recorded or unrecorded calls"
        journey = await stack.start(start, now)
        await stack.finished(journey, timeout=120)
        bucket = DataResources(stack.settings.name_prefix).results_bucket.name

        async with stack.clients.s3() as s3:

            async def stored() -> bool:
                keys = await Storage(s3).keys(bucket, f"reports/{journey.id}/")
                return len(keys) == 3

            await eventually(stored, timeout=20)
            stored_csv = await _object(s3, bucket, report_key(journey.id, "csv"))
            [log_key] = await Storage(s3).keys(bucket, "analytics/journey_logs/")
            log_lines = await _object(s3, bucket, log_key)
            # What the run stored reads as the Glue tables declare (see tests/unit/test_glue_contract.py).
            assert line_problems(log_lines, glue_tables()["journey_logs"]) == []
            assert len(log_lines.splitlines()) == len(calls)
            for table, prefix in (
                ("transcripts", "transcripts/"),
                ("analyses", "analyses/"),
                ("calls", "analytics/calls/"),
            ):
                keys = await Storage(s3).keys(bucket, prefix)
                assert len(keys) == len(recorded), table
                for key in keys:
                    assert line_problems(await _object(s3, bucket, key), glue_tables()[table]) == [], key

        async with TestClient(TestServer(create_app(stack.settings, api_config()))) as api:
            resp = await api.get(f"/api/v1/journeys/{journey.id}/report", params={"format": "csv"}, headers=AUTH)
            assert resp.status == 200, await resp.text()
            assert resp.headers["X-Report-Source"] == "stored"
            assert resp.content_type == "text/csv"
            text = await resp.text()
            assert text == stored_csv
            rows = _rows(text)
            assert sorted(r["task_id"] for r in rows) == sorted(c.task_id for c in calls)  # one row per call
            by_task = {r["task_id"]: r for r in rows}
            for task_id in recorded:
                row = by_task[task_id]
                assert row["outcome"] == "analyzed" and row["stage"] == "analyze", row
                assert row["analysis_key"] and int(row["tokens"]) > 0 and float(row["billed_audio_seconds"]) > 0
            for task_id in others:
                assert by_task[task_id]["outcome"] == "skipped" and by_task[task_id]["reason"], by_task[task_id]

            resp = await api.get(f"/api/v1/journeys/{journey.id}/report", headers=AUTH)
            summary = await resp.json()
            assert resp.content_type == "application/json" and resp.headers["X-Report-Source"] == "stored"
            assert summary["state"] == "COMPLETED" and summary["final"] is True and summary["completed_at"]
            assert summary["discovered"] == summary["calls"] == len(calls) and summary["analyzed"] == len(recorded)
            assert summary["skipped"] == len(others) and summary["failed"] == 0 and summary["in_progress"] == 0
            assert summary["outcomes"] == {"analyzed": len(recorded), "skipped": len(others)}
            assert sum(r["calls"] for r in summary["failure_reasons"]) == len(others)

            resp = await api.get(f"/api/v1/journeys/{journey.id}/report", params={"format": "html"}, headers=AUTH)
            page = await resp.text()
            assert resp.content_type == "text/html" and page.startswith("<!DOCTYPE html>")
            assert "<svg" in page and f"<td>{len(recorded)}</td>" in page
            assert "src=" not in page and "href=" not in page and "<script" not in page  # self-contained


@pytest.fixture
async def store(settings: Settings) -> AsyncIterator[Store]:
    await bootstrap(settings, include_echo=False)
    clients = AwsClients(settings)
    async with clients.dynamodb() as ddb, clients.s3() as s3:
        journeys = JourneyStore(ddb, DataResources(settings.name_prefix).journeys_table.name)
        yield Store(settings, journeys, Storage(s3), ddb)


async def _journey_with_calls(store: Store, outcomes: dict[str, dict[str, Any]]) -> Journey:
    """A journey whose poll found `outcomes`' calls (each a JOB# record), written as the workers write them."""
    journeys = store.journeys
    journey = Journey.new(JourneyKind.TASKS, {"task_ids": sorted(outcomes)}, org_id="org-r")
    await journeys.create(journey, "tasks")
    items = [
        {"Update": journeys.poll_window_done(journey.id, "tasks")},
        {"Update": journeys.counter_update(journey.id, "poll", queued=len(outcomes))},
    ]
    assert await transact(store.ddb, items)
    puts = [journeys.job_put(journey.id, task_id, **job) for task_id, job in outcomes.items()]
    for start in range(0, len(puts), 50):
        await asyncio.gather(*(store.ddb.put_item(**put) for put in puts[start : start + 50]))
    return journey


async def test_a_running_journey_gets_a_report_built_on_demand_and_bad_requests_are_refused(
    store: Store,
) -> None:
    settings = store.settings
    # More calls than one DynamoDB query page holds when items are large: the rows are read page by page.
    outcomes: dict[str, dict[str, Any]] = {
        f"t-{i:04}": {"outcome": "queued", "reason": "x" * 1000} for i in range(1100)
    }
    outcomes["t-0001"] = {"outcome": "failed", "stage": "transcribe", "reason": "no speech"}
    journey = await _journey_with_calls(store, outcomes)
    assert len([page async for page in store.journeys.job_pages(journey.id)]) > 1
    async with TestClient(TestServer(create_app(settings, api_config()))) as api:
        url = f"/api/v1/journeys/{journey.id}/report"
        resp = await api.get(url, params={"format": "csv"}, headers=AUTH)
        assert resp.status == 200 and resp.headers["X-Report-Source"] == "built"
        rows = _rows(await resp.text())
        assert sorted(r["task_id"] for r in rows) == sorted(outcomes)
        failed = next(r for r in rows if r["task_id"] == "t-0001")
        assert (failed["outcome"], failed["stage"], failed["reason"]) == ("failed", "transcribe", "no speech")

        summary = await (await api.get(url, headers=AUTH)).json()
        assert summary["state"] == "RUNNING" and summary["final"] is False and summary["completed_at"] is None
        assert summary["calls"] == len(outcomes) and summary["outcomes"]["queued"] == len(outcomes) - 1

        resp = await api.get(url, params={"format": "pdf"}, headers=AUTH)
        assert resp.status == 422 and (await resp.json())["error"]["code"] == "validation_failed"
        resp = await api.get("/api/v1/journeys/j-nope/report", headers=AUTH)
        assert resp.status == 404 and (await resp.json())["error"]["code"] == "journey_not_found"
        assert (await api.get(url)).status == 401


async def test_a_failing_report_write_never_loses_the_completion_and_the_api_builds_it(
    store: Store,
) -> None:
    settings, journeys, storage = store.settings, store.journeys, store.storage
    journey = await _journey_with_calls(store, {"t-1": {"outcome": "skipped", "reason": "not recorded"}})
    await transact(store.ddb, [{"Update": journeys.counter_update(journey.id, "poll", queued=-1, skipped=1)}])
    # A writer pointed at a bucket that does not exist: every write fails.
    journeys.on_completed = ReportWriter(journeys, storage, "no-such-bucket-callpipe").write
    assert await journeys.complete_if_done(journey.id) is True
    stored = await journeys.get(journey.id)
    assert stored is not None and stored.state is JourneyState.COMPLETED

    async with TestClient(TestServer(create_app(settings, api_config()))) as api:
        resp = await api.get(f"/api/v1/journeys/{journey.id}/report", params={"format": "csv"}, headers=AUTH)
        assert resp.status == 200 and resp.headers["X-Report-Source"] == "built"
        [row] = _rows(await resp.text())
        assert (row["task_id"], row["outcome"], row["stage"], row["reason"]) == (
            "t-1",
            "skipped",
            "poll",
            "not recorded",
        )


async def test_writing_again_replaces_the_same_objects(store: Store) -> None:
    settings, journeys, storage = store.settings, store.journeys, store.storage
    journey = await _journey_with_calls(
        store, {"t-1": {"outcome": "analyzed", "tokens": 10, "billed_audio_s": 3.5, "at": time.time()}}
    )
    bucket = DataResources(settings.name_prefix).results_bucket.name
    writer = ReportWriter(journeys, storage, bucket)
    await writer.write(journey.id)
    first = sorted(await storage.keys(bucket, ""))
    await writer.write(journey.id)
    assert sorted(await storage.keys(bucket, "")) == first
    assert first == sorted(
        [
            *(report_key(journey.id, f) for f in ("csv", "html", "json")),
            f"analytics/journey_logs/dt={journey.created_at[:10]}/{journey.id}.jsonl",
        ]
    )
    summary = json.loads(json.dumps(await storage.get_json(bucket, report_key(journey.id, "json"))))
    assert summary["tokens"] == 0 and summary["calls"] == 1  # counters come from STAGE#, rows from JOB#

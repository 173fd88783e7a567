"""Analytics over the wire (emulator, WXCC simulator, OpenAI fake): exact aggregates after redeliveries and a
reprocess of half the calls, filtered and paged listing, transcript turns against the script, recording URLs."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from api.app import create_app
from api.config import ApiConfig
from api.start import JourneyRequest, start_journey
from queues.envelope import Envelope, Kind
from shared.analytics.aggregates import recount
from shared.analytics.layout import Attributes, ItemKey, layout, partitions
from shared.analytics.record import CallRecord
from shared.analytics.store import AnalyticsStore, ListFilters
from shared.config import Settings
from shared.resources import DataResources
from shared.tracking import CallStatus
from simulator.wxcc.config import SimulatorConfig
from tests.helpers import eventually
from tests.integration.pipeline.conftest import Stack, running_stack

SPEAKERS = {"customer": "customer", "agent": "agent", "colleague": "agent2"}


@asynccontextmanager
async def api_client(settings: Settings, org: str) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    app = create_app(settings.model_copy(update={"wxcc_org_id": org}), ApiConfig(allow_anonymous=True))
    async with TestClient(TestServer(app)) as client:
        yield client


@asynccontextmanager
async def stack_store(stack: Stack) -> AsyncIterator[AnalyticsStore]:
    async with stack.clients.dynamodb() as ddb:
        yield AnalyticsStore(ddb, DataResources(stack.settings.name_prefix).analytics_table.name)


async def stored_aggregates(store: AnalyticsStore, org: str) -> dict[ItemKey, Attributes]:
    """Every aggregate item of the org, zero attributes (values whose calls were all reprocessed away) left out."""
    out: dict[ItemKey, Attributes] = {}
    for dimension in partitions():
        for block_key, attributes in (await store.aggregate_partition(org, dimension)).items():
            nonzero = {k: v for k, v in attributes.items() if v}
            if nonzero:
                out[(dimension, block_key)] = nonzero
    return out


async def records(store: AnalyticsStore, org: str, **filters: Any) -> list[CallRecord]:
    return await store.scan_org(org, "2000", "2100", ListFilters(**filters))


async def get_all_pages(client: TestClient[web.Request, web.Application], params: dict[str, str]) -> list[str]:
    found: list[str] = []
    cursor: str | None = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = await client.get("/api/v1/calls", params=query)
        assert response.status == 200, await response.text()
        body = await response.json()
        assert len(body["items"]) <= int(params["limit"])
        found += [item["task_id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return found


async def test_aggregates_stay_exact_and_the_explorer_answers(settings: Settings) -> None:
    config = SimulatorConfig(
        calls=10, seed=31, window_hours=1, duration_scale=0.08, availability_delay_s=0, capture_pending_fraction=0
    )
    async with running_stack(settings, config) as stack, stack_store(stack) as store:
        org = stack.sim.config.org_id
        now = stack.sim.state.clock.now_ms()
        start = now - 2 * 3600 * 1000
        first = await stack.finished(await stack.start(start, now))
        analysed: list[str] = []
        for c in stack.sim.state.ended_between(start, now):
            row = await stack.tracking.get(org, c.task_id)
            if row is not None and row.status is CallStatus.ANALYZED:
                analysed.append(c.task_id)
        analysed.sort()
        assert len(analysed) == first.count("analyze", "done") >= 4

        # Redelivery: the same analyze messages again change nothing (the tracking row's condition guards).
        await stack.send(
            *(
                Envelope(
                    kind=Kind.ANALYZE, journey_id=first.journey.id, task_id=t, payload={"org_id": org, "task_id": t}
                )
                for t in analysed
            )
        )
        # Reprocess about half the calls (a window of the earlier ones) under version 2: their old contribution is
        # replaced, not added to.
        ends = sorted(
            (c.ended_ms, c.task_id) for c in stack.sim.state.ended_between(start, now) if c.task_id in analysed
        )
        middle = ends[len(ends) // 2][0]
        half = sorted(t for ended, t in ends if ended <= middle)
        request = JourneyRequest(org, from_ms=start, to_ms=middle, reprocess_version=2)
        again = await stack.finished(await start_journey(stack.journeys, stack.producer, request))
        assert again.count("analyze", "done") == len(half)

        async def redeliveries_drained() -> bool:
            return stack.openai.stats.completions == len(analysed) + len(half)

        await eventually(redeliveries_drained, timeout=30)
        stored = await records(store, org)
        assert sorted(r.task_id for r in stored) == analysed
        assert {r.task_id: r.pipeline_version for r in stored} == {t: 2 if t in half else 1 for t in analysed}
        assert await stored_aggregates(store, org) == layout(recount(stored))
        assert all(r.conversation is not None and r.conversation.turns > 0 for r in stored)

        async with api_client(stack.settings, org) as client:
            at = datetime.fromtimestamp(now / 1000, UTC)
            wide = {"from": (at - timedelta(days=2)).isoformat(), "to": (at + timedelta(days=2)).isoformat()}
            answer = await client.get("/api/v1/analytics/summary", params={**wide, "group_by": "queue"})
            summary = await answer.json()
            assert answer.status == 200, summary
            assert summary["source"] == "aggregates" and summary["totals"]["calls"] == len(analysed)
            assert sum(g["calls"] for g in summary["groups"]) == len(analysed)
            by_queue: dict[str | None, int] = {}
            for r in stored:
                by_queue[r.queue] = by_queue.get(r.queue, 0) + 1
            assert {g["key"]: g["calls"] for g in summary["groups"]} == {
                q or "(unknown)": n for q, n in by_queue.items()
            }

            # Filters and paging return exactly the matching calls, newest first, whatever the page size.
            some = stored[0]
            newest_first = [r.task_id for r in sorted(stored, key=lambda r: (r.ended_at, r.task_id), reverse=True)]
            assert await get_all_pages(client, {**wide, "limit": "3"}) == newest_first
            cases: list[tuple[dict[str, str], Callable[[CallRecord], bool]]] = [
                ({"queue": some.queue or ""}, lambda r: r.queue == some.queue),
                (
                    {"resolved": "true", "sentiment": some.customer_sentiment},
                    lambda r: r.resolved and r.customer_sentiment == some.customer_sentiment,
                ),
                (
                    {"agent": some.agent or "", "resolved": str(some.resolved).lower()},
                    lambda r: r.agent == some.agent and r.resolved == some.resolved,
                ),
            ]
            for params, match in cases:
                want = [t for t in newest_first if match(next(r for r in stored if r.task_id == t))]
                assert await get_all_pages(client, {**wide, **params, "limit": "2"}) == want, params
                filtered = await (await client.get("/api/v1/analytics/summary", params={**wide, **params})).json()
                assert filtered["source"] == "records" and filtered["totals"]["calls"] == len(want), params

            call = await (await client.get(f"/api/v1/calls/{some.task_id}")).json()
            assert call["status"] == "ANALYZED" and call["record"]["reason_for_call"] == some.reason_for_call
            missing = await client.get("/api/v1/calls/no-such-task/transcript")
            assert missing.status == 404 and (await missing.json())["error"]["code"] == "call_not_found"
            bad = await client.get("/api/v1/calls", params={"cursor": "not-a-cursor"})
            assert bad.status == 422
            year_one = {"from": "0001-01-01T00:00:00Z", "to": "0001-12-31T00:00:00Z", "group_by": "queue"}
            ancient = await client.get("/api/v1/analytics/summary", params=year_one)  # no aggregate block before 1970
            assert ancient.status == 422 and (await ancient.json())["error"]["code"] == "validation_failed"

            for task_id in analysed:
                await check_transcript_and_recording(stack, client, org, task_id)


async def check_transcript_and_recording(
    stack: Stack, client: TestClient[web.Request, web.Application], org: str, task_id: str
) -> None:
    """The turns are the script's utterances, by the right speaker, at the script's times; the URL downloads the
    stored recording's bytes."""
    async with httpx.AsyncClient() as http:
        script = (await http.get(stack.sim.url(f"/api/v1/simulator/calls/{task_id}/script"))).json()
    said = {
        turn["text"]: (SPEAKERS[rec["speakers"][str(turn["channel"])]], turn)
        for rec in script["recordings"]
        for turn in rec["turns"]
    }
    body = await (await client.get(f"/api/v1/calls/{task_id}/transcript")).json()
    assert len(body["turns"]) == len(said)
    for turn in body["turns"]:
        speaker, line = said[turn["text"]]
        assert turn["speaker"] == speaker
        assert turn["end"] > turn["start"]
        if turn["leg"] == "main":  # the fake hears a turn where its DTMF code ends; it estimates the end from words
            assert abs(turn["start"] - line["startS"]) <= 0.6, (turn, line)

    links = await (await client.get(f"/api/v1/calls/{task_id}/recording")).json()
    row = await stack.tracking.get(org, task_id)
    assert row is not None and len(links["recordings"]) == len(row.recording_keys)
    async with stack.clients.s3() as s3, httpx.AsyncClient() as http:
        for link, rec in zip(links["recordings"], row.recording_keys, strict=True):
            stored = await (await s3.get_object(Bucket=f"{stack.settings.name_prefix}-recordings", Key=rec["key"]))[
                "Body"
            ].read()
            downloaded = await http.get(link["url"])
            assert downloaded.status_code == 200 and downloaded.content == stored
    assert datetime.fromisoformat(links["recordings"][0]["expires_at"]) < datetime.now(UTC) + timedelta(minutes=10)

"""The real `callpipe analytics …` entry point against the emulator: what it prints (tables and `--json`) equals what
`shared.analytics.queries` answers over the same seeded records; bad arguments are one line and exit code 2."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime

import pytest

from queues.bootstrap import bootstrap
from shared.analytics import queries
from shared.analytics.aggregates import contribution, topics_of
from shared.analytics.record import CallRecord, QaFlagOut
from shared.analytics.store import AnalyticsStore, ListFilters
from shared.audio.conversation import ConversationMetrics
from shared.aws import AwsClients
from shared.config import Settings
from shared.dynamo import transact
from shared.resources import DataResources
from shared.storage import Storage
from shared.transcripts import Segment, Transcript
from tests.helpers import settings_env
from tests.integration.test_config_errors import callpipe

ORG = "org-cli"
QUEUES = ("Sales", "Billing", "Support")
SENTIMENTS = ("negative", "neutral", "positive", "very_negative")
FROM, TO = "2026-03-01T00:00:00Z", "2026-03-04T00:00:00Z"
WINDOW = (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 4, tzinfo=UTC))


def a_record(i: int) -> CallRecord:
    """Call `i`: spread over three days, queues, agents, sentiments, resolution and QA flags."""
    ended = f"2026-03-0{1 + i % 3}T{8 + i % 9:02}:{i % 60:02}:00.000Z"
    talk = {"agent": 40.0 + i, "customer": 30.0 + 2 * i}
    duration = 120.0 + 7 * i
    return CallRecord(
        org_id=ORG,
        task_id=f"task-{i:03}",
        journey_id="j-cli",
        started_at=None,
        ended_at=ended,
        day=ended[:10],
        duration_s=duration,
        queue=QUEUES[i % 3],
        agent=f"agent-{i % 4}",
        agents=[f"agent-{i % 4}"],
        direction="inbound",
        summary=f"Call {i}.",
        reason_for_call="billing dispute" if i % 2 else "password reset",
        topics=["refund", "card"] if i % 2 else ["login"],
        resolved=i % 3 != 1,
        customer_sentiment=SENTIMENTS[i % 4],
        agent_sentiment="positive",
        qa_flags=[QaFlagOut(flag="no_greeting", severity="critical" if i % 5 == 0 else "warning", evidence="hi")]
        if i % 2 == 0
        else [],
        language="en",
        pipeline_version=1,
        prompt_version="p1",
        model="gpt-4o-mini",
        billed_audio_s=duration - 10,
        tokens_in=1000 + i,
        tokens_out=200 + i,
        cost_usd=0.001 * (i + 1),
        conversation=ConversationMetrics(
            duration_s=duration,
            talk_s=talk,
            silence_s=duration - sum(talk.values()),
            silence_ratio=(duration - sum(talk.values())) / duration,
            longest_silence_s=5.0,
            overtalk_s=1.5,
            agent_talk_ratio=talk["agent"] / sum(talk.values()),
            turns=6,
        ),
        analysis_key=f"analyses/task-{i:03}.json",
        transcript_key=f"transcripts/task-{i:03}.json",
        analysed_at=ended,
    )


def a_transcript(record: CallRecord) -> Transcript:
    return Transcript(
        task_id=record.task_id,
        model="whisper-1",
        language="en",
        call_seconds=record.duration_s,
        billed_seconds=record.billed_audio_s,
        segments=[
            Segment(speaker="agent", start=0.4, end=3.2, text=f"Thanks for calling, this is {record.agent}."),
            Segment(speaker="customer", start=3.9, end=8.25, text=f"Hi, about {record.reason_for_call}."),
        ],
    )


@pytest.fixture
async def seeded(settings: Settings) -> list[CallRecord]:
    """12 analysed calls written as the analyze stage writes them (record + aggregates in one transaction), and
    their transcripts in the results bucket."""
    await bootstrap(settings, include_echo=False)
    records = [a_record(i) for i in range(12)]
    resources = DataResources(settings.name_prefix)
    clients = AwsClients(settings)
    async with clients.dynamodb() as ddb, clients.s3() as s3:
        store = AnalyticsStore(ddb, resources.analytics_table.name)
        for record in records:
            assert await transact(ddb, store.write_items(record, contribution(record), None))
            assert record.transcript_key is not None
            transcript = a_transcript(record).model_dump(mode="json")
            await Storage(s3).put_json(resources.results_bucket.name, record.transcript_key, transcript)
    return records


def cli_env(settings: Settings) -> dict[str, str]:
    return {**settings_env(settings), "CALLPIPE_WXCC_ORG_ID": ORG, "CALLPIPE_LOG_LEVEL": "WARNING", "COLUMNS": "250"}


async def run_ok(settings: Settings, *args: str) -> str:
    code, err, out = await callpipe("analytics", *args, env=cli_env(settings))
    assert (code, err) == (0, []), (args, err)
    return out


def table_rows(out: str, first_cell: str) -> list[list[str]]:
    """The cells of every table row of `out` whose first cell is `first_cell`."""
    rows = [[cell.strip() for cell in line.strip().strip("│┃").split("│")] for line in out.splitlines()]
    return [row for row in rows if row and row[0] == first_cell]


async def expected_summary(settings: Settings, group_by: queries.GroupBy, filters: ListFilters) -> queries.Summary:
    async with AwsClients(settings).dynamodb() as ddb:
        store = AnalyticsStore(ddb, DataResources(settings.name_prefix).analytics_table.name)
        return await queries.summary(store, ORG, *WINDOW, group_by, filters)


async def expected_page(settings: Settings, filters: ListFilters, limit: int, cursor: str | None) -> queries.CallPage:
    async with AwsClients(settings).dynamodb() as ddb:
        store = AnalyticsStore(ddb, DataResources(settings.name_prefix).analytics_table.name)
        return await queries.list_calls(store, ORG, *WINDOW, filters, limit=limit, cursor=cursor)


async def test_summary_prints_what_the_queries_answer(settings: Settings, seeded: list[CallRecord]) -> None:
    want = await expected_summary(settings, "queue", ListFilters())
    assert want.source == "aggregates" and want.totals.calls == len(seeded)
    # The top topics and reasons (read with a projection of `calls` only) are a recount of the records.
    for ranked, values in ((want.top_topics, topics_of), (want.top_reasons, lambda r: [r.reason_for_call])):
        counted = Counter(v for r in seeded for v in values(r))
        assert [(c.value, c.calls) for c in ranked] == sorted(counted.items(), key=lambda vn: (-vn[1], vn[0]))[:10]
    printed = json.loads(await run_ok(settings, "summary", "--from", FROM, "--to", TO, "--group-by", "queue", "--json"))
    assert printed == want.model_dump(mode="json")

    out = await run_ok(settings, "summary", "--from", FROM, "--to", TO, "--group-by", "queue")
    assert {g.key for g in want.groups} == set(QUEUES)
    for g in want.groups:
        (row,) = table_rows(out, g.key)
        rate = f"{g.resolution_rate * 100:.1f}%" if g.resolution_rate is not None else "-"
        negative = g.customer_sentiment["very_negative"] + g.customer_sentiment["negative"]
        assert row[1:8] == [
            str(g.calls),
            str(g.resolved),
            rate,
            f"{g.avg_duration_s:.1f}",
            f"{g.avg_silence_s:.1f}",
            str(negative),
            str(g.qa_flags["critical"]),
        ], row
    assert table_rows(out, "calls") == [["calls", str(len(seeded))]]
    for top in want.top_topics:
        assert table_rows(out, top.value) == [[top.value, str(top.calls)]]

    # With filters the same numbers come from the records; --days counts back from --to.
    filtered = await expected_summary(settings, "day", ListFilters(queue="Sales", resolved=True))
    assert filtered.source == "records" and 0 < filtered.totals.calls < len(seeded)
    args = ("summary", "--days", "3", "--to", TO, "--queue", "Sales", "--resolved", "true", "--json")
    assert json.loads(await run_ok(settings, *args)) == filtered.model_dump(mode="json")


async def test_calls_pages_through_exactly_the_matching_calls(settings: Settings, seeded: list[CallRecord]) -> None:
    filters = ListFilters(resolved=True, sentiment="negative")
    matching = sorted(
        (r for r in seeded if r.resolved and r.customer_sentiment == "negative"),
        key=lambda r: (r.ended_at, r.task_id),
        reverse=True,
    )
    assert len(matching) >= 2
    window = ("--from", FROM, "--to", TO, "--resolved", "true", "--sentiment", "negative", "--limit", "1")
    seen: list[str] = []
    cursor: str | None = None
    while True:
        want = await expected_page(settings, filters, 1, cursor)
        more = ("--cursor", cursor) if cursor else ()
        page = json.loads(await run_ok(settings, "calls", *window, "--json", *more))
        assert page == want.model_dump(mode="json")
        out = await run_ok(settings, "calls", *window, *more)
        for item in want.items:
            (row,) = table_rows(out, item.ended_at)
            assert row[1:3] == [item.task_id, item.queue]
        assert f"next cursor: {want.next_cursor or 'none (last page)'}" in out
        seen += [item.task_id for item in want.items]
        cursor = want.next_cursor
        if cursor is None:
            break
    assert seen == [r.task_id for r in matching]


async def test_call_prints_the_record_analysis_and_turns(settings: Settings, seeded: list[CallRecord]) -> None:
    record = seeded[10]  # a critical QA flag
    body = json.loads(await run_ok(settings, "call", record.task_id, "--json"))
    assert body["record"] == record.model_dump(mode="json")
    turns = a_transcript(record).segments
    assert [(t["speaker"], t["start"], t["end"], t["text"]) for t in body["transcript"]["turns"]] == [
        (s.speaker, s.start, s.end, s.text) for s in turns
    ]
    out = await run_ok(settings, "call", record.task_id)
    assert table_rows(out, "reason for call") == [["reason for call", record.reason_for_call]]
    assert table_rows(out, "QA critical") == [["QA critical", "no_greeting: hi"]]
    for s in turns:
        assert table_rows(out, f"{s.start:.1f}") == [[f"{s.start:.1f}", f"{s.end:.1f}", s.speaker, "main", s.text]]

    code, err, out = await callpipe("analytics", "call", "no-such-task", env=cli_env(settings))
    assert (code, out, err) == (1, "", [f"callpipe analytics: no analysed call no-such-task in org {ORG}"])


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ("summary", "--from", "last tuesday"),
            "callpipe analytics: error: --from 'last tuesday' is not an ISO 8601 time, e.g. 2026-11-01 or "
            "2026-11-01T08:00Z",
        ),
        (("summary", "--from", FROM, "--days", "3"), "callpipe analytics: error: give --from or --days, not both"),
        (
            ("summary", "--from", TO, "--to", FROM),
            "callpipe analytics: error: --from (2026-03-04T00:00:00+00:00) must be before --to "
            "(2026-03-01T00:00:00+00:00)",
        ),
        (
            ("summary", "--group-by", "week"),
            "callpipe analytics summary: error: argument --group-by: invalid choice: 'week' (choose from 'day', "
            "'queue', 'agent', 'topic', 'sentiment')",
        ),
        (
            ("calls", "--resolved", "maybe"),
            "callpipe analytics calls: error: argument --resolved: 'maybe' is neither true nor false",
        ),
        (
            ("calls", "--cursor", "not-a-cursor"),
            "callpipe analytics: error: --cursor: the cursor is not one this API returned",
        ),
    ],
)
async def test_bad_arguments_are_one_line_and_exit_2(settings: Settings, args: tuple[str, ...], line: str) -> None:
    code, err, out = await callpipe("analytics", *args, env=cli_env(settings))
    assert (code, err, out) == (2, [line], "")

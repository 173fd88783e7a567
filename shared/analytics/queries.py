"""The analytics questions, answered once for every front end (API, CLI, later MCP): summary, call list, one call,
its transcript turns and its recordings' short-lived URLs."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from shared.analytics.aggregates import SENTIMENTS, SEVERITIES, Counters, add, recount, split_key
from shared.analytics.layout import TOPS, ItemKey, stored_dimensions, unpack
from shared.analytics.periods import Block, cover, day_iso, day_number
from shared.analytics.record import CallRecord, iso_ms
from shared.analytics.store import AnalyticsStore, ListFilters
from shared.storage import Storage
from shared.transcripts import Transcript

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client

GroupBy = Literal["day", "queue", "agent", "topic", "sentiment"]
TOP = 10
RECORDING_URL_TTL_S = 300


class Stats(BaseModel):
    """Aggregates of a set of calls."""

    calls: int
    resolved: int
    resolution_rate: float | None
    customer_sentiment: dict[str, int]
    agent_sentiment: dict[str, int]
    qa_flags: dict[str, int] = Field(description="QA flags by severity")
    avg_duration_s: float | None
    avg_talk_s: float | None
    avg_agent_talk_s: float | None
    avg_customer_talk_s: float | None
    avg_silence_s: float | None
    avg_overtalk_s: float | None
    billed_audio_minutes: float
    tokens_in: int
    tokens_out: int
    estimated_cost_usd: float

    @classmethod
    def of(cls, c: Counters) -> Stats:
        calls, measured = c.get("calls", 0), c.get("with_metrics", 0)

        def avg(name: str, n: int) -> float | None:
            return round(c.get(name, 0) / n / 1000, 3) if n else None

        return cls(
            calls=calls,
            resolved=c.get("resolved", 0),
            resolution_rate=round(c.get("resolved", 0) / calls, 4) if calls else None,
            customer_sentiment={s: c.get(f"cs_{s}", 0) for s in SENTIMENTS},
            agent_sentiment={s: c.get(f"as_{s}", 0) for s in SENTIMENTS},
            qa_flags={s: c.get(f"qa_{s}", 0) for s in SEVERITIES},
            avg_duration_s=avg("duration_ms", calls),
            avg_talk_s=avg("talk_ms", measured),
            avg_agent_talk_s=avg("agent_talk_ms", measured),
            avg_customer_talk_s=avg("customer_talk_ms", measured),
            avg_silence_s=avg("silence_ms", measured),
            avg_overtalk_s=avg("overtalk_ms", measured),
            billed_audio_minutes=round(c.get("billed_audio_ms", 0) / 60_000, 3),
            tokens_in=c.get("tokens_in", 0),
            tokens_out=c.get("tokens_out", 0),
            estimated_cost_usd=round(c.get("cost_micro_usd", 0) / 1_000_000, 6),
        )


class Group(Stats):
    """The aggregates of one group (a day, queue, agent, topic or customer sentiment)."""

    key: str


class Count(BaseModel):
    """How many calls have a value (a topic, a reason)."""

    value: str
    calls: int


class Summary(BaseModel):
    """`GET /api/v1/analytics/summary`: totals, groups, top topics and reasons of the calls that ended in the days."""

    org_id: str
    from_day: str = Field(description="first UTC day counted")
    to_day: str = Field(description="last UTC day counted (inclusive)")
    group_by: GroupBy
    filters: dict[str, str | bool]
    source: Literal["aggregates", "records"] = Field(
        description="aggregate items (no filter), or the matching calls' records (with filters); both exact"
    )
    totals: Stats
    groups: list[Group]
    top_topics: list[Count]
    top_reasons: list[Count]


class CallSummary(BaseModel):
    """A call in a list view."""

    task_id: str
    ended_at: str
    duration_s: float
    queue: str | None
    agent: str | None
    direction: str | None
    reason_for_call: str
    topics: list[str]
    resolved: bool
    customer_sentiment: str
    agent_sentiment: str
    qa_flags: int
    qa_max_severity: str | None
    pipeline_version: int

    @classmethod
    def of(cls, r: CallRecord) -> CallSummary:
        severities = {f.severity for f in r.qa_flags}
        return cls(
            task_id=r.task_id,
            ended_at=r.ended_at,
            duration_s=r.duration_s,
            queue=r.queue,
            agent=r.agent,
            direction=r.direction,
            reason_for_call=r.reason_for_call,
            topics=r.topics,
            resolved=r.resolved,
            customer_sentiment=r.customer_sentiment,
            agent_sentiment=r.agent_sentiment,
            qa_flags=len(r.qa_flags),
            qa_max_severity=next((s for s in reversed(SEVERITIES) if s in severities), None),
            pipeline_version=r.pipeline_version,
        )


class CallPage(BaseModel):
    """Calls newest first; pass `next_cursor` as `cursor` for the next page."""

    items: list[CallSummary]
    next_cursor: str | None = None


class Turn(BaseModel):
    """One utterance: who, when (seconds from the start of the call), what."""

    speaker: str
    start: float
    end: float
    text: str
    leg: str


class TranscriptOut(BaseModel):
    """A call's transcript as turns on the call's timeline."""

    task_id: str
    language: str | None
    call_seconds: float
    turns: list[Turn]


class RecordingLink(BaseModel):
    """A short-lived URL that downloads one stored recording (GET, no API key)."""

    call_type: str
    url: str
    expires_at: str


class RecordingLinks(BaseModel):
    """The call's recordings, one per leg."""

    task_id: str
    expires_in_s: int
    recordings: list[RecordingLink]


def days_of(from_at: datetime, to_at: datetime) -> tuple[str, str]:
    """The UTC days a window [from_at, to_at) touches (the aggregates' granularity)."""
    first = from_at.astimezone(UTC).date()
    last = (to_at.astimezone(UTC) - timedelta(milliseconds=1)).date()
    return first.isoformat(), max(first, last).isoformat()


async def summary(
    store: AnalyticsStore,
    org_id: str,
    from_at: datetime,
    to_at: datetime,
    group_by: GroupBy,
    filters: ListFilters,
) -> Summary:
    """Totals and groups of the calls that ended in the UTC days of [from_at, to_at). Without filters it reads only
    aggregate items (one BatchGetItem of a few items whatever the number of calls); with filters, the matching
    records."""
    from_day, to_day = days_of(from_at, to_at)
    dimension = "all" if group_by == "day" else group_by
    active = {k: v for k, v in vars(filters).items() if v is not None}
    groups: dict[str, Counters] = defaultdict(dict)
    total: Counters = {}
    tops: dict[str, dict[str, int]] = {"topic": defaultdict(int), "reason": defaultdict(int)}
    if active:
        start = f"{from_day}T00:00:00.000Z"
        end = datetime.fromisoformat(to_day).replace(tzinfo=UTC) + timedelta(days=1)
        records = await store.scan_org(org_id, start, iso_ms(int(end.timestamp() * 1000)), filters)
        for key, counts in recount(records).items():
            dim, day, value = split_key(key)
            if dim == "all":
                add(total, counts)
            if dim == dimension:
                add(groups[day if group_by == "day" else value], counts)
            if dim in tops:
                tops[dim][value] += counts.get("calls", 0)
        source: Literal["aggregates", "records"] = "records"
    else:
        await _from_aggregates(store, org_id, from_day, to_day, group_by, groups, total, tops)
        source = "aggregates"
    return Summary(
        org_id=org_id,
        from_day=from_day,
        to_day=to_day,
        group_by=group_by,
        filters=active,
        source=source,
        totals=Stats.of(total),
        groups=[Group(key=k, **Stats.of(c).model_dump()) for k, c in sorted(groups.items()) if c.get("calls", 0) > 0],
        top_topics=_top(tops["topic"]),
        top_reasons=_top(tops["reason"]),
    )


async def _from_aggregates(
    store: AnalyticsStore,
    org_id: str,
    from_day: str,
    to_day: str,
    group_by: GroupBy,
    groups: dict[str, Counters],
    total: Counters,
    tops: dict[str, dict[str, int]],
) -> None:
    """Fill groups, totals and top counts from the aggregate items: the signed blocks covering the days (one
    BatchGetItem of a few items per dimension; per-day `all` items when grouping by day). Totals are the sum of the
    groups when every call is in exactly one group (queue, agent, sentiment), so `all` is read only by day or topic."""
    signs = cover(from_day, to_day)
    wanted: list[ItemKey] = [(TOPS, b.key) for b in signs]
    days = [day_iso(n) for n in range(day_number(from_day), day_number(to_day) + 1)]
    if group_by == "day":
        wanted += [("all", Block(0, day_number(d)).key) for d in days]
    else:
        wanted += [(d, b.key) for b in signs for d in stored_dimensions(group_by)]
        if group_by == "topic":
            wanted += [("all", b.key) for b in signs]
    items = await store.read_blocks(org_id, wanted)
    if group_by == "day":
        for d in days:
            add(groups[d], unpack(items.get(("all", Block(0, day_number(d)).key), {})).get("", {}))
    for block, sign in signs.items():
        if group_by != "day":
            for part in stored_dimensions(group_by):
                for value, counts in unpack(items.get((part, block.key), {})).items():
                    add(groups[value], {k: sign * n for k, n in counts.items()})
        if group_by == "topic":
            add(total, {k: sign * n for k, n in unpack(items.get(("all", block.key), {})).get("", {}).items()})
        for attribute, n in items.get((TOPS, block.key), {}).items():
            dim, _, value = attribute.partition("|")
            if dim in tops:
                tops[dim][value] += sign * n
    if group_by != "topic":
        for counts in groups.values():
            add(total, counts)


def _top(calls: Mapping[str, int]) -> list[Count]:
    ranked = sorted(((n, v) for v, n in calls.items() if n > 0), key=lambda nv: (-nv[0], nv[1]))
    return [Count(value=v, calls=n) for n, v in ranked[:TOP]]


async def list_calls(
    store: AnalyticsStore,
    org_id: str,
    from_at: datetime,
    to_at: datetime,
    filters: ListFilters,
    *,
    limit: int,
    cursor: str | None = None,
) -> CallPage:
    """Analysed calls that ended in [from_at, to_at) matching every filter, newest first, a page at a time."""
    start, end = iso_ms(_ms(from_at)), iso_ms(_ms(to_at))
    records, next_cursor = await store.list_calls(org_id, start, end, filters, limit=limit, cursor=cursor)
    return CallPage(items=[CallSummary.of(r) for r in records], next_cursor=next_cursor)


async def call_record(store: AnalyticsStore, org_id: str, task_id: str) -> CallRecord | None:
    """The call's analytics record (None before it is analysed)."""
    stored = await store.get(org_id, task_id)
    return stored.record if stored is not None else None


async def transcript(storage: Storage, bucket: str, key: str) -> TranscriptOut:
    """The stored transcript as turns."""
    t = Transcript.model_validate(await storage.get_json(bucket, key))
    return TranscriptOut(
        task_id=t.task_id,
        language=t.language,
        call_seconds=t.call_seconds,
        turns=[Turn(speaker=s.speaker, start=s.start, end=s.end, text=s.text, leg=s.leg) for s in t.segments],
    )


async def recording_links(
    s3: S3Client, bucket: str, task_id: str, recordings: Sequence[Mapping[str, Any]], ttl_s: int = RECORDING_URL_TTL_S
) -> RecordingLinks:
    """Presigned GET URLs of the call's stored recordings, valid `ttl_s` seconds (the bytes never pass the API)."""
    expires = iso_ms(int((datetime.now(UTC) + timedelta(seconds=ttl_s)).timestamp() * 1000))
    links = [
        RecordingLink(
            call_type=str(r.get("call_type") or "main"),
            url=await s3.generate_presigned_url(
                "get_object", Params={"Bucket": bucket, "Key": str(r["key"])}, ExpiresIn=ttl_s
            ),
            expires_at=expires,
        )
        for r in recordings
        if r.get("key")
    ]
    return RecordingLinks(task_id=task_id, expires_in_s=ttl_s, recordings=links)


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)

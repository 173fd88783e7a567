"""The aggregate store's layout: signed blocks sum to exactly the range's days, packed counters add and subtract
exactly, and (over the wire) a summary read from aggregate blocks equals a recount of the records for any range and
grouping, after reprocessing with a different contribution."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from queues.bootstrap import bootstrap
from shared.analytics import queries
from shared.analytics.aggregates import contribution, delta, recount
from shared.analytics.layout import layout, pack, partitions, unpack
from shared.analytics.periods import TOP_LEVEL, blocks_of, cover, day_iso, day_number
from shared.analytics.record import CallRecord
from shared.analytics.store import AnalyticsStore, ListFilters
from shared.aws import AwsClients
from shared.config import Settings
from shared.dynamo import transact
from shared.resources import DataResources
from tests.integration.analytics.test_cli import a_record


def test_signed_blocks_sum_to_exactly_the_days() -> None:
    rng = random.Random(7)
    base = day_number("2026-01-01")
    for _ in range(400):
        a = base + rng.randrange(400)
        b = a + rng.randrange(1, 700)
        signed = cover(day_iso(a), day_iso(b - 1))
        days: dict[int, int] = {}
        for block, sign in signed.items():
            assert block.start % block.size == 0 and 0 <= block.level <= TOP_LEVEL
            for d in range(block.start, block.start + block.size):
                days[d] = days.get(d, 0) + sign
        assert {d: n for d, n in days.items() if n} == dict.fromkeys(range(a, b), 1), (a, b)
        if b - a <= 31:
            assert len(signed) <= 6, (a, b, signed)


def test_every_day_is_in_one_block_per_level() -> None:
    blocks = blocks_of("2026-11-30")
    assert [b.level for b in blocks] == list(range(TOP_LEVEL + 1))
    assert all(b.start <= day_number("2026-11-30") < b.start + b.size for b in blocks)


def test_packed_counters_add_and_subtract_exactly() -> None:
    one = {"calls": 1, "resolved": 1, "duration_ms": 912_345, "cost_micro_usd": 7_123, "cs_negative": 1, "qa_info": 2}
    two = {"calls": 1, "duration_ms": 10**14, "tokens_out": 999, "cs_positive": 1, "odd_counter": 3}
    total: dict[str, int] = {}
    for attributes in (pack(one, "Sales"), pack(two, "Sales"), pack(two, "Sales")):
        for name, n in attributes.items():
            total[name] = total.get(name, 0) + n
    # A reprocess replaces `two` by `one`: the packed delta has negative fields.
    for name, n in pack({k: one.get(k, 0) - two.get(k, 0) for k in one.keys() | two.keys()}, "Sales").items():
        total[name] = total.get(name, 0) + n
    want = {k: 2 * one.get(k, 0) + two.get(k, 0) for k in one.keys() | two.keys()}
    assert unpack(total) == {"Sales": want}
    own = contribution(a_record(3))
    assert all(len(pack(counts, "Q")) <= 8 for counts in own.values())


async def test_summaries_from_blocks_equal_a_recount_for_any_range(settings: Settings) -> None:
    await bootstrap(settings, include_echo=False)
    rng = random.Random(3)
    start = datetime(2026, 1, 20, tzinfo=UTC)
    records: dict[str, CallRecord] = {}
    for i in range(12):
        ended = (start + timedelta(hours=rng.randrange(24 * 70))).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        base = a_record(i)
        records[base.task_id] = base.model_copy(update={"ended_at": ended, "day": ended[:10], "org_id": "o-blocks"})
    async with AwsClients(settings).dynamodb() as ddb:
        store = AnalyticsStore(ddb, DataResources(settings.name_prefix).analytics_table.name)
        for record in records.values():
            assert await transact(ddb, store.write_items(record, contribution(record), None))
        # Reprocess a third of them with other queues, topics and sentiment: the old contribution is subtracted.
        for task_id in sorted(records)[::3]:
            old = records[task_id]
            moved = {"queue": "Queue-Z", "topics": ["moved"], "customer_sentiment": "very_negative", "resolved": True}
            new = old.model_copy(update=moved)
            previous = await store.get("o-blocks", task_id)
            assert previous is not None
            assert delta(contribution(new), previous.contribution)
            assert await transact(ddb, store.write_items(new, contribution(new), previous))
            records[task_id] = new

        # Erase one call (privacy): its record goes and its contribution is subtracted.
        erased = sorted(records)[1]
        gone = await store.get("o-blocks", erased)
        assert gone is not None and await transact(ddb, store.erase_items(gone))
        del records[erased]
        assert await store.get("o-blocks", erased) is None

        stored = {}
        for dimension in partitions():
            for block_key, attributes in (await store.aggregate_partition("o-blocks", dimension)).items():
                if any(attributes.values()):
                    stored[(dimension, block_key)] = {k: v for k, v in attributes.items() if v}
        assert stored == layout(recount(records.values()))

        for first, days in ((0, 70), (3, 31), (17, 30), (29, 1)):
            lo = start + timedelta(days=first)
            hi = lo + timedelta(days=days)
            inside = [r for r in records.values() if lo.date().isoformat() <= r.day < hi.date().isoformat()]
            for group_by in ("queue", "day", "topic", "agent"):
                got = await queries.summary(store, "o-blocks", lo, hi, group_by, ListFilters())
                assert got.source == "aggregates"
                want = recounted_summary(inside, got)
                assert got.model_dump(exclude={"source"}) == want, (first, days, group_by)


def recounted_summary(inside: list[CallRecord], got: queries.Summary) -> dict[str, object]:
    """What the summary must be: the records' contributions summed, shaped as the summary's fields."""
    counts = recount(inside)
    dimension = "all" if got.group_by == "day" else got.group_by
    groups: dict[str, dict[str, int]] = {}
    total: dict[str, int] = {}
    tops: dict[str, dict[str, int]] = {"topic": {}, "reason": {}}
    for key, c in counts.items():
        dim, _, rest = key.partition("|")
        day, _, value = rest.partition("#")
        if dim == dimension:
            g = groups.setdefault(day if got.group_by == "day" else value, {})
            for k, n in c.items():
                g[k] = g.get(k, 0) + n
        if dim == "all":
            for k, n in c.items():
                total[k] = total.get(k, 0) + n
        if dim in tops:
            tops[dim][value] = tops[dim].get(value, 0) + c["calls"]
    rank = sorted(((-n, v) for v, n in tops["topic"].items()))[: queries.TOP]
    reasons = sorted(((-n, v) for v, n in tops["reason"].items()))[: queries.TOP]
    return {
        "org_id": got.org_id,
        "from_day": got.from_day,
        "to_day": got.to_day,
        "group_by": got.group_by,
        "filters": {},
        "totals": queries.Stats.of(total).model_dump(),
        "groups": [
            {"key": k, **queries.Stats.of(c).model_dump()} for k, c in sorted(groups.items()) if c.get("calls", 0) > 0
        ],
        "top_topics": [{"value": v, "calls": -n} for n, v in rank],
        "top_reasons": [{"value": v, "calls": -n} for n, v in reasons],
    }

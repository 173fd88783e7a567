"""Exact aggregates: what one call adds to its org's counters, per day and dimension value, and how counters add up.

Design (answers in milliseconds at 1M calls a month). A call's contribution is integer counters (milliseconds,
micro-dollars, counts) per `"{dimension}|{day}#{value}"`, for its UTC day (of its end) and the dimensions `all`,
`queue`, `agent`, `sentiment` (the customer's), `topic` (at most `MAX_TOPICS`) and `reason`. They are stored
(`shared.analytics.layout`) in wide items, one per (org, dimension, block of days), where blocks are aligned
power-of-two runs of 1 to 32 days (`shared.analytics.periods`): every value's counters are attributes of the block's
item, packed 3 or 4 per number, and the calls per topic and reason are also in a small `tops` item. A summary over
any range of days reads the few blocks whose signed sum is the range (3 to 5 for 30 days) with one BatchGetItem of
known keys: 30 days grouped by queue is ~10 items whatever the number of calls, and its totals are the sum of the
queue groups. There is no Query and no per-value or per-day item to walk: a Query returning 30 days x values items,
or counting records at read time (Athena, a scan), grows with the data. Grouping by day reads each day's `all` item.

Why these choices, measured (`bench/analytics.py`): a read costs about 50 µs per attribute returned on the local
emulator and every Query there walks the whole table, so the layout minimises attributes read. A 30-day summary by
queue went from four Queries returning ~1,300 items and ~9,000 attributes (p95 4.3 s at 20,000 calls) to one
BatchGetItem of ~380 attributes, independent of the number of calls (100,000 calls: GET summary p50 31 ms,
p95 37 ms, 6.5 x a raw GetItem's p50 of 5.7 ms, on a shared 2-core host). The price is on the write side: a call ADDs
to 6 levels x (all, queue, agent, sentiment, tops, and its topics' items) aggregate items, and DynamoDB bills an
UpdateItem by the item's size, so the wide `agent` and `topic` items are spread over 4 hash shards each; a 32-day
shard stays under DynamoDB's 400 KB up to ~1,500 agents or distinct topics (~6,000 per org per 32 days). A summary
with filters has no item to read: it is computed from the matching per-call records (the listing indexes), with the
same `contribution` function, so it is exact too but proportional to the calls matched.

Exactness. The analyze stage adds a call's contribution in the same TransactWriteItems as the tracking row's
conditional move TRANSCRIBED → ANALYZED: a redelivered or crashed delivery either wrote everything or nothing, and a
second delivery's condition fails. The contribution is also stored on the call's record; a reprocess (new pipeline
version) reads it, subtracts it and adds the new one (one ADD per item of the difference) in one transaction whose
record Put is conditional on the record's `rev` being the one read, so a contribution is never subtracted twice nor
lost. A transaction holds at most 100 items, each once: a call touches 4 (tracking, journey counters, journey job,
record) + at most 6 levels x 9 aggregate items (all, queue, agent, sentiment, tops, ≤ 4 topic shards) = 58; the old
and new contributions of a reprocess share the day, hence the items.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

from shared.analytics.record import CallRecord

MAX_TOPICS = 5
MAX_VALUE_CHARS = 120
DIMENSIONS = ("all", "queue", "agent", "sentiment", "topic", "reason")
SENTIMENTS = ("very_negative", "negative", "neutral", "positive", "very_positive")
SEVERITIES = ("info", "warning", "critical")
UNKNOWN = "(unknown)"

Counters = dict[str, int]
Contribution = dict[str, Counters]
"""Aggregate item (`"{dimension}|{day}#{value}"`) → counters the call adds to it."""


def normalise(value: str | None) -> str:
    """A dimension value as it is counted: trimmed, lower-case for topics and reasons is the caller's choice."""
    text = " ".join((value or "").split())[:MAX_VALUE_CHARS]
    return text or UNKNOWN


def topics_of(record: CallRecord) -> list[str]:
    """The call's topics as counted: normalised, lower-case, distinct, at most `MAX_TOPICS`."""
    return list(dict.fromkeys(normalise(t).lower() for t in record.topics))[:MAX_TOPICS]


def counters(record: CallRecord) -> Counters:
    """The integer counters one call adds to every aggregate item it belongs to."""
    conv = record.conversation
    talk = conv.talk_s if conv is not None else {}
    out: Counters = {
        "calls": 1,
        "resolved": int(record.resolved),
        "duration_ms": round(record.duration_s * 1000),
        "talk_ms": round(sum(talk.values()) * 1000),
        "agent_talk_ms": round(sum(v for k, v in talk.items() if k.startswith("agent")) * 1000),
        "customer_talk_ms": round(sum(v for k, v in talk.items() if not k.startswith("agent")) * 1000),
        "silence_ms": round(conv.silence_s * 1000) if conv is not None else 0,
        "overtalk_ms": round((conv.overtalk_s or 0) * 1000) if conv is not None else 0,
        "with_metrics": int(conv is not None),
        "billed_audio_ms": round(record.billed_audio_s * 1000),
        "tokens_in": record.tokens_in,
        "tokens_out": record.tokens_out,
        "cost_micro_usd": round(record.cost_usd * 1_000_000),
        f"cs_{record.customer_sentiment}": 1,
        f"as_{record.agent_sentiment}": 1,
    }
    for flag in record.qa_flags:
        out[f"qa_{flag.severity}"] = out.get(f"qa_{flag.severity}", 0) + 1
    return out


def dimension_values(record: CallRecord) -> list[tuple[str, str]]:
    """(dimension, value) of every aggregate item the call counts in."""
    values = [
        ("all", ""),
        ("queue", normalise(record.queue)),
        ("agent", normalise(record.agent)),
        ("sentiment", record.customer_sentiment),
        ("reason", normalise(record.reason_for_call).lower()),
    ]
    values += [("topic", topic) for topic in topics_of(record)]
    return values


def item_key(dimension: str, day: str, value: str) -> str:
    """The contribution key of one aggregate item."""
    return f"{dimension}|{day}#{value}"


def split_key(key: str) -> tuple[str, str, str]:
    """(dimension, day, value) of a contribution key."""
    dimension, _, rest = key.partition("|")
    day, _, value = rest.partition("#")
    return dimension, day, value


def contribution(record: CallRecord) -> Contribution:
    """Everything the call adds to the aggregates."""
    own = counters(record)
    return {item_key(d, record.day, v): dict(own) for d, v in dimension_values(record)}


def delta(new: Contribution, old: Contribution | None) -> Contribution:
    """What to add to each aggregate item to replace `old` by `new` (items left unchanged are omitted)."""
    out: Contribution = {}
    for key in new.keys() | (old or {}).keys():
        a, b = new.get(key, {}), (old or {}).get(key, {})
        change = {name: a.get(name, 0) - b.get(name, 0) for name in a.keys() | b.keys()}
        change = {name: n for name, n in change.items() if n}
        if change:
            out[key] = change
    return out


def add(into: dict[str, int], more: Mapping[str, int]) -> None:
    """Add counters in place."""
    for name, n in more.items():
        into[name] = into.get(name, 0) + n


def recount(records: Iterable[CallRecord]) -> Contribution:
    """The aggregates from scratch: the sum of every record's contribution (tests, and filtered summaries)."""
    total: dict[str, Counters] = defaultdict(dict)
    for record in records:
        for key, own in contribution(record).items():
            add(total[key], own)
    return dict(total)

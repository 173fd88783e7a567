"""How aggregate counters are stored: one wide item per (org, dimension, block of days), values' counters packed.

Item `pk="agg#{org}#{dimension}"`, `sk=Block.key` (`shared.analytics.periods`) holds every value of the dimension
seen in the block as top-level Number attributes named `"{pack}|{value}"` (`p0|Queue-Sales`), so DynamoDB's `ADD`
creates and increments them in one UpdateItem, no map to pre-create. Dimensions `all` (value ""), `queue`, `agent`,
`sentiment` (the customer's) and `topic` hold every counter; the `tops` item holds only the calls of each topic and
reason (`topic|refund`, `reason|billing dispute`), which is all the top lists need.

Packing: a value's 26 counters are stored as 8 numbers, several counters per number at fixed decimal widths
(`COUNT_WIDTH` = 8 digits for counts, `BIG_WIDTH` = 15 for milliseconds, tokens and micro-dollars; at most 38 digits,
the precision of a DynamoDB number). Adding packed numbers adds every field at once and stays exact as long as each
field's total stays below 10**width per value and 32-day block (100 million calls; 10**15 ms, i.e. 31,000 years of
audio; 10**15 tokens; a billion dollars), including deltas with negative fields (a reprocess): the stored number is
always the packed sum of non-negative field totals. Python ints (never floats) read them back. Reading fewer
attributes is what makes a summary fast (a read's cost grows with the attributes returned). Counters outside the
packs (none today) are stored on their own as `"x.{name}|{value}"`.
"""

from __future__ import annotations

import zlib
from collections import defaultdict

from shared.analytics.aggregates import SENTIMENTS, SEVERITIES, Contribution, Counters, split_key
from shared.analytics.periods import blocks_of

FULL_DIMENSIONS = ("all", "queue", "agent", "sentiment", "topic")
"""Dimensions stored with every counter (the ones a summary groups by, and `all` for the totals)."""
SHARDS = 4
SHARDED = ("agent", "topic")
"""Dimensions whose values are spread over `SHARDS` items per block (by a hash of the value), so that an org's
agents or the model's free-text topics fill 4 x 400 KB before an item reaches DynamoDB's limit."""
TOPS = "tops"
TOP_DIMENSIONS = ("topic", "reason")
"""Dimensions whose calls per value are also stored in the `tops` item."""
COUNT_WIDTH = 8
BIG_WIDTH = 15
_COUNTS = (
    "calls",
    "resolved",
    "with_metrics",
    *(f"cs_{s}" for s in SENTIMENTS),
    *(f"as_{s}" for s in SENTIMENTS),
    *(f"qa_{s}" for s in SEVERITIES),
)
_BIG = (
    "duration_ms",
    "talk_ms",
    "agent_talk_ms",
    "customer_talk_ms",
    "silence_ms",
    "overtalk_ms",
    "billed_audio_ms",
    "tokens_in",
    "tokens_out",
    "cost_micro_usd",
)
PACKS: tuple[tuple[tuple[str, int], ...], ...] = (
    *(((_BIG[2 * i], BIG_WIDTH), (_BIG[2 * i + 1], BIG_WIDTH), (_COUNTS[i], COUNT_WIDTH)) for i in range(5)),
    *(tuple((name, COUNT_WIDTH) for name in _COUNTS[i : i + 4]) for i in range(5, len(_COUNTS), 4)),
)
"""The fields (counter, width in digits) of each packed number `p{i}`, lowest digits first: 26 counters in 8
numbers of at most 38 digits."""
_WHERE = {
    name: (i, sum(w for _, w in fields[:position]))
    for i, fields in enumerate(PACKS)
    for position, (name, _) in enumerate(fields)
}
assert all(sum(w for _, w in fields) <= 38 for fields in PACKS) and len(_WHERE) == len(_COUNTS) + len(_BIG)

ItemKey = tuple[str, str]
"""(dimension, block key) of one aggregate item."""
Attributes = dict[str, int]


def pack(counts: Counters, value: str) -> Attributes:
    """The attributes that store (or add) `counts` of one value; zero numbers are left out."""
    numbers: dict[str, int] = defaultdict(int)
    for name, n in counts.items():
        where = _WHERE.get(name)
        if where is None:
            numbers[f"x.{name}|{value}"] += n
            continue
        i, offset = where
        numbers[f"p{i}|{value}"] += n * 10**offset
    return {k: v for k, v in numbers.items() if v}


def unpack(attributes: dict[str, int]) -> dict[str, Counters]:
    """Value → counters of an item's attributes (the inverse of summing `pack`s; zero counters left out)."""
    out: dict[str, Counters] = defaultdict(dict)
    for attribute, number in attributes.items():
        head, sep, value = attribute.partition("|")
        if not sep:
            continue  # the key attributes
        counts = out[value]
        if head.startswith("x."):
            counts[head[2:]] = counts.get(head[2:], 0) + number
        elif head.startswith("p") and head[1:].isdigit() and int(head[1:]) < len(PACKS):
            rest = number
            for name, width in PACKS[int(head[1:])]:
                rest, field = divmod(rest, 10**width)
                if field:
                    counts[name] = counts.get(name, 0) + field
    return {value: counts for value, counts in out.items() if counts}


def stored_dimension(dimension: str, value: str) -> str:
    """The item (partition) a value's counters are stored in: `agent~2` for a sharded dimension, else the dimension."""
    if dimension not in SHARDED:
        return dimension
    return f"{dimension}~{zlib.crc32(value.encode()) % SHARDS}"


def stored_dimensions(dimension: str) -> list[str]:
    """Every item (partition) of a dimension's values."""
    return [f"{dimension}~{shard}" for shard in range(SHARDS)] if dimension in SHARDED else [dimension]


def partitions() -> list[str]:
    """Every aggregate partition of an org: the dimensions' items (shards included) and `tops`."""
    return [part for dimension in FULL_DIMENSIONS for part in stored_dimensions(dimension)] + [TOPS]


def layout(contribution: Contribution) -> dict[ItemKey, Attributes]:
    """Every aggregate item a contribution (or a delta, or a sum of contributions) adds to, and what it adds."""
    out: dict[ItemKey, Attributes] = defaultdict(lambda: defaultdict(int))
    for key, counts in contribution.items():
        dimension, day, value = split_key(key)
        for block in blocks_of(day):
            if dimension in FULL_DIMENSIONS:
                attributes = out[(stored_dimension(dimension, value), block.key)]
                for name, n in pack(counts, value).items():
                    attributes[name] += n
            if dimension in TOP_DIMENSIONS and counts.get("calls"):
                out[(TOPS, block.key)][f"{dimension}|{value}"] += counts["calls"]
    cleaned = {key: {k: v for k, v in attributes.items() if v} for key, attributes in out.items()}
    return {key: attributes for key, attributes in cleaned.items() if attributes}

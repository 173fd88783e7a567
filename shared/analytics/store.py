"""The analytics table: per-call records, the aggregate items (`shared.analytics.layout`), an org's calls by index.

Items:
    record      pk="call#{org}#{task}"  sk="record"       the record as JSON (`doc`), its contribution and `rev`,
                                                          filterable copies (queue, agent, sentiment, resolved,
                                                          topics, qa_severities) and the listing indexes' keys:
                                                          list_sk="{ended_at}#{task}" under list_pk="org#{org}"
                                                          (by-org-time), queue_pk / agent_pk / sentiment_pk =
                                                          "{org}#{value}" (by-org-queue, -agent, -sentiment)
    aggregate   pk="agg#{org}#{dim}"    sk="L{level}#{first day}"   packed counters of every value (ADD only)

A filtered listing reads the index of its most selective equality filter (agent, queue, customer sentiment), newest
first, and filters the rest (resolved, topic, QA severity) from those items only: its first page reads about `limit`
items divided by the other filters' selectivity, never the org's whole month.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from shared.analytics.aggregates import Contribution, delta, normalise, topics_of
from shared.analytics.layout import ItemKey, layout
from shared.analytics.record import CallRecord

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

INDEX = "by-org-time"
QUEUE_INDEX = "by-org-queue"
AGENT_INDEX = "by-org-agent"
SENTIMENT_INDEX = "by-org-sentiment"
RECORD_SK = "record"
MAX_PAGES_PER_LIST = 20
"""A filtered listing reads at most this many index pages per request, then returns what it found and a cursor."""


class BadCursor(ValueError):
    """A `cursor` that this store did not hand out."""


@dataclass(frozen=True)
class StoredRecord:
    """A record as stored, with what it contributed to the aggregates and its revision."""

    record: CallRecord
    contribution: Contribution
    rev: str


@dataclass(frozen=True)
class ListFilters:
    """Filters of a call listing (all optional, combined with AND)."""

    queue: str | None = None
    agent: str | None = None
    sentiment: str | None = None
    resolved: bool | None = None
    topic: str | None = None
    qa_severity: str | None = None


def record_pk(org_id: str, task_id: str) -> str:
    return f"call#{org_id}#{task_id}"


def aggregate_pk(org_id: str, dimension: str) -> str:
    return f"agg#{org_id}#{dimension}"


class AnalyticsStore:
    """Reads and writes of the analytics table."""

    def __init__(self, dynamodb: DynamoDBClient, table: str) -> None:
        self._ddb = dynamodb
        self.table = table

    async def get(self, org_id: str, task_id: str) -> StoredRecord | None:
        """A call's record, or None if it was never analysed."""
        response = await self._ddb.get_item(
            TableName=self.table,
            Key={"pk": {"S": record_pk(org_id, task_id)}, "sk": {"S": RECORD_SK}},
            ConsistentRead=True,
        )
        item = response.get("Item")
        return _stored(item) if item else None

    def write_items(
        self, record: CallRecord, contribution: Contribution, previous: StoredRecord | None
    ) -> list[dict[str, Any]]:
        """Transaction entries that store `record` and move the aggregates from `previous`'s contribution to
        `contribution`: the record Put is conditional on `previous` still being the stored revision (or on there
        being no record), so a contribution is subtracted exactly once."""
        item = {
            "pk": {"S": record_pk(record.org_id, record.task_id)},
            "sk": {"S": RECORD_SK},
            "list_pk": {"S": f"org#{record.org_id}"},
            "list_sk": {"S": f"{record.ended_at}#{record.task_id}"},
            "queue_pk": {"S": f"{record.org_id}#{normalise(record.queue)}"},
            "agent_pk": {"S": f"{record.org_id}#{normalise(record.agent)}"},
            "sentiment_pk": {"S": f"{record.org_id}#{record.customer_sentiment}"},
            "doc": {"S": record.model_dump_json()},
            "contribution": {"S": json.dumps(contribution, sort_keys=True)},
            "rev": {"S": uuid.uuid4().hex},
            "queue": {"S": normalise(record.queue)},
            "agent": {"S": normalise(record.agent)},
            "customer_sentiment": {"S": record.customer_sentiment},
            "resolved": {"BOOL": record.resolved},
            "topics": {"L": [{"S": t} for t in topics_of(record)]},
            "qa_severities": {"L": [{"S": s} for s in sorted({f.severity for f in record.qa_flags})]},
        }
        put: dict[str, Any] = {"TableName": self.table, "Item": item}
        if previous is None:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            put["ConditionExpression"] = "rev = :rev"
            put["ExpressionAttributeValues"] = {":rev": {"S": previous.rev}}
        entries: list[dict[str, Any]] = [{"Put": put}]
        return entries + self._aggregate_updates(
            record.org_id, delta(contribution, previous.contribution if previous else None)
        )

    def erase_items(self, stored: StoredRecord) -> list[dict[str, Any]]:
        """Transaction entries that delete a call's record (conditional on it still being `stored`'s revision) and
        subtract its contribution from the aggregates (privacy erasure)."""
        record = stored.record
        delete = {
            "Delete": {
                "TableName": self.table,
                "Key": {"pk": {"S": record_pk(record.org_id, record.task_id)}, "sk": {"S": RECORD_SK}},
                "ConditionExpression": "rev = :rev",
                "ExpressionAttributeValues": {":rev": {"S": stored.rev}},
            }
        }
        return [delete, *self._aggregate_updates(record.org_id, delta({}, stored.contribution))]

    def _aggregate_updates(self, org_id: str, change: Contribution) -> list[dict[str, Any]]:
        """One `ADD` UpdateItem per aggregate item the change touches."""
        entries: list[dict[str, Any]] = []
        for (dimension, block_key), adds in sorted(layout(change).items()):
            names = {f"#a{i}": name for i, name in enumerate(sorted(adds))}
            values = {f":a{i}": {"N": str(adds[name])} for i, name in enumerate(sorted(adds))}
            entries.append(
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": {"pk": {"S": aggregate_pk(org_id, dimension)}, "sk": {"S": block_key}},
                        "UpdateExpression": "ADD " + ", ".join(f"#a{i} :a{i}" for i in range(len(adds))),
                        "ExpressionAttributeNames": names,
                        "ExpressionAttributeValues": values,
                    }
                }
            )
        return entries

    def aggregate_items(self, org_id: str, totals: Contribution) -> list[dict[str, Any]]:
        """The aggregate items, as whole items to Put, that a sum of contributions leaves (seeding benchmarks)."""
        return [
            {
                "pk": {"S": aggregate_pk(org_id, dimension)},
                "sk": {"S": block_key},
                **{name: {"N": str(n)} for name, n in attributes.items()},
            }
            for (dimension, block_key), attributes in sorted(layout(totals).items())
        ]

    async def read_blocks(self, org_id: str, wanted: Iterable[ItemKey]) -> dict[ItemKey, dict[str, int]]:
        """The attributes of aggregate items by (dimension, block key), with BatchGetItem (100 keys a request, all at
        once; eventually consistent reads, half the cost); an item never written is absent."""
        keys = sorted(set(wanted))
        out: dict[ItemKey, dict[str, int]] = {}

        async def batch(chunk: list[ItemKey]) -> None:
            request: dict[str, Any] = {
                self.table: {
                    "Keys": [{"pk": {"S": aggregate_pk(org_id, d)}, "sk": {"S": k}} for d, k in chunk],
                }
            }
            while request:
                answer = await self._ddb.batch_get_item(RequestItems=request)
                for item in answer.get("Responses", {}).get(self.table, []):
                    dimension = item["pk"]["S"].rsplit("#", 1)[1]
                    out[(dimension, item["sk"]["S"])] = {
                        k: int(v["N"]) for k, v in item.items() if k not in ("pk", "sk") and "N" in v
                    }
                request = dict(answer.get("UnprocessedKeys") or {})

        await asyncio.gather(*(batch(keys[i : i + 100]) for i in range(0, len(keys), 100)))
        return out

    async def aggregate_partition(self, org_id: str, dimension: str) -> dict[str, dict[str, int]]:
        """Every stored item of one dimension, block key → attributes (tests, audits: a Query of the partition)."""
        out: dict[str, dict[str, int]] = {}
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": aggregate_pk(org_id, dimension)}},
            "ConsistentRead": True,
        }
        while True:
            page = await self._ddb.query(**kwargs)
            for item in page.get("Items", []):
                out[item["sk"]["S"]] = {k: int(v["N"]) for k, v in item.items() if k not in ("pk", "sk") and "N" in v}
            if "LastEvaluatedKey" not in page:
                return out
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    async def list_calls(
        self,
        org_id: str,
        from_at: str,
        to_at: str,
        filters: ListFilters,
        *,
        limit: int,
        cursor: str | None = None,
    ) -> tuple[list[CallRecord], str | None]:
        """Records of calls that ended in [from_at, to_at) matching `filters`, newest first, at most `limit`, and
        the cursor of the next page (None at the end)."""
        index, hash_attr, hash_value = index_for(org_id, filters)
        # The index's own filter is its key; the others filter its items (read 2 x limit a page to fill a page).
        implied = {AGENT_INDEX: "agent", QUEUE_INDEX: "queue", SENTIMENT_INDEX: "sentiment"}.get(index)
        condition, values, names = _filter(replace(filters, **{implied: None}) if implied else filters)
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": index,
            "KeyConditionExpression": f"{hash_attr} = :org AND list_sk BETWEEN :a AND :b",
            "ExpressionAttributeValues": {
                ":org": {"S": hash_value},
                ":a": {"S": from_at},
                ":b": {"S": to_at},
                **values,
            },
            "ScanIndexForward": False,
            "Limit": min(max(2 * limit, 25), 1000) if condition else limit,
        }
        if condition:
            kwargs["FilterExpression"] = condition
        if names:
            kwargs["ExpressionAttributeNames"] = names
        if cursor is not None:
            kwargs["ExclusiveStartKey"] = _decode(cursor, hash_attr, hash_value)
        found: list[dict[str, Any]] = []
        for _ in range(MAX_PAGES_PER_LIST):
            page = await self._ddb.query(**kwargs)
            for item in page.get("Items", []):
                found.append(item)
                if len(found) == limit:
                    return [_stored(i).record for i in found], _encode(item, hash_attr)
            last = page.get("LastEvaluatedKey")
            if last is None:
                return [_stored(i).record for i in found], None
            kwargs["ExclusiveStartKey"] = last
        return [_stored(i).record for i in found], _encode_key(kwargs["ExclusiveStartKey"], hash_attr)

    async def scan_org(self, org_id: str, from_at: str, to_at: str, filters: ListFilters) -> list[CallRecord]:
        """Every matching record of the window (filtered summaries, tests)."""
        records: list[CallRecord] = []
        cursor: str | None = None
        while True:
            page, cursor = await self.list_calls(org_id, from_at, to_at, filters, limit=1000, cursor=cursor)
            records.extend(page)
            if cursor is None:
                return records


def _stored(item: dict[str, Any]) -> StoredRecord:
    return StoredRecord(
        record=CallRecord.model_validate_json(item["doc"]["S"]),
        contribution=json.loads(item["contribution"]["S"]),
        rev=item["rev"]["S"],
    )


def _filter(f: ListFilters) -> tuple[str, dict[str, Any], dict[str, str]]:
    """FilterExpression, values and names (every attribute by name: `queue`, `agent`… may be reserved words)."""
    wanted: list[tuple[str, str, dict[str, Any]]] = []  # (attribute, comparison, value)
    if f.queue is not None:
        wanted.append(("queue", "=", {"S": normalise(f.queue)}))
    if f.agent is not None:
        wanted.append(("agent", "=", {"S": normalise(f.agent)}))
    if f.sentiment is not None:
        wanted.append(("customer_sentiment", "=", {"S": f.sentiment}))
    if f.resolved is not None:
        wanted.append(("resolved", "=", {"BOOL": f.resolved}))
    if f.topic is not None:
        wanted.append(("topics", "contains", {"S": normalise(f.topic).lower()}))
    if f.qa_severity is not None:
        wanted.append(("qa_severities", "contains", {"S": f.qa_severity}))
    parts = [f"contains(#f{i}, :f{i})" if op == "contains" else f"#f{i} = :f{i}" for i, (_, op, _) in enumerate(wanted)]
    names = {f"#f{i}": attribute for i, (attribute, _, _) in enumerate(wanted)}
    values = {f":f{i}": value for i, (_, _, value) in enumerate(wanted)}
    return " AND ".join(parts), values, names


def index_for(org_id: str, f: ListFilters) -> tuple[str, str, str]:
    """(index, its hash attribute, its value) a listing reads: the org's calls of one agent, queue or customer
    sentiment when that filter is given (the most selective first), else all the org's calls; the other filters are
    a FilterExpression over that index's items."""
    if f.agent is not None:
        return AGENT_INDEX, "agent_pk", f"{org_id}#{normalise(f.agent)}"
    if f.queue is not None:
        return QUEUE_INDEX, "queue_pk", f"{org_id}#{normalise(f.queue)}"
    if f.sentiment is not None:
        return SENTIMENT_INDEX, "sentiment_pk", f"{org_id}#{f.sentiment}"
    return INDEX, "list_pk", f"org#{org_id}"


def _encode(item: dict[str, Any], hash_attr: str) -> str:
    return _encode_key({k: item[k] for k in ("pk", "sk", "list_sk", hash_attr)}, hash_attr)


def _encode_key(key: dict[str, Any], hash_attr: str) -> str:
    plain = {k: key[k]["S"] for k in ("pk", "sk", "list_sk", hash_attr)}
    return base64.urlsafe_b64encode(json.dumps(plain, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode(cursor: str, hash_attr: str, hash_value: str) -> dict[str, Any]:
    try:
        plain = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        key = {k: {"S": str(plain[k])} for k in ("pk", "sk", "list_sk", hash_attr)}
    except (binascii.Error, ValueError, TypeError, KeyError) as exc:
        raise BadCursor("the cursor is not one this API returned") from exc
    if key[hash_attr]["S"] != hash_value:
        raise BadCursor("the cursor belongs to another org or other filters")
    return key

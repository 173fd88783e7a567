"""The analytics table: per-call records, the aggregate items (`shared.analytics.aggregates`), an org's calls by time.

Items:
    record      pk="call#{org}#{task}"  sk="record"       the record as JSON (`doc`), its contribution and `rev`,
                                                          filterable copies (queue, agent, sentiment, resolved,
                                                          topics, qa_severities) and the time index keys
                                                          list_pk="org#{org}", list_sk="{ended_at}#{task}"
    aggregate   pk="agg#{org}#{dim}"    sk="{day}#{value}" integer counters (ADD only)
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shared.analytics.aggregates import Contribution, Counters, delta, normalise, split_key, topics_of
from shared.analytics.record import CallRecord
from shared.dynamo import from_attr

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

INDEX = "by-org-time"
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
        for key, change in sorted(delta(contribution, previous.contribution if previous else None).items()):
            dimension, day, value = split_key(key)
            names = {f"#c{i}": name for i, name in enumerate(sorted(change))}
            values = {f":c{i}": {"N": str(change[name])} for i, name in enumerate(sorted(change))}
            entries.append(
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": {"pk": {"S": aggregate_pk(record.org_id, dimension)}, "sk": {"S": f"{day}#{value}"}},
                        "UpdateExpression": "ADD " + ", ".join(f"#c{i} :c{i}" for i in range(len(change))),
                        "ExpressionAttributeNames": names,
                        "ExpressionAttributeValues": values,
                    }
                }
            )
        return entries

    async def aggregates(
        self, org_id: str, dimension: str, from_day: str, to_day: str, only: Sequence[str] | None = None
    ) -> list[tuple[str, str, Counters]]:
        """(day, value, counters) of one dimension's items for the days `from_day`..`to_day` (inclusive); with
        `only`, just those counters (a projection: fewer bytes to send and parse when e.g. only `calls` is needed)."""
        out: list[tuple[str, str, Counters]] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :a AND :b",
            "ExpressionAttributeValues": {
                ":pk": {"S": aggregate_pk(org_id, dimension)},
                ":a": {"S": f"{from_day}#"},
                ":b": {"S": f"{to_day}#\U0010ffff"},
            },
        }
        if only is not None:
            kwargs["ProjectionExpression"] = ", ".join(["sk", *(f"#p{i}" for i in range(len(only)))])
            kwargs["ExpressionAttributeNames"] = {f"#p{i}": name for i, name in enumerate(only)}
        while True:
            page = await self._ddb.query(**kwargs)
            for item in page.get("Items", []):
                day, _, value = item["sk"]["S"].partition("#")
                counts = {k: int(from_attr(v)) for k, v in item.items() if k not in ("pk", "sk")}
                out.append((day, value, counts))
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
        condition, values, names = _filter(filters)
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": INDEX,
            "KeyConditionExpression": "list_pk = :org AND list_sk BETWEEN :a AND :b",
            "ExpressionAttributeValues": {
                ":org": {"S": f"org#{org_id}"},
                ":a": {"S": from_at},
                ":b": {"S": to_at},
                **values,
            },
            "ScanIndexForward": False,
            "Limit": max(limit, 25) if condition else limit,
        }
        if condition:
            kwargs["FilterExpression"] = condition
        if names:
            kwargs["ExpressionAttributeNames"] = names
        if cursor is not None:
            kwargs["ExclusiveStartKey"] = _decode(cursor, org_id)
        found: list[dict[str, Any]] = []
        for _ in range(MAX_PAGES_PER_LIST):
            page = await self._ddb.query(**kwargs)
            for item in page.get("Items", []):
                found.append(item)
                if len(found) == limit:
                    return [_stored(i).record for i in found], _encode(item)
            last = page.get("LastEvaluatedKey")
            if last is None:
                return [_stored(i).record for i in found], None
            kwargs["ExclusiveStartKey"] = last
        return [_stored(i).record for i in found], _encode_key(kwargs["ExclusiveStartKey"])

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


_KEY_ATTRS = ("pk", "sk", "list_pk", "list_sk")


def _encode(item: dict[str, Any]) -> str:
    return _encode_key({k: item[k] for k in _KEY_ATTRS})


def _encode_key(key: dict[str, Any]) -> str:
    plain = {k: key[k]["S"] for k in _KEY_ATTRS}
    return base64.urlsafe_b64encode(json.dumps(plain, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode(cursor: str, org_id: str) -> dict[str, Any]:
    try:
        plain = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        key = {k: {"S": str(plain[k])} for k in _KEY_ATTRS}
    except (binascii.Error, ValueError, TypeError, KeyError) as exc:
        raise BadCursor("the cursor is not one this API returned") from exc
    if key["list_pk"]["S"] != f"org#{org_id}":
        raise BadCursor("the cursor belongs to another org")
    return key

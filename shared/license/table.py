"""The license table: the active license per org, activation history, monthly usage, reservations, held calls.

Items (`pk = ORG#{org}`):

    sk = ACTIVE                    the activated key text, its license id, when and by whom
    sk = HISTORY#{at}#{license}    one per activation (never changed)
    sk = USAGE#{YYYY-MM}           reserved, analysed_calls, billed_audio_s (ADD only), warned (80/100)
    sk = RES#{YYYY-MM}#{task}      a call admitted to the paid steps that month (once); `analysed` once metered;
                                   expires after 400 days (`ttl`)
    sk = HELD#{task}               a call held back: its journey, the stage to resume, the status it left, the reason

A reservation is one transaction: Put the RES item if absent, and ADD 1 to the month's `reserved` only while it is
below the limit. So of 30 concurrent calls under a 20-call license exactly 20 are admitted, and a redelivered call
finds its RES item and is admitted again without counting.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from shared.dynamo import from_attr, transact
from shared.license.models import MonthUsage

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient


RESERVATION_TTL_S = 400 * 24 * 3600
"""A call's monthly reservation is kept this long (a reprocess within it is recognised), then DynamoDB removes it."""


def month_of(ts: float | None = None) -> str:
    """The calendar month (UTC) of an epoch time, `YYYY-MM`."""
    return datetime.fromtimestamp(time.time() if ts is None else ts, UTC).strftime("%Y-%m")


def org_key(org_id: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": f"ORG#{org_id}"}, "sk": {"S": sk}}


class Reserve(StrEnum):
    """What a reservation found."""

    RESERVED = "RESERVED"  # newly admitted this month
    ALREADY = "ALREADY"  # admitted earlier this month (a redelivery, or the transcribe step for analyze)
    OVER_QUOTA = "OVER_QUOTA"


@dataclass(frozen=True)
class HeldCall:
    """A call held back, and where to resume it."""

    org_id: str
    task_id: str
    journey_id: str
    stage: str  # the stage whose message resumes it: transcribe or analyze
    from_status: str  # the tracking status it had when held
    reason: str
    month: str
    held_at: float
    resumed: bool = False

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> HeldCall:
        p = {k: from_attr(v) for k, v in item.items()}
        return cls(
            org_id=p["org_id"],
            task_id=p["task_id"],
            journey_id=p["journey_id"],
            stage=p["stage"],
            from_status=p["from_status"],
            reason=p["reason"],
            month=p["month"],
            held_at=float(p["held_at"]),
            resumed=bool(p.get("resumed", False)),
        )


class LicenseTable:
    """Reads and conditional writes of the license table (low-level DynamoDB client)."""

    def __init__(self, dynamodb: DynamoDBClient, table: str) -> None:
        self._ddb = dynamodb
        self.table = table

    async def _get(self, key: dict[str, Any]) -> dict[str, Any] | None:
        resp = await self._ddb.get_item(TableName=self.table, Key=key, ConsistentRead=True)
        item = resp.get("Item")
        return {k: from_attr(v) for k, v in item.items()} if item else None

    async def active(self, org_id: str) -> dict[str, Any] | None:
        """The org's ACTIVE item (plain values), None when it never activated a key."""
        return await self._get(org_key(org_id, "ACTIVE"))

    async def activate(self, org_id: str, key_text: str, license_id: str, *, by: str, summary: dict[str, Any]) -> None:
        """Store the key as the org's active license and append the activation to its history, in one transaction."""
        now = time.time()
        at = datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds")
        common = {"key": {"S": key_text}, "license_id": {"S": license_id}, "activated_by": {"S": by}}
        details = {k: {"S": str(v)} for k, v in summary.items()}
        await transact(
            self._ddb,
            [
                {
                    "Put": {
                        "TableName": self.table,
                        "Item": {**org_key(org_id, "ACTIVE"), **common, "activated_at": {"N": f"{now:.3f}"}},
                    }
                },
                {
                    "Put": {
                        "TableName": self.table,
                        "Item": {
                            **org_key(org_id, f"HISTORY#{at}#{license_id}"),
                            **common,
                            **details,
                            "activated_at": {"N": f"{now:.3f}"},
                        },
                    }
                },
            ],
        )

    async def history(self, org_id: str, limit: int = 50) -> list[dict[str, Any]]:
        """The org's activations, newest first."""
        resp = await self._ddb.query(
            TableName=self.table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :h)",
            ExpressionAttributeValues={":pk": {"S": f"ORG#{org_id}"}, ":h": {"S": "HISTORY#"}},
            ScanIndexForward=False,
            Limit=limit,
        )
        return [{k: from_attr(v) for k, v in i.items() if k != "key"} for i in resp.get("Items", [])]

    async def usage(self, org_id: str, month: str) -> MonthUsage:
        item = await self._get(org_key(org_id, f"USAGE#{month}"))
        return _usage(month, item or {})

    async def usage_months(self, org_id: str, months: list[str]) -> list[MonthUsage]:
        """Usage of each month asked (months without usage read as zeros), in the order given."""
        resp = await self._ddb.query(
            TableName=self.table,
            KeyConditionExpression="pk = :pk AND sk BETWEEN :a AND :b",
            ExpressionAttributeValues={
                ":pk": {"S": f"ORG#{org_id}"},
                ":a": {"S": f"USAGE#{min(months)}"},
                ":b": {"S": f"USAGE#{max(months)}"},
            },
            ConsistentRead=True,
        )
        found = {}
        for raw in resp.get("Items", []):
            item = {k: from_attr(v) for k, v in raw.items()}
            found[str(item["sk"]).removeprefix("USAGE#")] = item
        return [_usage(m, found.get(m, {})) for m in months]

    async def reserve(
        self,
        org_id: str,
        task_id: str,
        journey_id: str,
        month: str,
        *,
        calls_limit: int | None,
        audio_limit_s: float | None,
    ) -> Reserve:
        """Admit a call to this month's paid steps, once (see the module docstring)."""
        conditions = []
        values: dict[str, Any] = {":one": {"N": "1"}}
        if calls_limit is not None:
            conditions.append("(attribute_not_exists(reserved) OR reserved < :calls)")
            values[":calls"] = {"N": str(calls_limit)}
        if audio_limit_s is not None:
            conditions.append("(attribute_not_exists(billed_audio_s) OR billed_audio_s < :audio)")
            values[":audio"] = {"N": f"{audio_limit_s:.3f}"}
        usage: dict[str, Any] = {
            "TableName": self.table,
            "Key": org_key(org_id, f"USAGE#{month}"),
            "UpdateExpression": "ADD reserved :one",
            "ExpressionAttributeValues": values,
        }
        if conditions:
            usage["ConditionExpression"] = " AND ".join(conditions)
        marker = {
            "TableName": self.table,
            "Item": {
                **org_key(org_id, f"RES#{month}#{task_id}"),
                "journey_id": {"S": journey_id},
                "reserved_at": {"N": f"{time.time():.3f}"},
                "ttl": {"N": str(int(time.time() + RESERVATION_TTL_S))},
            },
            "ConditionExpression": "attribute_not_exists(sk)",
        }
        try:
            items: list[Any] = [{"Put": marker}, {"Update": usage}]
            await self._ddb.transact_write_items(TransactItems=items)
        except self._ddb.exceptions.TransactionCanceledException as exc:
            codes = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
            if codes and codes[0] == "ConditionalCheckFailed":
                return Reserve.ALREADY
            if len(codes) > 1 and codes[1] == "ConditionalCheckFailed":
                return Reserve.OVER_QUOTA
            raise
        return Reserve.RESERVED

    async def reservation(self, org_id: str, task_id: str, month: str) -> dict[str, Any] | None:
        return await self._get(org_key(org_id, f"RES#{month}#{task_id}"))

    def meter_items(self, org_id: str, task_id: str, month: str, billed_audio_s: float) -> list[dict[str, Any]]:
        """The transaction entries that count an analysed call once in its month: the reservation is marked
        analysed (only if it exists and is not yet), and the month's usage grows. For the analyze step's advance."""
        return [
            {
                "Update": {
                    "TableName": self.table,
                    "Key": org_key(org_id, f"RES#{month}#{task_id}"),
                    "UpdateExpression": "SET analysed = :true, analysed_at = :now",
                    "ConditionExpression": "attribute_exists(sk) AND attribute_not_exists(analysed)",
                    "ExpressionAttributeValues": {":true": {"BOOL": True}, ":now": {"N": f"{time.time():.3f}"}},
                }
            },
            {
                "Update": {
                    "TableName": self.table,
                    "Key": org_key(org_id, f"USAGE#{month}"),
                    "UpdateExpression": "ADD analysed_calls :one, billed_audio_s :audio",
                    "ExpressionAttributeValues": {":one": {"N": "1"}, ":audio": {"N": f"{billed_audio_s:.3f}"}},
                }
            },
        ]

    async def mark_warned(self, org_id: str, month: str, level: int) -> bool:
        """Record that the month reached `level` % of a limit; True only for the first writer (who warns)."""
        try:
            await self._ddb.update_item(
                TableName=self.table,
                Key=org_key(org_id, f"USAGE#{month}"),
                UpdateExpression="SET warned = :level",
                ConditionExpression="attribute_not_exists(warned) OR warned < :level",
                ExpressionAttributeValues={":level": {"N": str(level)}},
            )
        except self._ddb.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def held_put(self, held: HeldCall) -> dict[str, Any]:
        """The Put of a held call's item, for the transaction that moves its row to HELD."""
        return {
            "TableName": self.table,
            "Item": {
                **org_key(held.org_id, f"HELD#{held.task_id}"),
                "org_id": {"S": held.org_id},
                "task_id": {"S": held.task_id},
                "journey_id": {"S": held.journey_id},
                "stage": {"S": held.stage},
                "from_status": {"S": held.from_status},
                "reason": {"S": held.reason},
                "month": {"S": held.month},
                "held_at": {"N": f"{held.held_at:.3f}"},
            },
        }

    def held_resumed_update(self, org_id: str, task_id: str) -> dict[str, Any]:
        """Mark a held item resumed (its row moved back; its message is being sent), for a transaction."""
        return {
            "TableName": self.table,
            "Key": org_key(org_id, f"HELD#{task_id}"),
            "UpdateExpression": "SET resumed = :true",
            "ConditionExpression": "attribute_exists(sk) AND attribute_not_exists(resumed)",
            "ExpressionAttributeValues": {":true": {"BOOL": True}},
        }

    async def held(self, org_id: str, limit: int | None = None) -> list[HeldCall]:
        """The org's held calls, oldest task ids first (resumed ones whose message may be unsent included)."""
        calls: list[HeldCall] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :h)",
            "ExpressionAttributeValues": {":pk": {"S": f"ORG#{org_id}"}, ":h": {"S": "HELD#"}},
            "ConsistentRead": True,
        }
        while True:
            resp = await self._ddb.query(**kwargs)
            calls.extend(HeldCall.from_item(i) for i in resp.get("Items", []))
            if "LastEvaluatedKey" not in resp or (limit is not None and len(calls) >= limit):
                return calls if limit is None else calls[:limit]
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]

    async def count_held(self, org_id: str, journey_id: str | None = None) -> int:
        """How many of the org's calls (of one journey, when given) are held."""
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :h)",
            "ExpressionAttributeValues": {":pk": {"S": f"ORG#{org_id}"}, ":h": {"S": "HELD#"}},
            "Select": "COUNT",
            "ConsistentRead": True,
        }
        if journey_id is not None:
            kwargs["FilterExpression"] = "journey_id = :j"
            kwargs["ExpressionAttributeValues"][":j"] = {"S": journey_id}
        count = 0
        while True:
            resp = await self._ddb.query(**kwargs)
            count += int(resp.get("Count", 0))
            if "LastEvaluatedKey" not in resp:
                return count
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]

    async def drop_held(self, org_id: str, task_id: str) -> None:
        """Remove a held item whose call is no longer held (nothing to resume), unless a resume marked it (that
        resumer still has its message to send)."""
        try:
            await self._ddb.delete_item(
                TableName=self.table,
                Key=org_key(org_id, f"HELD#{task_id}"),
                ConditionExpression="attribute_not_exists(resumed)",
            )
        except self._ddb.exceptions.ConditionalCheckFailedException:
            return

    async def forget_held(self, org_id: str, task_id: str) -> None:
        """Remove a resumed call's held item once its message was sent."""
        await self._ddb.delete_item(
            TableName=self.table,
            Key=org_key(org_id, f"HELD#{task_id}"),
            ConditionExpression="resumed = :true",
            ExpressionAttributeValues={":true": {"BOOL": True}},
        )


def _usage(month: str, item: dict[str, Any]) -> MonthUsage:
    return MonthUsage(
        month=month,
        analysed_calls=int(item.get("analysed_calls", 0)),
        billed_audio_seconds=round(float(item.get("billed_audio_s", 0)), 3),
        reserved_calls=int(item.get("reserved", 0)),
    )

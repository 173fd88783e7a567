"""Erasure of calls everywhere they are stored, by task id, customer number (its HMAC) or time window.

Order of one call's erasure (`Eraser.erase_call`):

1. The tracking row is replaced by a **tombstone** in one Put conditional on the status just read (read again and
   retried when the row moved): `pk`, `org_id`, `status = ERASED`, `erased_at`, `erasure_id` and the UTC days the
   call's objects are filed under — no task id attribute, no number, no facts. A call not finished yet is counted
   terminal in its journey in the same transaction (`{stage}.erased`; `held: -1` too for a held call), and the
   journey is completed if that was its last call. From then on no claim (`attribute_not_exists(pk)`), `begin`
   (ERASED is terminal) or `advance` (its `status = expected` condition) succeeds for the call, so no poll, webhook
   or replay fetches it again, and an in-flight step cannot record a result: it calls `sweep_call`
   (`workers.outcomes`).
2. Objects are deleted by known keys and by the call's own prefixes (a LIST of the versions under a prefix that only
   this call's objects have, never a scan of a bucket), every version of each (the buckets are versioned in AWS:
   a plain delete would keep the data as a noncurrent version): recordings (every leg), the transcript, analyses of
   every pipeline version, analytics lines, transcription checkpoints.
3. The analytics record is deleted and its stored contribution subtracted from the aggregates in one transaction
   (conditional on the record's revision, so it is subtracted exactly once).
4. The per-call job item of every journey that saw the call (found by the journeys table's `by-sk` index, no scan)
   is deleted and, when such a journey has a stored report, the report is rebuilt without the call; the call's
   license items (reservation, held call) are deleted — the month's usage counters stay, they hold no id and count
   what was billed.
5. Claim-check bodies that mention the call are deleted (the messages bucket holds only messages in flight, and
   its objects expire after a day, so it is read whole).

Finding a customer's calls reads the tracking table's `by-customer` index (the HMAC of the number, see
`shared.privacy.keys`); a window reads the tracking table (a Scan: a window erasure is rare and bounded by the table).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from shared.analytics.store import AnalyticsStore
from shared.dynamo import from_attr, transact
from shared.journeys import JourneyStore, journey_key
from shared.logging import get_logger
from shared.reports import ReportWriter, report_key
from shared.resources import DataResources
from shared.storage import Storage, checkpoint_prefix
from shared.tracking import CallStatus, tracking_key

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient
    from types_aiobotocore_s3 import S3Client

log = get_logger(__name__)

CUSTOMER_INDEX = "by-customer"
JOBS_INDEX = "by-sk"  # journeys table: a call's JOB# item in every journey (keys only)
KINDS = (
    "calls",
    "recordings",
    "transcripts",
    "analyses",
    "analytics_lines",
    "checkpoints",
    "analytics_records",
    "aggregate_items",
    "journey_jobs",
    "reports_rebuilt",
    "license_items",
    "claim_checks",
)


def _day(epoch_ms: float | None) -> str | None:
    if not epoch_ms:
        return None
    return f"{datetime.fromtimestamp(float(epoch_ms) / 1000, UTC):%Y/%m/%d}"


def call_days(row: dict[str, Any] | None) -> list[str]:
    """The UTC days (`yyyy/mm/dd`) a call's objects may be filed under: its end, its legs' starts, its claim, today
    and yesterday (keys of a call without an end time are dated when they were written)."""
    now = time.time() * 1000
    days = {_day(now), _day(now - 86_400_000)}
    if row:
        facts = row.get("facts") or {}
        days |= {
            _day(facts.get("ended_ms")),
            _day(facts.get("created_ms")),
            _day(float(row.get("claimed_at", 0)) * 1000),
        }
        days |= {_day(leg.get("start_ms")) for leg in row.get("recording_keys") or []}
        days |= set(row.get("days") or [])
    return sorted(d for d in days if d)


TOMBSTONE_TRIES = 10  # a row moves a few times per call: its tombstone is tried again on a fresh read

# Where an unfinished call is: the stage whose counters count it terminal once erased (a held call: the stage that
# held it, whose `held` counter counts it).
_STAGE_OF = {CallStatus.CLAIMED: "fetch", CallStatus.FETCHED: "transcribe", CallStatus.TRANSCRIBED: "analyze"}


def _unfinished_stage(row: dict[str, Any] | None) -> str | None:
    """The stage of a call that is not terminal yet (None for a terminal one, or one without a journey)."""
    if not row or not row.get("journey_id"):
        return None
    status = str(row.get("status"))
    if status == CallStatus.HELD:
        status = str(row.get("held_from"))
    return _STAGE_OF.get(CallStatus(status)) if status in CallStatus.__members__ else None


def _tombstone_item(org_id: str, task_id: str, erasure_id: str, days: list[str]) -> dict[str, Any]:
    """The tracking item left of an erased call: no task id attribute, no number, no facts."""
    now = time.time()
    item: dict[str, Any] = {
        **tracking_key(org_id, task_id),
        "org_id": {"S": org_id},
        "status": {"S": CallStatus.ERASED.value},
        "erased_at": {"N": f"{now:.3f}"},
        "erasure_id": {"S": erasure_id},
        "updated_at": {"N": f"{now:.3f}"},
        "lease_until": {"N": "0"},
    }
    if days:
        item["days"] = {"L": [{"S": d} for d in days]}
    return item


class Eraser:
    """Erases calls of one deployment (its tables and buckets)."""

    def __init__(self, dynamodb: DynamoDBClient, s3: S3Client, resources: DataResources) -> None:
        self._ddb = dynamodb
        self._s3 = s3
        self._storage = Storage(s3)
        self._res = resources
        self._journeys = JourneyStore(dynamodb, resources.journeys_table.name)
        self.objects_scanned = 0  # keys listed to find what to delete (bench/erasure.py reports it)
        self._versions: dict[str, dict[str, list[str]]] = {}  # bucket → key → version ids, of the call being swept
        self._versioning: dict[str, bool] = {}  # bucket → keeps versions (asked once per eraser)

    # --- finding calls ----------------------------------------------------------------------------------------
    async def calls_of_customer(self, hashed: str) -> list[tuple[str, str]]:
        """(org, task) of every call whose row carries this customer hash."""
        found: list[tuple[str, str]] = []
        kwargs: dict[str, Any] = {
            "TableName": self._res.tracking_table.name,
            "IndexName": CUSTOMER_INDEX,
            "KeyConditionExpression": "customer_hash = :h",
            "ExpressionAttributeValues": {":h": {"S": hashed}},
            "ProjectionExpression": "pk",
        }
        while True:
            page = await self._ddb.query(**kwargs)
            found.extend(_org_task(item["pk"]["S"]) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return found
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    async def calls_in_window(self, from_ms: int, to_ms: int, org_id: str | None = None) -> list[tuple[str, str]]:
        """(org, task) of every call (not yet erased) that ended — or, when its end is unknown, was created — in
        [from_ms, to_ms)."""
        found: list[tuple[str, str]] = []
        kwargs: dict[str, Any] = {"TableName": self._res.tracking_table.name}
        while True:
            page = await self._ddb.scan(**kwargs)
            for item in page.get("Items", []):
                row = {k: from_attr(v) for k, v in item.items()}
                if row.get("status") == CallStatus.ERASED.value or (org_id and row.get("org_id") != org_id):
                    continue
                facts = row.get("facts") or {}
                when = facts.get("ended_ms") or facts.get("created_ms") or float(row.get("claimed_at", 0)) * 1000
                if from_ms <= float(when) < to_ms:
                    found.append(_org_task(row["pk"]))
            if "LastEvaluatedKey" not in page:
                return found
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    # --- erasing ------------------------------------------------------------------------------------------------
    async def erase_call(self, org_id: str, task_id: str, erasure_id: str) -> Counter[str]:
        """Erase one call everywhere (see the module docstring); counts of what was removed, per kind."""
        counts: Counter[str] = Counter()
        before = await self._ddb.get_item(
            TableName=self._res.tracking_table.name, Key=tracking_key(org_id, task_id), ConsistentRead=True
        )
        current = {k: from_attr(v) for k, v in before.get("Item", {}).items()} or None
        row = await self._tombstone(org_id, task_id, erasure_id, current)
        if row is not None and row.get("status") == CallStatus.ERASED.value:
            return counts
        counts["calls"] += 1
        counts.update(await self.sweep_call(org_id, task_id, row))
        counts.update(await self._analytics(org_id, task_id))
        journeys = set(await self.journeys_of_call(task_id))
        if row and row.get("journey_id"):
            journeys.add(str(row["journey_id"]))
        for journey_id in sorted(journeys):
            counts.update(await self._journey(journey_id, task_id))
        counts["license_items"] += await self._license(org_id, task_id, call_days(row))
        counts["claim_checks"] += await self._claim_checks(task_id)
        if row is not None and _unfinished_stage(row) is not None:  # now counted terminal: its journey may be over
            await self._journeys.complete_if_done(str(row["journey_id"]))
        log.info("call_erased", erasure_id=erasure_id, **{k: v for k, v in counts.items() if v})
        return counts

    async def _tombstone(
        self, org_id: str, task_id: str, erasure_id: str, current: dict[str, Any] | None
    ) -> dict[str, Any] | None:
        """Replace the row by its tombstone; the row it replaced (an ERASED one when the call already was erased).

        Conditional on the row read (its status), so that a call erased while unfinished is counted terminal in its
        journey (`{stage}.erased`, and `held: -1` if it was held) in the same transaction, exactly once; a row that
        moved meanwhile is read again."""
        for _ in range(TOMBSTONE_TRIES):
            if current is not None and current.get("status") == CallStatus.ERASED.value:
                return current
            put: dict[str, Any] = {
                "TableName": self._res.tracking_table.name,
                "Item": _tombstone_item(org_id, task_id, erasure_id, call_days(current)),
            }
            if current is None:
                put["ConditionExpression"] = "attribute_not_exists(pk)"
            else:
                put["ConditionExpression"] = "#status = :status"
                put["ExpressionAttributeNames"] = {"#status": "status"}
                put["ExpressionAttributeValues"] = {":status": {"S": str(current.get("status"))}}
            items: list[dict[str, Any]] = [{"Put": put}]
            stage = _unfinished_stage(current)
            if stage is not None and current is not None:
                counters = {"erased": 1.0, **({"held": -1.0} if current.get("status") == CallStatus.HELD else {})}
                items.append({"Update": self._journeys.counter_update(str(current["journey_id"]), stage, **counters)})
            if await transact(self._ddb, items):
                return current
            resp = await self._ddb.get_item(
                TableName=self._res.tracking_table.name, Key=tracking_key(org_id, task_id), ConsistentRead=True
            )
            current = {k: from_attr(v) for k, v in resp.get("Item", {}).items()} or None
        raise RuntimeError(f"the tracking row kept changing: {TOMBSTONE_TRIES} tries to erase it failed")

    async def sweep_erased(self, org_id: str, task_id: str) -> Counter[str]:
        """`sweep_call` on the days the call's tombstone names (an in-flight step that found the tombstone)."""
        resp = await self._ddb.get_item(
            TableName=self._res.tracking_table.name, Key=tracking_key(org_id, task_id), ConsistentRead=True
        )
        row = {k: from_attr(v) for k, v in resp.get("Item", {}).items()}
        return await self.sweep_call(org_id, task_id, {"days": row.get("days") or []})

    async def sweep_call(self, org_id: str, task_id: str, row: dict[str, Any] | None) -> Counter[str]:
        """Delete every S3 object of the call: the keys its row names and whatever is under its own prefixes on any
        of its days (`call_days`). Also what an in-flight step that finds the tombstone runs to clean up."""
        counts: Counter[str] = Counter()
        results, recordings = self._res.results_bucket.name, self._res.recordings_bucket.name
        days = call_days(row)
        rec_keys = {str(leg["key"]) for leg in (row or {}).get("recording_keys") or [] if leg.get("key")}
        for day in days:
            rec_keys |= set(await self._list(recordings, f"recordings/{org_id}/{day}/{task_id}/"))
        res_keys: dict[str, set[str]] = {"transcripts": set(), "analyses": set(), "analytics_lines": set()}
        for name, kind in (("transcript_key", "transcripts"), ("analysis_key", "analyses")):
            if (row or {}).get(name):
                res_keys[kind].add(str(row[name]))  # type: ignore[index]
        for day in days:
            res_keys["transcripts"] |= set(await self._list(results, f"transcripts/{org_id}/{day}/{task_id}."))
            res_keys["analyses"] |= set(await self._list(results, f"analyses/{org_id}/{day}/{task_id}."))
            dt = day.replace("/", "-")
            res_keys["analytics_lines"] |= set(await self._list(results, f"analytics/calls/dt={dt}/part-{task_id}."))
        checkpoints = await self._list(results, checkpoint_prefix(org_id, task_id))
        await self._delete(recordings, rec_keys)
        await self._delete(results, set().union(*res_keys.values(), checkpoints))
        counts["recordings"] += len(rec_keys)
        counts["checkpoints"] += len(checkpoints)
        for kind, keys in res_keys.items():
            counts[kind] += len(keys)
        return counts

    async def _list(self, bucket: str, prefix: str) -> list[str]:
        """The keys under a prefix of the call; in a bucket that has versions, with every version of each
        (remembered for `_delete`)."""
        if not await self._versioned(bucket):
            keys = await self._storage.keys(bucket, prefix)
            self.objects_scanned += len(keys)
            return keys
        versions = await self._storage.versions(bucket, prefix)
        self.objects_scanned += len(versions)
        self._versions.setdefault(bucket, {}).update(versions)
        return list(versions)

    async def _versioned(self, bucket: str) -> bool:
        """Whether the bucket keeps versions (versioning enabled, or suspended after it was: old versions stay)."""
        if bucket not in self._versioning:
            resp = await self._s3.get_bucket_versioning(Bucket=bucket)
            self._versioning[bucket] = resp.get("Status") in ("Enabled", "Suspended")
        return self._versioning[bucket]

    async def _delete(self, bucket: str, keys: set[str]) -> None:
        """Delete the keys with every version listed (a versioned bucket keeps no noncurrent copy and no delete
        marker); a key not listed by version (an unversioned bucket, or named by the row only) is deleted plainly."""
        listed = self._versions.pop(bucket, {})
        await self._storage.delete_versions(bucket, {k: listed[k] for k in keys if k in listed})
        await self._storage.delete(bucket, sorted(k for k in keys if k not in listed))

    async def _analytics(self, org_id: str, task_id: str) -> Counter[str]:
        """Delete the call's analytics record and subtract its contribution from the aggregates, in one transaction."""
        counts: Counter[str] = Counter()
        table = self._res.analytics_table.name
        store = AnalyticsStore(self._ddb, table)
        stored = await store.get(org_id, task_id)
        if stored is None:
            return counts
        # the record's delete (conditional on its revision) and the subtraction of its contribution, in the
        # aggregates' own layout (shared.analytics.store)
        items = store.erase_items(stored)
        await self._ddb.transact_write_items(TransactItems=items)  # type: ignore[arg-type]
        counts["analytics_records"] += 1
        counts["aggregate_items"] += len(items) - 1
        return counts

    async def journeys_of_call(self, task_id: str) -> list[str]:
        """Every journey with a `JOB#{task_id}` item (the one that took the call, earlier or later ones that
        reprocessed it, others that skipped it as a duplicate), from the journeys table's keys-only `by-sk` index."""
        found: list[str] = []
        kwargs: dict[str, Any] = {
            "TableName": self._res.journeys_table.name,
            "IndexName": JOBS_INDEX,
            "KeyConditionExpression": "sk = :sk",
            "ExpressionAttributeValues": {":sk": {"S": f"JOB#{task_id}"}},
        }
        while True:
            page = await self._ddb.query(**kwargs)
            found.extend(item["pk"]["S"].removeprefix("JOURNEY#") for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return found
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    async def _journey(self, journey_id: str, task_id: str) -> Counter[str]:
        """Delete the journey's job item of the call; rebuild the journey's stored report without it."""
        counts: Counter[str] = Counter()
        resp = await self._ddb.delete_item(
            TableName=self._res.journeys_table.name,
            Key=journey_key(journey_id, f"JOB#{task_id}"),
            ReturnValues="ALL_OLD",
        )
        counts["journey_jobs"] += int(bool(resp.get("Attributes")))
        try:
            await self._s3.head_object(Bucket=self._res.results_bucket.name, Key=report_key(journey_id, "json"))
        except Exception:  # no stored report (the journey runs, or it has none): nothing to rebuild
            return counts
        writer = ReportWriter(self._journeys, self._storage, self._res.results_bucket.name)
        if await writer.write(journey_id) is not None:
            counts["reports_rebuilt"] += 1
        return counts

    async def _license(self, org_id: str, task_id: str, days: list[str]) -> int:
        """Delete the call's license items (`shared.license.table`): its reservation of each month it may have been
        admitted in, and its held-call item. The month's usage counters stay: they count what was processed and
        billed, and hold no id."""
        months = sorted({day[:7].replace("/", "-") for day in days})
        sks = [f"RES#{month}#{task_id}" for month in months] + [f"HELD#{task_id}"]
        removed = 0
        for sk in sks:
            resp = await self._ddb.delete_item(
                TableName=self._res.license_table.name,
                Key={"pk": {"S": f"ORG#{org_id}"}, "sk": {"S": sk}},
                ReturnValues="ALL_OLD",
            )
            removed += int(bool(resp.get("Attributes")))
        return removed

    async def _claim_checks(self, task_id: str) -> int:
        """Delete the claim-check bodies (messages in flight) that mention the call."""
        bucket = self._res.messages_bucket.name
        removed: list[str] = []
        for key in await self._storage.keys(bucket, ""):
            obj = await self._s3.get_object(Bucket=bucket, Key=key)
            async with obj["Body"] as body:
                if task_id.encode() in await body.read():
                    removed.append(key)
        await self._storage.delete(bucket, removed)
        return len(removed)


def _org_task(pk: str) -> tuple[str, str]:
    org_part, _, task = pk.partition("#TASK#")
    return org_part.removeprefix("ORG#"), task


def window_ms(start: datetime, end: datetime) -> tuple[int, int]:
    """A window as epoch milliseconds."""
    return int(start.timestamp() * 1000), int(end.timestamp() * 1000)


def summary(counts: Counter[str]) -> str:
    """Counts as `kind=n;…` (the audit event's short detail)."""
    return ";".join(f"{k}={counts.get(k, 0)}" for k in KINDS)[:200]


def as_json(counts: Counter[str]) -> str:
    return json.dumps({k: counts.get(k, 0) for k in KINDS})

"""Creates, or checks, every queue (+ DLQ and redrive), table and bucket of a deployment from the one topology.

Idempotent: what exists with the expected settings is left alone, drifted queue settings are put back.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from queues.topology import StageQueue, stage_queues
from shared.aws import AwsClients
from shared.config import Settings
from shared.logging import get_logger
from shared.privacy.retention import ExpiryRule, drift, expected_rules, merged_rules
from shared.resources import BucketSpec, DataResources, TableSpec

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient
    from types_aiobotocore_s3 import S3Client
    from types_aiobotocore_sqs import SQSClient

log = get_logger(__name__)


@dataclass
class BootstrapReport:
    """What a bootstrap run did (or, verifying, found missing or different)."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated)


def queue_attributes(spec: StageQueue, dlq_arn: str) -> dict[str, str]:
    """The attributes a stage's work queue must have."""
    return {
        "VisibilityTimeout": str(spec.visibility_timeout_s),
        "MessageRetentionPeriod": str(spec.retention_s),
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": spec.max_receive_count}),
    }


class Bootstrapper:
    """Applies (or verifies) the topology against one AWS endpoint."""

    def __init__(
        self,
        sqs: SQSClient,
        dynamodb: DynamoDBClient,
        s3: S3Client,
        *,
        region: str,
        verify: bool,
        lifecycle: Mapping[str, Sequence[ExpiryRule]] | None = None,
    ) -> None:
        self._sqs, self._ddb, self._s3 = sqs, dynamodb, s3
        self._region = region
        self._verify = verify
        self._lifecycle = lifecycle or {}  # privacy: bucket name → the expiration rules the retention settings want
        self.report = BootstrapReport()

    async def queue(self, spec: StageQueue) -> None:
        dlq_url = await self._ensure_queue(spec.dlq_name, {"MessageRetentionPeriod": str(spec.retention_s)})
        if dlq_url is None:
            return
        dlq_arn = (await self._sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"]))["Attributes"][
            "QueueArn"
        ]
        await self._ensure_queue(spec.name, queue_attributes(spec, dlq_arn))

    async def _ensure_queue(self, name: str, wanted: dict[str, str]) -> str | None:
        try:
            url = (await self._sqs.get_queue_url(QueueName=name))["QueueUrl"]
        except self._sqs.exceptions.QueueDoesNotExist:
            if self._verify:
                self.report.problems.append(f"queue {name} is missing")
                return None
            url = (await self._sqs.create_queue(QueueName=name, Attributes=wanted))["QueueUrl"]  # type: ignore[arg-type]
            self.report.created.append(f"queue {name}")
            return url
        have = (await self._sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"]))["Attributes"]
        drift = {k: v for k, v in wanted.items() if not _same_attribute(k, have.get(k), v)}  # type: ignore[call-overload]
        if not drift:
            self.report.unchanged.append(f"queue {name}")
        elif self._verify:
            self.report.problems.append(f"queue {name} differs: {sorted(drift)}")
        else:
            await self._sqs.set_queue_attributes(QueueUrl=url, Attributes=drift)  # type: ignore[arg-type]
            self.report.updated.append(f"queue {name}: {sorted(drift)}")
        return url

    async def table(self, spec: TableSpec) -> None:
        try:
            await self._ddb.describe_table(TableName=spec.name)
            await self._ensure_ttl(spec)
            return
        except self._ddb.exceptions.ResourceNotFoundException:
            if self._verify:
                self.report.problems.append(f"table {spec.name} is missing")
                return
        attributes = {spec.hash_key, *(k for k in (spec.range_key,) if k)}
        for index in spec.indexes:
            attributes.update(k for k in (index.hash_key, index.range_key) if k)
        keys = [{"AttributeName": spec.hash_key, "KeyType": "HASH"}]
        if spec.range_key:
            keys.append({"AttributeName": spec.range_key, "KeyType": "RANGE"})
        extra: dict[str, object] = {}
        if spec.indexes:
            extra["GlobalSecondaryIndexes"] = [
                {
                    "IndexName": ix.name,
                    "KeySchema": [{"AttributeName": ix.hash_key, "KeyType": "HASH"}]
                    + ([{"AttributeName": ix.range_key, "KeyType": "RANGE"}] if ix.range_key else []),
                    "Projection": {"ProjectionType": ix.projection},
                }
                for ix in spec.indexes
            ]
        await self._ddb.create_table(
            TableName=spec.name,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in sorted(attributes)],
            KeySchema=keys,  # type: ignore[arg-type]
            SSESpecification={"Enabled": True},
            **extra,  # type: ignore[arg-type]
        )
        await self._ddb.get_waiter("table_exists").wait(TableName=spec.name, WaiterConfig={"Delay": 1})
        if spec.ttl_attribute:
            await self._ddb.update_time_to_live(
                TableName=spec.name, TimeToLiveSpecification={"Enabled": True, "AttributeName": spec.ttl_attribute}
            )
        self.report.created.append(f"table {spec.name}")

    async def _ensure_ttl(self, spec: TableSpec) -> None:
        """An existing table's TTL is on for the spec's attribute (tables made before it had one get it now)."""
        if not spec.ttl_attribute:
            self.report.unchanged.append(f"table {spec.name}")
            return
        ttl = (await self._ddb.describe_time_to_live(TableName=spec.name)).get("TimeToLiveDescription", {})
        if ttl.get("TimeToLiveStatus") in ("ENABLED", "ENABLING") and ttl.get("AttributeName") == spec.ttl_attribute:
            self.report.unchanged.append(f"table {spec.name}")
        elif self._verify:
            self.report.problems.append(f"table {spec.name} has no TTL on `{spec.ttl_attribute}`")
        else:
            await self._ddb.update_time_to_live(
                TableName=spec.name, TimeToLiveSpecification={"Enabled": True, "AttributeName": spec.ttl_attribute}
            )
            self.report.updated.append(f"table {spec.name}: TTL on `{spec.ttl_attribute}`")

    async def bucket(self, spec: BucketSpec) -> None:
        try:
            await self._s3.head_bucket(Bucket=spec.name)
            await self._ensure_lifecycle(spec)
            return
        except self._s3.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket", "NotFound"):
                raise
            if self._verify:
                self.report.problems.append(f"bucket {spec.name} is missing")
                return
        if self._region == "us-east-1":
            await self._s3.create_bucket(Bucket=spec.name)
        else:
            await self._s3.create_bucket(
                Bucket=spec.name,
                CreateBucketConfiguration={"LocationConstraint": self._region},  # type: ignore[typeddict-item]
            )
        await self._s3.put_public_access_block(
            Bucket=spec.name,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True,
            },
        )
        if self._lifecycle.get(spec.name):
            await self._put_lifecycle(spec.name, merged_rules([], self._lifecycle[spec.name]))
        self.report.created.append(f"bucket {spec.name}")

    async def _ensure_lifecycle(self, spec: BucketSpec) -> None:
        """privacy: an existing bucket's expiration rules agree with the retention settings (verify reports each
        difference; bootstrap puts the settings' rules in place, keeping rules of other prefixes)."""
        wanted = self._lifecycle.get(spec.name)
        if not wanted:
            self.report.unchanged.append(f"bucket {spec.name}")
            return
        deployed = await self._lifecycle_rules(spec.name)
        differences = drift(spec.name, deployed, wanted)
        if not differences:
            self.report.unchanged.append(f"bucket {spec.name}")
        elif self._verify:
            self.report.problems.extend(differences)
        else:
            await self._put_lifecycle(spec.name, merged_rules(deployed, wanted))
            self.report.updated.append(f"bucket {spec.name}: lifecycle rules from the retention settings")

    async def _lifecycle_rules(self, bucket: str) -> list[dict[str, Any]]:
        try:
            resp = await self._s3.get_bucket_lifecycle_configuration(Bucket=bucket)
        except self._s3.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "NoSuchLifecycleConfiguration":
                return []
            raise
        return [dict(rule) for rule in resp.get("Rules", [])]

    async def _put_lifecycle(self, bucket: str, rules: list[dict[str, Any]]) -> None:
        await self._s3.put_bucket_lifecycle_configuration(
            Bucket=bucket,
            LifecycleConfiguration={"Rules": rules},  # type: ignore[typeddict-item]
        )


def _same_attribute(name: str, have: str | None, want: str) -> bool:
    if have is None:
        return False
    if name == "RedrivePolicy":
        a, b = json.loads(have), json.loads(want)
        return bool(
            a.get("deadLetterTargetArn") == b["deadLetterTargetArn"]
            and int(a.get("maxReceiveCount", -1)) == b["maxReceiveCount"]
        )
    return have == want


async def bootstrap(settings: Settings, *, verify: bool = False, include_echo: bool = True) -> BootstrapReport:
    """Create (or with `verify`, only check) every queue, table and bucket named by the settings' prefix."""
    clients = AwsClients(settings)
    data = DataResources(settings.name_prefix)
    async with clients.sqs() as sqs, clients.dynamodb() as ddb, clients.s3() as s3:
        b = Bootstrapper(
            sqs, ddb, s3, region=settings.aws_region, verify=verify, lifecycle=expected_rules(settings, data)
        )
        for spec in stage_queues(
            settings.name_prefix, max_receive_count=settings.max_receive_count, include_echo=include_echo
        ):
            await b.queue(spec)
        for table in data.tables():
            await b.table(table)
        for bucket in data.buckets():
            await b.bucket(bucket)
    log.info(
        "bootstrap_done",
        verify=verify,
        created=len(b.report.created),
        updated=len(b.report.updated),
        unchanged=len(b.report.unchanged),
        problems=b.report.problems,
    )
    return b.report

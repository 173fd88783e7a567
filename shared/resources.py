"""The DynamoDB tables and S3 buckets callpipe uses, named from one prefix (the queues live in `queues.topology`)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class GlobalIndex:
    """A global secondary index: name, hash key and optional range key (all string attributes)."""

    name: str
    hash_key: str
    range_key: str | None = None
    projection: str = "ALL"  # privacy: KEYS_ONLY for an index that only finds items (journeys' by-sk)


@dataclass(frozen=True)
class TableSpec:
    """One DynamoDB table: on-demand billing, string keys, optional TTL attribute and GSIs."""

    role: str
    name: str
    hash_key: str
    range_key: str | None = None
    ttl_attribute: str | None = None
    indexes: tuple[GlobalIndex, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class BucketSpec:
    """One S3 bucket and what it holds."""

    role: str
    name: str


@dataclass(frozen=True)
class DataResources:
    """Every table and bucket of one deployment, derived from its name prefix."""

    prefix: str

    @property
    def tracking_table(self) -> TableSpec:
        return TableSpec(
            "tracking",
            f"{self.prefix}-wxcc-tracking",
            "pk",
            ttl_attribute="ttl",
            indexes=(GlobalIndex("by-customer", "customer_hash"),),  # privacy: a customer's calls by HMAC of the number
        )

    @property
    def journeys_table(self) -> TableSpec:
        return TableSpec(
            "journeys",
            f"{self.prefix}-journeys",
            "pk",
            "sk",
            indexes=(
                GlobalIndex("by-state", "state", "created_at"),
                # privacy: every journey's JOB#{task_id} item of a call (erasure), keys only
                GlobalIndex("by-sk", "sk", projection="KEYS_ONLY"),
            ),
            ttl_attribute="ttl",  # idempotency keys, creation-rate windows and replay jobs expire
        )

    @property
    def coordination_table(self) -> TableSpec:
        """Shared state between workers: the WXCC token, the WXCC request budget."""
        return TableSpec("coordination", f"{self.prefix}-coordination", "pk", ttl_attribute="ttl")

    @property
    def license_table(self) -> TableSpec:
        # license (issue 14): a call's monthly reservation expires (`ttl`); keys, history and usage never do.
        return TableSpec("license", f"{self.prefix}-license", "pk", "sk", ttl_attribute="ttl")

    @property
    def analytics_table(self) -> TableSpec:
        """Per-call analytics records and exact per-org/day/dimension aggregates (`shared.analytics.store`)."""
        return TableSpec(
            "analytics",
            f"{self.prefix}-analytics",
            "pk",
            "sk",
            indexes=(
                GlobalIndex("by-org-time", "list_pk", "list_sk"),  # an org's calls, newest first
                # analytics: an org's calls of one queue, agent or customer sentiment, newest first (filtered lists)
                GlobalIndex("by-org-queue", "queue_pk", "list_sk"),
                GlobalIndex("by-org-agent", "agent_pk", "list_sk"),
                GlobalIndex("by-org-sentiment", "sentiment_pk", "list_sk"),
            ),
        )

    @property
    def recordings_bucket(self) -> BucketSpec:
        return BucketSpec("recordings", f"{self.prefix}-recordings")

    @property
    def results_bucket(self) -> BucketSpec:
        """Transcripts, analyses and the analytics lines Athena reads."""
        return BucketSpec("results", f"{self.prefix}-results")

    @property
    def messages_bucket(self) -> BucketSpec:
        """Claim-check bodies of queue messages too large for SQS."""
        return BucketSpec("messages", f"{self.prefix}-messages")

    # access control (issue 20): the audit trail's bucket
    @property
    def logs_bucket(self) -> BucketSpec:
        """Audit events (`audit/dt=…`, `shared.audit`); in AWS also S3 and ALB access logs (Terraform's `logs`)."""
        return BucketSpec("logs", f"{self.prefix}-logs")

    def tables(self) -> tuple[TableSpec, ...]:
        return (
            self.tracking_table,
            self.journeys_table,
            self.coordination_table,
            self.license_table,
            self.analytics_table,
        )

    def buckets(self) -> tuple[BucketSpec, ...]:
        return (self.recordings_bucket, self.results_bucket, self.messages_bucket, self.logs_bucket)

"""Retention per kind of data: the S3 lifecycle rules and tracking-row TTL the `retention_*_days` settings call for,
and how a bucket's deployed lifecycle differs from them.

The rules mirror `terraform/modules/data/s3.tf` (`local.day_rules`): one expiration rule per prefix, identified by its
prefix. Rules of other prefixes (Terraform's athena-results/ and noncurrent-versions rules) are neither checked nor
replaced.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shared.config import Settings
from shared.resources import DataResources

DAY_S = 24 * 3600
ABORT_MULTIPART_DAYS = 7


@dataclass(frozen=True)
class ExpiryRule:
    """Objects under `prefix` expire `days` after they were written (rule `id` in the bucket's lifecycle)."""

    id: str
    prefix: str
    days: int


def tracking_row_ttl_s(settings: Settings) -> int:
    """Seconds a tracking row lives (`TrackingTable(row_ttl_s=…)`): `retention_tracking_days`."""
    return settings.retention_tracking_days * DAY_S


def expected_rules(settings: Settings, resources: DataResources) -> dict[str, list[ExpiryRule]]:
    """Per bucket name, the expiration rules the retention settings call for."""
    return {
        resources.recordings_bucket.name: [ExpiryRule("recordings", "", settings.retention_recordings_days)],
        resources.results_bucket.name: [
            ExpiryRule("transcripts", "transcripts/", settings.retention_transcripts_days),
            ExpiryRule("analyses", "analyses/", settings.retention_analyses_days),
            ExpiryRule("analytics", "analytics/", settings.retention_analytics_days),
            ExpiryRule("reports", "reports/", settings.retention_reports_days),
            ExpiryRule("work", "work/", settings.retention_checkpoints_days),
        ],
    }


def rule_prefix(rule: Mapping[str, Any]) -> str | None:
    """The prefix a deployed lifecycle rule applies to (`Filter.Prefix`, `Filter.And.Prefix` or the legacy `Prefix`);
    None for a rule filtered on something else (tags, sizes) only."""
    filt = rule.get("Filter")
    if isinstance(filt, Mapping):
        if "Prefix" in filt:
            return str(filt["Prefix"])
        if isinstance(filt.get("And"), Mapping):
            inner = filt["And"]
            if "Tags" in inner or "ObjectSizeGreaterThan" in inner or "ObjectSizeLessThan" in inner:
                return None
            return str(inner.get("Prefix", ""))
        if filt:
            return None
        return ""
    if "Prefix" in rule:
        return str(rule["Prefix"])
    return None


def drift(bucket: str, deployed: Sequence[Mapping[str, Any]], wanted: Sequence[ExpiryRule]) -> list[str]:
    """One line per wanted rule the deployed lifecycle does not enforce as the settings say (missing, disabled or
    another number of days); empty when they agree."""
    by_prefix: dict[str, Mapping[str, Any]] = {}
    for rule in deployed:
        prefix = rule_prefix(rule)
        if prefix is not None and rule.get("Status") == "Enabled" and "Days" in (rule.get("Expiration") or {}):
            by_prefix.setdefault(prefix, rule)
    lines: list[str] = []
    for want in wanted:
        shown = want.prefix or "(whole bucket)"
        have = by_prefix.get(want.prefix)
        if have is None:
            lines.append(f"bucket {bucket} lifecycle: no expiration rule for {shown}, settings say {want.days} days")
            continue
        days = int(have["Expiration"]["Days"])
        if days != want.days:
            lines.append(
                f"bucket {bucket} lifecycle: {shown} expires after {days} days, settings say {want.days} days "
                f"(rule {have.get('ID', '?')})"
            )
    return lines


def merged_rules(deployed: Sequence[Mapping[str, Any]], wanted: Sequence[ExpiryRule]) -> list[dict[str, Any]]:
    """The bucket's lifecycle with the wanted rules put in place of any rule of the same prefix, other rules kept."""
    mine = {w.prefix for w in wanted}
    kept = [dict(rule) for rule in deployed if rule_prefix(rule) not in mine]
    return kept + [
        {
            "ID": w.id,
            "Status": "Enabled",
            "Filter": {"Prefix": w.prefix},
            "Expiration": {"Days": w.days},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": ABORT_MULTIPART_DAYS},
        }
        for w in wanted
    ]

"""Retention enforced where the data lives: bootstrap puts the settings' S3 lifecycle rules, `bootstrap --verify`
reports a deployed rule that differs from them, and tracking rows expire after `retention_tracking_days`."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from types_aiobotocore_s3 import S3Client

from queues.bootstrap import bootstrap
from shared.aws import AwsClients
from shared.config import Settings
from shared.privacy.retention import expected_rules, rule_prefix, tracking_row_ttl_s
from shared.resources import DataResources
from shared.tracking import ROW_TTL_S, TrackingTable, tracking_key
from tests.helpers import settings_env
from workers.context import stage_context

CUSTOM = {"retention_transcripts_days": 30, "retention_recordings_days": 90, "retention_checkpoints_days": 3}


def _days_by_prefix(rules: Any) -> dict[str | None, int]:
    return {rule_prefix(r): int(r["Expiration"]["Days"]) for r in rules if "Days" in r.get("Expiration", {})}


async def test_bootstrap_puts_the_lifecycle_rules_of_the_settings(s3: S3Client, settings: Settings) -> None:
    custom = settings.model_copy(update=CUSTOM)
    await bootstrap(custom)
    data = DataResources(custom.name_prefix)
    for bucket, wanted in expected_rules(custom, data).items():
        rules = (await s3.get_bucket_lifecycle_configuration(Bucket=bucket))["Rules"]
        assert _days_by_prefix(rules) == {w.prefix: w.days for w in wanted}
    results = (await s3.get_bucket_lifecycle_configuration(Bucket=data.results_bucket.name))["Rules"]
    assert _days_by_prefix(results)["transcripts/"] == 30
    assert (await bootstrap(custom, verify=True)).problems == []


async def test_verify_reports_a_drifted_rule_and_bootstrap_puts_it_back_keeping_other_rules(
    s3: S3Client, settings: Settings
) -> None:
    await bootstrap(settings)
    results = DataResources(settings.name_prefix).results_bucket.name
    rules: list[Any] = list((await s3.get_bucket_lifecycle_configuration(Bucket=results))["Rules"])
    changed: list[Any] = [
        {**r, "Expiration": {"Days": 5}} if rule_prefix(r) == "analyses/" else r
        for r in rules
        if rule_prefix(r) != "work/"
    ]
    other: Any = {
        "ID": "athena-results",
        "Status": "Enabled",
        "Filter": {"Prefix": "athena-results/"},
        "Expiration": {"Days": 9},
    }
    await s3.put_bucket_lifecycle_configuration(
        Bucket=results,
        LifecycleConfiguration={"Rules": [*changed, other]},
    )

    verified = await bootstrap(settings, verify=True)
    assert verified.problems == [
        f"bucket {results} lifecycle: analyses/ expires after 5 days, settings say 730 days (rule analyses)",
        f"bucket {results} lifecycle: no expiration rule for work/, settings say 2 days",
    ]

    fixed = await bootstrap(settings)
    assert fixed.updated == [f"bucket {results}: lifecycle rules from the retention settings"]
    after = _days_by_prefix((await s3.get_bucket_lifecycle_configuration(Bucket=results))["Rules"])
    assert after["analyses/"] == 730 and after["work/"] == 2
    assert after["athena-results/"] == 9  # a rule of another prefix is kept
    assert (await bootstrap(settings, verify=True)).problems == []


def test_bootstrap_verify_command_fails_on_lifecycle_drift(settings: Settings) -> None:
    cli = str(Path(sys.executable).with_name("callpipe"))
    env = settings_env(settings)
    created = subprocess.run([cli, "bootstrap"], env=env, capture_output=True, text=True, timeout=60)
    assert created.returncode == 0, created.stderr
    recordings = DataResources(settings.name_prefix).recordings_bucket.name

    drifted = subprocess.run(
        [cli, "bootstrap", "--verify"],
        env={**env, "CALLPIPE_RETENTION_RECORDINGS_DAYS": "31"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert drifted.returncode == 1
    assert (
        f"PROBLEM   bucket {recordings} lifecycle: (whole bucket) expires after 180 days, settings say 31 days "
        "(rule recordings)" in drifted.stdout
    )


async def test_tracking_rows_expire_after_the_retention_setting(settings: Settings) -> None:
    await bootstrap(settings)
    days = settings.model_copy(update={"retention_tracking_days": 10})
    table = DataResources(settings.name_prefix).tracking_table.name
    async with AwsClients(settings).dynamodb() as ddb:
        for ttl_s, task in ((tracking_row_ttl_s(days), "short"), (ROW_TTL_S, "default")):
            tracking = TrackingTable(ddb, table, row_ttl_s=ttl_s)
            put = tracking.claim_put("org", task, "j1", pipeline_version=1, retry_failed=False, lease_s=60, facts={})
            await ddb.put_item(**put)
        short = (await ddb.get_item(TableName=table, Key={"pk": {"S": "ORG#org#TASK#short"}}))["Item"]
        default = (await ddb.get_item(TableName=table, Key={"pk": {"S": "ORG#org#TASK#default"}}))["Item"]
    assert abs(int(short["ttl"]["N"]) - (time.time() + 10 * 86400)) < 120
    assert abs(int(default["ttl"]["N"]) - (time.time() + 400 * 86400)) < 120
    assert tracking_row_ttl_s(Settings(name_prefix="default-retention")) == ROW_TTL_S


async def test_the_workers_tracking_rows_take_the_retention_setting(settings: Settings) -> None:
    await bootstrap(settings)
    days = settings.model_copy(update={"retention_tracking_days": 10})
    async with stage_context(days) as ctx:
        put = ctx.tracking.claim_put(
            "org", "worker", "j1", pipeline_version=1, retry_failed=False, lease_s=60, facts={}
        )
        await ctx.dynamodb.put_item(**put)
        item = (await ctx.dynamodb.get_item(TableName=ctx.tracking.table, Key=tracking_key("org", "worker")))["Item"]
    assert abs(int(item["ttl"]["N"]) - (time.time() + 10 * 86400)) < 120

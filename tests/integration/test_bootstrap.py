"""`callpipe bootstrap` against the emulator: creates the whole topology once, then changes nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from types_aiobotocore_sqs import SQSClient

from queues.bootstrap import bootstrap
from queues.directory import QueueDirectory
from queues.envelope import Kind
from queues.topology import stage_queues
from shared.aws import AwsClients
from shared.config import Settings
from shared.resources import DataResources
from tests.helpers import settings_env


async def test_bootstrap_creates_everything_and_a_second_run_is_a_no_op(sqs: SQSClient, settings: Settings) -> None:
    first = await bootstrap(settings)
    queues = stage_queues(settings.name_prefix)
    data = DataResources(settings.name_prefix)
    expected = 2 * len(queues) + len(data.tables()) + len(data.buckets())
    assert len(first.created) == expected
    assert first.problems == []

    second = await bootstrap(settings)
    assert (second.created, second.updated, second.problems) == ([], [], [])
    assert len(second.unchanged) == expected

    verified = await bootstrap(settings, verify=True)
    assert verified.problems == []


async def test_every_stage_queue_dead_letters_to_its_own_dlq(sqs: SQSClient, settings: Settings) -> None:
    await bootstrap(settings.model_copy(update={"max_receive_count": 3}))
    directory = QueueDirectory(sqs, settings.name_prefix)
    for kind in Kind:
        urls = await directory.urls(kind)
        attrs = (await sqs.get_queue_attributes(QueueUrl=urls.url, AttributeNames=["All"]))["Attributes"]
        dlq_arn = (await sqs.get_queue_attributes(QueueUrl=urls.dlq_url, AttributeNames=["QueueArn"]))["Attributes"]
        redrive = json.loads(attrs["RedrivePolicy"])
        assert redrive["deadLetterTargetArn"] == dlq_arn["QueueArn"]
        assert int(redrive["maxReceiveCount"]) == 3
        assert int(attrs["VisibilityTimeout"]) == directory.spec(kind).visibility_timeout_s


async def test_bootstrap_puts_drifted_queue_settings_back_and_verify_reports_drift(
    sqs: SQSClient, settings: Settings
) -> None:
    await bootstrap(settings)
    url = (await QueueDirectory(sqs, settings.name_prefix).urls(Kind.FETCH)).url
    await sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "7"})

    drift = await bootstrap(settings, verify=True)
    assert drift.problems == [f"queue {settings.name_prefix}-fetch differs: ['VisibilityTimeout']"]

    fixed = await bootstrap(settings)
    assert fixed.updated == [f"queue {settings.name_prefix}-fetch: ['VisibilityTimeout']"]
    attrs = await sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])
    assert attrs["Attributes"]["VisibilityTimeout"] == "300"


async def test_tables_have_the_keys_and_index_the_code_uses(settings: Settings) -> None:
    await bootstrap(settings)
    data = DataResources(settings.name_prefix)
    async with AwsClients(settings).dynamodb() as ddb:
        journeys = (await ddb.describe_table(TableName=data.journeys_table.name))["Table"]
        ttl = await ddb.describe_time_to_live(TableName=data.tracking_table.name)
    assert [k["AttributeName"] for k in journeys["KeySchema"]] == ["pk", "sk"]
    assert sorted(ix["IndexName"] for ix in journeys.get("GlobalSecondaryIndexes", [])) == ["by-sk", "by-state"]
    assert ttl["TimeToLiveDescription"].get("AttributeName") == "ttl"


def test_bootstrap_command_verify_fails_on_a_missing_topology(settings: Settings) -> None:
    cli = str(Path(sys.executable).with_name("callpipe"))
    env = settings_env(settings)
    missing = subprocess.run([cli, "bootstrap", "--verify"], env=env, capture_output=True, text=True, timeout=60)
    assert missing.returncode == 1
    assert f"PROBLEM   queue {settings.name_prefix}-poll-dlq is missing" in missing.stdout

    created = subprocess.run([cli, "bootstrap"], env=env, capture_output=True, text=True, timeout=60)
    assert created.returncode == 0, created.stderr
    verified = subprocess.run([cli, "bootstrap", "--verify"], env=env, capture_output=True, text=True, timeout=60)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "0 problems" in verified.stdout

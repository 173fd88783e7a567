"""The scheduled `callpipe journey start` resumes calls held in an earlier month, even when no new call reaches a
worker to notice the rollover (a quiet org's held calls would otherwise wait for a manual resume)."""

from __future__ import annotations

import argparse
import time

from cli import journey
from queues.bootstrap import bootstrap
from queues.envelope import Envelope, Kind
from queues.topology import stage_queue
from shared.aws import AwsClients
from shared.config import Settings
from shared.license.service import LicenseService
from shared.license.table import HeldCall
from shared.resources import DataResources
from shared.tracking import CallStatus, TrackingTable, tracking_key
from tests.helpers import receive_all

ORG = "org-schedule"
LAST_MONTH = time.time() - 40 * 86_400


async def test_the_scheduled_journey_start_resumes_calls_held_last_month(settings: Settings) -> None:
    await bootstrap(settings, include_echo=False)
    settings = settings.model_copy(update={"wxcc_org_id": ORG})
    resources = DataResources(settings.name_prefix)
    clients = AwsClients(settings)
    async with clients.dynamodb() as ddb:
        service = LicenseService(settings, ddb)  # no key configured: the evaluation license, with room
        held = HeldCall(ORG, "held-1", "j-old", "transcribe", "FETCHED", "license_quota", "2000-01", LAST_MONTH)
        row = {
            **tracking_key(ORG, "held-1"),
            "org_id": {"S": ORG},
            "task_id": {"S": "held-1"},
            "journey_id": {"S": "j-old"},
            "status": {"S": CallStatus.HELD.value},
            "held_reason": {"S": "license_quota"},
        }
        await ddb.put_item(TableName=resources.tracking_table.name, Item=row)
        await ddb.put_item(**service.table.held_put(held))

        args = argparse.Namespace(
            journey_command="start", tasks="new-1", lookback_minutes=None, from_=None, to=None, retry_failed=False
        )
        assert await journey.run(args, settings) == 0

        resumed = await TrackingTable(ddb, resources.tracking_table.name).get(ORG, "held-1")
        assert resumed is not None and resumed.status is CallStatus.FETCHED
        assert await service.table.held(ORG) == []
    async with clients.sqs() as sqs:
        url = (await sqs.get_queue_url(QueueName=stage_queue(settings.name_prefix, Kind.TRANSCRIBE).name))["QueueUrl"]
        messages = [Envelope.from_body(str(m["Body"])) for m in await receive_all(sqs, url, expected=1)]
    assert [(m.task_id, m.journey_id) for m in messages] == [("held-1", "j-old")]

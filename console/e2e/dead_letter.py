"""Puts one dead letter into a stage's DLQ of the stack the environment names (the e2e runner's `callpipe dev`)."""

from __future__ import annotations

import argparse
import asyncio

from queues.directory import QueueDirectory
from queues.envelope import Envelope, Kind
from shared.aws import AwsClients
from shared.config import Settings


async def dead_letter(settings: Settings, kind: Kind, journey: str, task: str, error_type: str, reason: str) -> None:
    """Send one envelope to the stage's DLQ with the error attributes a consumer gives up with."""
    payload = {"org_id": settings.wxcc_org_id, "task_id": task}
    env = Envelope(kind=kind, journey_id=journey, task_id=task, payload=payload)
    async with AwsClients(settings).sqs() as sqs:
        urls = await QueueDirectory(sqs, settings.name_prefix).urls(kind)
        await sqs.send_message(
            QueueUrl=urls.dlq_url,
            MessageBody=env.to_body(),
            MessageAttributes={
                **env.message_attributes(),  # type: ignore[dict-item]
                "error_type": {"DataType": "String", "StringValue": error_type},
                "error_message": {"DataType": "String", "StringValue": reason},
            },
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stage", default="fetch", choices=[k.value for k in Kind])
    parser.add_argument("--journey", default="j-e2e")
    parser.add_argument("--task", default="task-e2e-dead")
    parser.add_argument("--error-type", default="Permanent")
    parser.add_argument("--reason", default="e2e: a recording that cannot be fetched")
    args = parser.parse_args()
    settings = Settings()
    asyncio.run(dead_letter(settings, Kind(args.stage), args.journey, args.task, args.error_type, args.reason))


if __name__ == "__main__":
    main()

"""A message at the queue's size limit still reaches the DLQ with its reason: its body moves to the claim check.

moto checks only the body against `MaximumMessageSize`, while SQS (and LocalStack) count message attributes too, so
the limit itself is checked here with `sqs_message_size`, and the round trip (DLQ entry, list, replay, handled whole)
over the wire.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest
from types_aiobotocore_s3 import S3Client
from types_aiobotocore_sqs import SQSClient

from queues.claimcheck import KEY_PREFIX, ClaimCheck
from queues.consumer import HandlerContext
from queues.directory import QueueUrls
from queues.dlq import list_dead_letters, replay
from queues.envelope import (
    ATTR_CLAIM_CHECK,
    ATTR_ERROR_MESSAGE,
    ATTR_ERROR_TYPE,
    ATTR_SOURCE_QUEUE,
    Envelope,
    Kind,
    sqs_message_size,
)
from shared.config import Settings
from shared.errors import Permanent, PoisonMessage
from tests.helpers import consumer_config, depth, eventually, receive_all, running_consumer

LIMIT = 256 * 1024  # SQS's long-standing MaximumMessageSize, set explicitly on both queues


def test_the_size_sqs_checks_counts_the_body_and_each_attribute_name_type_and_value() -> None:
    attributes: dict[str, Any] = {
        "kind": {"DataType": "String", "StringValue": "echo"},
        "n": {"DataType": "Number", "StringValue": "12"},
        "b": {"DataType": "Binary", "BinaryValue": b"\x00\x01\x02"},
    }
    assert sqs_message_size("héllo", {}) == 6  # UTF-8 bytes, not characters
    assert sqs_message_size("héllo", attributes) == 6 + (4 + 6 + 4) + (1 + 6 + 2) + (1 + 6 + 3)


async def limited_queues(sqs: SQSClient, prefix: str) -> QueueUrls:
    size = str(LIMIT)
    dlq = (await sqs.create_queue(QueueName=f"{prefix}-big-dlq", Attributes={"MaximumMessageSize": size}))["QueueUrl"]
    arn = (await sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"]))["Attributes"]["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 5})
    url = (
        await sqs.create_queue(
            QueueName=f"{prefix}-big", Attributes={"MaximumMessageSize": size, "RedrivePolicy": redrive}
        )
    )["QueueUrl"]
    return QueueUrls(url, dlq)


def at_the_limit(env: Envelope) -> str:
    """The envelope's body padded with JSON whitespace so body + its attributes are exactly `LIMIT` bytes."""
    body = env.to_body()
    return body + " " * (LIMIT - sqs_message_size(body, env.message_attributes()))


async def test_a_message_at_the_size_limit_reaches_the_dlq_with_its_reason_and_replays_whole(
    sqs: SQSClient, s3: S3Client, settings: Settings
) -> None:
    urls = await limited_queues(sqs, settings.name_prefix)
    bucket = f"{settings.name_prefix}-messages"
    await s3.create_bucket(Bucket=bucket)
    store = ClaimCheck(s3, bucket)
    env = Envelope(kind=Kind.ECHO, journey_id="j-big", task_id="big", payload={"text": "big"})
    body = at_the_limit(env)
    assert sqs_message_size(body, env.message_attributes()) == LIMIT
    await sqs.send_message(QueueUrl=urls.url, MessageBody=body, MessageAttributes=env.message_attributes())  # type: ignore[arg-type]
    reason = "the customer record is invalid"
    as_before: dict[str, Any] = {
        **env.message_attributes(),
        ATTR_ERROR_TYPE: {"DataType": "String", "StringValue": "Permanent"},
        ATTR_ERROR_MESSAGE: {"DataType": "String", "StringValue": reason},
        ATTR_SOURCE_QUEUE: {"DataType": "String", "StringValue": urls.url.rsplit("/", 1)[-1]},
    }
    assert sqs_message_size(body, as_before) > LIMIT, "the body with its reason would not fit: SQS refuses it"

    failing = True
    handled: list[Envelope] = []

    async def handler(got: Envelope, ctx: HandlerContext) -> Sequence[Envelope]:
        if failing:
            raise Permanent(reason)
        handled.append(got)
        return ()

    async with running_consumer(sqs, urls, handler, config=consumer_config(settings), claim_check=store) as stats:
        await eventually(lambda: stats.dead_lettered == 1)
        [dead] = await receive_all(sqs, urls.dlq_url, expected=1)
        await sqs.change_message_visibility(
            QueueUrl=urls.dlq_url, ReceiptHandle=str(dead["ReceiptHandle"]), VisibilityTimeout=0
        )
        attrs: dict[str, Any] = dead["MessageAttributes"]  # type: ignore[assignment]
        assert attrs[ATTR_ERROR_TYPE]["StringValue"] == "Permanent"
        assert attrs[ATTR_ERROR_MESSAGE]["StringValue"] == reason
        key = attrs[ATTR_CLAIM_CHECK]["StringValue"]
        assert key.startswith(KEY_PREFIX)
        assert attrs["journey_id"]["StringValue"] == "j-big"  # the message's own attributes are kept
        pointer = json.loads(str(dead["Body"]))
        assert pointer == {"claim_check": key, "kind": "echo", "journey_id": "j-big", "task_id": "big"}
        assert sqs_message_size(str(dead["Body"]), attrs) <= LIMIT
        assert await store.get(key) == body, "the dead letter lost its body"

        [letter] = await list_dead_letters(sqs, urls)
        assert (letter.task_id, letter.journey_id, letter.error_type) == ("big", "j-big", "Permanent")

        failing = False  # the cause is fixed: replay
        counts = await replay(sqs, urls)
        assert counts.moved == 1
        await eventually(lambda: stats.succeeded == 1)
    assert [h.task_id for h in handled] == ["big"] and handled[0].payload == env.payload
    assert await depth(sqs, urls.dlq_url) == 0
    with pytest.raises(PoisonMessage, match="does not exist"):  # the body is removed once its work is done
        await store.get(key)


async def test_without_a_claim_check_store_the_body_is_kept_whole_and_the_reason_left_out(
    sqs: SQSClient, settings: Settings
) -> None:
    urls = await limited_queues(sqs, settings.name_prefix)
    env = Envelope(kind=Kind.ECHO, journey_id="j-big", task_id="big", payload={"text": "big"})
    body = at_the_limit(env)
    await sqs.send_message(QueueUrl=urls.url, MessageBody=body, MessageAttributes=env.message_attributes())  # type: ignore[arg-type]

    async def handler(got: Envelope, ctx: HandlerContext) -> Sequence[Envelope]:
        raise Permanent("no")

    async with running_consumer(sqs, urls, handler, config=consumer_config(settings)) as stats:
        await eventually(lambda: stats.dead_lettered == 1)
    [dead] = await receive_all(sqs, urls.dlq_url, expected=1)
    attrs: dict[str, Any] = dead["MessageAttributes"]  # type: ignore[assignment]
    assert dead["Body"] == body
    assert ATTR_ERROR_TYPE not in attrs and attrs["journey_id"]["StringValue"] == "j-big"
    assert sqs_message_size(body, attrs) <= LIMIT

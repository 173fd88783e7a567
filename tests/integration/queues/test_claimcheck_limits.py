"""Claim checks are redeemed only from the producer's prefix and only up to a size cap: a message pointing anywhere
else in the messages bucket, or at an oversized object, is poison, dead-lettered on its first receive with its
reason, and the object it points at is left alone."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from types_aiobotocore_s3 import S3Client
from types_aiobotocore_sqs import SQSClient

from queues.bootstrap import bootstrap
from queues.claimcheck import KEY_PREFIX, MAX_BODY_BYTES, ClaimCheck
from queues.consumer import HandlerContext
from queues.directory import QueueDirectory
from queues.envelope import ATTR_CLAIM_CHECK, Envelope, Kind
from shared.config import Settings
from shared.errors import PoisonMessage
from shared.resources import DataResources
from tests.helpers import depth, receive_all
from workers.echo import handle_echo
from workers.runner import run_stage


def _padded_envelope(task_id: str, size: int) -> bytes:
    """A valid echo envelope padded with JSON whitespace to exactly `size` bytes (it would be handled if read)."""
    body = Envelope(kind=Kind.ECHO, journey_id="j-cc", task_id=task_id, payload={"text": task_id}).to_body().encode()
    assert len(body) <= size
    return body + b" " * (size - len(body))


async def test_the_store_reads_a_body_at_the_cap_and_refuses_one_byte_more(s3: S3Client, settings: Settings) -> None:
    await bootstrap(settings)
    bucket = DataResources(settings.name_prefix).messages_bucket.name
    store = ClaimCheck(s3, bucket)
    at_cap, over_cap = f"{KEY_PREFIX}echo/at-cap.json", f"{KEY_PREFIX}echo/over-cap.json"
    await s3.put_object(Bucket=bucket, Key=at_cap, Body=_padded_envelope("at-cap", MAX_BODY_BYTES))
    await s3.put_object(Bucket=bucket, Key=over_cap, Body=_padded_envelope("over-cap", MAX_BODY_BYTES + 1))

    body = await store.get(at_cap)
    assert len(body) == MAX_BODY_BYTES and Envelope.from_body(body).task_id == "at-cap"
    with pytest.raises(PoisonMessage, match=f"is {MAX_BODY_BYTES + 1} bytes, over the {MAX_BODY_BYTES} byte cap"):
        await store.get(over_cap)


@pytest.mark.parametrize(
    "key",
    [
        "outside/echo/x.json",  # elsewhere in the bucket
        "claim-check",  # the prefix without its slash
        KEY_PREFIX,  # the prefix itself, no object name
        "/claim-check/echo/x.json",
        "Claim-Check/echo/x.json",
    ],
)
async def test_the_store_refuses_keys_outside_its_prefix_even_when_the_object_exists(
    s3: S3Client, settings: Settings, key: str
) -> None:
    await bootstrap(settings)
    bucket = DataResources(settings.name_prefix).messages_bucket.name
    await s3.put_object(Bucket=bucket, Key=key, Body=_padded_envelope("outside", 300))
    with pytest.raises(PoisonMessage, match="is not under 'claim-check/'"):
        await ClaimCheck(s3, bucket).get(key)


async def test_claim_checks_outside_the_prefix_or_over_the_cap_are_dead_lettered_and_left_in_place(
    sqs: SQSClient, s3: S3Client, settings: Settings
) -> None:
    await bootstrap(settings)
    urls = await QueueDirectory(sqs, settings.name_prefix).urls(Kind.ECHO)
    bucket = DataResources(settings.name_prefix).messages_bucket.name
    outside, huge, fine = "outside/echo/readable.json", f"{KEY_PREFIX}echo/huge.json", f"{KEY_PREFIX}echo/fine.json"
    # Each object holds a valid envelope: only the key and the size decide.
    await s3.put_object(Bucket=bucket, Key=outside, Body=_padded_envelope("outside", 300))
    await s3.put_object(Bucket=bucket, Key=huge, Body=_padded_envelope("huge", MAX_BODY_BYTES + 1))
    await s3.put_object(Bucket=bucket, Key=fine, Body=_padded_envelope("fine", 300))
    reasons = {outside: "is not under 'claim-check/'", huge: "over the 16777216 byte cap"}
    for key in (outside, huge, fine):
        await sqs.send_message(
            QueueUrl=urls.url,
            MessageBody='{"claim_check": "' + key + '"}',
            MessageAttributes={ATTR_CLAIM_CHECK: {"DataType": "String", "StringValue": key}},
        )

    handled: list[str] = []

    async def recording_echo(envelope: Envelope, ctx: HandlerContext) -> Sequence[Envelope]:
        handled.append(envelope.task_id or "")
        return await handle_echo(envelope, ctx)

    stop = asyncio.Event()
    worker = asyncio.create_task(run_stage(Kind.ECHO, settings, stop, handler=recording_echo))
    try:
        dead = await receive_all(sqs, urls.dlq_url, expected=len(reasons), timeout=60)
    finally:
        stop.set()
        stats = await asyncio.wait_for(worker, timeout=60)

    assert handled == ["fine"], "only the claim check under the prefix and within the cap is handled"
    assert stats.dead_lettered == len(reasons) and stats.retried == 0
    by_key = {str(m["Body"]).split('"')[3]: m for m in dead}
    assert set(by_key) == set(reasons)
    for key, reason in reasons.items():
        attrs = by_key[key]["MessageAttributes"]
        assert attrs["error_type"]["StringValue"] == "PoisonMessage", key  # type: ignore[index]
        assert reason in attrs["error_message"]["StringValue"], key  # type: ignore[index]
    # A refused claim check is never deleted: the consumer must not be steered into deleting other objects.
    for key in (outside, huge):
        assert (await s3.head_object(Bucket=bucket, Key=key))["ContentLength"] > 0
    assert await depth(sqs, urls.url) == 0

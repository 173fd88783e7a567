"""Bad input on a real stage queue: every unreadable message goes to the DLQ on its first receive, with its reason,
while good messages around it are handled exactly once and the consumer keeps running."""

from __future__ import annotations

import asyncio
import base64
import json
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from types_aiobotocore_s3 import S3Client
from types_aiobotocore_sqs import SQSClient

from queues.bootstrap import bootstrap
from queues.consumer import HandlerContext
from queues.directory import QueueDirectory
from queues.envelope import ATTR_CLAIM_CHECK, Envelope, Kind
from shared.config import Settings
from shared.errors import NotReadyYet
from shared.resources import DataResources
from tests.helpers import depth, eventually, receive_all
from workers.echo import handle_echo
from workers.runner import run_stage

SQS_MAX_BODY = 256 * 1024  # the classic SQS limit; moto allows more, a real queue may be configured to it


@dataclass(frozen=True)
class Bad:
    """A message that must be dead-lettered on first receive, and what its `error_message` must say."""

    name: str
    body: str
    reason: str
    attributes: dict[str, dict[str, str]] = field(default_factory=dict)


def _junk_text(rng: random.Random, n: int) -> str:
    """Printable junk SQS accepts (tabs, Latin-1, private use, astral characters) that is not JSON."""
    alphabet = "\t\n\r" + "".join(map(chr, range(0x20, 0x7F))) + "éßЖ中\ue000\U0001f600\U0010fffd"
    return "~" + "".join(rng.choice(alphabet) for _ in range(n))


def _envelope(**fields: object) -> str:
    base: dict[str, object] = {"schema_version": 1, "kind": "echo", "journey_id": "j-bad", "payload": {}}
    return json.dumps({**base, **fields})


def bad_messages(rng: random.Random) -> list[Bad]:
    near_max = SQS_MAX_BODY - 1024  # leaves room for the message attributes within the classic limit
    return [
        # random bytes, as they can travel on SQS: base64 of binary, and printable junk
        Bad("random bytes (base64)", base64.b64encode(rng.randbytes(3000)).decode(), "not JSON"),
        Bad("printable junk", _junk_text(rng, 2000), "not JSON"),
        Bad("truncated envelope", _envelope(task_id="t")[:-7], "not JSON"),
        Bad("NaN", _envelope()[:-1] + ', "attempt": NaN}', "NaN is not valid JSON"),
        Bad("nesting deeper than the recursion limit", "[" * 100_000 + "]" * 100_000, "not JSON"),
        Bad("integer too long to read", '{"schema_version": ' + "7" * 5000 + "}", "not JSON"),
        # valid JSON of the wrong shape
        Bad("JSON list", "[1, 2, 3]", "JSON list, not an object"),
        Bad("JSON string", '"echo"', "JSON str, not an object"),
        Bad("JSON null", "null", "JSON NoneType, not an object"),
        Bad("JSON number", "42", "JSON int, not an object"),
        Bad("no journey_id", json.dumps({"schema_version": 1, "kind": "echo"}), "journey_id: Field required"),
        Bad("unknown kind", _envelope(kind="teleport"), "kind: Input should be"),
        Bad("kind of the wrong type", _envelope(kind=5), "kind: Input should be"),
        Bad("payload is a list", _envelope(payload=[1, 2]), "payload: Input should be a valid dictionary"),
        Bad("unknown field", _envelope(surprise=True), "surprise: Extra inputs are not permitted"),
        Bad("absurd attempt", _envelope(attempt=10**30), "attempt: Input should be less than or equal to"),
        Bad("another stage's message", _envelope(kind="fetch"), "message of kind 'fetch' on the 'echo' queue"),
        # unknown schema_version, including values json.loads would equate with 1
        Bad("future schema_version", _envelope(schema_version=2), "unknown schema_version 2;"),
        Bad("schema_version as a string", _envelope(schema_version="1"), "unknown schema_version '1';"),
        Bad("schema_version true", _envelope(schema_version=True), "unknown schema_version True;"),
        Bad("schema_version 1.0", _envelope(schema_version=1.0), "unknown schema_version 1.0;"),
        Bad("no schema_version", json.dumps({"kind": "echo", "journey_id": "j"}), "unknown schema_version None;"),
        # huge bodies near the classic 256 KiB limit
        Bad("huge junk", "x" * near_max, "not JSON"),
        Bad("huge envelope, future schema", _envelope(schema_version=3, payload={"text": "y" * (near_max - 200)}),
            "unknown schema_version 3;"),
        Bad("huge envelope of the wrong shape", _envelope(payload="z" * (near_max - 200)),
            "payload: Input should be a valid dictionary"),
        # claim checks that cannot be redeemed
        Bad(
            "claim check to a missing object",
            '{"claim_check": "claim-check/echo/never-stored.json"}',
            "claim-check/echo/never-stored.json does not exist",
            {ATTR_CLAIM_CHECK: {"DataType": "String", "StringValue": "claim-check/echo/never-stored.json"}},
        ),
        Bad(
            "claim check to binary junk",
            '{"claim_check": "claim-check/echo/binary.json"}',
            "claim-check/echo/binary.json is not UTF-8 text",
            {ATTR_CLAIM_CHECK: {"DataType": "String", "StringValue": "claim-check/echo/binary.json"}},
        ),
    ]  # fmt: skip


def good_messages() -> list[Envelope]:
    good = [
        Envelope(kind=Kind.ECHO, journey_id="j-good", task_id=f"g{i}", payload={"text": f"good-{i}"}) for i in range(12)
    ]
    # A readable body near the limit is not bad input: it is handled like any other.
    big_text = "good-big-" + "b" * (SQS_MAX_BODY - 2048)
    good.append(Envelope(kind=Kind.ECHO, journey_id="j-good", task_id="g-big", payload={"text": big_text}))
    return good


async def test_bad_messages_are_dead_lettered_on_first_receive_and_nothing_else_is_disturbed(
    sqs: SQSClient, s3: S3Client, settings: Settings
) -> None:
    await bootstrap(settings)
    urls = await QueueDirectory(sqs, settings.name_prefix).urls(Kind.ECHO)
    bucket = DataResources(settings.name_prefix).messages_bucket.name
    await s3.put_object(Bucket=bucket, Key="claim-check/echo/binary.json", Body=b"\xff\xfe\x00garbage\xc3\x28")
    rng = random.Random(8)
    bad = bad_messages(rng)
    good = good_messages()
    assert max(len(b.body.encode()) for b in bad) > SQS_MAX_BODY - 1100, "no body near the SQS limit"
    assert len({b.body for b in bad}) == len(bad)

    # Interleave: good, bad, good, bad, ... straight onto the stage queue, bypassing the producer.
    sends: list[tuple[str, dict[str, dict[str, str]]]] = []
    for i in range(max(len(bad), len(good))):
        if i < len(good):
            sends.append((good[i].to_body(), dict(good[i].message_attributes())))
        if i < len(bad):
            sends.append((bad[i].body, bad[i].attributes))
    for body, attributes in sends:
        await sqs.send_message(QueueUrl=urls.url, MessageBody=body, MessageAttributes=attributes)  # type: ignore[arg-type]

    handled: list[str] = []

    async def recording_echo(envelope: Envelope, ctx: HandlerContext) -> Sequence[Envelope]:
        handled.append(str(envelope.payload.get("text", ""))[:20])
        return await handle_echo(envelope, ctx)

    stop = asyncio.Event()
    worker = asyncio.create_task(run_stage(Kind.ECHO, settings, stop, handler=recording_echo))
    try:
        dead = await receive_all(sqs, urls.dlq_url, expected=len(bad), timeout=60)
        await eventually(lambda: len(handled) >= len(good), timeout=30)
        await eventually(lambda: _empty(sqs, urls.url), timeout=30)

        # The consumer is still running: one more good message is handled.
        late = Envelope(kind=Kind.ECHO, journey_id="j-good", task_id="late", payload={"text": "good-late"})
        await sqs.send_message(QueueUrl=urls.url, MessageBody=late.to_body())
        await eventually(lambda: "good-late" in handled, timeout=30)
        assert not worker.done(), "the worker stopped"
    finally:
        stop.set()
        stats = await asyncio.wait_for(worker, timeout=60)

    expected_good = Counter([str(e.payload["text"])[:20] for e in good] + ["good-late"])
    assert Counter(handled) == expected_good, "a good message was lost or handled twice"
    assert not [h for h in handled if not h.startswith("good-")], "the handler saw a bad message"

    # Each message was received exactly once: bad ones were dead-lettered on that first receive, never retried.
    assert stats.received == len(bad) + len(good) + 1
    assert stats.retried == 0
    assert stats.dead_lettered == len(bad)
    assert stats.succeeded == len(good) + 1

    by_body = {str(m["Body"]): m for m in dead}
    assert len(by_body) == len(bad), "a bad message reached the DLQ twice"
    for b in bad:
        message = by_body.get(b.body)
        assert message is not None, f"{b.name}: not in the DLQ with its original body"
        attrs = message["MessageAttributes"]
        assert attrs["error_type"]["StringValue"] == "PoisonMessage", b.name  # type: ignore[index]
        reason = attrs["error_message"]["StringValue"]  # type: ignore[index]
        assert b.reason in reason, f"{b.name}: reason {reason!r} does not say {b.reason!r}"
        assert len(reason) <= 1000
        assert attrs["source_queue"]["StringValue"] == urls.url.rsplit("/", 1)[-1]  # type: ignore[index]
    assert await depth(sqs, urls.url) == 0


async def _empty(sqs: SQSClient, url: str) -> bool:
    return await depth(sqs, url) == 0


async def test_a_message_waiting_for_the_thousandth_time_is_still_sent_back_later(
    sqs: SQSClient, settings: Settings
) -> None:
    """An attempt count far past the backoff's maximum (a call rechecked for days) must not break the re-send."""
    await bootstrap(settings)
    urls = await QueueDirectory(sqs, settings.name_prefix).urls(Kind.ECHO)
    veteran = Envelope(kind=Kind.ECHO, journey_id="j-old", task_id="veteran", attempt=5000, payload={"text": "old"})
    await sqs.send_message(QueueUrl=urls.url, MessageBody=veteran.to_body())
    seen: list[int] = []

    async def not_ready_once(envelope: Envelope, ctx: HandlerContext) -> Sequence[Envelope]:
        seen.append(envelope.attempt)
        if envelope.attempt == 5000:
            raise NotReadyYet("still waiting")
        return ()

    tuned = settings.model_copy(update={"not_ready_base_s": 1.0, "not_ready_max_s": 1.0})
    stop = asyncio.Event()
    worker = asyncio.create_task(run_stage(Kind.ECHO, tuned, stop, handler=not_ready_once))
    try:
        await eventually(lambda: seen == [5000, 5001], timeout=30)
    finally:
        stop.set()
        stats = await asyncio.wait_for(worker, timeout=60)
    assert stats.retried == 1 and stats.succeeded == 1 and stats.dead_lettered == 0
    assert await depth(sqs, urls.dlq_url) == 0

"""Dead-letter queues: look at what is in them without consuming it, and replay it to the stage's source queue.

Reading (`list_dead_letters`) receives with a short visibility and makes everything it read visible again at once.

A message whose body was moved to the claim-check store (too large for SQS, or too large to carry the reason
attributes into the DLQ) keeps a small pointer body `{"claim_check": key, kind, journey_id, task_id}` and its
`claim_check` attribute: listing reads the routing fields from the pointer, replaying sends the pointer back (the
consumer loads the body), and `tracking_reopener(claim_check=…)` reads the body to find the call.

Replaying (`replay`) moves matching messages back to the work queue: receive → (optional hook, e.g. reopen the
call's FAILED tracking row) → send to the source queue with the same body and attributes, minus the `error_*` and
`source_queue` ones, plus `replay_count + 1` → delete from the DLQ only after the send succeeded. A crash or an
interruption in between leaves a duplicate (the tracking table absorbs it), never a lost message. Messages that do not
match the filters, that are over the replay cap, or that a dry run only counts are held invisible for the pass (so
the pass can reach the messages behind them) and made visible again (visibility 0) as soon as the pass ends, however
it ends. With no filters and no hook, SQS's own `StartMessageMoveTask` is tried first; endpoints without it (moto)
fall back to the loop.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from queues.claimcheck import ClaimCheck
from queues.directory import QueueUrls
from queues.envelope import ATTR_ERROR_MESSAGE, ATTR_ERROR_TYPE, ATTR_JOURNEY, ATTR_KIND, ATTR_SOURCE_QUEUE, Kind
from shared.logging import get_logger
from shared.recovery import REOPEN_STAGES, reopen_failed

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient
    from types_aiobotocore_sqs import SQSClient
    from types_aiobotocore_sqs.type_defs import MessageTypeDef

log = get_logger(__name__)

ATTR_REPLAY_COUNT = "replay_count"
DEFAULT_MAX_REPLAYS = 3
_DROPPED_ON_REPLAY = frozenset({ATTR_ERROR_TYPE, ATTR_ERROR_MESSAGE, ATTR_SOURCE_QUEUE, ATTR_REPLAY_COUNT})
_SQS_MAX_ATTRIBUTES = 10
_HOLD_S = 30  # how long a message read by a pass stays invisible if the process dies before releasing it
_WAIT_S = 1  # long poll of each receive: an empty receive ends the pass


@dataclass(frozen=True)
class DeadLetter:
    """One message in a DLQ, as `dlq list` shows it."""

    message_id: str
    journey_id: str | None
    task_id: str | None
    kind: str | None
    error_type: str | None
    error_message: str | None
    receive_count: int
    age_s: float  # since the message entered the DLQ
    replay_count: int


@dataclass
class ReplayCounts:
    """What a replay did."""

    moved: int = 0
    skipped_non_matching: int = 0
    refused_over_cap: int = 0
    would_move: int = 0
    reopened: int = 0  # FAILED tracking rows put back to the stage's expected status
    move_task: str | None = None  # the StartMessageMoveTask handle when SQS moved the messages itself
    refused: list[str] = field(default_factory=list)  # message ids over the cap

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


BeforeSend = Callable[[str], Awaitable[bool]]  # body → True if something was reopened


def _attr(msg: MessageTypeDef, name: str) -> str | None:
    value = msg.get("MessageAttributes", {}).get(name)
    return value.get("StringValue") if value else None


def _body_fields(body: str) -> dict[str, Any]:
    """`task_id`/`journey_id`/`kind` of a body, leniently (a poison body gives nothing)."""
    try:
        raw = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError, TypeError):
        return {}
    return raw if isinstance(raw, dict) else {}


def _dead_letter(msg: MessageTypeDef, now: float) -> DeadLetter:
    body = _body_fields(msg.get("Body", ""))
    system = msg.get("Attributes", {})
    sent_ms = int(system.get("SentTimestamp", "0"))
    task = body.get("task_id")
    return DeadLetter(
        message_id=msg["MessageId"],
        journey_id=_attr(msg, ATTR_JOURNEY) or _str(body.get("journey_id")),
        task_id=_str(task),
        kind=_attr(msg, ATTR_KIND) or _str(body.get("kind")),
        error_type=_attr(msg, ATTR_ERROR_TYPE),
        error_message=_attr(msg, ATTR_ERROR_MESSAGE),
        receive_count=int(system.get("ApproximateReceiveCount", "1")),
        age_s=max(0.0, now - sent_ms / 1000) if sent_ms else 0.0,
        replay_count=_replay_count(msg),
    )


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _replay_count(msg: MessageTypeDef) -> int:
    try:
        return int(_attr(msg, ATTR_REPLAY_COUNT) or 0)
    except ValueError:
        return 0


async def _receive(sqs: SQSClient, url: str, n: int, wait_s: int) -> list[MessageTypeDef]:
    resp = await sqs.receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=max(1, min(10, n)),
        WaitTimeSeconds=wait_s,
        VisibilityTimeout=_HOLD_S,
        MessageSystemAttributeNames=["ApproximateReceiveCount", "SentTimestamp"],
        MessageAttributeNames=["All"],
    )
    return resp.get("Messages", [])


async def _release(sqs: SQSClient, url: str, receipts: list[str]) -> None:
    """Make messages visible again at once (visibility 0), 10 per call; failures are logged, never raised."""
    for i in range(0, len(receipts), 10):
        entries = [
            {"Id": str(j), "ReceiptHandle": r, "VisibilityTimeout": 0} for j, r in enumerate(receipts[i : i + 10])
        ]
        try:
            resp = await sqs.change_message_visibility_batch(QueueUrl=url, Entries=entries)  # type: ignore[arg-type]
        except Exception:
            log.exception("dlq_release_failed", count=len(entries))
            continue
        for failure in resp.get("Failed", []):
            log.warning("dlq_release_rejected", reason=failure.get("Message"))


async def list_dead_letters(sqs: SQSClient, urls: QueueUrls, *, max_messages: int = 100) -> list[DeadLetter]:
    """Up to `max_messages` messages of the DLQ, read without consuming them (made visible again at once)."""
    seen: dict[str, DeadLetter] = {}
    receipts: list[str] = []
    try:
        while len(seen) < max_messages:
            got = await _receive(sqs, urls.dlq_url, max_messages - len(seen), _WAIT_S)
            if not got:
                break
            now = time.time()
            for msg in got:
                receipts.append(msg["ReceiptHandle"])
                seen.setdefault(msg["MessageId"], _dead_letter(msg, now))
    finally:
        await asyncio.shield(_release(sqs, urls.dlq_url, receipts))
    return list(seen.values())


def _replay_attributes(msg: MessageTypeDef, count: int) -> dict[str, Any]:
    attributes: dict[str, Any] = {ATTR_REPLAY_COUNT: {"DataType": "Number", "StringValue": str(count)}}
    for name, value in msg.get("MessageAttributes", {}).items():
        if name in _DROPPED_ON_REPLAY or len(attributes) >= _SQS_MAX_ATTRIBUTES:
            continue
        attributes[name] = {k: v for k, v in value.items() if k in ("DataType", "StringValue", "BinaryValue")}
    return attributes


async def _queue_arn(sqs: SQSClient, url: str) -> str:
    attrs = await sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return attrs["Attributes"]["QueueArn"]


async def _move_task(
    sqs: SQSClient, urls: QueueUrls, rate_per_s: float | None, timeout_s: float, counts: ReplayCounts
) -> ReplayCounts:
    """Let SQS move the whole DLQ, updating `counts`; raises when the endpoint does not implement it."""
    source, destination = await _queue_arn(sqs, urls.dlq_url), await _queue_arn(sqs, urls.url)
    kwargs: dict[str, Any] = {"SourceArn": source, "DestinationArn": destination}
    if rate_per_s:
        kwargs["MaxNumberOfMessagesPerSecond"] = max(1, int(rate_per_s))
    handle = (await sqs.start_message_move_task(**kwargs))["TaskHandle"]
    log.info("dlq_move_task_started", task_handle=handle)
    counts.move_task = handle
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        tasks = (await sqs.list_message_move_tasks(SourceArn=source, MaxResults=10)).get("Results", [])
        mine = next((t for t in tasks if t.get("TaskHandle") == handle), tasks[0] if tasks else None)
        if mine is not None:
            counts.moved = int(mine.get("ApproximateNumberOfMessagesMoved", 0))
            if mine.get("Status") in ("COMPLETED", "FAILED", "CANCELLED"):
                if mine.get("Status") != "COMPLETED":
                    log.error("dlq_move_task_ended", status=mine.get("Status"), reason=mine.get("FailureReason"))
                return counts
        await asyncio.sleep(0.5)
    log.warning("dlq_move_task_still_running", task_handle=handle, moved_so_far=counts.moved)
    return counts


async def replay(
    sqs: SQSClient,
    urls: QueueUrls,
    *,
    journey_id: str | None = None,
    error_type: str | None = None,
    max_messages: int | None = None,
    rate_per_s: float | None = None,
    dry_run: bool = False,
    max_replays: int = DEFAULT_MAX_REPLAYS,
    before_send: BeforeSend | None = None,
    use_move_task: bool = True,
    wait_s: int = _WAIT_S,
    progress: ReplayCounts | None = None,
) -> ReplayCounts:
    """Move matching DLQ messages back to the source queue (see the module docstring); returns the counts.

    `before_send(body)` runs before each send (e.g. `tracking_reopener`): it must be idempotent, since an
    interrupted replay runs it again for the same message. `progress`, when given, is the counts object updated in
    place as the pass goes (and returned): a caller may read it while the replay runs (the API's replay jobs do).
    """
    if rate_per_s is not None and rate_per_s <= 0:
        raise ValueError("rate_per_s must be positive")
    counts = progress if progress is not None else ReplayCounts()
    unfiltered = journey_id is None and error_type is None and max_messages is None
    if use_move_task and unfiltered and not dry_run and before_send is None:
        try:
            return await _move_task(sqs, urls, rate_per_s, 300, counts)
        except Exception as exc:
            counts.move_task, counts.moved = None, 0
            log.info("dlq_move_task_unavailable", error=str(exc)[:200], fallback="receive-send-delete loop")

    held: dict[str, None] = {}  # receipts read, not deleted: made visible again when the pass ends
    seen: set[str] = set()
    interval = 1.0 / rate_per_s if rate_per_s else 0.0
    next_send = time.monotonic()

    def taken() -> int:
        return counts.moved + counts.would_move

    try:
        while max_messages is None or taken() < max_messages:
            want = 10 if max_messages is None else max_messages - taken()
            got = await _receive(sqs, urls.dlq_url, want, wait_s)
            if not got:
                break
            held.update(dict.fromkeys(m["ReceiptHandle"] for m in got))
            if all(m["MessageId"] in seen for m in got):  # only messages this pass already looked at: done
                break
            for msg in got:
                if max_messages is not None and taken() >= max_messages:
                    break
                message_id = msg["MessageId"]
                if message_id in seen:
                    continue
                seen.add(message_id)
                letter = _dead_letter(msg, time.time())
                if (journey_id is not None and letter.journey_id != journey_id) or (
                    error_type is not None and letter.error_type != error_type
                ):
                    counts.skipped_non_matching += 1
                    continue
                if letter.replay_count >= max_replays:
                    counts.refused_over_cap += 1
                    counts.refused.append(message_id)
                    log.error(
                        "dlq_replay_refused",
                        message_id=message_id,
                        task_id=letter.task_id,
                        replay_count=letter.replay_count,
                        max_replays=max_replays,
                        reason=(
                            f"message {message_id} was already replayed {letter.replay_count} times "
                            f"(cap {max_replays}); it stays in the DLQ: fix the cause ({letter.error_type}: "
                            f"{letter.error_message}) or raise --max-replays"
                        ),
                    )
                    continue
                if dry_run:
                    counts.would_move += 1
                    continue
                if interval:
                    delay = next_send - time.monotonic()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    next_send = max(next_send, time.monotonic()) + interval
                body = msg.get("Body", "")
                try:
                    if before_send is not None and await before_send(body):
                        counts.reopened += 1
                    # Send first, delete second: a crash in between leaves a duplicate, never a lost message.
                    await sqs.send_message(
                        QueueUrl=urls.url,
                        MessageBody=body,
                        MessageAttributes=_replay_attributes(msg, letter.replay_count + 1),
                    )
                except Exception:
                    log.exception("dlq_replay_send_failed", message_id=message_id)
                    continue
                await sqs.delete_message(QueueUrl=urls.dlq_url, ReceiptHandle=msg["ReceiptHandle"])
                held.pop(msg["ReceiptHandle"], None)
                counts.moved += 1
                log.info(
                    "dlq_replayed", message_id=message_id, task_id=letter.task_id, replay_count=letter.replay_count + 1
                )
    finally:
        await asyncio.shield(_release(sqs, urls.dlq_url, list(held)))
    log.info("dlq_replay_done", dry_run=dry_run, **{k: v for k, v in counts.as_dict().items() if k != "refused"})
    return counts


def tracking_reopener(
    ddb: DynamoDBClient,
    tracking_table: str,
    journeys_table: str,
    kind: Kind,
    *,
    claim_check: ClaimCheck | None = None,
) -> BeforeSend | None:
    """A `before_send` hook that reopens the FAILED tracking row of a fetch/transcribe/analyze message's call.

    A claim-checked entry (a pointer body `{"claim_check": key}`: a large message, or one whose body was moved aside
    when it was dead-lettered) is read from `claim_check`; without one, its call cannot be found and is not reopened.
    """
    stage = kind.value
    if stage not in REOPEN_STAGES:
        return None

    async def reopen(body: str) -> bool:
        fields = _body_fields(body)
        key = fields.get("claim_check")
        if isinstance(key, str) and "payload" not in fields:
            if claim_check is None:
                log.warning("dlq_reopen_claim_check_unreadable", key=key, reason="no claim-check store given")
                return False
            fields = _body_fields(await claim_check.get(key))
        payload = fields.get("payload")
        if not isinstance(payload, dict):
            return False
        org_id, task_id = payload.get("org_id"), payload.get("task_id")
        if not isinstance(org_id, str) or not isinstance(task_id, str):
            return False
        return await reopen_failed(ddb, tracking_table, journeys_table, org_id, task_id, stage)

    return reopen


async def dlq_depth(sqs: SQSClient, urls: QueueUrls) -> int:
    """Visible + in-flight + delayed messages of a DLQ."""
    attrs = (
        await sqs.get_queue_attributes(
            QueueUrl=urls.dlq_url,
            AttributeNames=[
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed",
            ],
        )
    )["Attributes"]
    return sum(int(v) for v in attrs.values())

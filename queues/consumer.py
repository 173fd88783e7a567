"""The consumer runtime: long-poll a stage queue, run its handler with bounded concurrency, ack, retry, dead-letter.

A handler is a plain async function `(envelope, context) -> next envelopes`; it never touches SQS. The runtime:

* receives in batches (long poll) only as many messages as it has free handler slots for;
* binds `stage`, `message_id`, `journey_id`, `task_id` into the structlog context of each message;
* sends the handler's next messages, then deletes the message (deletes are batched, 10 per call);
* keeps a long handler's message invisible with a heartbeat (ChangeMessageVisibilityBatch before it expires), and on
  the same loop runs the keep-alive callbacks a handler registered for its delivery (`HandlerContext.keep_alive`, e.g.
  renewing the stage lease on the call's tracking row) at their own interval, until the delivery ends;
* `Retryable` → the message stays and becomes visible again after a backoff; on its last receive (the queue's
  redrive `maxReceiveCount`) the consumer dead-letters it itself, with the last failure as `error_type`/`error_message`
  (SQS's own redrive would move it without a reason); `NotReadyYet` → re-sent delayed with `attempt + 1` (waiting
  does not use up receives); `Permanent` or unreadable → sent to the DLQ at once with `error_type`/`error_message`;
  a body too large to carry those reason attributes within the DLQ's size limit is moved to the claim-check store
  and the DLQ entry carries a pointer to it (see `_dead_letter_entry`);
* on stop: receives no more, lets in-flight handlers finish within a grace period, and makes the messages of any
  handler still running visible again at once (visibility 0), so nothing waits a full timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import structlog

from queues.backoff import backoff_seconds
from queues.claimcheck import ClaimCheck
from queues.directory import QueueUrls
from queues.envelope import (
    ATTR_CLAIM_CHECK,
    ATTR_ERROR_MESSAGE,
    ATTR_ERROR_TYPE,
    ATTR_SOURCE_QUEUE,
    Envelope,
    Kind,
    sqs_message_size,
)
from queues.producer import Producer
from shared.config import Settings
from shared.errors import NotReadyYet, Permanent, PoisonMessage, Retryable
from shared.logging import get_logger
from shared.metrics import stage_metrics

if TYPE_CHECKING:
    from types_aiobotocore_sqs import SQSClient
    from types_aiobotocore_sqs.type_defs import MessageTypeDef

log = get_logger(__name__)

_SQS_MAX_ATTRIBUTES = 10
SQS_MAX_DELAY_S = 900
SQS_DEFAULT_MAX_MESSAGE_BYTES = 256 * 1024  # a queue's MaximumMessageSize unless it says otherwise
_ERROR_MESSAGE_LIMIT = 1000
# Past this many steps the exponential backoff is at its maximum anyway; a bigger count (a poll rechecked for days, a
# queue without redrive) would only overflow the float arithmetic and fail the message's disposition.
_BACKOFF_STEPS_CAP = 64


KeepAlive = Callable[[], Awaitable[None]]
"""A callback the consumer's heartbeat calls while a delivery's handler runs; it logs its own failures."""


@dataclass(frozen=True)
class HandlerContext:
    """What a handler may know about the delivery of its message (never the SQS handles themselves)."""

    stage: Kind
    message_id: str
    receive_count: int
    sent_at: float  # epoch seconds SQS first accepted the message
    _register: Callable[[str, KeepAlive, float], None] | None = field(default=None, repr=False, compare=False)

    def keep_alive(self, callback: KeepAlive, every_s: float) -> bool:
        """Have the consumer's heartbeat call `callback` every `every_s` seconds (first after `every_s`) until this
        delivery ends, however it ends; False (nothing registered) for a context made outside a consumer."""
        if self._register is None:
            return False
        self._register(self.message_id, callback, every_s)
        return True


current_delivery: contextvars.ContextVar[HandlerContext | None] = contextvars.ContextVar(
    "callpipe_current_delivery", default=None
)
"""The delivery whose handler is running in this task: code below a handler (which is called without it, e.g.
`workers.outcomes.begin_stage`) reads it to register keep-alives. Each delivery runs in its own task, so its own
context; None outside a consumer."""

Handler = Callable[[Envelope, HandlerContext], Awaitable[Sequence[Envelope] | None]]


@dataclass(frozen=True)
class ConsumerConfig:
    """Tuning of one consumer; `from_settings` reads it from the environment."""

    concurrency: int = 10
    receivers: int = 1
    batch_size: int = 10
    wait_time_s: int = 20
    grace_period_s: float = 30.0
    backoff_base_s: float = 5.0
    backoff_max_s: float = 900.0
    not_ready_base_s: float = 60.0
    not_ready_max_s: float = 3600.0
    fill_wait_s: float = 0.05  # how long a receiver waits for a whole batch of free slots before taking fewer
    delete_flush_s: float = 0.005  # how long a lone delete waits for others to share its DeleteMessageBatch

    @classmethod
    def from_settings(cls, settings: Settings) -> ConsumerConfig:
        """Consumer tuning from `CALLPIPE_CONSUMER_*` / `CALLPIPE_BACKOFF_*` settings."""
        return cls(
            concurrency=settings.consumer_concurrency,
            receivers=settings.consumer_receivers,
            wait_time_s=settings.consumer_wait_time_s,
            grace_period_s=settings.consumer_grace_period_s,
            backoff_base_s=settings.backoff_base_s,
            backoff_max_s=settings.backoff_max_s,
            not_ready_base_s=settings.not_ready_base_s,
            not_ready_max_s=settings.not_ready_max_s,
        )


@dataclass
class ConsumerStats:
    """Counters of what the consumer did, for logs, tests and metrics."""

    received: int = 0
    succeeded: int = 0
    retried: int = 0
    dead_lettered: int = 0
    released: int = 0
    heartbeats: int = 0
    by_error_type: dict[str, int] = field(default_factory=dict)


@dataclass
class _InFlight:
    receipt: str
    deadline: float  # monotonic time at which the message would become visible again


@dataclass(eq=False)
class _KeepAliveEntry:
    callback: KeepAlive
    every_s: float
    due: float  # monotonic
    context: contextvars.Context  # the delivery's: its log fields (message, journey, task) stay bound
    running: asyncio.Task[None] | None = None


class Consumer:
    """Runs one stage's handler over its SQS queue until told to stop."""

    def __init__(
        self,
        *,
        sqs: SQSClient,
        kind: Kind,
        urls: QueueUrls,
        handler: Handler,
        producer: Producer | None = None,
        claim_check: ClaimCheck | None = None,
        config: ConsumerConfig | None = None,
    ) -> None:
        self._sqs = sqs
        self.kind = kind
        self._urls = urls
        self._handler = handler
        self._producer = producer
        self._claim_check = claim_check
        self.config = config or ConsumerConfig()
        self.stats = ConsumerStats()
        self._metrics = stage_metrics(kind.value)
        self._visibility_s = 30
        self._max_receive_count: int | None = None  # from the queue's redrive policy; None: no DLQ to hand over to
        self._free = self.config.concurrency
        self._slot_freed = asyncio.Event()
        self._inflight: dict[str, _InFlight] = {}  # by message id
        self._handlers: set[asyncio.Task[None]] = set()
        self._io: set[asyncio.Task[None]] = set()
        self._pending_deletes: list[tuple[str, str]] = []  # (message id, receipt)
        self._flush_timer: asyncio.TimerHandle | None = None
        self._to_release: list[str] = []  # receipts to make visible again when stopping
        self._stopped_at: float | None = None
        self._keep_alives: dict[str, list[_KeepAliveEntry]] = {}  # by message id, while its handler runs
        self._heartbeat_wake = asyncio.Event()
        self._dlq_max_bytes = SQS_DEFAULT_MAX_MESSAGE_BYTES

    async def run(self, stop: asyncio.Event) -> ConsumerStats:
        """Consume until `stop` is set, then drain; returns the counters."""
        attrs = await self._sqs.get_queue_attributes(
            QueueUrl=self._urls.url, AttributeNames=["VisibilityTimeout", "RedrivePolicy"]
        )
        self._visibility_s = int(attrs["Attributes"]["VisibilityTimeout"])
        self._max_receive_count = _max_receive_count(attrs["Attributes"].get("RedrivePolicy"))
        self._dlq_max_bytes = await self._queue_max_bytes(self._urls.dlq_url)
        log.info(
            "consumer_started",
            stage=self.kind.value,
            visibility_s=self._visibility_s,
            max_receive_count=self._max_receive_count,
            **_public(self.config),
        )
        heartbeat = asyncio.create_task(self._heartbeat_loop())
        try:
            await asyncio.gather(*(self._receive_loop(stop) for _ in range(self.config.receivers)))
        finally:
            await self._drain()
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
        log.info("consumer_stopped", stage=self.kind.value, **self.stats.__dict__)
        return self.stats

    async def _queue_max_bytes(self, url: str) -> int:
        """A queue's `MaximumMessageSize` (body + message attributes), SQS's old default if it cannot be read."""
        try:
            attrs = await self._sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["MaximumMessageSize"])
            return int(attrs["Attributes"]["MaximumMessageSize"])
        except Exception as exc:
            log.warning("queue_size_limit_unknown", queue=url.rsplit("/", 1)[-1], error=str(exc)[:200])
            return SQS_DEFAULT_MAX_MESSAGE_BYTES

    # --- receiving ---------------------------------------------------------------------------------------------

    async def _reserve(self) -> int:
        """Take up to one batch of free handler slots, waiting briefly for a whole batch to be free."""
        want = min(self.config.batch_size, self.config.concurrency)
        while self._free == 0:
            self._slot_freed.clear()
            await self._slot_freed.wait()
        if self._free < want:
            deadline = time.monotonic() + self.config.fill_wait_s
            while self._free < want and (left := deadline - time.monotonic()) > 0:
                self._slot_freed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._slot_freed.wait(), left)
        n = min(self._free, want)
        self._free -= n
        return n

    def _release(self, n: int) -> None:
        self._free += n
        self._slot_freed.set()

    async def _receive_loop(self, stop: asyncio.Event) -> None:
        stopping = asyncio.create_task(stop.wait())
        try:
            while not stop.is_set():
                reserve = asyncio.create_task(self._reserve())
                await asyncio.wait({reserve, stopping}, return_when=asyncio.FIRST_COMPLETED)
                if not reserve.done():  # stopping while every slot is busy
                    self._stopped_at = self._stopped_at or time.monotonic()
                    reserve.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await reserve
                    if not reserve.cancelled():
                        self._release(reserve.result())
                    break
                n = reserve.result()
                receive = asyncio.create_task(
                    self._sqs.receive_message(
                        QueueUrl=self._urls.url,
                        MaxNumberOfMessages=n,
                        WaitTimeSeconds=self.config.wait_time_s,
                        MessageSystemAttributeNames=["ApproximateReceiveCount", "SentTimestamp"],
                        MessageAttributeNames=["All"],
                    )
                )
                await asyncio.wait({receive, stopping}, return_when=asyncio.FIRST_COMPLETED)
                if not receive.done():
                    # Stopping during a long poll. Cancelling the call could leave messages SQS already handed out
                    # invisible for a whole visibility timeout; instead let the poll end (at most wait_time_s)
                    # and hand back whatever it brought at once.
                    self._stopped_at = self._stopped_at or time.monotonic()
                    with contextlib.suppress(Exception):
                        got = (await asyncio.wait_for(receive, self.config.wait_time_s + 5)).get("Messages", [])
                        self._to_release.extend(m["ReceiptHandle"] for m in got)
                    self._release(n)
                    break
                try:
                    messages = receive.result().get("Messages", [])
                except Exception:
                    log.exception("receive_failed", stage=self.kind.value)
                    self._release(n)
                    await asyncio.sleep(1.0)
                    continue
                if len(messages) < n:
                    self._release(n - len(messages))
                now = time.monotonic()
                if messages:
                    self._metrics.received(len(messages))
                for msg in messages:
                    self.stats.received += 1
                    self._inflight[msg["MessageId"]] = _InFlight(msg["ReceiptHandle"], now + self._visibility_s)
                    task = asyncio.create_task(self._process(msg))
                    self._handlers.add(task)
                    task.add_done_callback(self._handlers.discard)
        finally:
            stopping.cancel()

    # --- one message -------------------------------------------------------------------------------------------

    async def _process(self, msg: MessageTypeDef) -> None:
        message_id = msg["MessageId"]
        structlog.contextvars.bind_contextvars(stage=self.kind.value, message_id=message_id)
        system = msg.get("Attributes", {})
        receive_count = int(system.get("ApproximateReceiveCount", "1"))
        claim_key = msg.get("MessageAttributes", {}).get(ATTR_CLAIM_CHECK, {"DataType": "String"}).get("StringValue")
        envelope: Envelope | None = None
        try:
            try:
                envelope = await self._decode(msg, claim_key)
                structlog.contextvars.bind_contextvars(journey_id=envelope.journey_id, task_id=envelope.task_id)
                if envelope.kind is not self.kind:
                    raise PoisonMessage(f"message of kind {envelope.kind.value!r} on the {self.kind.value!r} queue")
                ctx = HandlerContext(
                    self.kind, message_id, receive_count, int(system.get("SentTimestamp", "0")) / 1000, self._register
                )
                current_delivery.set(ctx)
                self._metrics.started()
                started = time.monotonic()
                try:
                    following = await self._handler(envelope, ctx)
                finally:
                    self._metrics.finished(time.monotonic() - started)
                if following:
                    if self._producer is None:
                        raise RuntimeError("handler returned next messages but the consumer has no producer")
                    await self._producer.send(following)
            except Permanent as exc:
                await self._dead_letter(msg, exc)
            except NotReadyYet as exc:
                await self._not_ready(msg, envelope, exc, receive_count)
            except Retryable as exc:
                await self._retry_later(msg, exc, receive_count)
            except asyncio.CancelledError:
                self._to_release.append(msg["ReceiptHandle"])
                raise
            except Exception as exc:  # a bug or an unclassified failure: retry, and let SQS dead-letter it
                log.exception("handler_crashed", error_type=type(exc).__name__)
                await self._retry_later(msg, Retryable(f"{type(exc).__name__}: {exc}"), receive_count)
            else:
                self.stats.succeeded += 1
                self._metrics.succeeded()
                log.debug("message_done", receive_count=receive_count)
                self._delete_soon(message_id, msg["ReceiptHandle"])
                if claim_key and self._claim_check is not None:
                    await self._claim_check.delete(claim_key)
        except asyncio.CancelledError:
            raise
        except Exception:
            # Failing to retry or dead-letter leaves the message as it is: SQS redelivers it after its timeout.
            log.exception("message_disposition_failed")
        finally:
            self._inflight.pop(message_id, None)
            if self._keep_alives:
                self._end_keep_alives(message_id)
            self._release(1)

    async def _decode(self, msg: MessageTypeDef, claim_key: str | None) -> Envelope:
        body = msg.get("Body", "")
        if claim_key:
            if self._claim_check is None:
                raise PoisonMessage("claim-checked message but this consumer has no claim-check store")
            try:
                body = await self._claim_check.get(claim_key)
            except UnicodeDecodeError as exc:
                raise PoisonMessage(f"claim-check object {claim_key} is not UTF-8 text: {exc.reason}") from exc
        return Envelope.from_body(body)

    async def _not_ready(
        self, msg: MessageTypeDef, envelope: Envelope | None, exc: NotReadyYet, receive_count: int
    ) -> None:
        """Wait for the world, not for a fix: re-send the work delayed (attempt + 1) and delete this copy.

        Unlike a retry this does not count towards maxReceiveCount, so a call may wait hours for its recording;
        the stage bounds the wait by the call's age. Without a producer it falls back to a visibility backoff.
        """
        if self._producer is None or envelope is None:
            await self._retry_later(msg, exc, receive_count)
            return
        delay = backoff_seconds(
            min(envelope.attempt, _BACKOFF_STEPS_CAP),
            base_s=self.config.not_ready_base_s,
            max_s=self.config.not_ready_max_s,
            retry_after_s=exc.retry_after,
        )
        self._inflight.pop(msg["MessageId"], None)
        later = envelope.model_copy(update={"attempt": envelope.attempt + 1})
        # Send first, delete second: a crash in between leaves a duplicate the stage's tracking row absorbs.
        await self._producer.send([later], delay_s=min(delay, SQS_MAX_DELAY_S))
        await self._sqs.delete_message(QueueUrl=self._urls.url, ReceiptHandle=msg["ReceiptHandle"])
        self._count_error(exc)
        self.stats.retried += 1
        self._metrics.retried(type(exc).__name__)
        log.info("message_not_ready", reason=str(exc), attempt=envelope.attempt, again_in_s=min(delay, SQS_MAX_DELAY_S))

    async def _retry_later(self, msg: MessageTypeDef, exc: Retryable, receive_count: int) -> None:
        if self._max_receive_count is not None and receive_count >= self._max_receive_count:
            # The last receive SQS allows: hand the message to the DLQ now, with the reason, instead of letting the
            # redrive move it later without one.
            await self._dead_letter(msg, exc, retries_exhausted=True)
            return
        delay = backoff_seconds(
            min(receive_count, _BACKOFF_STEPS_CAP),
            base_s=self.config.backoff_base_s,
            max_s=self.config.backoff_max_s,
            retry_after_s=exc.retry_after,
        )
        self._count_error(exc)
        self._inflight.pop(msg["MessageId"], None)  # no more heartbeats: from now on the backoff owns visibility
        await self._sqs.change_message_visibility(
            QueueUrl=self._urls.url, ReceiptHandle=msg["ReceiptHandle"], VisibilityTimeout=delay
        )
        self.stats.retried += 1
        self._metrics.retried(type(exc).__name__)
        log.warning(
            "message_retry_later",
            error_type=type(exc).__name__,
            error=str(exc),
            receive_count=receive_count,
            visible_in_s=delay,
        )

    async def _dead_letter(self, msg: MessageTypeDef, exc: Exception, *, retries_exhausted: bool = False) -> None:
        error_type = type(exc).__name__
        reason: dict[str, Any] = {
            ATTR_ERROR_TYPE: {"DataType": "String", "StringValue": error_type},
            ATTR_ERROR_MESSAGE: {"DataType": "String", "StringValue": (str(exc) or error_type)[:_ERROR_MESSAGE_LIMIT]},
            ATTR_SOURCE_QUEUE: {"DataType": "String", "StringValue": self._urls.url.rsplit("/", 1)[-1]},
        }
        body, attributes = await self._dead_letter_entry(msg, reason)
        self._inflight.pop(msg["MessageId"], None)
        # Send first, delete second: a crash in between leaves a duplicate in the DLQ, never a lost message.
        await self._sqs.send_message(QueueUrl=self._urls.dlq_url, MessageBody=body, MessageAttributes=attributes)
        await self._sqs.delete_message(QueueUrl=self._urls.url, ReceiptHandle=msg["ReceiptHandle"])
        self._count_error(exc)
        self.stats.dead_lettered += 1
        self._metrics.dead_lettered(error_type)
        log.error("message_dead_lettered", error_type=error_type, error=str(exc), retries_exhausted=retries_exhausted)

    async def _dead_letter_entry(self, msg: MessageTypeDef, reason: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """The body and attributes of a message's DLQ entry: its own body and attributes plus the reason ones.

        A body already near the DLQ's `MaximumMessageSize` leaves no room for the reason (SQS counts message
        attributes in the size), so it moves to the claim-check store and the entry carries a pointer body
        (`{"claim_check": key, ...}` with the routing fields it could read) and the `claim_check` attribute, like a
        claim-checked message from the producer: replaying it sends the pointer, and the consumer loads the body.
        Without a claim-check store the body is kept whole and the reason attributes are left out (it is logged).
        """
        body = msg.get("Body") or "<empty>"
        attributes = _with_original_attributes(reason, msg)
        if sqs_message_size(body, attributes) <= self._dlq_max_bytes:
            return body, attributes
        if self._claim_check is None:
            log.error("dead_letter_reason_dropped", reason="the body leaves no room for it and no claim-check store")
            return body, _with_original_attributes({}, msg)
        key = await self._claim_check.put(self.kind.value, body)
        pointer = json.dumps({"claim_check": key, **_routing_fields(body)})
        attributes = _with_original_attributes(
            {**reason, ATTR_CLAIM_CHECK: {"DataType": "String", "StringValue": key}}, msg
        )
        if sqs_message_size(pointer, attributes) > self._dlq_max_bytes:  # the message's own attributes are huge
            attributes = {**reason, ATTR_CLAIM_CHECK: {"DataType": "String", "StringValue": key}}
        log.warning("dead_letter_body_claim_checked", key=key, body_bytes=len(body.encode()))
        return pointer, attributes

    def _count_error(self, exc: Exception) -> None:
        name = type(exc).__name__
        self.stats.by_error_type[name] = self.stats.by_error_type.get(name, 0) + 1

    # --- batched deletes -----------------------------------------------------------------------------------------

    def _delete_soon(self, message_id: str, receipt: str) -> None:
        self._pending_deletes.append((message_id, receipt))
        if len(self._pending_deletes) >= 10:
            self._flush_deletes()
        elif self._flush_timer is None:
            self._flush_timer = asyncio.get_running_loop().call_later(self.config.delete_flush_s, self._flush_deletes)

    def _flush_deletes(self) -> None:
        if self._flush_timer is not None:
            self._flush_timer.cancel()
            self._flush_timer = None
        while self._pending_deletes:
            batch, self._pending_deletes = self._pending_deletes[:10], self._pending_deletes[10:]
            task = asyncio.create_task(self._delete_batch(batch))
            self._io.add(task)
            task.add_done_callback(self._io.discard)

    async def _delete_batch(self, batch: list[tuple[str, str]]) -> None:
        entries = [{"Id": str(i), "ReceiptHandle": receipt} for i, (_, receipt) in enumerate(batch)]
        try:
            resp = await self._sqs.delete_message_batch(QueueUrl=self._urls.url, Entries=entries)  # type: ignore[arg-type]
        except Exception:
            log.exception("delete_failed", count=len(entries))
            return
        for failure in resp.get("Failed", []):
            # The message will come back; the stage's tracking row makes the second run a no-op.
            log.warning("delete_rejected", message_id=batch[int(failure["Id"])][0], reason=failure.get("Message"))

    # --- heartbeat ---------------------------------------------------------------------------------------------

    def _register(self, message_id: str, callback: KeepAlive, every_s: float) -> None:
        """`HandlerContext.keep_alive`: run `callback` from the heartbeat every `every_s` s while the delivery lasts."""
        every_s = max(0.05, every_s)
        self._keep_alives.setdefault(message_id, []).append(
            _KeepAliveEntry(callback, every_s, time.monotonic() + every_s, contextvars.copy_context())
        )
        self._heartbeat_wake.set()  # it may be due before the heartbeat's next tick

    def _end_keep_alives(self, message_id: str) -> None:
        for entry in self._keep_alives.pop(message_id, ()):
            if entry.running is not None:
                entry.running.cancel()

    def _next_keep_alive(self) -> float:
        return min(
            (e.due for entries in self._keep_alives.values() for e in entries if e.running is None),
            default=float("inf"),
        )

    def _run_keep_alives(self, now: float) -> None:
        for entries in self._keep_alives.values():
            for entry in entries:
                if entry.running is None and entry.due <= now:
                    entry.running = asyncio.create_task(self._keep_alive(entry), context=entry.context)

    async def _keep_alive(self, entry: _KeepAliveEntry) -> None:
        try:
            await entry.callback()
        except Exception:
            log.exception("keep_alive_failed")
        finally:
            entry.running = None
            entry.due = time.monotonic() + entry.every_s
            self._heartbeat_wake.set()  # the heartbeat slept past this entry while it ran: let it see the new due

    async def _heartbeat_loop(self) -> None:
        tick = max(0.2, min(5.0, self._visibility_s / 6))
        next_visibility = time.monotonic() + tick
        try:
            while True:
                wake_at = min(next_visibility, self._next_keep_alive())
                self._heartbeat_wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._heartbeat_wake.wait(), max(0.0, wake_at - time.monotonic()))
                now = time.monotonic()
                self._run_keep_alives(now)  # in their own tasks: a slow one never delays the visibility heartbeat
                if now >= next_visibility:
                    await self._extend_visibility(now)
                    next_visibility = now + tick
        finally:
            for message_id in list(self._keep_alives):
                self._end_keep_alives(message_id)

    async def _extend_visibility(self, now: float) -> None:
        due = [(mid, f) for mid, f in self._inflight.items() if f.deadline - now < self._visibility_s / 2]
        for i in range(0, len(due), 10):
            chunk = due[i : i + 10]
            entries = [
                {"Id": str(j), "ReceiptHandle": f.receipt, "VisibilityTimeout": self._visibility_s}
                for j, (_, f) in enumerate(chunk)
            ]
            try:
                resp = await self._sqs.change_message_visibility_batch(
                    QueueUrl=self._urls.url,
                    Entries=entries,  # type: ignore[arg-type]
                )
            except Exception:
                log.exception("heartbeat_failed", count=len(entries))
                continue
            failed = {int(x["Id"]) for x in resp.get("Failed", [])}
            for j, (mid, f) in enumerate(chunk):
                if j not in failed:
                    f.deadline = now + self._visibility_s
                    self.stats.heartbeats += 1
                else:
                    log.warning("heartbeat_rejected", message_id=mid)

    # --- stopping ------------------------------------------------------------------------------------------------

    async def _drain(self) -> None:
        running = set(self._handlers)
        if running:
            # The grace period counts from the stop signal, not from the end of a long poll that was under way.
            elapsed = time.monotonic() - (self._stopped_at or time.monotonic())
            log.info("draining", in_flight=len(running), grace_period_s=self.config.grace_period_s)
            _, unfinished = await asyncio.wait(running, timeout=max(0.0, self.config.grace_period_s - elapsed))
            for task in unfinished:
                task.cancel()
            await asyncio.gather(*unfinished, return_exceptions=True)
        self._flush_deletes()
        if self._io:
            await asyncio.gather(*self._io, return_exceptions=True)
        await self._release_unfinished()

    async def _release_unfinished(self) -> None:
        receipts, self._to_release = self._to_release, []
        for i in range(0, len(receipts), 10):
            entries = [
                {"Id": str(j), "ReceiptHandle": r, "VisibilityTimeout": 0} for j, r in enumerate(receipts[i : i + 10])
            ]
            try:
                await self._sqs.change_message_visibility_batch(QueueUrl=self._urls.url, Entries=entries)  # type: ignore[arg-type]
                self.stats.released += len(entries)
            except Exception:
                log.exception("release_failed", count=len(entries))
        if receipts:
            log.info("released_unfinished", count=len(receipts))


def _max_receive_count(redrive_policy: str | None) -> int | None:
    """`maxReceiveCount` of a queue's redrive policy (None without one, or if it cannot be read)."""
    if not redrive_policy:
        return None
    try:
        value = json.loads(redrive_policy).get("maxReceiveCount")
        return int(value) if value is not None else None
    except (ValueError, TypeError, AttributeError):
        log.warning("redrive_policy_unreadable", redrive_policy=redrive_policy[:200])
        return None


def _with_original_attributes(first: dict[str, Any], msg: MessageTypeDef) -> dict[str, Any]:
    """`first`, then the message's own attributes up to SQS's 10 (a name in `first` wins)."""
    attributes = dict(first)
    for name, value in msg.get("MessageAttributes", {}).items():
        if len(attributes) >= _SQS_MAX_ATTRIBUTES:
            break
        if name not in attributes:
            attributes[name] = {k: v for k, v in value.items() if k in ("DataType", "StringValue", "BinaryValue")}
    return attributes


def _routing_fields(body: str) -> dict[str, str]:
    """`kind`, `journey_id`, `task_id` of a body when it is an envelope-like JSON object (for `dlq list`)."""
    try:
        raw = json.loads(body)
    except (ValueError, RecursionError):
        return {}
    if not isinstance(raw, dict):
        return {}
    return {k: v[:256] for k in ("kind", "journey_id", "task_id") if isinstance(v := raw.get(k), str)}


def _public(config: ConsumerConfig) -> dict[str, Any]:
    return {k: v for k, v in config.__dict__.items() if k in ("concurrency", "receivers", "batch_size")}
